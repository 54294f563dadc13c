"""Every entry point of the identity service hands its caller and arguments to one use case, unchanged."""
from __future__ import annotations

import inspect
from unittest.mock import MagicMock

import pytest
from nameko.rpc import Rpc
from nameko.timer import Timer

from servicekit.errors import PermissionDenied
from servicekit.security.scope import CallerScope
from services.identity.service import IdentityService
from tests.fast.identity.fakes import CITIZEN, CITY_ADMIN, OPERATOR

TENANT_CALLER = CallerScope.from_dict(CITY_ADMIN)
AUDIT_CALLER = CallerScope.from_dict(CITY_ADMIN)     # not TENANT_CALLER: the use case refuses the operator itself
OPERATOR_CALLER = CallerScope.from_dict(OPERATOR)

# rpc, its keyword arguments, the use-case property and method, the caller handed over, the arguments after it
DELEGATIONS = [
    ("login", dict(tenant_code="city", username="u", password="p", client_address="a"), "sessions", "login",
     None, ("city", "u", "p", "a")),
    ("get_me", dict(scope=OPERATOR), "sessions", "me", OPERATOR_CALLER, ()),        # the operator too
    ("register_citizen", dict(tenant_code="city", phone="13900001111", password="p", name="n", client_address="a"),
     "citizens", "register", None, ("city", "13900001111", "p", "n", "a")),
    ("tenant_by_code", dict(tenant_code="city"), "tenants", "by_code", None, ("city",)),
    ("create_tenant", dict(scope=OPERATOR, code="c", name="n", admin_username="au", admin_password="ap"),
     "tenants", "create", OPERATOR_CALLER, ("c", "n", "au", "ap")),
    ("get_org", dict(scope=CITY_ADMIN, org_id="o"), "organisations", "get", TENANT_CALLER, ("o",)),
    ("list_subtree", dict(scope=CITY_ADMIN, org_id="o", max_depth=2, kind="k", field="f", page_size=5,
                          page_token="t"), "organisations", "list_subtree", TENANT_CALLER, ("o", 2, "k", "f", 5, "t")),
    ("create_org", dict(scope=CITY_ADMIN, parent_id="p", name="n", kind="k", category="c", field="f"),
     "organisations", "create", TENANT_CALLER, ("p", "n", "k", "c", "f")),
    ("update_org", dict(scope=CITY_ADMIN, org_id="o", name="n", category=None, field="f"), "organisations", "update",
     TENANT_CALLER, ("o", "n", None, "f")),
    ("move_org", dict(scope=CITY_ADMIN, org_id="o", new_parent_id="p"), "organisations", "move", TENANT_CALLER,
     ("o", "p")),
    ("dissolve_org", dict(scope=CITY_ADMIN, org_id="o"), "organisations", "dissolve", TENANT_CALLER, ("o",)),
    ("branches_under", dict(scope=CITY_ADMIN, org_id="o"), "organisations", "branches_under", TENANT_CALLER,
     ("o",)),
    ("create_member", dict(scope=CITY_ADMIN, branch_id="b", name="n", gender="g", birth_date="d", id_number="i",
                           phone="p", education="e", status="s", status_dates={"s": "d"}, enrolment="en",
                           mobile=True),
     "members", "create", TENANT_CALLER, ("b", "n", "g", "d", "i", "p", "e", "s", {"s": "d"}, "en", True)),
    ("get_member", dict(scope=CITY_ADMIN, member_id="m"), "members", "get", TENANT_CALLER, ("m",)),
    ("update_member", dict(scope=CITY_ADMIN, member_id="m", name="n", phone=None, education="e", enrolment=None,
                           mobile=False), "members", "update", TENANT_CALLER, ("m", "n", None, "e", None, False)),
    ("remove_member", dict(scope=CITY_ADMIN, member_id="m"), "members", "remove", TENANT_CALLER, ("m",)),
    ("list_members", dict(scope=CITY_ADMIN, org_id="o", status="s", mobile=True, page_size=5, page_token="t", q="q"),
     "members", "list", TENANT_CALLER, ("o", "s", True, 5, "t", "q")),
    ("change_member_status", dict(scope=CITY_ADMIN, member_id="m", status="s", on="d"), "members", "change_status",
     TENANT_CALLER, ("m", "s", "d")),
    ("branch_rosters", dict(tenant_id="ten_1", branch_ids=["b1", "b2"]), "members", "branch_rosters", None,
     ("ten_1", ["b1", "b2"])),
    ("branch_meeting_facts", dict(tenant_id="ten_1", branch_ids=["b1", "b2"]), "members", "branch_meeting_facts",
     None, ("ten_1", ["b1", "b2"])),
    ("branch_roster_sizes", dict(tenant_id="ten_1", branch_ids=["b1", "b2"]), "members", "branch_roster_sizes", None,
     ("ten_1", ["b1", "b2"])),
    ("org_nodes", dict(tenant_id="ten_1", org_ids=["o1", "o2"]), "organisations", "nodes", None,
     ("ten_1", ["o1", "o2"])),
    ("all_org_nodes", dict(after="o1", limit=500), "organisations", "all_nodes", None, ("o1", 500)),
    ("org_tree_revision", dict(), "organisations", "tree_revision", None, ()),
    ("create_account", dict(scope=CITY_ADMIN, username="u", password="p", role="r", org_id="o", member_id="m",
                            reason="why"), "accounts", "create", TENANT_CALLER, ("u", "p", "r", "o", "m", "why")),
    ("reset_account_password", dict(scope=CITY_ADMIN, account_id="a", password="p"), "accounts", "reset_password",
     TENANT_CALLER, ("a", "p")),
    ("disable_account", dict(scope=CITY_ADMIN, account_id="a", reason="r"), "accounts", "disable", TENANT_CALLER,
     ("a", "r")),
    ("enable_account", dict(scope=CITY_ADMIN, account_id="a"), "accounts", "enable", TENANT_CALLER, ("a",)),
    ("remove_account", dict(scope=CITY_ADMIN, account_id="a"), "accounts", "remove", TENANT_CALLER, ("a",)),
    # one's own session and password: any account, the operator's too
    ("refresh", dict(refresh_token="r", client_address="a"), "sessions", "refresh", None, ("r", "a")),
    ("logout", dict(scope=OPERATOR), "sessions", "logout", OPERATOR_CALLER, ()),
    ("list_sessions", dict(scope=CITY_ADMIN, account_id="a"), "sessions", "list_sessions",
     CallerScope.from_dict(CITY_ADMIN), ("a",)),
    ("revoke_session", dict(scope=CITY_ADMIN, session_id="s"), "sessions", "revoke_session",
     CallerScope.from_dict(CITY_ADMIN), ("s",)),
    ("change_password", dict(scope=OPERATOR, old_password="o", new_password="n"), "sessions", "change_password",
     OPERATOR_CALLER, ("o", "n")),
    ("revocations_since", dict(cursor="c"), "sessions", "revocations_since", None, ("c",)),
    # the second factor: the login's second step, then one's own, an admin's reset, the tenant's rule
    ("verify_login_totp", dict(challenge_token="c", code="123456", client_address="a"), "second_factor",
     "verify_login", None, ("c", "123456", "a")),
    ("get_totp_status", dict(scope=CITY_ADMIN), "second_factor", "status", TENANT_CALLER, ()),
    ("begin_totp_enrolment", dict(scope=CITY_ADMIN), "second_factor", "begin_enrolment", TENANT_CALLER, ()),
    ("confirm_totp_enrolment", dict(scope=CITY_ADMIN, code="123456"), "second_factor", "confirm_enrolment",
     TENANT_CALLER, ("123456",)),
    ("disable_totp", dict(scope=CITY_ADMIN, code="123456"), "second_factor", "disable", TENANT_CALLER, ("123456",)),
    ("reset_account_totp", dict(scope=CITY_ADMIN, account_id="a", reason="r"), "second_factor", "reset",
     TENANT_CALLER, ("a", "r")),
    ("set_totp_policy", dict(scope=CITY_ADMIN, totp_required_for_admins=True), "second_factor", "set_policy",
     TENANT_CALLER, (True,)),
    ("list_accounts", dict(scope=CITY_ADMIN, org_id="o", role="r", page_size=5, page_token="t"), "accounts", "list",
     TENANT_CALLER, ("o", "r", 5, "t")),
    ("reset_tenant_admin_password", dict(scope=OPERATOR, tenant_code="c", username="u", password="p"), "accounts",
     "reset_tenant_admin_password", OPERATOR_CALLER, ("c", "u", "p")),
    ("request_transfer", dict(scope=CITY_ADMIN, member_id="m", to_branch_id="b", reason="r"), "transfers",
     "request", TENANT_CALLER, ("m", "b", "r")),
    ("accept_transfer", dict(scope=CITY_ADMIN, transfer_id="t"), "transfers", "accept", TENANT_CALLER, ("t",)),
    ("reject_transfer", dict(scope=CITY_ADMIN, transfer_id="t", reason="r"), "transfers", "reject", TENANT_CALLER,
     ("t", "r")),
    ("list_transfers", dict(scope=CITY_ADMIN, org_id="o", side="s", state="st", page_size=5, page_token="t"),
     "transfers", "list", TENANT_CALLER, ("o", "s", "st", 5, "t")),
    ("list_development_records", dict(scope=CITY_ADMIN, org_id="o", status="s", page_size=5, page_token="t"),
     "development", "list", TENANT_CALLER, ("o", "s", 5, "t")),
    ("get_development_record", dict(scope=CITY_ADMIN, member_id="m"), "development", "get", TENANT_CALLER, ("m",)),
    ("get_my_development_record", dict(scope=CITY_ADMIN), "development", "mine", TENANT_CALLER, ()),
    ("record_development_entry", dict(scope=CITY_ADMIN, member_id="m", kind="talk", on="d", purpose="p",
                                      talker="t", summary="s", introducer_ids=["a", "b"], outcome="o",
                                      conclusion="c", stage="st", course="co", hours=3, corrects="x", note="n"),
     "development", "record", TENANT_CALLER,
     ("m", "talk", "d", "p", "t", "s", ["a", "b"], "o", "c", "st", "co", 3, "x", "n")),
    # party dues (usecases/dues.py)
    ("get_dues_rules", dict(scope=CITY_ADMIN), "dues", "rules", TENANT_CALLER, ()),
    ("set_dues_rules", dict(scope=CITY_ADMIN, brackets=[{"category": "employed"}], fixed=[], arrears_flag_months=6),
     "dues", "set_rules", TENANT_CALLER, ([{"category": "employed"}], [], 6)),
    ("set_dues_standard", dict(scope=CITY_ADMIN, member_id="m", category="other", income_fen=0, amount_fen=100,
                               from_month="2026-12"), "dues", "set_standard", TENANT_CALLER,
     ("m", "other", 0, 100, "2026-12")),
    ("list_branch_dues", dict(scope=CITY_ADMIN, org_id="o", year=2026, arrears_only=True), "dues", "branch_dues",
     TENANT_CALLER, ("o", 2026, True)),
    ("record_dues_payment", dict(scope=CITY_ADMIN, member_id="m", months=["2026-11"], amount_fen=20, paid_on="d",
                                 payment_method="cash", bank_txn_id="t", note="n"), "dues", "record_payment",
     TENANT_CALLER, ("m", ["2026-11"], 20, "d", "cash", "t", "n")),
    ("import_dues_payments", dict(scope=CITY_ADMIN, org_id="o", format="csv", content="c"), "dues",
     "import_payments", TENANT_CALLER, ("o", "csv", "c")),
    ("list_dues_payments", dict(scope=CITY_ADMIN, org_id="o", member_id="m", paid_from="a", paid_to="b",
                                page_size=5, page_token="t"), "dues", "list_payments", TENANT_CALLER,
     ("o", "m", "a", "b", 5, "t")),
    ("get_dues_receipt", dict(scope=CITY_ADMIN, receipt_no="r"), "dues", "receipt", TENANT_CALLER, ("r",)),
    ("get_my_dues", dict(scope=CITY_ADMIN), "dues", "my_dues", TENANT_CALLER, ()),
    ("get_dues_totals", dict(scope=CITY_ADMIN, org_id="o", month="2026-11"), "dues", "totals", TENANT_CALLER,
     ("o", "2026-11")),
    ("export_dues_totals", dict(scope=CITY_ADMIN, org_id="o", month_from="a", month_to="b"), "dues",
     "export_totals", TENANT_CALLER, ("o", "a", "b")),
    ("import_orgs", dict(scope=CITY_ADMIN, parent_id="p", format="csv", content="c"), "imports", "orgs",
     TENANT_CALLER, ("p", "csv", "c")),
    ("import_members", dict(scope=CITY_ADMIN, org_id="o", format="xlsx", content="c"), "imports", "members",
     TENANT_CALLER, ("o", "xlsx", "c")),
    ("search_audit_log", dict(scope=CITY_ADMIN, since="s", until="u", actor="a", operation="o", outcome="ok",
                              target="t", service_name="volunteer", page_size=5), "audit_reads", "search",
     AUDIT_CALLER, ("s", "u", "a", "o", "ok", "t", "volunteer", 5)),
    ("verify_audit_log", dict(scope=CITY_ADMIN), "audit_reads", "verify", AUDIT_CALLER, ()),
    ("export_audit_log", dict(scope=CITY_ADMIN, since="s", until="u", actor="a", operation="o", outcome="ok",
                              target="t", service_name="volunteer"), "audit_reads", "export", AUDIT_CALLER,
     ("s", "u", "a", "o", "ok", "t", "volunteer")),
]


