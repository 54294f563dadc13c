"""Sessions and cutting access off, on the real store through the identity service: refresh rotation and reuse,
logout, password change and reset, disabled and removed accounts, what the gateways read from revocations_since,
and one account per member."""
import pytest

from servicekit.errors import Conflict, NotFound, PermissionDenied, Unauthenticated
from tests.support.identity import PASSWORD, scope_of
from tests.support.proofs import acting_as

pytestmark = pytest.mark.integration
NEW_PASSWORD = "N3w-pass-word"


def log_in(rpc, city, username: str, password: str = PASSWORD) -> dict:
    return rpc.identity.login(tenant_code=city.code, username=username, password=password)


def revoked(rpc) -> tuple[set, set]:
    answer = rpc.identity.revocations_since(cursor="")
    return {entry["id"] for entry in answer["sessions"]}, {entry["id"] for entry in answer["accounts"]}


def refused_code(call, *args, **kwargs) -> str:
    with pytest.raises((Unauthenticated, NotFound, PermissionDenied, Conflict)) as refused:
        call(*args, **kwargs)
    return refused.value.code


def test_a_refresh_rotates_and_a_reused_refresh_token_revokes_the_session(rpc, city):
    first = log_in(rpc, city, "county1")
    second = rpc.identity.refresh(refresh_token=first["refresh_token"], client_address="")
    assert second["session_id"] == first["session_id"] and second["refresh_token"] != first["refresh_token"]
    assert scope_of(second)["session_id"] == first["session_id"]
    third = rpc.identity.refresh(refresh_token=second["refresh_token"], client_address="")

    assert refused_code(rpc.identity.refresh, refresh_token=first["refresh_token"], client_address="") \
        == "REFRESH_INVALID"
    assert first["session_id"] in revoked(rpc)[0]
    # the thief's and the owner's latest token alike: the session is over
    assert refused_code(rpc.identity.refresh, refresh_token=third["refresh_token"], client_address="") \
        == "REFRESH_INVALID"


def test_logout_ends_only_its_own_session(rpc, city):
    phone, desk = log_in(rpc, city, "county1"), log_in(rpc, city, "county1")
    answer = rpc.identity.logout(scope=scope_of(phone))
    assert answer == {"revoked_sessions": 1}
    sessions = rpc.identity.list_sessions(scope=scope_of(desk))["sessions"]
    listed = {entry["id"]: entry["current"] for entry in sessions}
    assert phone["session_id"] not in listed and listed[desk["session_id"]] is True
    assert phone["session_id"] in revoked(rpc)[0] and desk["session_id"] not in revoked(rpc)[0]
    assert refused_code(rpc.identity.refresh, refresh_token=phone["refresh_token"], client_address="") \
        == "REFRESH_INVALID"


def test_a_password_change_keeps_the_current_session_and_revokes_the_others(rpc, city):
    here, elsewhere = log_in(rpc, city, "county2"), log_in(rpc, city, "county2")
    assert refused_code(rpc.identity.change_password, scope=scope_of(here), old_password="wrong-pass-1",
                        new_password=NEW_PASSWORD) == "OLD_PASSWORD_WRONG"
    live = rpc.identity.list_sessions(scope=scope_of(here))["sessions"]      # the city's own login of county2 too
    answer = rpc.identity.change_password(scope=scope_of(here), old_password=PASSWORD, new_password=NEW_PASSWORD)
    assert answer == {"revoked_sessions": len(live) - 1} and len(live) >= 2
    assert [entry["id"] for entry in rpc.identity.list_sessions(scope=scope_of(here))["sessions"]] == [
        here["session_id"]]
    sessions = revoked(rpc)[0]
    assert elsewhere["session_id"] in sessions and here["session_id"] not in sessions
    assert refused_code(log_in, rpc, city, "county2") == "LOGIN_FAILED"
    log_in(rpc, city, "county2", NEW_PASSWORD)


def test_a_disabled_account_cannot_log_in_and_its_tokens_are_cut_until_enabled(rpc, city):
    held = log_in(rpc, city, "county1")
    account_id = held["account"]["id"]
    view = rpc.identity.disable_account(scope=city.admin, account_id=account_id, reason="离职")
    assert view["disabled"] is True
    sessions, accounts = revoked(rpc)
    assert held["session_id"] in sessions and account_id in accounts
    assert refused_code(log_in, rpc, city, "county1") == "LOGIN_FAILED"        # as a wrong password is
    listed = rpc.identity.list_accounts(scope=city.admin, org_id=city.counties[0]["id"])["accounts"]
    assert [entry["disabled"] for entry in listed if entry["id"] == account_id] == [True]

    rpc.identity.enable_account(scope=city.admin, account_id=account_id)
    log_in(rpc, city, "county1")


