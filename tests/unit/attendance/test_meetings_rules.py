"""三会一课's pure rules (services/attendance/domain/meetings.py): periods, what a branch owes, the compliance state of
a period, the ledger of a branch, the meeting's derived state and its record's checks (back-fill)."""
from __future__ import annotations

from datetime import date

import pytest

from servicekit.errors import Conflict, InvalidArgument
from services.attendance.domain import meetings as m


@pytest.mark.parametrize("frequency, day, key, start, end", [
    ("monthly", date(2026, 12, 6), "2026-12", date(2026, 12, 1), date(2027, 1, 1)),
    ("monthly", date(2026, 2, 28), "2026-02", date(2026, 2, 1), date(2026, 3, 1)),
    ("quarterly", date(2026, 12, 6), "2026-Q4", date(2026, 10, 1), date(2027, 1, 1)),
    ("quarterly", date(2027, 1, 1), "2027-Q1", date(2027, 1, 1), date(2027, 4, 1)),
    ("quarterly", date(2026, 6, 30), "2026-Q2", date(2026, 4, 1), date(2026, 7, 1)),
    ("yearly", date(2026, 7, 1), "2026", date(2026, 1, 1), date(2027, 1, 1)),
])
def test_periods(frequency, day, key, start, end):
    assert m.period_of(frequency, day) == key
    assert m.period_bounds(frequency, day) == (start, end)


def test_months_of_a_quarter_across_the_year_end():
    assert m.months_of(date(2026, 11, 1), date(2027, 2, 1)) == ["2026-11", "2026-12", "2027-01"]


def test_a_committee_only_with_enough_full_members_and_group_meetings_only_with_groups():
    settings = m.settings_of(None)
    assert m.owed_types(settings, full_members=6, groups=0) == ["assembly", "lesson", "life"]
    assert m.owed_types(settings, full_members=7, groups=0) == ["assembly", "committee", "lesson", "life"]
    assert m.owed_types(settings, full_members=3, groups=2) == ["assembly", "group", "lesson", "life"]
    smaller = m.settings_of({"committee_min_full_members": 3})
    assert "committee" in m.owed_types(smaller, full_members=3, groups=0)


def test_compliance_pending_then_yellow_at_half_then_red_when_the_period_ended_short():
    start, end = date(2027, 1, 1), date(2027, 4, 1)        # 90 days: half passed on 15 February
    assert m.compliance(1, 0, start, end, date(2027, 2, 13)) == m.PENDING
    assert m.compliance(1, 0, start, end, date(2027, 2, 15)) == m.YELLOW
    assert m.compliance(1, 0, start, end, date(2027, 3, 31)) == m.YELLOW
    assert m.compliance(1, 0, start, end, date(2027, 4, 1)) == m.RED
    assert m.compliance(1, 1, start, end, date(2027, 4, 1)) == m.OK
    assert m.compliance(1, 0, start, end, date(2026, 12, 1)) == m.PENDING    # not begun


def test_a_branch_ledger_adds_the_held_months_of_each_period_whatever_the_frequency_was():
    settings = m.settings_of({"frequencies": {"lesson": "quarterly"}})
    held = {"lesson": {"2027-02": 1}, "assembly": {"2026-12": 1}}
    items = {item["type"]: item for item in m.branch_ledger(settings, {"full_members": 2, "groups": 0}, held,
                                                            date(2027, 3, 1), date(2027, 3, 20))}
    assert set(items) == {"assembly", "lesson", "life"}
    assert (items["lesson"]["period"], items["lesson"]["held"], items["lesson"]["state"]) == ("2027-Q1", 1, m.OK)
    # the assembly held in December counts in 2026-Q4, not in 2027-Q1
    assert (items["assembly"]["held"], items["assembly"]["state"]) == (0, m.YELLOW)
    assert (items["life"]["period"], items["life"]["state"]) == ("2027", m.PENDING)
    assert m.worst(item["state"] for item in items.values()) == m.YELLOW


