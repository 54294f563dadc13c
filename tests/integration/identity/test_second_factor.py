"""The second factor (TOTP) on the real identity service and store: enrolment confirmed by a first code, a login
held until its code, wrong and replayed codes refused, the challenge spent, an admin's reset inside its subtree
only, and the tenant's rule for city and county admins."""
from __future__ import annotations


import pytest

from servicekit.errors import ServiceError
from tests.support.identity import PASSWORD, scope_of
from tests.support.totp import code

pytestmark = pytest.mark.integration


def refusal(call) -> str:
    with pytest.raises(ServiceError) as refused:
        call()
    return refused.value.code


def enrol(rpc, scope: dict) -> str:
    """Switch TOTP on for the caller; its secret. Confirmed with the previous step's code, so that now's and the
    next one's are still unused for the test."""
    secret = rpc.identity.begin_totp_enrolment(scope=scope)["totp_secret"]
    assert rpc.identity.confirm_totp_enrolment(scope=scope, code=code(secret, -1)) == {"totp_enabled": True}
    return secret


def password_step(rpc, tenant_code: str, username: str) -> dict:
    return rpc.identity.login(tenant_code=tenant_code, username=username, password=PASSWORD, client_address="")


def second_step(rpc, challenge: dict, the_code: str) -> dict:
    return rpc.identity.verify_login_totp(challenge_token=challenge["challenge_token"], code=the_code,
                                          client_address="198.51.100.5")


def test_enrolment_is_confirmed_by_a_first_code_and_then_every_login_needs_one(rpc, city, identity_store):
    county = city.county_admins[0]
    started = rpc.identity.begin_totp_enrolment(scope=county)
    secret = started["totp_secret"]
    assert started["totp_uri"].startswith("otpauth://totp/") and f"secret={secret}" in started["totp_uri"]
    # pending: a login still needs no code, and a wrong first code switches nothing on
    assert password_step(rpc, city.code, "county1")["access_token"]
    assert refusal(lambda: rpc.identity.confirm_totp_enrolment(scope=county, code="000000" if code(secret) != "000000"
                                                               else "111111")) == "TOTP_WRONG"
    assert rpc.identity.get_totp_status(scope=county)["enrolment_pending"] is True
    assert rpc.identity.confirm_totp_enrolment(scope=county, code=code(secret, -1)) == {"totp_enabled": True}
    stored = identity_store.db.accounts.find_one({"username": "county1", "tenant_id": city.tenant_id})
    assert secret not in str(stored) and stored["totp"]["secret_enc"].startswith("v2.")   # sealed, never as typed

    challenge = password_step(rpc, city.code, "county1")
    assert challenge["next_step"] == "TOTP_REQUIRED" and not challenge.get("access_token")
    assert challenge["challenge_expires_in"] == 300
    answer = second_step(rpc, challenge, code(secret))
    assert scope_of(answer)["account_id"] == stored["_id"]


def test_wrong_and_replayed_codes_are_refused_and_a_challenge_is_spent_after_five(rpc, city):
    secret = enrol(rpc, city.county_admins[1])
    challenge = password_step(rpc, city.code, "county2")
    now_code = code(secret)
    wrong = next(candidate for candidate in ("000000", "111111", "222222")
                 if candidate not in {code(secret, offset) for offset in (-1, 0, 1)})
    assert refusal(lambda: second_step(rpc, challenge, wrong)) == "TOTP_WRONG"
    assert refusal(lambda: second_step(rpc, challenge, "12ab56")) == "TOTP_CODE_MALFORMED"
    assert second_step(rpc, challenge, now_code)["access_token"]
    # the challenge is gone once used; the same code on a new challenge is a replay
    assert refusal(lambda: second_step(rpc, challenge, code(secret, 1))) == "CHALLENGE_INVALID"
    again = password_step(rpc, city.code, "county2")
    assert refusal(lambda: second_step(rpc, again, now_code)) == "TOTP_REUSED"
    # the enrolment's own code (the step before) is older than the last used: refused too
    assert refusal(lambda: second_step(rpc, again, code(secret, -1))) in {"TOTP_REUSED", "TOTP_WRONG"}
    for _ in range(3):
        assert refusal(lambda: second_step(rpc, again, wrong)) == "TOTP_WRONG"
    # five codes shown: spent, even the right one is refused
    assert refusal(lambda: second_step(rpc, again, code(secret, 1))) == "CHALLENGE_INVALID"
    assert refusal(lambda: second_step(rpc, {"challenge_token": "chl_made-up"}, code(secret, 1))) == "CHALLENGE_INVALID"


def test_disabling_needs_a_current_unused_code(rpc, city):
    county = city.county_admins[0]
    secret = enrol(rpc, county)
    assert refusal(lambda: rpc.identity.disable_totp(scope=county, code=code(secret, -1))) == "TOTP_REUSED"
    assert rpc.identity.disable_totp(scope=county, code=code(secret, 1)) == {"totp_enabled": False}
    assert password_step(rpc, city.code, "county1")["access_token"]
    assert refusal(lambda: rpc.identity.disable_totp(scope=county, code=code(secret))) == "TOTP_NOT_ON"


