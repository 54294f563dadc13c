"""Cutting access off on a fake store: sessions opened by logins, rotating refresh tokens and their reuse, logout,
revoking and listing sessions, password change and reset, disabling and removing accounts, one account per member.
Refusals write nothing; an account outside the caller's subtree or tenant is not found, as a missing id is."""
from __future__ import annotations

import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied, Unauthenticated
from services.identity.store import account_place
from services.identity.usecases import sessions as sessions_module
from services.identity.usecases.sessions import token_hash
from tests.fast.identity.fakes import (BRANCH, CITY_ADMIN, COUNTY_ADMIN, COUNTY2, FOREIGN_ADMIN, SECRETARY, TENANT,
                                       writes_of)

WALL = 1_800_000_000.0
PASSWORD = "secret-pass-1"
MEMBER = {"_id": "mem_1", "tenant_id": TENANT, "branch_id": BRANCH["_id"], "name": "张三",
          **{key: BRANCH[key] for key in ("a0", "a1", "a2")}}


def account(account_id: str, role: str, org: dict, **more) -> dict:
    path = [org[f"a{level}"] for level in range(6) if org.get(f"a{level}")]
    return {"_id": account_id, "tenant_id": org["tenant_id"], "username": account_id, "password_hash": "hash",
            "roles": [{"role": role, "org_id": org["_id"]}], "member_id": None, **account_place(role, path), **more}


SECRETARY_ACCOUNT = account("acc_sec", "branch_secretary", BRANCH)
OTHER_COUNTY_ACCOUNT = account("acc_c2", "org_admin", COUNTY2)


@pytest.fixture(autouse=True)
def wall(monkeypatch):
    monkeypatch.setattr(sessions_module, "wall_clock", lambda: WALL)


@pytest.fixture
def accounts(store):
    known = {doc["_id"]: doc for doc in (SECRETARY_ACCOUNT, OTHER_COUNTY_ACCOUNT)}
    store.account.side_effect = known.get
    store.tenant.return_value = {"_id": TENANT, "root_org_id": "org_city"}
    store.root_admins.return_value = [account("acc_org_admin", "org_admin", {"_id": "org_city", "tenant_id": TENANT,
                                                                              "a0": "org_city"})]
    return known


def session(refresh_token: str, **more) -> dict:
    return {"_id": refresh_token.partition(".")[0], "tenant_id": TENANT, "account_id": "acc_sec",
            "expires_at": WALL + 60, "refresh_hash": token_hash(refresh_token), "retired_hashes": [],
            "revoked_at": None, **more}


# --- refresh ------------------------------------------------------------------------------------------------------
def test_a_refresh_rotates_the_token_and_answers_a_new_pair_for_the_same_session(service, store, signer, accounts):
    store.session.return_value = held = session("ses_1.current")
    store.rotate_refresh.return_value = True
    answer = service.refresh(refresh_token="ses_1.current", client_address="")
    rotated_from, new_hash, changes = store.rotate_refresh.call_args.args
    assert rotated_from is held and changes["expires_at"] == WALL + sessions_module.refresh_lifetime()
    assert answer["refresh_token"].startswith("ses_1.") and answer["refresh_token"] != "ses_1.current"
    assert new_hash == token_hash(answer["refresh_token"]) and answer["session_id"] == "ses_1"
    assert signer.issue.call_args.args[0]["session_id"] == "ses_1"
    store.revoke.assert_not_called()


def test_a_retired_refresh_token_revokes_the_whole_session(service, store, accounts):
    store.session.return_value = session("ses_1.current", retired_hashes=[token_hash("ses_1.stolen")])
    with pytest.raises(Unauthenticated) as refused:
        service.refresh(refresh_token="ses_1.stolen", client_address="")
    assert refused.value.code == "REFRESH_INVALID"
    kwargs = store.revoke.call_args.kwargs
    assert (kwargs["session_ids"], kwargs["reason"]) == (["ses_1"], "refresh_reused")
    assert kwargs["until"] > WALL
    store.rotate_refresh.assert_not_called()


def test_an_unknown_refresh_token_is_refused_without_revoking_anything(service, store, accounts):
    store.session.return_value = session("ses_1.current")
    with pytest.raises(Unauthenticated) as refused:
        service.refresh(refresh_token="ses_1.guessed", client_address="")
    assert refused.value.code == "REFRESH_INVALID"
    assert writes_of(store) == []


@pytest.mark.parametrize("held", [None, {"revoked_at": "then"}, {"expires_at": WALL}])
def test_a_refresh_of_a_revoked_expired_or_missing_session_is_refused(service, store, accounts, held):
    store.session.return_value = None if held is None else session("ses_1.current", **held)
    with pytest.raises(Unauthenticated) as refused:
        service.refresh(refresh_token="ses_1.current", client_address="")
    assert refused.value.code == "REFRESH_INVALID"
    assert writes_of(store) == []


