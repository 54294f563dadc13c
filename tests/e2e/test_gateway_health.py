"""The gateway process's /livez and /readyz on its admin port (gateway.health), with the real broker and identity."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.e2e


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_gateway_is_alive_and_ready_with_the_broker_and_identity_answering(gateway_process):
    assert get(gateway_process.admin_url + "/livez") == (200, {"status": "ok"})
    deadline = time.monotonic() + 20
    while (answer := get(gateway_process.admin_url + "/readyz"))[1]["checks"].get("identity") != "answering":
        assert time.monotonic() < deadline, answer          # the revocation poller's first round answered
        time.sleep(0.2)
    assert answer == (200, {"status": "ready", "checks": {"broker": "reachable", "identity": "answering"}})


def test_health_stays_off_the_public_listener(gateway_process):
    for path in ("/livez", "/readyz"):
        assert get(gateway_process.http_url + path)[0] == 404
