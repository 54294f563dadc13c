"""Party dues entry points on a fake store: who is refused, what reaches the store, which events go with it."""
from __future__ import annotations

import base64

import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from services.identity.domain.dues import DEFAULT_RULES
from services.identity.store import ancestor_fields
from tests.fast.identity.fakes import (BRANCH, CITIZEN, CITY_ADMIN, COUNTY_ADMIN, FOREIGN_ADMIN, SECRETARY, TENANT,
                                       scope)

MEMBER = {"_id": "mem_1", "tenant_id": TENANT, "branch_id": "org_branch", "name": "张三", "status": "full",
          **ancestor_fields(["org_city", "org_county", "org_branch"])}
OTHER_SECRETARY = scope("branch_secretary", "org_branch2")
ACCOUNT = {"_id": "mem_1", "history": [{"from": "2026-06", "amount_fen": 1_500, "category": "employed",
                                        "income_fen": 300_000}], "paid": ["2026-06"], "version": 1}
DUES_READS = {"org", "orgs_by_ids", "member", "tenant", "dues_rules", "dues_account", "dues_accounts_of",
              "dues_payment_by_txn", "dues_payment_by_receipt", "known_txn_keys", "party_members_of",
              "member_by_id_index", "children", "dues_totals_of", "dues_payments_in", "dues_payments_of"}


def writes(store) -> list[str]:
    return [name for name, _, _ in store.method_calls if name not in DUES_READS]


@pytest.fixture
def dues_store(store):
    store.member.side_effect = {"mem_1": MEMBER}.get
    store.dues_rules.return_value = None
    store.dues_account.return_value = None
    store.dues_payment_by_txn.return_value = None
    store.set_dues_standard.return_value = True
    store.tenant.return_value = {"_id": TENANT, "root_org_id": "org_city", "name": "测试市"}
    return store


def test_the_secretary_sets_a_standard_from_the_national_brackets(service, dues_store):
    answer = service.set_dues_standard(SECRETARY, member_id="mem_1", category="employed", income_fen=600_000)
    assert (answer["amount_fen"], answer["from_month"]) == (9_000, "2026-12")      # 6,000 yuan at 1.5 %
    member, history, version, counted, change, _ = dues_store.set_dues_standard.call_args.args
    assert (member["_id"], version, counted, change) == ("mem_1", None, 9_000, 9_000)     # the path: the store's
    assert history[0]["set_by"] == "acc_branch_secretary"


def test_a_changed_standard_keeps_the_earlier_months_and_moves_the_totals_by_the_difference(service, dues_store):
    dues_store.dues_account.return_value = {**ACCOUNT, "counted_fen": 1_500}
    answer = service.set_dues_standard(SECRETARY, member_id="mem_1", category="student")
    _, history, version, counted, change, _ = dues_store.set_dues_standard.call_args.args
    assert [(entry["from"], entry["amount_fen"]) for entry in history] == [("2026-06", 1_500), ("2026-12", 20)]
    assert (version, counted, change) == (1, 20, -1_480)
    assert [item["amount_fen"] for item in answer["history"]] == [1_500, 20]


def test_a_standard_changed_meanwhile_is_refused(service, dues_store):
    dues_store.set_dues_standard.return_value = False
    with pytest.raises(Conflict) as refused:
        service.set_dues_standard(SECRETARY, member_id="mem_1", category="student")
    assert refused.value.code == "DUES_STANDARD_CHANGED"


@pytest.mark.parametrize("caller, error", [
    (OTHER_SECRETARY, NotFound), (FOREIGN_ADMIN, NotFound), (scope("member", None, member_id="mem_1"), PermissionDenied),
])
def test_only_those_who_manage_the_member_set_its_standard(service, dues_store, caller, error):
    with pytest.raises(error):
        service.set_dues_standard(caller, member_id="mem_1", category="student")
    assert writes(dues_store) == []


def test_a_citizen_is_refused_before_anything_is_read(service, dues_store):
    with pytest.raises(PermissionDenied) as refused:
        service.get_my_dues(CITIZEN)
    assert refused.value.code == "CITIZEN_NOT_ALLOWED" and dues_store.method_calls == []


def test_a_payment_of_the_wrong_amount_writes_nothing(service, dues_store):
    dues_store.dues_account.return_value = ACCOUNT
    with pytest.raises(InvalidArgument) as refused:
        service.record_dues_payment(SECRETARY, member_id="mem_1", months=["2026-07"], amount_fen=1_000)
    assert (refused.value.code, refused.value.field) == ("AMOUNT_MISMATCH", "amount_fen")
    with pytest.raises(Conflict) as refused:
        service.record_dues_payment(SECRETARY, member_id="mem_1", months=["2026-06"], amount_fen=1_500)
    assert refused.value.code == "MONTH_ALREADY_PAID"
    assert writes(dues_store) == []


