"""A page's session past its access token: the login sets the refresh token as an HttpOnly cookie sent only to
/v1/auth/; POST /v1/auth/session:refresh swaps it (CSRF header needed) for new cookies; REFRESH_INVALID clears
every cookie; GET /v1/auth/session tells the page whether its session holds; logging out with an expired access
token still ends the session in identity."""
from __future__ import annotations

import pytest

from servicekit.errors import Unauthenticated
from servicekit.security import tokens
from tests.unit.gateway.samples import REQUESTS, RESULTS
from tests.unit.gateway.samples import CALLER

LOGIN = REQUESTS["Login"]


def set_cookies(answer) -> dict[str, str]:
    return {value.split("=", 1)[0]: value for value in answer.headers.getlist("Set-Cookie")}


def open_session(http, backend, token: str, refresh_token: str = "ses_1.first", base_url="http://localhost/"):
    backend.results["login"] = {**RESULTS["login"], "access_token": token, "expires_in": 600,
                                "refresh_token": refresh_token, "refresh_expires_in": 604800, "session_id": "ses_1"}
    return http.post("/v1/auth/session", json=LOGIN, base_url=base_url, environ_base={"REMOTE_ADDR": "10.1.2.3"})


@pytest.fixture
def expired(keys) -> str:
    return tokens.TokenSigner(keys.private_pem, lifetime_seconds=-60).issue({**CALLER, "session_id": "ses_1"})


def test_the_login_sets_the_refresh_token_http_only_on_the_auth_path_and_the_session_cookies_for_its_life(
        http, backend, token):
    answer = open_session(http, backend, token)
    cookies = set_cookies(answer)
    assert cookies["pb_refresh"] == "pb_refresh=ses_1.first; Path=/v1/auth/; Max-Age=604800; HttpOnly; SameSite=Strict"
    # an expired access token is still sent (answered TOKEN_EXPIRED, so the page refreshes), for the session's life
    assert cookies["pb_session"] == f"pb_session={token}; Path=/; Max-Age=604800; HttpOnly; SameSite=Strict"
    assert "ses_1.first" not in answer.get_data(as_text=True)
    assert all(value.endswith("; Secure")
               for value in set_cookies(open_session(http, backend, token, base_url="https://localhost/")).values())


def test_refresh_swaps_the_refresh_cookie_for_new_cookies_keeping_the_csrf_value(http, backend, token, expired):
    csrf = open_session(http, backend, expired).json["csrf_token"]
    assert http.get("/v1/me").json["error"]["code"] == "TOKEN_EXPIRED"
    backend.results["refresh"] = {**RESULTS["refresh"], "access_token": token, "expires_in": 600,
                                  "refresh_token": "ses_1.second"}
    answer = http.post("/v1/auth/session:refresh", headers={"X-CSRF-Token": csrf},
                       environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert answer.status_code == 200
    assert set(answer.json) == {"account", "expires_in", "csrf_token"}
    assert (answer.json["account"]["id"], answer.json["expires_in"], answer.json["csrf_token"]) == ("acc-admin", 600, csrf)
    call = backend.calls[-1]
    assert (call.service, call.method, call.kwargs) == ("identity", "refresh",
                                                         {"refresh_token": "ses_1.first", "client_address": "10.1.2.3"})
    cookies = set_cookies(answer)
    assert cookies["pb_refresh"].startswith("pb_refresh=ses_1.second; Path=/v1/auth/;")
    assert cookies["pb_session"].startswith(f"pb_session={token};")
    assert "ses_1.second" not in answer.get_data(as_text=True) and token not in answer.get_data(as_text=True)
    assert http.get("/v1/me").status_code == 200                     # the new access token, from its cookie


@pytest.mark.parametrize("header", [None, "wrong"])
def test_refresh_needs_the_csrf_header(http, backend, expired, header):
    open_session(http, backend, expired)
    calls = len(backend.calls)
    answer = http.post("/v1/auth/session:refresh", headers={} if header is None else {"X-CSRF-Token": header})
    assert (answer.status_code, answer.json["error"]["code"]) == (403, "CSRF_FAILED")
    assert len(backend.calls) == calls and not answer.headers.getlist("Set-Cookie")


def test_a_refused_refresh_clears_every_cookie(http, backend, expired):
    csrf = open_session(http, backend, expired).json["csrf_token"]
    backend.fail_with(Unauthenticated("登录已失效，请重新登录", code="REFRESH_INVALID", field="refresh_token"))
    answer = http.post("/v1/auth/session:refresh", headers={"X-CSRF-Token": csrf})
    assert (answer.status_code, answer.json["error"]["code"]) == (401, "REFRESH_INVALID")
    cookies = set_cookies(answer)
    assert set(cookies) == {"pb_session", "pb_csrf", "pb_refresh"}
    assert all("Max-Age=0" in value for value in cookies.values())
    assert cookies["pb_refresh"].startswith("pb_refresh=; Path=/v1/auth/;")


def test_refresh_without_a_refresh_cookie_is_refused_before_identity(http, backend):
    http.set_cookie("pb_csrf", "abc")
    answer = http.post("/v1/auth/session:refresh", headers={"X-CSRF-Token": "abc"})
    assert (answer.status_code, answer.json["error"]["code"]) == (401, "REFRESH_INVALID")
    assert backend.calls == []


def test_the_session_status_answers_the_seconds_left_without_calling_a_service(http, backend, keys, expired):
    fresh = tokens.TokenSigner(keys.private_pem, lifetime_seconds=600).issue(CALLER)     # the session's is older
    open_session(http, backend, fresh)
    calls = len(backend.calls)
    answer = http.get("/v1/auth/session")
    assert answer.status_code == 200 and 500 < answer.json["expires_in"] <= 600
    assert len(backend.calls) == calls
    http.set_cookie("pb_session", expired)
    assert (http.get("/v1/auth/session").json["error"]["code"]) == "TOKEN_EXPIRED"
    http.delete_cookie("pb_session")
    assert (http.get("/v1/auth/session").json["error"]["code"]) == "TOKEN_MISSING"


def test_logging_out_with_an_expired_access_token_refreshes_then_ends_the_session(http, backend, token, expired):
    csrf = open_session(http, backend, expired).json["csrf_token"]
    backend.results["refresh"] = {**RESULTS["refresh"], "access_token": token}
    answer = http.post("/v1/auth/session:end", headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200
    assert [call.method for call in backend.calls[-2:]] == ["refresh", "logout"]
    assert backend.calls[-2].kwargs["refresh_token"] == "ses_1.first"
    assert all("Max-Age=0" in value for value in set_cookies(answer).values())
