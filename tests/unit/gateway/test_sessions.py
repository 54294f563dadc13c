"""Page sessions: POST /v1/auth/session logs in and answers the token as an HttpOnly cookie; a request
authenticated by that cookie needs X-CSRF-Token = the pb_csrf cookie for anything but GET/HEAD, on the werkzeug
path and on the scan fast path alike; an Authorization: Bearer header still wins."""
from __future__ import annotations

import json

import pytest
from werkzeug.test import Client

from gateway.batching import Batcher
from gateway.dispatch import Dispatcher
from gateway.http.app import GatewayApp
from servicekit.security.tokens import TokenVerifier
from tests.unit.gateway.samples import REQUESTS, RESULTS
from tests.unit.gateway.test_http_server import Reader, ScanBackend, connect, http_server, request

LOGIN = REQUESTS["Login"]
SCAN = json.dumps(REQUESTS["RecordScan"]).encode()
REFLECTION = REQUESTS["PostReflection"]


def set_cookies(answer) -> dict[str, str]:
    """Each Set-Cookie by its cookie name, whole."""
    return {value.split("=", 1)[0]: value for value in answer.headers.getlist("Set-Cookie")}


def open_session(http: Client, backend, token: str, base_url: str = "http://localhost/"):
    backend.results["login"] = {**RESULTS["login"], "access_token": token}
    return http.post("/v1/auth/session", json=LOGIN, base_url=base_url, environ_base={"REMOTE_ADDR": "10.1.2.3"})


def test_a_session_login_sets_the_token_as_an_http_only_cookie_and_never_answers_it(http, backend, token):
    answer = open_session(http, backend, token)
    assert answer.status_code == 200
    assert set(answer.json) == {"account", "expires_in", "csrf_token"} and token not in answer.get_data(as_text=True)
    cookies = set_cookies(answer)
    assert cookies["pb_session"] == (f"pb_session={token}; Path=/; Max-Age=3600; HttpOnly; SameSite=Strict")
    assert cookies["pb_csrf"] == f"pb_csrf={answer.json['csrf_token']}; Path=/; Max-Age=3600; SameSite=Strict"
    assert answer.headers["Cache-Control"] == "no-store"
    call = backend.calls[-1]                 # identity's login, with the same checks and the client's address
    assert (call.service, call.method, call.kwargs) == ("identity", "login", {**LOGIN, "client_address": "10.1.2.3"})


def test_the_cookies_are_secure_only_over_tls(http, backend, token):
    cookies = set_cookies(open_session(http, backend, token, "https://localhost/"))
    assert all(value.endswith("; Secure") for value in cookies.values())
    assert not any("Secure" in value for value in set_cookies(open_session(http, backend, token)).values())


def test_a_failed_session_login_sets_no_cookie(http, backend):
    from servicekit.errors import Unauthenticated
    backend.fail_with(Unauthenticated("wrong", code="LOGIN_FAILED"))
    answer = http.post("/v1/auth/session", json=LOGIN)
    assert (answer.status_code, answer.json["error"]["code"]) == (401, "LOGIN_FAILED")
    assert not answer.headers.getlist("Set-Cookie")


@pytest.mark.parametrize("body, status, code", [
    ({**LOGIN, "role": "admin"}, 400, "UNKNOWN_FIELD"),
    ({**LOGIN, "username": 7}, 400, "INVALID_TYPE"),
    ([LOGIN], 400, "BODY_NOT_OBJECT"),
])
def test_a_session_login_with_a_bad_body_is_refused_before_identity_is_asked(http, backend, body, status, code):
    answer = http.post("/v1/auth/session", json=body)
    assert (answer.status_code, answer.json["error"]["code"]) == (status, code)
    assert backend.calls == [] and not answer.headers.getlist("Set-Cookie")


def test_the_session_cookie_authenticates_a_get_without_csrf(http, backend, token):
    open_session(http, backend, token)
    answer = http.get("/v1/me")
    assert answer.status_code == 200
    assert backend.calls[-1].kwargs["scope"]["account_id"] == "acc-admin"


@pytest.mark.parametrize("header", [None, "wrong", ""])
def test_a_post_by_cookie_without_the_right_csrf_header_is_refused(http, backend, token, header):
    open_session(http, backend, token)
    calls = len(backend.calls)
    headers = {} if header is None else {"X-CSRF-Token": header}
    answer = http.post(f"/v1/activities/{REFLECTION['activity_id']}/reflections", json={"text": "深受教育"},
                       headers=headers)
    assert (answer.status_code, answer.json["error"]["code"]) == (403, "CSRF_FAILED")
    assert len(backend.calls) == calls                                  # nothing reached the service