def entry_points(kind) -> set[str]:
    return {name for name, member in inspect.getmembers(IdentityService, inspect.isfunction)
            if any(isinstance(entry, kind) for entry in getattr(member, "nameko_entrypoints", ()))}


def test_every_rpc_is_in_the_table():
    assert entry_points(Rpc) == {row[0] for row in DELEGATIONS}


@pytest.fixture
def use_case(monkeypatch):
    """Replaces one use-case property of the service by a mock; returns the mock."""
    def replace(name: str) -> MagicMock:
        fake = MagicMock(name=name)
        monkeypatch.setattr(IdentityService, name, property(lambda self: fake))
        return fake
    return replace


@pytest.mark.parametrize("rpc, kwargs, topic, method, caller, arguments", DELEGATIONS,
                         ids=[row[0] for row in DELEGATIONS])
def test_the_entry_point_answers_what_its_use_case_answers(service, use_case, rpc, kwargs, topic, method, caller,
                                                           arguments):
    fake = use_case(topic)
    answer = getattr(service, rpc)(**kwargs)
    called = getattr(fake, method)
    called.assert_called_once_with(*((caller,) if caller else ()), *arguments)
    assert answer is called.return_value


def test_the_timer_forgets_login_attempts_ended_sessions_and_expired_challenges(service, use_case, store):
    assert entry_points(Timer) == {"forget_login_attempts", "measure_login_counters", "flag_dues_arrears"}
    sessions = use_case("sessions")
    service.forget_login_attempts()
    sessions.forget_attempts.assert_called_once_with()
    sessions.forget_sessions.assert_called_once_with()
    store.forget_challenges.assert_called_once()