def test_settings_change_only_what_is_given_and_refuse_bad_values():
    current = {"frequencies": {"lesson": "monthly"}, "backfill_after_days": 5}
    changed = m.validate_settings({"committee": "quarterly"}, None, 0, current)
    assert changed["frequencies"]["lesson"] == "monthly" and changed["frequencies"]["committee"] == "quarterly"
    assert changed["backfill_after_days"] == 5 and changed["committee_min_full_members"] == 7
    for frequencies, code in (({"lecture": "monthly"}, "MEETING_TYPE_INVALID"),
                              ({"lesson": "weekly"}, "FREQUENCY_INVALID"), (["lesson"], "INVALID_TYPE")):
        with pytest.raises(InvalidArgument) as refused:
            m.validate_settings(frequencies, None, None, current)
        assert refused.value.code == code
    with pytest.raises(InvalidArgument) as refused:
        m.validate_settings({}, 1, None, current)
    assert refused.value.code == "OUT_OF_RANGE"
    with pytest.raises(InvalidArgument) as refused:
        m.validate_settings({}, None, "3", current)
    assert refused.value.code == "INVALID_TYPE"


def held_meeting(**changes) -> dict:
    meeting = {"status": "closed", "meeting_held": True, "meeting_record": None, "plan": {"date": "2026-12-01"}}
    meeting.update(changes)
    return meeting


def test_meeting_states():
    assert m.meeting_state({"status": "approved"}) == m.PLANNED
    assert m.meeting_state(held_meeting()) == m.HELD
    assert m.meeting_state(held_meeting(meeting_held=False)) == m.NOT_HELD
    assert m.meeting_state(held_meeting(meeting_record={"host": "王"})) == m.RECORDED
    assert m.meeting_state({"status": "cancelled", "meeting_held": None}) == m.CANCELLED
    assert m.was_held({"present": 0, "incomplete": 1}) and not m.was_held({"present": 0, "excused": 3})


def test_a_record_within_the_days_is_on_time_and_a_late_one_needs_its_reason():
    on_time = m.validate_record(held_meeting(), " 王书记 ", "李委员", ["学习党章", " "], [], "", "", date(2026, 12, 4), 3)
    assert (on_time["host"], on_time["topics"], on_time["backfilled"]) == ("王书记", ["学习党章"], False)
    with pytest.raises(InvalidArgument) as refused:
        m.validate_record(held_meeting(), "王书记", "李委员", ["学习党章"], [], "", "", date(2026, 12, 5), 3)
    assert (refused.value.code, refused.value.field) == ("BACKFILL_REASON_REQUIRED", "backfill_reason")
    late = m.validate_record(held_meeting(), "王书记", "李委员", ["学习党章"], [], "", "记录人出差", date(2026, 12, 5), 3)
    assert (late["backfilled"], late["backfill_reason"]) == (True, "记录人出差")


@pytest.mark.parametrize("meeting, code", [
    ({"status": "approved"}, "MEETING_NOT_HELD"),
    (held_meeting(meeting_held=False), "MEETING_NOT_HELD"),
    (held_meeting(meeting_record={"host": "王"}), "MEETING_ALREADY_RECORDED"),
    ({"status": "cancelled"}, "MEETING_CANCELLED"),
])
def test_only_a_held_meeting_without_a_record_is_recorded(meeting, code):
    with pytest.raises(Conflict) as refused:
        m.validate_record(meeting, "王书记", "李委员", ["学习党章"], [], "", "", date(2026, 12, 2), 3)
    assert refused.value.code == code


@pytest.mark.parametrize("topics, code", [([], "REQUIRED"), ("学习党章", "INVALID_TYPE"), ([1], "INVALID_TYPE"),
                                          (["议题"] * 21, "TOO_MANY"), (["长" * 501], "TOO_LONG")])
def test_bad_topics_are_refused(topics, code):
    with pytest.raises(InvalidArgument) as refused:
        m.validate_record(held_meeting(), "王书记", "李委员", topics, [], "", "", date(2026, 12, 2), 3)
    assert (refused.value.code, refused.value.field) == (code, "topics")


def test_a_meeting_publishes_none_of_the_themed_day_events():
    assert m.themed_day_events({"meeting_type": "lesson"}, [{"event_type": "checkin_recorded"}]) == []
    assert m.themed_day_events({}, [{"event_type": "checkin_recorded"}]) == [{"event_type": "checkin_recorded"}]
