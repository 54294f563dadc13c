"""A request's id (gateway.request_ids) travels with its call and names the log lines the identity service writes
for it (servicekit.request_ids): the id the gateway gave, or a trusted proxy's."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid

import pytest

from gateway.client import HttpClient

pytestmark = pytest.mark.e2e


def _get(url: str, token: str, request_id: str | None = None) -> tuple:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    if request_id:
        headers["X-Request-Id"] = request_id
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as answer:
            return answer.status, answer.headers, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read())


def _identity_lines_naming(identity_service, request_id: str, timeout: float = 10) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        lines = [line for line in identity_service.log_path.read_text(errors="replace").splitlines()
                 if f"[{request_id}]" in line]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.2)


def test_the_request_id_names_the_identity_services_log_lines(gateway_process, identity_service, operator_password):
    operator = HttpClient(gateway_process.http_url)
    token = operator.login("", "operator", operator_password)["access_token"]
    missing = f"{gateway_process.http_url}/v1/orgs/org-{uuid.uuid4().hex[:12]}"

    status, headers, body = _get(missing, token)                        # the gateway's own id
    assert status >= 400 and body["request_id"] == headers["X-Request-Id"]
    lines = _identity_lines_naming(identity_service, headers["X-Request-Id"])
    assert any("identity" in line and "get_org" in line for line in lines), lines

    chosen = f"proxy-{uuid.uuid4().hex}"                                # a trusted proxy's id (127.0.0.1 here)
    status, headers, body = _get(missing, token, request_id=chosen)
    assert headers["X-Request-Id"] == chosen and body["request_id"] == chosen
    assert _identity_lines_naming(identity_service, chosen)