def test_the_measuring_timer_sets_the_throttle_gauges_from_the_store(service, store):
    from services.identity import login_metrics
    store.login_counter_levels.return_value = ({"address": 3, "password": 1}, 57)
    service.measure_login_counters()
    [(_, rules)] = [call.args for call in store.login_counter_levels.call_args_list]
    assert set(rules) == {"account", "address", "password", "totp"}
    assert login_metrics.COUNTERS_OVER_FREE.labels("address")._value.get() == 3
    assert login_metrics.COUNTERS_OVER_FREE.labels("account")._value.get() == 0
    assert login_metrics.MOST_FROM_ONE_ADDRESS._value.get() == 57


TENANT_RPCS = [row for row in DELEGATIONS if row[4] is TENANT_CALLER]


@pytest.mark.parametrize("rpc, kwargs", [(row[0], row[1]) for row in TENANT_RPCS], ids=[row[0] for row in TENANT_RPCS])
def test_an_rpc_inside_a_tenant_refuses_the_operator_before_any_use_case(service, store, rpc, kwargs):
    with pytest.raises(PermissionDenied) as refused:
        getattr(service, rpc)(**{**kwargs, "scope": OPERATOR})
    assert refused.value.code == "TENANT_REQUIRED"
    assert store.method_calls == []


