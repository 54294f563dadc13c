"""The demo seed's API client outlives short access tokens: a call answered 401 TOKEN_EXPIRED is refreshed with the
login's refresh token (rotated on each use) and sent once more; any other refusal is raised as it came."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from deploy.local.demo_city import SeedError, _Api


class Gateway(BaseHTTPRequestHandler):
    """Login answers access-1 / refresh-1; each refresh of the current refresh token the next pair; /v1/me answers
    only the newest access token and TOKEN_EXPIRED for an older one."""
    state = {"access": 0, "refreshes": []}

    def log_message(self, *args):
        pass

    def answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def pair(self) -> dict:
        self.state["access"] += 1
        n = self.state["access"]
        return {"access_token": f"access-{n}", "refresh_token": f"refresh-{n}"}

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        if self.path == "/v1/auth/login":
            self.answer(200, self.pair())
        elif self.path == "/v1/auth/refresh":
            self.state["refreshes"].append(body["refresh_token"])
            if body["refresh_token"] != f"refresh-{self.state['access']}":
                self.answer(401, {"error": {"code": "REFRESH_INVALID", "message": ""}})
            else:
                self.answer(200, self.pair())

    def do_GET(self):
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        if self.path == "/v1/forbidden":
            self.answer(403, {"error": {"code": "NOT_ORG_ADMIN", "message": ""}})
        elif token == f"access-{self.state['access']}":
            self.answer(200, {"token": token})
        else:
            self.answer(401, {"error": {"code": "TOKEN_EXPIRED", "message": ""}})


@pytest.fixture
def gateway():
    Gateway.state = {"access": 0, "refreshes": []}
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_expired_access_token_is_refreshed_and_the_call_sent_once_more(gateway):
    api = _Api(gateway)
    api.login("city", "admin", "pw")
    assert api.call("GET", "/v1/me") == {"token": "access-1"}
    api.token = "access-0"                  # an older token: answered TOKEN_EXPIRED, as a token past its life is
    assert api.call("GET", "/v1/me") == {"token": "access-2"}
    assert Gateway.state["refreshes"] == ["refresh-1"]
    api.token = "access-0"
    assert api.call("GET", "/v1/me") == {"token": "access-3"}
    assert Gateway.state["refreshes"] == ["refresh-1", "refresh-2"]        # the rotated one, each time


def test_other_refusals_and_a_refused_refresh_are_raised(gateway):
    api = _Api(gateway)
    api.login("city", "admin", "pw")
    with pytest.raises(SeedError) as refused:
        api.call("GET", "/v1/forbidden")
    assert refused.value.code == "NOT_ORG_ADMIN" and Gateway.state["refreshes"] == []
    api.token, api.refresh_token = "access-0", "refresh-0"                  # a retired refresh token
    with pytest.raises(SeedError) as ended:
        api.call("GET", "/v1/me")
    assert ended.value.code == "REFRESH_INVALID"