def test_a_post_by_cookie_with_the_csrf_header_is_served(http, backend, token):
    csrf = open_session(http, backend, token).json["csrf_token"]
    answer = http.post(f"/v1/activities/{REFLECTION['activity_id']}/reflections", json={"text": "深受教育"},
                       headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200
    assert backend.calls[-1].method == "post_reflection"


def test_a_bearer_header_wins_over_the_cookie_and_needs_no_csrf(http, backend, token, bad_tokens):
    http.set_cookie("pb_session", bad_tokens["garbage"])
    http.set_cookie("pb_csrf", "x")
    answer = http.post(f"/v1/activities/{REFLECTION['activity_id']}/reflections", json={"text": "深受教育"},
                       headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200


def test_a_forged_session_cookie_is_refused_as_a_bad_token(http, backend, bad_tokens):
    http.set_cookie("pb_session", bad_tokens["signed by another key"])
    answer = http.get("/v1/me")
    assert answer.status_code == 401


def test_a_public_operation_ignores_the_session_cookie(http, backend, token):
    open_session(http, backend, token)
    assert http.post("/v1/auth/login", json=LOGIN).status_code == 200      # no CSRF header, no refusal


def test_ending_the_session_clears_both_cookies_and_needs_the_csrf_header(http, backend, token):
    csrf = open_session(http, backend, token).json["csrf_token"]
    refused = http.post("/v1/auth/session:end")
    assert (refused.status_code, refused.json["error"]["code"]) == (403, "CSRF_FAILED")
    ended = http.post("/v1/auth/session:end", headers={"X-CSRF-Token": csrf})
    assert ended.status_code == 200
    cookies = set_cookies(ended)
    assert cookies["pb_session"].startswith("pb_session=; Path=/; Max-Age=0; HttpOnly")
    assert cookies["pb_csrf"].startswith("pb_csrf=; Path=/; Max-Age=0")
    assert http.get("/v1/me").status_code == 401


@pytest.mark.parametrize("batched", [True, False], ids=["scan fast path", "werkzeug path"])
@pytest.mark.parametrize("headers, status, code", [
    ({"Cookie": "pb_session={token}; pb_csrf=abc", "X-CSRF-Token": "abc"}, 200, None),
    ({"Cookie": "pb_session={token}; pb_csrf=abc"}, 403, "CSRF_FAILED"),
    ({"Cookie": "pb_session={token}; pb_csrf=abc", "X-CSRF-Token": "abd"}, 403, "CSRF_FAILED"),
    ({"Cookie": "pb_session={token}", "X-CSRF-Token": ""}, 403, "CSRF_FAILED"),
    ({"Cookie": "pb_session=garbage; pb_csrf=abc", "Authorization": "Bearer {token}"}, 200, None),
    ({"Cookie": "pb_csrf=abc", "X-CSRF-Token": "abc"}, 401, "TOKEN_MISSING"),
], ids=["cookie and header", "no header", "wrong header", "no csrf cookie", "bearer wins", "no session"])
def test_a_scan_by_cookie_needs_the_csrf_header_on_both_paths(keys, token, batched, headers, status, code):
    """On both paths (the cookie and X-CSRF-Token reach the scan fast path as the WSGI app)."""
    headers = {name: value.format(token=token) for name, value in headers.items()}
    backend = ScanBackend()
    batcher = Batcher(backend, max_batch=100, max_wait=0.001, senders=1) if batched else None
    app = GatewayApp(Dispatcher(backend, TokenVerifier(keys.public_pem), batcher=batcher), max_body=10_000)
    server = http_server(app, workers=1, max_body=10_000)
    try:
        sock = connect(server)
        sock.sendall(request("/v1/scans", body=SCAN, headers={"Content-Type": "application/json", **headers}))
        answer_status, answer_headers, body = Reader(sock).response()
        assert answer_status == status
        assert (json.loads(body).get("error") or {}).get("code") == code
        assert len(backend.calls) == (1 if status == 200 else 0)
        assert answer_headers["x-content-type-options"] == "nosniff"
        assert answer_headers["referrer-policy"] == "no-referrer"
    finally:
        server.stop(grace=1)
        if batcher is not None:
            batcher.close()