def test_a_payment_is_stored_with_its_receipt_totals_and_event(service, dues_store):
    dues_store.dues_account.return_value = ACCOUNT
    dues_store.org.side_effect = {"org_branch": BRANCH}.get
    answer = service.record_dues_payment(SECRETARY, member_id="mem_1", months=["2026-07", "2026-08"],
                                         amount_fen=3_000, paid_on="2026-12-01", payment_method="transfer",
                                         bank_txn_id="TX-1")
    payments, events = dues_store.record_dues_payments.call_args.args
    payment = payments[0]
    assert answer["receipt_no"] == payment["receipt_no"] and payment["receipt_no"].startswith("DF20261206-")
    assert payment["month_amounts"] == {"2026-07": 1_500, "2026-08": 1_500}
    assert payment["txn_key"] == f"{TENANT}:TX-1" and payment["a2"] == "org_branch"
    assert [(e["event_type"], e["amount_fen"], e["months"]) for e in events] == [
        ("dues_paid", 3_000, ["2026-07", "2026-08"])]


def test_the_same_bank_transaction_sent_again_answers_the_stored_payment(service, dues_store):
    stored = {"_id": "pay_1", "receipt_no": "DF1", "member_id": "mem_1", "branch_id": "org_branch", "months": ["2026-07"],
              "amount_fen": 1_500, "paid_on": "2026-12-01", "method": "bank", "source": "branch"}
    dues_store.dues_payment_by_txn.return_value = stored
    answer = service.record_dues_payment(SECRETARY, member_id="mem_1", months=["2026-07"], amount_fen=1_500,
                                         bank_txn_id="TX-1")
    assert answer["id"] == "pay_1" and writes(dues_store) == []


@pytest.mark.parametrize("months, code", [("2026-07", "INVALID_TYPE"), (["2026-7"], "MONTHS_INVALID"),
                                          (["2026-07", "2026-07"], "MONTHS_INVALID"), ([7], "INVALID_TYPE")])
def test_bad_months_are_refused(service, dues_store, months, code):
    with pytest.raises(InvalidArgument) as refused:
        service.record_dues_payment(SECRETARY, member_id="mem_1", months=months, amount_fen=1_500)
    assert refused.value.code == code and writes(dues_store) == []


def test_only_a_city_admin_changes_the_rules(service, dues_store):
    with pytest.raises(PermissionDenied) as refused:
        service.set_dues_rules(COUNTY_ADMIN, brackets=DEFAULT_RULES["brackets"], fixed=DEFAULT_RULES["fixed"],
                               arrears_flag_months=6)
    assert refused.value.code == "NOT_CITY_ADMIN"
    with pytest.raises(InvalidArgument):
        service.set_dues_rules(CITY_ADMIN, brackets=[], fixed=DEFAULT_RULES["fixed"], arrears_flag_months=6)
    assert writes(dues_store) == []
    answer = service.set_dues_rules(CITY_ADMIN, brackets=DEFAULT_RULES["brackets"], fixed=DEFAULT_RULES["fixed"],
                                    arrears_flag_months=3)
    assert answer["arrears_flag_months"] == 3
    tenant_id, rules, events = dues_store.set_dues_rules.call_args.args
    assert tenant_id == TENANT and events[0]["event_type"] == "tenant_setting_changed"


def test_the_arrears_sweep_flags_six_unpaid_months_once(service, dues_store, clock):
    account = {"_id": "mem_1", "tenant_id": TENANT, "history": [{"from": "2026-06", "amount_fen": 20}], "paid": [],
               "flag_streak": ""}
    dues_store.dues_accounts_batches.return_value = [[account]]
    dues_store.members_by_ids.return_value = [MEMBER]
    dues_store.flag_arrears.return_value = True
    service.flag_dues_arrears()       # December: June to November unpaid
    member_id, previous, flag, events = dues_store.flag_arrears.call_args.args
    assert (member_id, previous, flag["streak_from"], flag["months"]) == ("mem_1", "", "2026-06", 6)
    assert events[0]["event_type"] == "arrears_flagged" and events[0]["months_owed"] == [
        "2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
    dues_store.flag_arrears.reset_mock()
    dues_store.dues_accounts_batches.return_value = [[{**account, "flag_streak": "2026-06"}]]
    service.flag_dues_arrears()
    dues_store.flag_arrears.assert_not_called()


def test_the_export_is_a_workbook_of_the_subtrees_months(service, dues_store):
    dues_store.org.side_effect = {"org_branch": BRANCH}.get
    dues_store.dues_totals_of.return_value = {("org_branch", "2026-11"): {"paid_fen": 1_520, "member_months": 2}}
    answer = service.export_dues_totals(SECRETARY, org_id="org_branch", month_from="2026-11", month_to="2026-12")
    assert answer["filename"].endswith(".xlsx") and base64.b64decode(answer["content"])[:2] == b"PK"
    with pytest.raises(InvalidArgument) as refused:
        service.export_dues_totals(SECRETARY, org_id="org_branch", month_from="2026-12", month_to="2026-01")
    assert refused.value.code == "MONTH_RANGE_INVALID"

