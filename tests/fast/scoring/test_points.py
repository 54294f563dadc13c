"""Member points through the entry points: the rules table, deductions and corrections, the ledger, and the
secretary's talk (诫勉谈话) with a member on the talk list: who may record it, when, and what is stored."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied, Rejected
from servicekit.timestamps import stamp
from tests.fast.scoring.fakes import (BRANCH_PATH, CITY_ADMIN, COUNTY_ADMIN, FOREIGN_ADMIN, MEMBER, NOW_STAMP,
                                      SECRETARY, TENANT, TODAY, member)

NOTE = "谈话指出其连续缺席主题党日，本人表示今后按时参加。"


def on_the_list(points_store, total: float = 5.0) -> None:
    points_store.member.return_value = member("m_1")
    points_store.balance.return_value = {"total": total}


# --------------------------------------------------------------------- talks
def test_the_secretary_records_a_talk_with_a_member_on_the_list(service, points_store):
    on_the_list(points_store)
    talk = service.record_talk(scope=SECRETARY, member_id="m_1", held_on=TODAY, note=f"  {NOTE}\r\n")
    points_store.balance.assert_called_once_with("m_1", "2026")          # the cycle today falls in
    [(stored,), _] = points_store.record_talk.call_args
    assert stored == {"tenant_id": TENANT, "member_id": "m_1", "cycle": "2026", "held_on": TODAY, "note": NOTE,
                      "recorded_by": "acc_branch_secretary_org_branch", "recorded_at": NOW_STAMP, "total": 5.0,
                      "threshold": 10, "branch_id": "org_branch", "a0": "org_city", "a1": "org_county",
                      "a2": "org_branch"}
    assert (talk["cycle"], talk["recorded_at"], talk["note"]) == ("2026", NOW_STAMP, NOTE)


def test_the_default_cycle_is_the_one_of_chinas_date(service, points_store, clock):
    clock.moment = datetime(2026, 12, 31, 17, 0, tzinfo=timezone.utc)       # already 1 January 2027 in China
    on_the_list(points_store)
    talk = service.record_talk(scope=SECRETARY, member_id="m_1", held_on="2027-01-01", note=NOTE)
    assert talk["cycle"] == "2027" and talk["recorded_at"] == stamp(clock.moment)


@pytest.mark.parametrize("held_on, code", [("2026-12-07", "DATE_IN_FUTURE"), ("2025-12-31", "DATE_BEFORE_CYCLE"),
                                           ("2026/12/01", "DATE_INVALID"), ("", "REQUIRED")])
def test_the_talks_date_is_inside_the_cycle_and_not_after_the_clocks_today(service, points_store, held_on, code):
    on_the_list(points_store)
    with pytest.raises(InvalidArgument) as refused:
        service.record_talk(scope=SECRETARY, member_id="m_1", held_on=held_on, note=NOTE)
    assert (refused.value.code, refused.value.field) == (code, "held_on")
    points_store.record_talk.assert_not_called()


def test_a_member_at_or_above_the_threshold_is_not_on_the_list(service, points_store):
    on_the_list(points_store, total=10.0)
    with pytest.raises(Rejected) as refused:
        service.record_talk(scope=SECRETARY, member_id="m_1", held_on=TODAY, note=NOTE)
    assert refused.value.code == "NOT_ON_TALK_LIST" and "不在诫勉谈话名单中" in refused.value.message
    points_store.record_talk.assert_not_called()


def test_a_second_talk_in_the_cycle_is_refused(service, points_store):
    on_the_list(points_store)
    points_store.record_talk.return_value = False            # the store found the member's talk of the cycle
    with pytest.raises(Conflict) as refused:
        service.record_talk(scope=SECRETARY, member_id="m_1", held_on=TODAY, note=NOTE)
    assert refused.value.code == "TALK_EXISTS"


def test_a_secretary_does_not_record_the_own_talk(service, points_store):
    points_store.member.return_value = member("m_secretary")
    with pytest.raises(PermissionDenied) as refused:
        service.record_talk(scope=SECRETARY, member_id="m_secretary", held_on=TODAY, note=NOTE)
    assert refused.value.code == "OWN_TALK"
    points_store.record_talk.assert_not_called()


@pytest.mark.parametrize("scope, error, code", [
    (MEMBER, NotFound, "MEMBER_NOT_FOUND"),                 # a member sees only the own ledger
    (FOREIGN_ADMIN, NotFound, "MEMBER_NOT_FOUND"),
])
def test_only_a_manager_of_the_members_branch_records_a_talk(service, points_store, scope, error, code):
    points_store.member.return_value = member("m_2")
    points_store.balance.return_value = {"total": 0.0}
    with pytest.raises(error) as refused:
        service.record_talk(scope=scope, member_id="m_2", held_on=TODAY, note=NOTE)
    assert refused.value.code == code
    points_store.record_talk.assert_not_called()


def test_a_member_not_placed_in_the_tree_cannot_be_managed(service, points_store):
    points_store.member.return_value = None
    with pytest.raises(PermissionDenied) as refused:
        service.record_talk(scope=MEMBER, member_id="m_1", held_on=TODAY, note=NOTE)   # the own id, no branch known
    assert refused.value.code == "NOT_MEMBER_MANAGER"


@pytest.mark.parametrize("note, code", [("  ", "REQUIRED"), ("长" * 2001, "TOO_LONG"),
                                        ("谈话\u202e内容", "CONTROL_CHARACTERS")])
def test_what_was_said_is_checked(service, points_store, note, code):
    on_the_list(points_store)
    with pytest.raises(InvalidArgument) as refused:
        service.record_talk(scope=SECRETARY, member_id="m_1", held_on=TODAY, note=note)
    assert refused.value.code == code
    points_store.record_talk.assert_not_called()


def test_a_cycle_of_the_wrong_form_is_refused(service, points_store):
    on_the_list(points_store)
    with pytest.raises(InvalidArgument) as refused:
        service.record_talk(scope=SECRETARY, member_id="m_1", cycle="2026-2028", held_on=TODAY, note=NOTE)
    assert refused.value.code == "CYCLE_INVALID"


# -------------------------------------------------- deductions, corrections
def test_a_deduction_from_the_negative_list_is_written_uncapped_at_the_clocks_time(service, points_store):
    points_store.member.return_value = member("m_1")
    points_store.add_entry.side_effect = lambda candidate, at: {**candidate, "cycle": "2026"}
    entry = service.add_deduction(scope=SECRETARY, member_id="m_1", code="LATE_DUES", reason="两个月未缴",
                                  request_id="req-1")
    [(candidate, at), _] = points_store.add_entry.call_args
    assert at == NOW_STAMP and candidate["uncapped"] is True and candidate["day"] == TODAY
    assert (entry["id"], entry["points"], entry["category"], entry["reason"], entry["at"]) == (
        "deduction:req-1", -5, "negative", "未按时缴纳党费：两个月未缴", NOW_STAMP)


def test_a_deduction_not_on_the_negative_list_is_refused(service, points_store):
    points_store.member.return_value = member("m_1")
    with pytest.raises(InvalidArgument) as refused:
        service.add_deduction(scope=SECRETARY, member_id="m_1", code="NOPE", reason="r")
    assert refused.value.code == "NEGATIVE_ITEM_UNKNOWN"
    points_store.add_entry.assert_not_called()


def test_a_deduction_already_written_is_a_conflict(service, points_store):
    points_store.member.return_value = member("m_1")
    points_store.add_entry.return_value = None
    with pytest.raises(Conflict) as refused:
        service.add_deduction(scope=SECRETARY, member_id="m_1", code="LATE_DUES", reason="r", request_id="req-1")
    assert refused.value.code == "ALREADY_EXISTS"


def entry(**fields) -> dict:
    return {"_id": "act_1:m_1:attendance", "tenant_id": TENANT, "member_id": "m_1", "category": "attendance",
            "points": 5, "requested_points": 5, "day": "2026-11-20", "at": "2026-11-20T04:00:00.000Z",
            "cycle": "2026", **fields}


def test_a_correction_takes_back_the_points_on_the_corrected_entrys_day(service, points_store):
    points_store.ledger_entry.return_value = entry()
    points_store.member.return_value = member("m_1")
    points_store.add_entry.side_effect = lambda candidate, at: {**candidate, "cycle": "2026"}
    corrected = service.correct_entry(scope=SECRETARY, entry_id="act_1:m_1:attendance", reason="误记")
    [(candidate, at), _] = points_store.add_entry.call_args
    assert candidate["day"] == "2026-11-20" and candidate["corrects"] == "act_1:m_1:attendance" and at == NOW_STAMP
    assert (corrected["id"], corrected["points"], corrected["reason"]) == (
        "correction:act_1:m_1:attendance", -5, "更正：误记")


@pytest.mark.parametrize("stored, error, code", [
    (entry(corrects="x"), InvalidArgument, "ENTRY_IS_CORRECTION"),
    (entry(tenant_id="ten_2"), NotFound, "ENTRY_NOT_FOUND"),
    (None, NotFound, "ENTRY_NOT_FOUND"),
])
def test_a_correction_of_a_correction_or_of_another_citys_entry_is_refused(service, points_store, stored, error,
                                                                          code):
    points_store.ledger_entry.return_value = stored
    points_store.member.return_value = member("m_1")
    with pytest.raises(error) as refused:
        service.correct_entry(scope=SECRETARY, entry_id="e", reason="r")
    assert refused.value.code == code
    points_store.add_entry.assert_not_called()


# ------------------------------------------------------------- rules, ledger
def test_only_the_city_admin_sets_the_rules(service, points_store):
    points_store.tenant.return_value = {"_id": TENANT, "root_org_id": "org_city"}
    with pytest.raises(PermissionDenied) as refused:
        service.set_points_rules(scope=COUNTY_ADMIN, rules={})
    assert refused.value.code == "NOT_CITY_ADMIN"
    points_store.save_rules.assert_not_called()


def test_the_city_admins_rules_are_validated_and_stored_with_the_clocks_time(service, points_store):
    points_store.tenant.return_value = {"_id": TENANT, "root_org_id": "org_city"}
    rules = {"cycle": "academic", "threshold": 12,
             "rules": [{"category": "attendance", "points": 4, "daily_cap": 8, "cycle_cap": 40}]}
    table = service.set_points_rules(scope=CITY_ADMIN, rules=rules)
    points_store.save_rules.assert_called_once_with(TENANT, table, "acc_org_admin_org_city", NOW_STAMP)
    assert table["cycle"] == "academic" and table["negative_list"] == []
    with pytest.raises(InvalidArgument) as refused:
        service.set_points_rules(scope=CITY_ADMIN, rules={**rules, "cycle": "lunar"})
    assert refused.value.code == "RULES_INVALID" and points_store.save_rules.call_count == 1


def test_a_ledger_totals_the_entries_it_returns(service, points_store):
    points_store.ledger_of.return_value = [entry(), entry(_id="d", category="negative", points=-20)]
    ledger = service.get_ledger(scope=MEMBER)
    points_store.ledger_of.assert_called_once_with("m_1", "2026")
    assert (ledger["total"], ledger["by_category"], ledger["below_threshold"]) == (
        -15, {"attendance": 5, "negative": -20}, True)


def test_a_member_reads_no_other_members_ledger(service, points_store):
    points_store.member.return_value = member("m_2", BRANCH_PATH)
    with pytest.raises(NotFound) as refused:
        service.get_ledger(scope=MEMBER, member_id="m_2")
    assert refused.value.code == "MEMBER_NOT_FOUND"
    points_store.ledger_of.assert_not_called()
