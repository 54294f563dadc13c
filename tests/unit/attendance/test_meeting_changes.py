"""A planned meeting's reschedule (改期) and cancellation (取消), the pure rules (services/attendance/domain/meetings.py):
what a reschedule changed, field by field, refused when nothing did; the reasons, optional for a reschedule and
required for a cancellation, both of the module's reason length. When either is allowed is the lifecycle's
(tests/unit/attendance/test_lifecycle.py); the new plan is checked as any plan (tests/unit/attendance/test_plans.py)."""
from __future__ import annotations

import copy

import pytest

from servicekit.errors import InvalidArgument
from services.attendance.domain import meetings as m

MEETING = {"title": "党课", "plan": {"date": "2026-12-05", "start_at": "2026-12-05T06:00:00.000Z",
                                    "end_at": "2026-12-05T07:30:00.000Z", "grace_minutes": 10,
                                    "checkout_window_minutes": 60,
                                    "venue": {"name": "党员活动室", "lat": 33.0676, "lng": 107.0238}}}


def changed(**plan) -> dict:
    after = copy.deepcopy(MEETING)
    title = plan.pop("title", None)
    venue = plan.pop("venue", {})
    after["plan"].update(plan)
    after["plan"]["venue"].update(venue)
    if title:
        after["title"] = title
    return after


def test_a_reschedule_lists_each_changed_field_with_its_values_before_and_after_in_order():
    after = changed(date="2026-12-06", start_at="2026-12-06T07:00:00.000Z", end_at="2026-12-06T08:30:00.000Z",
                    venue={"name": "村委会会议室", "lat": 33.07}, title="学习党章")
    assert m.plan_changes(MEETING, after) == [
        {"field": "title", "before": "党课", "after": "学习党章"},
        {"field": "date", "before": "2026-12-05", "after": "2026-12-06"},
        {"field": "start_at", "before": "2026-12-05T06:00:00.000Z", "after": "2026-12-06T07:00:00.000Z"},
        {"field": "end_at", "before": "2026-12-05T07:30:00.000Z", "after": "2026-12-06T08:30:00.000Z"},
        {"field": "venue_name", "before": "党员活动室", "after": "村委会会议室"},
        {"field": "venue_lat", "before": "33.0676", "after": "33.07"}]


@pytest.mark.parametrize("plan, field", [({"grace_minutes": 0}, "grace_minutes"),
                                         ({"checkout_window_minutes": 30}, "checkout_window_minutes"),
                                         ({"venue": {"lng": 107.1}}, "venue_lng")])
def test_the_windows_and_the_fence_are_changes_too(plan, field):
    assert [change["field"] for change in m.plan_changes(MEETING, changed(**plan))] == [field]


def test_a_reschedule_that_changes_nothing_is_refused():
    with pytest.raises(InvalidArgument) as refused:
        m.plan_changes(MEETING, copy.deepcopy(MEETING))
    assert refused.value.code == "NOTHING_CHANGED"


def test_the_reschedule_reason_is_optional_and_bounded():
    assert m.change_reason(None) == "" and m.change_reason("  与全县大会冲突 ") == "与全县大会冲突"
    assert m.change_reason("长" * m.MAX_REASON_CHARS) == "长" * m.MAX_REASON_CHARS
    for value, code in (("长" * (m.MAX_REASON_CHARS + 1), "TOO_LONG"), (5, "INVALID_TYPE")):
        with pytest.raises(InvalidArgument) as refused:
            m.change_reason(value)
        assert (refused.value.code, refused.value.field) == (code, "reason")


@pytest.mark.parametrize("value, code", [(None, "REQUIRED"), ("", "REQUIRED"), ("   ", "REQUIRED"),
                                         ("长" * (m.MAX_REASON_CHARS + 1), "TOO_LONG"), (["原因"], "INVALID_TYPE")])
def test_a_cancellation_needs_its_reason(value, code):
    with pytest.raises(InvalidArgument) as refused:
        m.cancel_reason(value)
    assert (refused.value.code, refused.value.field) == (code, "reason")
    assert "取消原因" in refused.value.message


def test_a_cancellation_reason_is_kept_stripped():
    assert m.cancel_reason(" 书记外出培训 ") == "书记外出培训"
    assert m.MAX_REASON_CHARS == 500


def test_a_cancelled_meeting_is_a_state_of_its_own_and_filterable():
    assert m.CANCELLED in m.MEETING_STATES
    assert m.meeting_state({"status": "cancelled", "meeting_record": None}) == m.CANCELLED
