"""The second factor through the gateway, over HTTP and gRPC: a county admin enrols, its login is held for a code,
a wrong or replayed code is refused, a peer county admin cannot reset it and another tenant's admin cannot see it,
the city admin can (with a reason); the pages' login takes the code too (``/v1/auth/session:totp``)."""
from __future__ import annotations

import json
import urllib.request
import uuid

import grpc
import pytest

from gateway.client import ApiError, GrpcClient, HttpClient
from tests.support.identity import PASSWORD
from tests.support.totp import code

pytestmark = pytest.mark.e2e


def new_city(gateway_process, operator_password) -> dict:
    operator = HttpClient(gateway_process.http_url)
    operator.login("", "operator", operator_password)
    tenant = f"otp-{uuid.uuid4().hex[:8]}"
    created = operator.call("CreateTenant", {"code": tenant, "name": "验证市", "admin_username": "admin",
                                             "admin_password": PASSWORD})
    admin = HttpClient(gateway_process.http_url)
    admin.login(tenant, "admin", PASSWORD)
    accounts = {}
    for name in ("east", "west"):
        county = admin.call("CreateOrg", {"parent_id": created["root_org"]["id"], "name": f"{name}区", "kind": "county"})
        accounts[name] = admin.call("CreateAccount", {"username": name, "password": PASSWORD, "role": "org_admin",
                                                      "org_id": county["id"]})
    return {"code": tenant, "admin": admin, "accounts": accounts}


@pytest.fixture
def city(gateway_process, operator_password):
    return new_city(gateway_process, operator_password)


def refused(call) -> ApiError:
    with pytest.raises(ApiError) as error:
        call()
    return error.value


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_enrol_then_every_login_needs_a_fresh_code(city, gateway_process, protocol):
    east = HttpClient(gateway_process.http_url)
    east.login(city["code"], "east", PASSWORD)
    begun = east.call("BeginTotpEnrolment")
    secret = begun["totp_secret"]
    assert begun["totp_uri"].startswith("otpauth://totp/") and len(secret) == 32
    assert east.call("ConfirmTotpEnrolment", {"code": code(secret, -1)}) == {"totp_enabled": True}
    assert east.call("GetTotpStatus")["totp_enabled"] is True

    def client():
        return HttpClient(gateway_process.http_url) if protocol == "http" else GrpcClient(gateway_process.grpc_target)

    unauthenticated = 401 if protocol == "http" else grpc.StatusCode.UNAUTHENTICATED
    user = client()
    held = user.call("Login", {"tenant_code": city["code"], "username": "east", "password": PASSWORD})
    assert held["next_step"] == "TOTP_REQUIRED" and not held["access_token"] and held["challenge_token"]
    wrong = next(c for c in ("000000", "111111", "222222") if c not in {code(secret, o) for o in (-1, 0, 1)})
    error = refused(lambda: user.call("VerifyLoginTotp", {"challenge_token": held["challenge_token"], "code": wrong}))
    assert (error.status, error.code) == (unauthenticated, "TOTP_WRONG")
    now_code = code(secret)
    answer = user.call("VerifyLoginTotp", {"challenge_token": held["challenge_token"], "code": now_code})
    assert answer["access_token"] and answer["account"]["username"] == "east"
    assert user.call("GetMe", token=answer["access_token"])["account"]["username"] == "east"
    # the same code on the next login is a replay
    again = user.call("Login", {"tenant_code": city["code"], "username": "east", "password": PASSWORD})
    error = refused(lambda: user.call("VerifyLoginTotp", {"challenge_token": again["challenge_token"],
                                                          "code": now_code}))
    assert (error.status, error.code) == (unauthenticated, "TOTP_REUSED")
    if protocol == "grpc":
        user.close()


def test_resetting_is_an_admin_s_over_its_subtree_with_a_reason(city, gateway_process, operator_password):
    east, west = HttpClient(gateway_process.http_url), HttpClient(gateway_process.http_url)
    east.login(city["code"], "east", PASSWORD)
    west.login(city["code"], "west", PASSWORD)
    secret = east.call("BeginTotpEnrolment")["totp_secret"]
    east.call("ConfirmTotpEnrolment", {"code": code(secret, -1)})
    east_id = city["accounts"]["east"]["id"]
    error = refused(lambda: west.call("ResetAccountTotp", {"account_id": east_id, "reason": "手机丢失"}))
    assert (error.status, error.code) == (404, "ACCOUNT_NOT_FOUND")
    other = new_city(gateway_process, operator_password)
    error = refused(lambda: other["admin"].call("ResetAccountTotp", {"account_id": east_id, "reason": "手机丢失"}))
    assert (error.status, error.code) == (404, "ACCOUNT_NOT_FOUND")
    error = refused(lambda: east.call("ResetAccountTotp", {"account_id": east_id, "reason": "手机丢失"}))
    assert (error.status, error.code) == (403, "TOTP_RESET_SELF")
    error = refused(lambda: west.call("SetTotpPolicy", {"totp_required_for_admins": True}))
    assert (error.status, error.code) == (403, "NOT_CITY_ADMIN")
    assert city["admin"].call("ResetAccountTotp", {"account_id": east_id, "reason": "手机丢失"}) == {
        "totp_enabled": False}
    assert HttpClient(gateway_process.http_url).login(city["code"], "east", PASSWORD)["access_token"]


def post_json(url: str, body: dict) -> tuple[int, dict, list[str]]:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read()), response.headers.get_all("Set-Cookie") or []
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), []


def test_the_pages_login_answers_the_challenge_without_a_cookie_then_sets_it_for_the_code(city, gateway_process):
    admin_secret = city["admin"].call("BeginTotpEnrolment")["totp_secret"]
    city["admin"].call("ConfirmTotpEnrolment", {"code": code(admin_secret, -1)})
    base = gateway_process.http_url
    status, challenge, cookies = post_json(f"{base}/v1/auth/session", {"tenant_code": city["code"],
                                                                       "username": "admin", "password": PASSWORD})
    assert status == 200 and cookies == [] and challenge["next_step"] == "TOTP_REQUIRED"
    assert set(challenge) == {"next_step", "challenge_token", "challenge_expires_in", "totp_secret", "totp_uri"}
    status, answer, cookies = post_json(f"{base}/v1/auth/session:totp", {
        "challenge_token": challenge["challenge_token"], "code": code(admin_secret)})
    assert status == 200 and answer["account"]["username"] == "admin" and answer["csrf_token"]
    assert any(cookie.startswith("pb_session=") for cookie in cookies)
