"""双报到 rules (services/volunteer/domain/reports.py): the day of a report, the chain of a member's reports, and
who has not reported against the deadline."""
from __future__ import annotations

from datetime import date

import pytest

from servicekit.errors import InvalidArgument
from services.volunteer.domain import reports as rules

TODAY = date(2026, 12, 6)


def test_an_empty_day_is_today():
    assert rules.reported_on("", TODAY, None) == "2026-12-06"
    assert rules.reported_on(None, TODAY, None) == "2026-12-06"


def test_a_day_up_to_thirty_days_back_is_taken():
    assert rules.reported_on(" 2026-11-06 ", TODAY, None) == "2026-11-06"


@pytest.mark.parametrize("value,current,code", [
    ("2026-12-07", None, "REPORTED_ON_IN_FUTURE"),
    ("2026-11-05", None, "REPORTED_ON_TOO_OLD"),
    ("2026-12-01", {"reported_on": "2026-12-02"}, "REPORTED_ON_BEFORE_CURRENT"),
    ("2026/12/01", None, "DATE_INVALID"),
    ("2026-02-30", None, "DATE_INVALID"),
    (20261201, None, "INVALID_TYPE"),
])
def test_a_bad_day_is_refused(value, current, code):
    with pytest.raises(InvalidArgument) as refused:
        rules.reported_on(value, TODAY, current)
    assert (refused.value.code, refused.value.field) == (code, "reported_on")


def test_a_new_report_on_the_day_of_the_current_one_is_taken():
    assert rules.reported_on("2026-12-02", TODAY, {"reported_on": "2026-12-02"}) == "2026-12-02"


def test_reports_chain_by_sequence_so_two_racing_reports_share_an_id():
    assert rules.next_sequence(None) == 1
    assert rules.next_sequence({"sequence": 3}) == 4
    assert rules.report_id("m_1", rules.next_sequence({"sequence": 3})) == "m_1:4"


def test_overdue_only_once_the_deadline_has_passed():
    assert not rules.overdue("", TODAY)
    assert not rules.overdue("2026-12-06", TODAY)
    assert rules.overdue("2026-12-05", TODAY)


def test_unreported_are_the_roster_members_with_no_current_report_by_branch_then_name():
    rosters = {"b2": [{"member_id": "m3", "name": "赵六"}],
               "b1": [{"member_id": "m2", "name": "李四"}, {"member_id": "m1", "name": "张三"}],
               "b3": []}
    rows = rules.unreported(rosters, {"m2"}, "2026-12-01", TODAY, {"b1": "一支部", "b2": "二支部"})
    assert [(row["member_id"], row["branch_name"], row["overdue"]) for row in rows] == [
        ("m1", "一支部", True), ("m3", "二支部", True)]
    assert rules.unreported(rosters, set(), "", TODAY, {})[0]["overdue"] is False