@pytest.mark.parametrize("rpc, kwargs", [(row[0], row[1]) for row in TENANT_RPCS], ids=[row[0] for row in TENANT_RPCS])
def test_an_rpc_on_the_partys_records_refuses_a_citizen_before_any_use_case(service, store, rpc, kwargs):
    with pytest.raises(PermissionDenied) as refused:
        getattr(service, rpc)(**{**kwargs, "scope": CITIZEN})
    assert refused.value.code == "CITIZEN_NOT_ALLOWED"
    assert store.method_calls == []


@pytest.mark.parametrize("rpc", ["create_tenant", "reset_tenant_admin_password"])
def test_the_operators_rpcs_refuse_a_citizen(service, store, rpc):
    [kwargs] = [row[1] for row in DELEGATIONS if row[0] == rpc]
    with pytest.raises(PermissionDenied) as refused:
        getattr(service, rpc)(**{**kwargs, "scope": CITIZEN})
    assert refused.value.code == "OPERATOR_ONLY"
    assert store.method_calls == []


def test_the_use_cases_get_the_services_own_dependencies(service, store, clock, signer, hash_gate):
    for topic in ("sessions", "citizens", "tenants", "organisations", "members", "accounts", "transfers",
                  "imports"):
        built = getattr(service, topic)
        assert (built.store, built.clock) == (store, clock), topic
    assert (service.sessions.hash_gate, service.sessions.signer) == (hash_gate, signer)
    assert service.citizens.hash_gate is hash_gate
    assert service.members.cipher is service.secrets.cipher
    assert service.imports.cipher is service.secrets.cipher
