"""Cutting access off as a city would live it, over HTTP and gRPC: a logged-out token is refused within seconds,
a disabled account's too, and a refresh token works once (a second use ends the session)."""
import time
import uuid

import grpc
import pytest

from gateway.client import ApiError, GrpcClient, HttpClient
from gateway.http.app import SESSION_END_PATH as SESSION_END
from tests.support.identity import PASSWORD

pytestmark = pytest.mark.e2e
WITHIN_SECONDS = 10     # the gateway polls every 2 s


@pytest.fixture
def city(gateway_process, operator_password):
    operator = HttpClient(gateway_process.http_url)
    operator.login("", "operator", operator_password)
    code = f"e2e-{uuid.uuid4().hex[:8]}"
    created = operator.call("CreateTenant", {"code": code, "name": "会话市", "admin_username": "admin",
                                             "admin_password": PASSWORD})
    admin = HttpClient(gateway_process.http_url)
    admin.login(code, "admin", PASSWORD)
    county = admin.call("CreateOrg", {"parent_id": created["root_org"]["id"], "name": "东区", "kind": "county"})
    account = admin.call("CreateAccount", {"username": "county", "password": PASSWORD, "role": "org_admin",
                                           "org_id": county["id"]})
    return {"code": code, "admin": admin, "county": county, "account": account}


def refused_within(call, seconds: float = WITHIN_SECONDS) -> ApiError:
    """The ApiError ``call`` raises once the gateway refuses it, waiting up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            call()
        except ApiError as error:
            return error
        assert time.monotonic() < deadline, f"still answered after {seconds} s"
        time.sleep(0.2)


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_a_logged_out_token_is_refused_within_seconds(city, gateway_process, protocol):
    user = HttpClient(gateway_process.http_url)
    answer = user.login(city["code"], "county", PASSWORD)
    other = HttpClient(gateway_process.http_url)
    other.login(city["code"], "county", PASSWORD)
    if protocol == "http":
        assert user.call("GetMe")["account"]["username"] == "county"      # the token is cached now
        assert user.call("Logout") == {"revoked_sessions": 1}
        error = refused_within(lambda: user.call("GetMe"))
    else:
        with GrpcClient(gateway_process.grpc_target, token=answer["access_token"]) as client:
            assert client.call("GetMe")["account"]["username"] == "county"
            assert client.call("Logout")["revoked_sessions"] == 1
            error = refused_within(lambda: client.call("GetMe"))
    expected_status = 401 if protocol == "http" else grpc.StatusCode.UNAUTHENTICATED
    assert (error.code, error.status) == ("TOKEN_REVOKED", expected_status)
    assert other.call("GetMe")["account"]["username"] == "county"        # another session of the account lives on


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_a_disabled_account_is_refused_and_cannot_log_in(city, gateway_process, protocol):
    user = HttpClient(gateway_process.http_url)
    user.login(city["code"], "county", PASSWORD)
    user.call("GetMe")
    city["admin"].call("DisableAccount", {"account_id": city["account"]["id"], "reason": "调离"})
    if protocol == "http":
        error = refused_within(lambda: user.call("GetMe"))
    else:
        with GrpcClient(gateway_process.grpc_target, token=user.token) as client:
            error = refused_within(lambda: client.call("GetMe"))
    assert error.code == "TOKEN_REVOKED"
    with pytest.raises(ApiError) as login:
        HttpClient(gateway_process.http_url).login(city["code"], "county", PASSWORD)
    assert (login.value.status, login.value.code) == (401, "LOGIN_FAILED")
    city["admin"].call("EnableAccount", {"account_id": city["account"]["id"]})
    again = HttpClient(gateway_process.http_url)
    again.login(city["code"], "county", PASSWORD)
    time.sleep(3)                    # past a poll: the account's cut-off does not reach a token issued after
    assert again.call("GetMe")["account"]["username"] == "county"


def test_a_refresh_token_works_once_and_its_reuse_ends_the_session(city, gateway_process):
    user = HttpClient(gateway_process.http_url)
    first = user.login(city["code"], "county", PASSWORD)
    second = user.call("Refresh", {"refresh_token": first["refresh_token"]})
    assert second["session_id"] == first["session_id"] and second["access_token"] != first["access_token"]
    assert user.call("GetMe", token=second["access_token"])["account"]["username"] == "county"
    with GrpcClient(gateway_process.grpc_target) as client:
        third = client.call("Refresh", {"refresh_token": second["refresh_token"]})
        with pytest.raises(ApiError) as reused:                # the thief replays the first one
            client.call("Refresh", {"refresh_token": first["refresh_token"]})
    assert reused.value.code == "REFRESH_INVALID"
    error = refused_within(lambda: user.call("GetMe", token=third["access_token"]))
    assert (error.status, error.code) == (401, "TOKEN_REVOKED")
    with pytest.raises(ApiError) as ended:
        user.call("Refresh", {"refresh_token": third["refresh_token"]})
    assert (ended.value.status, ended.value.code) == (401, "REFRESH_INVALID")


def test_a_password_change_cuts_the_other_sessions_off(city, gateway_process):
    here, elsewhere = HttpClient(gateway_process.http_url), HttpClient(gateway_process.http_url)
    here.login(city["code"], "county", PASSWORD)
    elsewhere.login(city["code"], "county", PASSWORD)
    answer = here.call("ChangePassword", {"old_password": PASSWORD, "new_password": "An0ther-pass"})
    assert answer == {"revoked_sessions": 1}
    assert refused_within(lambda: elsewhere.call("GetMe")).code == "TOKEN_REVOKED"
    sessions = here.call("ListSessions")["sessions"]
    assert [entry["current"] for entry in sessions] == [True]


def test_a_page_logout_ends_the_session_not_only_the_cookies(city, gateway_process):
    """A page logs in with an HttpOnly cookie; its logout must end the session in identity too, so a copy of the
    cookie taken before is refused afterwards."""
    import json
    import urllib.error
    import urllib.request
    from http.cookiejar import CookieJar

    base, jar = gateway_process.http_url, CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def send(method, path, body=None, headers=None):
        request = urllib.request.Request(f"{base}{path}", method=method, headers={**(headers or {}),
                                         "Content-Type": "application/json"},
                                         data=None if body is None else json.dumps(body).encode())
        try:
            with browser.open(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    status, started = send("POST", "/v1/auth/session",
                           {"tenant_code": city["code"], "username": "county", "password": PASSWORD})
    assert status == 200, started
    copied = list(jar)                                  # the cookies as someone who copied them holds them
    assert send("GET", "/v1/me")[0] == 200
    status, ended = send("POST", SESSION_END, {}, {"X-CSRF-Token": started["csrf_token"]})
    assert status == 200, ended
    for cookie in copied:
        jar.set_cookie(cookie)
    deadline = time.monotonic() + WITHIN_SECONDS
    while True:
        status, answer = send("GET", "/v1/me")
        if status == 401:
            break
        assert time.monotonic() < deadline, "the copied cookie still worked after the logout"
        time.sleep(0.2)
    assert answer["error"]["code"] == "TOKEN_REVOKED"
