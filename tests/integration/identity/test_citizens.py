"""Citizens on the real identity service: a registration opens an account the phone logs in to, with the citizen
role and no member; a taken phone, bad input and a flood from one address are refused and store nothing; racing
registrations of one phone make one account; a citizen's scope reaches nothing of the party's records."""
from __future__ import annotations

import uuid

import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied, TooManyRequests
from tests.support.identity import PASSWORD, login, scope_of
from tests.support.proofs import acting_as

pytestmark = pytest.mark.integration
_phones = iter(range(10_000_000))


def new_phone() -> str:
    """A phone number not registered before in this session (each test uses its own)."""
    return f"139{uuid.uuid4().int % 10_000:04d}{next(_phones) % 10_000:04d}"


def new_address() -> str:
    return f"198.51.{uuid.uuid4().int % 256}.{uuid.uuid4().int % 254 + 1}"


def register(rpc, tenant_code: str, phone: str, address: str | None = None, **overrides):
    fields = {"tenant_code": tenant_code, "phone": phone, "password": PASSWORD, "name": "王阿姨",
              "client_address": new_address() if address is None else address, **overrides}
    return rpc.identity.register_citizen(**fields)


def accounts_with(store, tenant_id: str, phone: str) -> list[dict]:
    return list(store.db.accounts.find({"login_key": f"{tenant_id}:{phone}"}))


def test_a_citizen_registers_then_logs_in_with_its_phone(rpc, city, identity_store):
    phone = new_phone()
    answer = register(rpc, city.code, f"{phone[:3]} {phone[3:7]} {phone[7:]}")
    assert answer == {"account_id": answer["account_id"], "phone_masked": f"{phone[:3]}****{phone[-4:]}",
                      "name": "王阿姨"}
    [stored] = accounts_with(identity_store, city.tenant_id, phone)
    assert stored["_id"] == answer["account_id"] and stored["password_hash"].startswith("$argon2")
    assert PASSWORD not in str(stored)

    logged_in = rpc.identity.login(tenant_code=city.code, username=phone, password=PASSWORD)
    assert logged_in["account"] == {"id": answer["account_id"], "tenant_id": city.tenant_id, "username": phone,
                                    "roles": [{"role": "citizen", "org_id": ""}], "member_id": "", "name": "王阿姨",
                                    "disabled": False}
    scope = scope_of(logged_in)
    assert scope["roles"] == [{"role": "citizen", "org_id": None}] and scope["member_id"] is None
    me = rpc.identity.get_me(scope=scope)
    assert (me["account"]["name"], me["member"], me["orgs"]) == ("王阿姨", None, [])


def test_a_phone_taken_in_the_tenant_is_refused_but_free_in_another(rpc, city, other_city, identity_store):
    phone = new_phone()
    register(rpc, city.code, phone)
    with pytest.raises(Conflict) as refused:
        register(rpc, city.code, phone, name="冒名者")
    assert (refused.value.code, refused.value.field) == ("PHONE_TAKEN", "phone")
    [kept] = accounts_with(identity_store, city.tenant_id, phone)
    assert kept["name"] == "王阿姨"
    register(rpc, other_city.code, phone)       # tenants are apart: the same phone is another account there
    assert len(accounts_with(identity_store, other_city.tenant_id, phone)) == 1


def test_a_staff_username_that_is_a_phone_is_taken_too(rpc, city):
    phone = new_phone()
    rpc.identity.create_account(scope=city.admin, username=phone, password=PASSWORD, role="org_admin",
                                org_id=city.counties[0]["id"])
    with pytest.raises(Conflict) as refused:
        register(rpc, city.code, phone)
    assert refused.value.code == "PHONE_TAKEN"
    assert login(rpc, city.code, phone)["roles"] == [{"role": "org_admin", "org_id": city.counties[0]["id"]}]