def test_a_refresh_for_a_disabled_account_is_refused_and_ends_the_session(service, store, accounts):
    accounts["acc_sec"] = {**SECRETARY_ACCOUNT, "disabled": True}
    store.session.return_value = session("ses_1.current")
    with pytest.raises(Unauthenticated):
        service.refresh(refresh_token="ses_1.current", client_address="")
    assert store.revoke.call_args.kwargs["session_ids"] == ["ses_1"]
    store.rotate_refresh.assert_not_called()


def test_two_refreshes_with_one_token_revoke_the_session(service, store, accounts):
    store.session.return_value = session("ses_1.current")
    store.rotate_refresh.return_value = False           # a parallel refresh rotated it first
    with pytest.raises(Unauthenticated):
        service.refresh(refresh_token="ses_1.current", client_address="")
    assert store.revoke.call_args.kwargs["reason"] == "refresh_reused"


# --- logout, revoke, list -----------------------------------------------------------------------------------------
def test_logout_revokes_the_callers_own_session(service, store):
    store.revoke.return_value = 1
    answer = service.logout(scope={**SECRETARY, "session_id": "ses_9"})
    assert answer == {"revoked_sessions": 1}
    kwargs = store.revoke.call_args.kwargs
    assert (kwargs["session_ids"], kwargs["account_id"], kwargs["reason"]) == (["ses_9"], "acc_branch_secretary",
                                                                                "logout")


@pytest.mark.parametrize("caller", [FOREIGN_ADMIN, COUNTY_ADMIN, {**SECRETARY, "account_id": "acc_other"}],
                         ids=["another tenant", "another county", "a member of the branch"])
def test_another_accounts_session_is_not_found_outside_the_admins_subtree(service, store, accounts, caller):
    store.session.return_value = {"_id": "ses_1", "account_id": "acc_c2"}
    with pytest.raises(NotFound) as refused:
        service.revoke_session(scope=caller, session_id="ses_1")
    store.session.return_value = None
    with pytest.raises(NotFound) as missing:
        service.revoke_session(scope=caller, session_id="ses_1")
    assert refused.value.code == missing.value.code == "SESSION_NOT_FOUND"
    assert writes_of(store) == []


def test_an_admin_revokes_a_session_of_an_account_in_its_subtree(service, store, accounts):
    store.session.return_value = {"_id": "ses_1", "account_id": "acc_sec"}
    service.revoke_session(scope=COUNTY_ADMIN, session_id="ses_1")
    assert store.revoke.call_args.kwargs["session_ids"] == ["ses_1"]


def test_sessions_of_an_account_outside_the_subtree_are_not_found_as_a_missing_id_is(service, store, accounts):
    codes = []
    for account_id in ("acc_c2", "acc_nowhere"):
        with pytest.raises(NotFound) as refused:
            service.list_sessions(scope=COUNTY_ADMIN, account_id=account_id)
        codes.append(refused.value.code)
    assert codes == ["ACCOUNT_NOT_FOUND", "ACCOUNT_NOT_FOUND"]
    store.live_sessions.assert_not_called()


def test_ones_own_sessions_are_listed_with_the_current_one_marked(service, store):
    store.live_sessions.return_value = [{"_id": "ses_2", "created_at": "2026-12-06T08:00:00.000Z",
                                         "expires_at": WALL + 10, "client_address": "203.0.113.7"},
                                        {"_id": "ses_1", "created_at": "2026-12-05T08:00:00.000Z",
                                         "expires_at": WALL + 5, "refresh_hash": "secret"}]
    answer = service.list_sessions(scope={**SECRETARY, "session_id": "ses_1"})
    store.live_sessions.assert_called_once_with("acc_branch_secretary", WALL)
    assert [(entry["id"], entry["current"]) for entry in answer["sessions"]] == [("ses_2", False), ("ses_1", True)]
    assert all("refresh_hash" not in entry for entry in answer["sessions"])


# --- passwords ----------------------------------------------------------------------------------------------------
def test_a_password_change_needs_the_old_password(service, store, hash_gate, accounts):
    hash_gate.verify.return_value = (False, None)
    with pytest.raises(PermissionDenied) as refused:
        service.change_password(scope={**SECRETARY, "account_id": "acc_sec"}, old_password="wrong",
                                new_password=PASSWORD)
    assert refused.value.code == "OLD_PASSWORD_WRONG"
    assert writes_of(store) == []


