"""A citizen's registration on a fake store and a fixed clock: checked first, counted on its address's counter before
anything is looked up, hashed through the hash gate, stored as an account of the citizen role over nothing; a
refusal stores nothing. get_me answers a citizen's own account; tenant_by_code serves other services."""
from __future__ import annotations

import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, TooManyRequests
from services.identity import passwords
from services.identity.domain import throttle
from tests.fast.identity.fakes import CITIZEN, NOW, NOW_STAMP, TENANT, writes_of

ADDRESS = "203.0.113.7"
[COUNTER] = throttle.registration_counters(ADDRESS)
CITY = {"_id": TENANT, "code": "city", "name": "测试市", "root_org_id": "org_city"}


def register(service, **overrides):
    fields = {"tenant_code": "city", "phone": "139 0000 1111", "password": "Passw0rd!", "name": " 王阿姨 ",
              "client_address": ADDRESS, **overrides}
    return service.register_citizen(**fields)


@pytest.fixture
def city(store, hash_gate):
    store.tenant_by_code.return_value = CITY
    store.take_login_attempt.return_value = 0.0
    hash_gate.hash.return_value = "argon2-hash"


def test_a_registration_stores_a_citizens_account_over_no_organisation(service, store, hash_gate, city):
    answer = register(service)
    hash_gate.hash.assert_called_once_with("Passw0rd!")
    store.take_login_attempt.assert_called_once_with(COUNTER, NOW.timestamp())
    store.account_by_login.assert_called_once_with(f"{TENANT}:13900001111")
    [(account, events)] = [call.args for call in store.register_citizen.call_args_list]
    assert {key: account[key] for key in ("tenant_id", "username", "login_key", "password_hash", "roles", "member_id",
                                          "name", "created_at")} == {
        "tenant_id": TENANT, "username": "13900001111", "login_key": f"{TENANT}:13900001111",
        "password_hash": "argon2-hash", "roles": [{"role": "citizen", "org_id": None}], "member_id": None,
        "name": "王阿姨", "created_at": NOW_STAMP}
    assert all(account[f"a{level}"] is None and account[f"ra{level}"] is None for level in range(6))
    [event] = events
    assert event["event_type"] == "account_created" and event["roles"] == [{"role": "citizen", "org_id": None}]
    assert answer == {"account_id": account["_id"], "phone_masked": "139****1111", "name": "王阿姨"}
    assert "13900001111" not in str(answer)


@pytest.mark.parametrize("overrides, code, field", [
    ({"phone": "12345"}, "PHONE_INVALID", "phone"),
    ({"phone": "23900001111"}, "PHONE_INVALID", "phone"),
    ({"phone": ""}, "PHONE_INVALID", "phone"),
    ({"name": "  "}, "REQUIRED", "name"),
    ({"name": "长" * 31}, "TOO_LONG", "name"),
    ({"name": 7}, "INVALID_TYPE", "name"),
    ({"password": "short1"}, "PASSWORD_TOO_WEAK", "password"),
    ({"password": "onlyletters"}, "PASSWORD_TOO_WEAK", "password"),
    ({"tenant_code": ""}, "REQUIRED", "tenant_code"),
])
def test_bad_input_is_refused_before_anything_is_counted_or_stored(service, store, hash_gate, city, overrides, code,
                                                                   field):
    with pytest.raises(InvalidArgument) as refused:
        register(service, **overrides)
    assert (refused.value.code, refused.value.field) == (code, field)
    assert writes_of(store) == []
    hash_gate.hash.assert_not_called()


def test_a_phone_already_registered_in_the_tenant_is_taken(service, store, hash_gate, city):
    store.account_by_login.return_value = {"_id": "acc_other", "username": "13900001111"}
    with pytest.raises(Conflict) as refused:
        register(service)
    assert (refused.value.code, refused.value.field) == ("PHONE_TAKEN", "phone")
    store.register_citizen.assert_not_called()
    hash_gate.hash.assert_not_called()
    store.give_back_login_attempt.assert_not_called()       # probing which phones exist costs an attempt


def test_an_unknown_tenant_is_not_found_and_still_counted(service, store, hash_gate, city):
    store.tenant_by_code.return_value = None
    with pytest.raises(NotFound) as refused:
        register(service, tenant_code="nowhere")
    assert (refused.value.code, refused.value.field) == ("TENANT_NOT_FOUND", "tenant_code")
    assert writes_of(store) == ["take_login_attempt"]


def test_too_many_registrations_from_one_address_wait_without_a_lookup(service, store, hash_gate, city):
    store.take_login_attempt.return_value = 12.5
    with pytest.raises(TooManyRequests) as refused:
        register(service)
    assert refused.value.code == "TOO_MANY_ATTEMPTS"
    assert refused.value.details == [{"retry_after_seconds": 13}]
    store.tenant_by_code.assert_not_called()
    store.account_by_login.assert_not_called()
    hash_gate.hash.assert_not_called()


def test_a_full_hash_gate_answers_busy_and_uncounts_the_attempt(service, store, hash_gate, city):
    hash_gate.hash.side_effect = passwords.GateFull
    with pytest.raises(TooManyRequests) as refused:
        register(service)
    assert refused.value.code == "REGISTER_BUSY"
    store.give_back_login_attempt.assert_called_once_with(COUNTER)
    store.register_citizen.assert_not_called()


def test_a_caller_inside_the_platform_is_not_counted(service, store, city):
    register(service, client_address="")
    store.take_login_attempt.assert_not_called()
    store.register_citizen.assert_called_once()


def test_get_me_answers_a_citizens_own_account_without_member_or_orgs(service, store):
    store.account.return_value = {"_id": "acc_citizen", "tenant_id": TENANT, "username": "13900001111",
                                  "roles": [{"role": "citizen", "org_id": None}], "member_id": None, "name": "王阿姨"}
    store.orgs_by_ids.side_effect = lambda ids: {}
    answer = service.get_me(scope=CITIZEN)
    assert answer == {"account": {"id": "acc_citizen", "tenant_id": TENANT, "username": "13900001111",
                                  "roles": [{"role": "citizen", "org_id": ""}], "member_id": "", "name": "王阿姨",
                                  "disabled": False},
                      "member": None, "orgs": []}
    store.member.assert_not_called()


def test_tenant_by_code_answers_the_tenants_ids_and_name(service, store):
    store.tenant_by_code.return_value = {**CITY, "settings": {"transfer_deadline_days": 30}}
    assert service.tenant_by_code(tenant_code="city") == {"tenant_id": TENANT, "code": "city", "name": "测试市",
                                                          "root_org_id": "org_city"}
    store.tenant_by_code.return_value = None
    with pytest.raises(NotFound) as refused:
        service.tenant_by_code(tenant_code="nowhere")
    assert (refused.value.code, refused.value.field) == ("TENANT_NOT_FOUND", "tenant_code")