def test_another_tenant_or_county_finds_no_account_to_cut(rpc, city, other_city):
    account_id = log_in(rpc, city, "county1")["account"]["id"]
    for caller in (other_city.admin, city.county_admins[1]):
        for rpc_name in ("disable_account", "enable_account", "remove_account", "reset_account_password"):
            assert refused_code(getattr(rpc.identity, rpc_name), scope=caller, account_id=account_id) \
                == "ACCOUNT_NOT_FOUND"
        assert refused_code(rpc.identity.list_sessions, scope=caller, account_id=account_id) == "ACCOUNT_NOT_FOUND"
    log_in(rpc, city, "county1")


def test_an_admin_account_without_a_member_is_removed_but_never_the_last_city_admin(rpc, city):
    city_admin_id = log_in(rpc, city, "city-admin")["account"]["id"]
    county = log_in(rpc, city, "county2")
    assert refused_code(rpc.identity.remove_account, scope=scope_of(county), account_id=city_admin_id) \
        == "ACCOUNT_NOT_FOUND"                                       # above the county admin: not its to see
    assert refused_code(rpc.identity.disable_account, scope=city.admin, account_id=city_admin_id) == "OWN_ACCOUNT"
    assert refused_code(rpc.identity.remove_account, scope=city.county_admins[0],
                        account_id=county["account"]["id"]) == "ACCOUNT_NOT_FOUND"
    rpc.identity.create_account(scope=city.admin, username="city-admin-2", password=PASSWORD, role="org_admin",
                                org_id=city.root["id"])
    second = scope_of(log_in(rpc, city, "city-admin-2"))
    rpc.identity.disable_account(scope=second, account_id=city_admin_id)
    # the first is disabled now: the second is the last city admin left
    assert refused_code(rpc.identity.disable_account, scope=city.admin, account_id=second["account_id"]) \
        == "LAST_CITY_ADMIN"
    assert refused_code(rpc.identity.remove_account, scope=city.admin, account_id=second["account_id"]) \
        == "LAST_CITY_ADMIN"

    rpc.identity.remove_account(scope=second, account_id=county["account"]["id"])
    assert refused_code(log_in, rpc, city, "county2") == "LOGIN_FAILED"
    assert county["account"]["id"] in revoked(rpc)[1] and county["session_id"] in revoked(rpc)[0]


def test_an_admin_reset_revokes_every_session_of_the_account(rpc, city):
    held = log_in(rpc, city, "county1")
    answer = rpc.identity.reset_account_password(scope=city.admin, account_id=held["account"]["id"])
    assert held["session_id"] in revoked(rpc)[0]
    log_in(rpc, city, "county1", answer["generated_password"])


def test_a_member_holds_one_account_unless_an_admin_records_why(rpc, city):
    branch = city.branches[0][0]
    member = city.add_member(branch, "李四")
    rpc.identity.create_account(scope=city.admin, username="branch-sec", password=PASSWORD,
                                role="branch_secretary", org_id=branch["id"])
    secretary = scope_of(log_in(rpc, city, "branch-sec"))
    rpc.identity.create_account(scope=secretary, username="lisi", password=PASSWORD, role="member",
                                member_id=member["id"])
    assert refused_code(rpc.identity.create_account, scope=secretary, username="lisi-2", password=PASSWORD,
                        role="member", member_id=member["id"], reason="再建一个") == "MEMBER_HAS_ACCOUNT"
    rpc.identity.create_account(scope=city.admin, username="lisi-2", password=PASSWORD, role="member",
                                member_id=member["id"], reason="原账号手机丢失")
    log_in(rpc, city, "lisi-2")


def test_a_removed_members_logins_are_cut_off_with_it(rpc, city):
    member = city.add_member(city.branches[1][0], "王五")
    held = city.member_login(member, "wangwu")
    rpc.identity.remove_member(scope=city.admin, member_id=member["id"])
    sessions, accounts = revoked(rpc)
    assert held["account_id"] in accounts and held["session_id"] in sessions
    assert refused_code(log_in, rpc, city, "wangwu") == "LOGIN_FAILED"


def test_only_the_gateway_reads_the_revocations_or_refreshes(rpc, city):
    held = log_in(rpc, city, "county1")
    with acting_as("content"):
        for call, kwargs in ((rpc.identity.revocations_since, {"cursor": ""}),
                             (rpc.identity.refresh, {"refresh_token": held["refresh_token"], "client_address": ""})):
            with pytest.raises(PermissionDenied) as refused:
                call(**kwargs)
            assert refused.value.code == "CALLER_NOT_ALLOWED"
    rpc.identity.refresh(refresh_token=held["refresh_token"], client_address="")     # unused by the refusals