def test_a_password_change_revokes_every_other_session(service, store, hash_gate, accounts):
    hash_gate.verify.return_value = (True, None)
    store.change_password.return_value = 2
    answer = service.change_password(scope={**SECRETARY, "account_id": "acc_sec", "session_id": "ses_1"},
                                     old_password="old-pass-1", new_password=PASSWORD)
    account_id, new_hash, _, events = store.change_password.call_args.args
    revoke = store.change_password.call_args.kwargs["revoke"]
    assert account_id == "acc_sec" and new_hash != PASSWORD and events[0]["event_type"] == "account_password_changed"
    assert (revoke["all_of_account"], revoke["keep_session_id"]) == (True, "ses_1")
    assert answer == {"revoked_sessions": 2}


def test_an_admin_reset_revokes_all_sessions_and_cuts_the_account(service, store, accounts):
    answer = service.reset_account_password(scope=COUNTY_ADMIN, account_id="acc_sec", password="")
    revoke = store.change_password.call_args.kwargs["revoke"]
    assert (revoke["all_of_account"], revoke["cut_account"], revoke.get("keep_session_id")) == (True, True, None)
    assert len(answer["generated_password"]) >= 8


# --- disable, enable, remove --------------------------------------------------------------------------------------
@pytest.mark.parametrize("rpc", ["disable_account", "enable_account", "remove_account", "reset_account_password"])
def test_an_account_outside_the_admins_subtree_or_tenant_is_not_found(service, store, accounts, rpc):
    for caller, account_id in ((COUNTY_ADMIN, "acc_c2"), (FOREIGN_ADMIN, "acc_sec"), (COUNTY_ADMIN, "acc_nowhere")):
        with pytest.raises(NotFound) as refused:
            getattr(service, rpc)(scope=caller, account_id=account_id)
        assert refused.value.code == "ACCOUNT_NOT_FOUND"
    with pytest.raises(PermissionDenied) as refused:     # a secretary lists its branch's accounts, manages none
        getattr(service, rpc)(scope=SECRETARY, account_id="acc_sec")
    assert refused.value.code == "NOT_ORG_ADMIN"
    assert writes_of(store) == []


def test_a_disabled_account_loses_its_sessions_and_its_tokens(service, store, accounts):
    view = service.disable_account(scope=COUNTY_ADMIN, account_id="acc_sec", reason="离职")
    account_id, changes, events = store.update_account.call_args.args
    revoke = store.update_account.call_args.kwargs["revoke"]
    assert account_id == "acc_sec" and changes["disabled"] is True and changes["disabled_reason"] == "离职"
    assert (revoke["all_of_account"], revoke["cut_account"], revoke["reason"]) == (True, True, "account_disabled")
    assert events[0]["event_type"] == "account_disabled" and view["disabled"] is True


def test_no_admin_disables_or_removes_its_own_account(service, store, accounts):
    accounts["acc_org_admin"] = store.root_admins.return_value[0]
    for rpc in ("disable_account", "remove_account"):
        with pytest.raises(PermissionDenied) as refused:
            getattr(service, rpc)(scope={**CITY_ADMIN, "account_id": "acc_org_admin"}, account_id="acc_org_admin")
        assert refused.value.code == "OWN_ACCOUNT"
    assert writes_of(store) == []


def test_the_last_city_admin_is_never_cut_off_but_one_of_two_may_be(service, store, accounts):
    last = accounts["acc_org_admin"] = store.root_admins.return_value[0]
    for rpc in ("disable_account", "remove_account"):
        with pytest.raises(Conflict) as refused:
            getattr(service, rpc)(scope={**CITY_ADMIN, "account_id": "acc_other_city_admin"},
                                  account_id="acc_org_admin")
        assert refused.value.code == "LAST_CITY_ADMIN"
    assert writes_of(store) == []
    store.root_admins.return_value = [last, {**last, "_id": "acc_second"}]
    service.remove_account(scope={**CITY_ADMIN, "account_id": "acc_second"}, account_id="acc_org_admin")
    assert store.remove_account.call_args.args[0] == "acc_org_admin"


def test_a_disabled_second_city_admin_does_not_count_as_another(service, store, accounts):
    last = accounts["acc_org_admin"] = store.root_admins.return_value[0]
    store.root_admins.return_value = [last, {**last, "_id": "acc_second", "disabled": True}]
    with pytest.raises(Conflict):
        service.disable_account(scope={**CITY_ADMIN, "account_id": "acc_x"}, account_id="acc_org_admin")


