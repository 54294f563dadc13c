"""A stranger guessing the city admin's password over HTTP: slowed down at the stranger's own address, never the
admin's; every name answered alike; a forwarded address believed only from the trusted proxy (127.0.0.1 here)."""
from __future__ import annotations

import sys

import http.client
import json
import urllib.parse
import uuid
from collections import Counter

import pytest

from gateway.client import HttpClient
from tests.support.identity import PASSWORD

pytestmark = pytest.mark.e2e
WRONG = "wrong-password-1"
DIRECT = "127.0.0.2"            # a client reaching the gateway itself, not through the trusted proxy


@pytest.fixture(autouse=True)
def fresh_wrong_password(monkeypatch):
    """Each test guesses a wrong password of its own: the password counter (``throttle.PASSWORD``) counts one
    password's failures across tests, tenants and addresses, as it counts an attacker's."""
    monkeypatch.setattr(sys.modules[__name__], "WRONG", f"wrong-{uuid.uuid4().hex[:12]}")


@pytest.fixture
def city(gateway_process, operator_password):
    operator = HttpClient(gateway_process.http_url)
    operator.login("", "operator", operator_password)
    code = f"thr-{uuid.uuid4().hex[:8]}"
    operator.call("CreateTenant", {"code": code, "name": "限流市", "admin_username": "admin",
                                   "admin_password": PASSWORD})
    return code


def login(gateway_process, tenant_code: str, username: str, password: str, *, source: str = "127.0.0.1",
          forwarded_for: str | None = None) -> tuple[int, dict, dict]:
    """POST /v1/auth/login from ``source`` (a loopback address); (status, body, headers by lower-case name)."""
    url = urllib.parse.urlsplit(gateway_process.http_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30, source_address=(source, 0))
    headers = {"Content-Type": "application/json"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    try:
        connection.request("POST", "/v1/auth/login", json.dumps(
            {"tenant_code": tenant_code, "username": username, "password": password}), headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read()), {name.lower(): value for name, value in response.getheaders()}
    finally:
        connection.close()


def code_of(body: dict) -> str:
    return body["error"]["code"] if "error" in body else "OK"


def test_a_hundred_wrong_guesses_from_one_address_do_not_stop_the_admin_at_another(gateway_process, city):
    guesses = [login(gateway_process, city, "admin", WRONG, forwarded_for="203.0.113.10") for _ in range(100)]
    codes = Counter(code_of(body) for _, body, _ in guesses)
    assert set(codes) == {"LOGIN_FAILED", "TOO_MANY_ATTEMPTS"} and codes["LOGIN_FAILED"] < 15
    refused = [(status, headers) for status, body, headers in guesses if code_of(body) == "TOO_MANY_ATTEMPTS"]
    assert all(status == 429 and int(headers["retry-after"]) >= 1 for status, headers in refused)
    # at once, on the first try: through the proxy from another address, and directly from another peer
    status, body, _ = login(gateway_process, city, "admin", PASSWORD, forwarded_for="198.51.100.20")
    assert status == 200 and body["access_token"]
    status, body, _ = login(gateway_process, city, "admin", PASSWORD, source=DIRECT)
    assert status == 200 and body["access_token"]


def test_an_unknown_account_is_answered_exactly_like_an_existing_one(gateway_process, city):
    answers = {}
    for username, address in (("admin", "203.0.113.21"), ("no-such-user", "203.0.113.22")):
        replies = [login(gateway_process, city, username, WRONG, forwarded_for=address) for _ in range(9)]
        answers[username] = replies
        assert [(status, code_of(body)) for status, body, _ in replies[:5]] == [(401, "LOGIN_FAILED")] * 5
    shapes = {username: {(status, json.dumps({**body["error"], "details": [sorted(d) for d in
                                                                         body["error"].get("details", [])]},
                                             ensure_ascii=False, sort_keys=True), "Retry-After" in headers)
                         for status, body, headers in replies}
              for username, replies in answers.items()}
    assert shapes["admin"] == shapes["no-such-user"]
    assert {status for status, _, _ in shapes["admin"]} == {401, 429}


def test_a_forwarded_address_from_a_peer_that_is_not_the_trusted_proxy_is_ignored(gateway_process, city):
    # each guess claims another address; had the claims been believed, none would ever be slowed down
    codes = [code_of(login(gateway_process, city, "admin", WRONG, source=DIRECT,
                           forwarded_for=f"198.51.100.{index}")[1]) for index in range(1, 13)]
    assert codes[:5] == ["LOGIN_FAILED"] * 5
    assert "TOO_MANY_ATTEMPTS" in codes[5:]