def test_racing_registrations_of_one_phone_make_one_account(rpc, city, identity_store):
    phone = new_phone()
    replies = [rpc.identity.register_citizen.call_async(tenant_code=city.code, phone=phone, password=PASSWORD,
                                                        name="王阿姨", client_address=new_address())
               for _ in range(6)]

    def outcome(reply):
        try:
            return reply.result()["account_id"]
        except Conflict as error:
            return error.code
    answers = [outcome(reply) for reply in replies]
    [account_id] = [answer for answer in answers if answer != "PHONE_TAKEN"]
    assert answers.count("PHONE_TAKEN") == 5
    assert [doc["_id"] for doc in accounts_with(identity_store, city.tenant_id, phone)] == [account_id]


@pytest.mark.parametrize("overrides, error, code", [
    ({"phone": "12345678901"}, InvalidArgument, "PHONE_INVALID"),
    ({"name": ""}, InvalidArgument, "REQUIRED"),
    ({"password": "password"}, InvalidArgument, "PASSWORD_TOO_WEAK"),
    ({"tenant_code": "no-such-city"}, NotFound, "TENANT_NOT_FOUND"),
])
def test_bad_input_stores_no_account(rpc, city, identity_store, overrides, error, code):
    phone = new_phone()
    with pytest.raises(error) as refused:
        rpc.identity.register_citizen(**{"tenant_code": city.code, "phone": phone, "password": PASSWORD,
                                         "name": "王阿姨", "client_address": new_address(), **overrides})
    assert refused.value.code == code
    assert identity_store.db.accounts.count_documents({"username": {"$in": [phone, "12345678901"]}}) == 0


def test_registrations_from_one_address_are_throttled_and_another_address_is_not(rpc, city, identity_store):
    address = new_address()
    answers = []
    for _ in range(22):
        try:
            answers.append(bool(register(rpc, city.code, new_phone(), address)["account_id"]))
        except TooManyRequests as error:
            answers.append(error.code)
            assert error.details[0]["retry_after_seconds"] >= 1
    assert answers[:20] == [True] * 20 and answers[20:] == ["TOO_MANY_ATTEMPTS"] * 2
    refused_phone = new_phone()
    with pytest.raises(TooManyRequests):
        register(rpc, city.code, refused_phone, address)
    assert accounts_with(identity_store, city.tenant_id, refused_phone) == []
    assert register(rpc, city.code, refused_phone, new_address())["account_id"]


def test_a_citizens_scope_reaches_nothing_of_the_partys_records(rpc, city):
    phone = new_phone()
    register(rpc, city.code, phone)
    citizen = login(rpc, city.code, phone)
    branch = city.branches[0][0]
    member = city.add_member(branch, "赵党员")
    calls = [lambda: rpc.identity.get_org(scope=citizen, org_id=branch["id"]),
             lambda: rpc.identity.list_members(scope=citizen, org_id=city.root["id"]),
             lambda: rpc.identity.get_member(scope=citizen, member_id=member["id"]),
             lambda: rpc.identity.list_accounts(scope=citizen, org_id=city.root["id"]),
             lambda: rpc.identity.create_account(scope=citizen, username="x" + phone, password=PASSWORD,
                                                 role="member", member_id=member["id"]),
             lambda: rpc.identity.list_transfers(scope=citizen, org_id=city.root["id"], side="incoming",
                                                 state="pending")]
    for call in calls:
        with pytest.raises(PermissionDenied) as refused:
            call()
        assert refused.value.code == "CITIZEN_NOT_ALLOWED"
    # and no subtree lists its account
    listed = rpc.identity.list_accounts(scope=city.admin, org_id=city.root["id"], page_size=500)
    assert phone not in {account["username"] for account in listed["accounts"]}


def test_tenant_by_code_names_the_tenant_for_other_services(rpc, city):
    with acting_as("volunteer"):
        assert rpc.identity.tenant_by_code(tenant_code=city.code) == {
            "tenant_id": city.tenant_id, "code": city.code, "name": "测试市", "root_org_id": city.root["id"]}
        with pytest.raises(NotFound):
            rpc.identity.tenant_by_code(tenant_code="no-such-city")
    with pytest.raises(PermissionDenied) as refused:         # only the volunteer service asks it
        rpc.identity.tenant_by_code(tenant_code=city.code)
    assert refused.value.code == "CALLER_NOT_ALLOWED"