def test_an_admin_account_without_a_member_record_can_be_removed(service, store, accounts):
    answer = service.remove_account(scope=CITY_ADMIN, account_id="acc_c2")
    account_id, events, revoke = store.remove_account.call_args.args
    assert account_id == "acc_c2" and answer == {"account_id": "acc_c2"}
    assert events[0]["event_type"] == "account_removed" and revoke["cut_account"] is True


# --- one account per member ---------------------------------------------------------------------------------------
@pytest.fixture
def member_with_account(store):
    store.member.return_value = MEMBER
    store.member_accounts.return_value = [{"_id": "acc_first", "member_id": "mem_1"}]


def test_a_secretary_may_not_give_a_member_a_second_account(service, store, member_with_account):
    with pytest.raises(Conflict) as refused:
        service.create_account(SECRETARY, username="zhang2", password=PASSWORD, role="member", member_id="mem_1",
                               reason="想再要一个")
    assert refused.value.code == "MEMBER_HAS_ACCOUNT"
    assert writes_of(store) == []


def test_an_admin_gives_a_member_a_second_account_only_with_a_reason_kept_on_it(service, store, member_with_account):
    with pytest.raises(InvalidArgument) as refused:
        service.create_account(COUNTY_ADMIN, username="zhang2", password=PASSWORD, role="member", member_id="mem_1")
    assert refused.value.code == "REASON_REQUIRED"
    assert writes_of(store) == []
    service.create_account(COUNTY_ADMIN, username="zhang2", password=PASSWORD, role="member", member_id="mem_1",
                           reason="原手机号停用")
    created = store.create_account.call_args.args[0]
    assert (created["extra_account_reason"], created["created_by"]) == ("原手机号停用", COUNTY_ADMIN["account_id"])


def test_a_member_without_an_account_gets_one_from_its_secretary(service, store):
    store.member.return_value = MEMBER
    store.member_accounts.return_value = []
    service.create_account(SECRETARY, username="zhang", password=PASSWORD, role="member", member_id="mem_1")
    assert store.create_account.call_args.args[0]["created_by"] == SECRETARY["account_id"]


# --- the gateways' feed -------------------------------------------------------------------------------------------
def test_revocations_since_a_cursor_overlap_it_and_answer_the_next(service, store):
    store.revocations_since.return_value = [
        {"kind": "session", "target": "ses_1", "at": WALL - 5, "until": WALL + 900},
        {"kind": "account", "target": "acc_sec", "at": WALL - 4, "cut_at": int(WALL - 4), "until": WALL + 900}]
    answer = service.revocations_since(cursor=repr(WALL - 2))
    store.revocations_since.assert_called_once_with(WALL - 2 - sessions_module.CURSOR_OVERLAP_SECONDS, WALL)
    assert answer == {"sessions": [{"id": "ses_1", "until": WALL + 900}],
                      "accounts": [{"id": "acc_sec", "cut_at": int(WALL - 4), "until": WALL + 900}],
                      "cursor": repr(WALL)}
    service.revocations_since(cursor="")
    assert store.revocations_since.call_args.args == (None, WALL)      # the first poll: all still in force


# --- bad input ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rpc,kwargs,code", [
    ("disable_account", {"account_id": ""}, "REQUIRED"), ("disable_account", {"account_id": 7}, "INVALID_TYPE"),
    ("enable_account", {"account_id": ""}, "REQUIRED"), ("remove_account", {"account_id": ["acc_sec"]}, "INVALID_TYPE"),
    ("reset_account_password", {"account_id": ""}, "REQUIRED"),
    ("reset_account_password", {"account_id": "acc_sec", "password": "weak"}, "PASSWORD_TOO_WEAK"),
    ("revoke_session", {"session_id": ""}, "REQUIRED"), ("revoke_session", {"session_id": {"id": 1}}, "INVALID_TYPE"),
    ("change_password", {"old_password": "old-pass-1", "new_password": "weak"}, "PASSWORD_TOO_WEAK"),
    ("change_password", {"old_password": "", "new_password": PASSWORD}, "REQUIRED"),
    ("refresh", {"refresh_token": ""}, "REQUIRED"),
])
def test_bad_input_to_the_account_operations_is_refused_with_a_code_and_writes_nothing(service, store, hash_gate,
                                                                                       accounts, rpc, kwargs, code):
    hash_gate.verify.return_value = (True, None)
    scope = {**SECRETARY, "account_id": "acc_sec"} if rpc == "change_password" else {**COUNTY_ADMIN,
                                                                                      "account_id": "acc_admin"}
    with pytest.raises(InvalidArgument) as refused:
        if rpc == "refresh":
            service.refresh(**kwargs)
        else:
            getattr(service, rpc)(scope=scope, **kwargs)
    assert refused.value.code == code
    assert writes_of(store) == []
