"""Leave's pure rules (services/attendance/domain/leaves.py): a reschedule that moves the meeting's date, start or
end makes its pending and approved leave lapse, with when and why; one that changes only the venue, title or the
sign-in windows leaves it as it is; a refused or lapsed request may be asked again, a pending or approved one not.
What a reschedule changed is ``meetings.plan_changes`` (tests/unit/attendance/test_meeting_changes.py)."""
from __future__ import annotations

import pytest

from services.attendance.domain import leaves
from services.attendance.domain import meetings as m
from tests.unit.attendance.test_meeting_changes import MEETING, changed

AT = "2026-12-01T02:00:00.000Z"


@pytest.mark.parametrize("plan", [
    {"date": "2026-12-06", "start_at": "2026-12-06T06:00:00.000Z", "end_at": "2026-12-06T07:30:00.000Z"},
    {"start_at": "2026-12-05T07:00:00.000Z"},
    {"end_at": "2026-12-05T08:00:00.000Z"},
    {"start_at": "2026-12-05T07:00:00.000Z", "venue": {"name": "村委会会议室"}, "title": "学习党章"},
])
def test_a_new_date_or_time_makes_the_leave_lapse_with_when_and_why(plan):
    changes = m.plan_changes(MEETING, changed(**plan))
    assert leaves.moves_time(changes)
    assert leaves.lapse(changes, AT) == {"state": "lapsed", "lapsed_at": AT, "lapsed_reason": "会议已改期"}


@pytest.mark.parametrize("plan", [
    {"venue": {"name": "村委会会议室"}}, {"venue": {"lat": 33.07, "lng": 107.1}}, {"title": "学习党章总纲"},
    {"grace_minutes": 0}, {"checkout_window_minutes": 30},
])
def test_a_new_venue_title_or_window_keeps_the_leave(plan):
    changes = m.plan_changes(MEETING, changed(**plan))
    assert not leaves.moves_time(changes) and leaves.lapse(changes, AT) is None


def test_only_pending_and_approved_leave_lapses():
    assert leaves.LAPSING == (leaves.PENDING, leaves.APPROVED)
    assert leaves.REFUSED not in leaves.LAPSING and leaves.LAPSED in leaves.STATES


@pytest.mark.parametrize("leave, again", [(None, True), ({"state": "refused"}, True), ({"state": "lapsed"}, True),
                                          ({"state": "pending"}, False), ({"state": "approved"}, False)])
def test_a_refused_or_lapsed_request_may_be_asked_again(leave, again):
    assert leaves.may_ask_again(leave) is again