def test_an_admin_resets_with_a_reason_only_inside_its_subtree_and_never_its_own(rpc, city, operator_scope,
                                                                                  identity_store):
    first, second = city.county_admins
    secret = enrol(rpc, second)
    second_id = scope_of_account(identity_store, city, "county2")
    # a peer county admin, and a county admin over the city admin: not found, as if it did not exist
    assert refusal(lambda: rpc.identity.reset_account_totp(scope=first, account_id=second_id,
                                                           reason="手机丢失")) == "ACCOUNT_NOT_FOUND"
    city_admin_id = scope_of_account(identity_store, city, "city-admin")
    assert refusal(lambda: rpc.identity.reset_account_totp(scope=first, account_id=city_admin_id,
                                                           reason="手机丢失")) == "ACCOUNT_NOT_FOUND"
    # another tenant's city admin
    other = type(city)(rpc, operator_scope)
    assert refusal(lambda: rpc.identity.reset_account_totp(scope=other.admin, account_id=second_id,
                                                           reason="手机丢失")) == "ACCOUNT_NOT_FOUND"
    # one's own: only with a code
    assert refusal(lambda: rpc.identity.reset_account_totp(scope=second, account_id=second_id,
                                                           reason="手机丢失")) == "TOTP_RESET_SELF"
    assert refusal(lambda: rpc.identity.reset_account_totp(scope=city.admin, account_id=second_id,
                                                           reason="")) == "REQUIRED"
    held = password_step(rpc, city.code, "county2")
    assert held["next_step"] == "TOTP_REQUIRED"
    assert rpc.identity.reset_account_totp(scope=city.admin, account_id=second_id, reason="手机丢失") == {
        "totp_enabled": False}
    # a challenge made before the reset leads nowhere: log in again
    assert refusal(lambda: second_step(rpc, held, code(secret))) == "CHALLENGE_INVALID"
    stored = identity_store.db.accounts.find_one({"_id": second_id})
    assert "totp" not in stored and stored["totp_reset"]["reason"] == "手机丢失"
    assert stored["totp_reset"]["by"] == city.admin["account_id"]
    assert password_step(rpc, city.code, "county2")["access_token"]


def scope_of_account(store, city, username: str) -> str:
    return store.db.accounts.find_one({"username": username, "tenant_id": city.tenant_id})["_id"]


def test_the_tenant_rule_makes_city_and_county_admins_enrol_at_login(rpc, city):
    assert refusal(lambda: rpc.identity.set_totp_policy(scope=city.county_admins[0],
                                                        totp_required_for_admins=True)) == "NOT_CITY_ADMIN"
    assert rpc.identity.set_totp_policy(scope=city.admin, totp_required_for_admins=True) == {
        "totp_required_for_admins": True}
    # a secretary is not covered
    rpc.identity.create_account(scope=city.admin, username="secretary1", password=PASSWORD,
                                role="branch_secretary", org_id=city.branches[0][0]["id"])
    assert password_step(rpc, city.code, "secretary1")["access_token"]

    enrolling = password_step(rpc, city.code, "county1")
    assert enrolling["next_step"] == "TOTP_ENROL_REQUIRED" and not enrolling.get("access_token")
    secret = enrolling["totp_secret"]
    assert secret in enrolling["totp_uri"]
    answer = second_step(rpc, enrolling, code(secret))
    county = scope_of(answer)
    status = rpc.identity.get_totp_status(scope=county)
    assert status["totp_enabled"] and status["mandatory"] and status["tenant_requires_for_admins"]
    assert refusal(lambda: rpc.identity.disable_totp(scope=county, code=code(secret, 1))) == "TOTP_MANDATORY"
    assert password_step(rpc, city.code, "county1")["next_step"] == "TOTP_REQUIRED"


def test_the_operator_has_no_second_factor_here(rpc, operator_scope):
    assert refusal(lambda: rpc.identity.begin_totp_enrolment(scope=operator_scope)) == "TENANT_REQUIRED"


def test_wrong_codes_are_throttled_per_account_whatever_the_challenge(rpc, city):
    secret = enrol(rpc, city.county_admins[0])
    wrong = next(candidate for candidate in ("000000", "111111", "222222")
                 if candidate not in {code(secret, offset) for offset in (-1, 0, 1)})
    answers = []
    for _ in range(3):          # a new challenge every two codes: the account's counter goes on counting
        challenge = password_step(rpc, city.code, "county1")
        answers += [refusal(lambda: second_step(rpc, challenge, wrong)) for _ in range(2)]
    assert answers == ["TOTP_WRONG"] * 5 + ["TOO_MANY_ATTEMPTS"]
    with pytest.raises(ServiceError) as refused:
        second_step(rpc, password_step(rpc, city.code, "county1"), code(secret))
    assert refused.value.details[0]["limit"] == "totp" and refused.value.details[0]["retry_after_seconds"] >= 1
