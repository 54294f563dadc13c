"""Accounts and tenants on a fake store: refusals write nothing; the operator alone creates tenants and resets a
tenant admin's password."""
from __future__ import annotations

import pytest

from servicekit.errors import InvalidArgument, PermissionDenied
from tests.fast.identity.fakes import BRANCH, CITY_ADMIN, NOW_STAMP, OPERATOR, SECRETARY, TENANT, writes_of

PASSWORD = "secret-pass-1"


def test_a_weak_password_is_refused_before_anything_is_looked_up(service, store):
    with pytest.raises(InvalidArgument) as refused:
        service.create_account(CITY_ADMIN, username="zhang", password="short", role="org_admin", org_id="org_city")
    assert refused.value.code == "PASSWORD_TOO_WEAK"
    assert store.method_calls == []


def test_a_secretary_may_not_appoint_a_secretary(service, store):
    with pytest.raises(PermissionDenied) as refused:
        service.create_account(SECRETARY, username="li", password=PASSWORD, role="branch_secretary",
                               org_id=BRANCH["_id"])
    assert refused.value.code == "NOT_ORG_ADMIN"
    assert writes_of(store) == []


def test_an_account_is_placed_where_its_grant_is(service, store):
    view = service.create_account(CITY_ADMIN, username="li", password=PASSWORD, role="branch_secretary",
                                  org_id=BRANCH["_id"])
    account, events = store.create_account.call_args.args
    assert (account["login_key"], account["a2"], account["ra2"]) == (
        f"{TENANT}:li", BRANCH["_id"], f"branch_secretary:{BRANCH['_id']}")
    assert account["password_hash"] != PASSWORD and account["created_at"] == NOW_STAMP
    assert events[0]["event_type"] == "account_created" and view["username"] == "li"


@pytest.mark.parametrize("rpc, kwargs", [
    ("create_tenant", dict(code="xian", name="西安市", admin_username="admin", admin_password=PASSWORD)),
    ("reset_tenant_admin_password", dict(tenant_code="xian", username="admin")),
])
def test_only_the_operator_acts_on_tenants(service, store, rpc, kwargs):
    with pytest.raises(PermissionDenied) as refused:
        getattr(service, rpc)(CITY_ADMIN, **kwargs)
    assert refused.value.code == "OPERATOR_ONLY"
    assert store.method_calls == []


def test_a_tenant_code_is_lower_case_ascii(service, store):
    with pytest.raises(InvalidArgument) as refused:
        service.create_tenant(OPERATOR, code="Xi An", name="西安市", admin_username="admin", admin_password=PASSWORD)
    assert refused.value.code == "TENANT_CODE_INVALID"
    assert writes_of(store) == []


def test_a_tenant_is_written_with_its_root_and_admin_in_one_write(service, store):
    answer = service.create_tenant(OPERATOR, code="xian", name="西安市", admin_username="admin",
                                   admin_password=PASSWORD)
    tenant, root, admin, events = store.create_tenant.call_args.args
    assert (tenant["root_org_id"], root["a0"], root["level"], root["kind"]) == (root["_id"], root["_id"], 0, "city")
    assert (admin["a0"], admin["ra0"], admin["roles"]) == (
        root["_id"], f"org_admin:{root['_id']}", [{"role": "org_admin", "org_id": root["_id"]}])
    assert [(e["event_type"], e["occurred_at"]) for e in events] == [
        ("tenant_created", NOW_STAMP), ("organisation_created", NOW_STAMP), ("account_created", NOW_STAMP)]
    assert answer["root_org"]["path_ids"] == [root["_id"]] and writes_of(store) == ["create_tenant"]


def test_a_reset_password_is_generated_when_none_is_given(service, store):
    store.tenant_by_code.return_value = {"_id": TENANT, "root_org_id": "org_city"}
    store.account_by_login.return_value = {"_id": "acc_admin", "tenant_id": TENANT, "username": "admin",
                                           "roles": [{"role": "org_admin", "org_id": "org_city"}]}
    answer = service.reset_tenant_admin_password(OPERATOR, tenant_code="xian", username="admin")
    account_id, password_hash, now, events = store.reset_password.call_args.args
    assert answer["generated_password"] and password_hash != answer["generated_password"]
    assert (account_id, now, events[0]["reset_by"]) == ("acc_admin", NOW_STAMP, "acc_operator")
