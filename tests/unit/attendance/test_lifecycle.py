"""The activity's lifecycle, transition by transition: every transition from every state it allows (and the state
it leads to), every state it refuses (with the Conflict the service answers), and the guards on the start time."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from servicekit.errors import Conflict
from servicekit.timestamps import stamp
from services.attendance.domain import lifecycle
from services.attendance.domain.lifecycle import State

NOW = datetime(2026, 11, 1, 2, 0, tzinfo=timezone.utc)
START = NOW + timedelta(days=10)


def document(state: str, start: datetime = START) -> dict:
    """A stored activity in ``state`` ("open": approved with its roster frozen)."""
    stored = {"open": "approved"}.get(state, state)
    plan = None if state == "planning" else {"start_at": stamp(start),
                                             "checkin_opens_at": stamp(start - timedelta(minutes=30))}
    return {"status": stored, "plan": plan,
            "roster_frozen_at": stamp(start - timedelta(minutes=40)) if state in ("open", "closed") else None}


STATES = ["planning", "submitted", "approved", "open", "closed", "cancelled"]
# transition -> {state it is allowed from: the state it leads to}; written out here, not read from the module
ALLOWED = {
    "submit": {"planning": "submitted"},
    "resubmit": {"submitted": "submitted"},
    "approve": {"submitted": "approved"},
    "reject": {"submitted": "planning"},
    "freeze_roster": {"approved": "open"},
    "close": {"approved": "closed", "open": "closed"},
    "issue_qr_code": {"approved": "approved", "open": "open"},
    "add_upload": {"approved": "approved", "open": "open", "closed": "closed"},
    "request_leave": {"planning": "planning", "submitted": "submitted", "approved": "approved", "open": "open"},
    "decide_leave": {"planning": "planning", "submitted": "submitted", "approved": "approved", "open": "open"},
    "backfill": {"closed": "closed"},
    "set_printed_code": {"planning": "planning", "submitted": "submitted", "approved": "approved", "open": "open"},
    "reschedule": {"approved": "approved"},
    "cancel": {"approved": "cancelled"},
}
REFUSAL = {
    "submit": ("PLAN_LOCKED", "计划已审核通过或活动已结束，不能再修改"),
    "resubmit": ("PLAN_LOCKED", "计划已审核通过或活动已结束，不能再修改"),
    "approve": ("PLAN_NOT_SUBMITTED", "只能审核已提交的计划"),
    "reject": ("PLAN_NOT_SUBMITTED", "只能审核已提交的计划"),
    "freeze_roster": ("ACTIVITY_CHANGED", "活动状态已变化，请刷新后重试"),
    "close": ("ACTIVITY_CHANGED", "活动状态已变化，请刷新后重试"),
    "issue_qr_code": ("ACTIVITY_NOT_APPROVED", "活动计划审核通过后才能生成签到二维码"),
    "add_upload": ("ACTIVITY_NOT_APPROVED", "活动计划审核通过后才能上传资料"),
    "request_leave": ("ACTIVITY_STARTED", "请假须在活动开始前提出"),
    "decide_leave": ("ACTIVITY_STARTED", "活动已开始，不能再审批请假"),
    "backfill": ("BACKFILL_ONLY_AFTER_CLOSING", "活动结束后才能补录"),
    "set_printed_code": ("ACTIVITY_CLOSED", "活动已结束，不能再更改签到码设置"),
    "reschedule": ("MEETING_STARTED", "会议签到已开始或会议已结束，不能再改期"),
    "cancel": ("MEETING_STARTED", "会议签到已开始或会议已结束，不能再取消"),
}
# a cancelled activity allows nothing, and every transition says so rather than its own cause
CANCELLED_REFUSAL = ("MEETING_CANCELLED", "会议已取消")
BY_NAME = {transition.name: transition for transition in lifecycle.TRANSITIONS}


def test_the_table_holds_exactly_these_transitions():
    assert set(BY_NAME) == set(ALLOWED) == set(REFUSAL)


@pytest.mark.parametrize("name, state", [(name, state) for name, allowed in ALLOWED.items() for state in allowed])
def test_an_allowed_transition_leads_to_its_state(name, state):
    activity = document(state)
    assert lifecycle.apply(BY_NAME[name], activity, NOW) is State(ALLOWED[name][state])
    assert lifecycle.allows(BY_NAME[name], activity, NOW)


@pytest.mark.parametrize("name, state", [(name, state) for name, allowed in ALLOWED.items() for state in STATES
                                         if state not in allowed])
def test_a_refused_transition_raises_the_services_conflict(name, state):
    activity = document(state)
    with pytest.raises(Conflict) as refused:
        lifecycle.apply(BY_NAME[name], activity, NOW)
    assert (refused.value.code, refused.value.message) == (CANCELLED_REFUSAL if state == "cancelled"
                                                           else REFUSAL[name])
    assert not lifecycle.allows(BY_NAME[name], activity, NOW)


@pytest.mark.parametrize("name", ["reschedule", "cancel"])
def test_a_meeting_is_rescheduled_or_cancelled_only_before_its_sign_in_opens(name):
    """Before the freeze the state allows it; the clock guards the minutes a late freeze would leave open."""
    activity = document("approved")
    opens = START - timedelta(minutes=30)
    assert lifecycle.allows(BY_NAME[name], activity, opens - timedelta(seconds=1))
    for now in (opens, opens + timedelta(minutes=5), START + timedelta(hours=1)):
        with pytest.raises(Conflict) as refused:
            lifecycle.apply(BY_NAME[name], activity, now)
        assert (refused.value.code, refused.value.message) == REFUSAL[name]
    assert lifecycle.apply(lifecycle.CANCEL, activity, opens - timedelta(seconds=1)) is State.CANCELLED


def test_a_cancelled_activity_is_neither_frozen_nor_closed_by_the_sweeps():
    cancelled = document("cancelled")
    assert not lifecycle.allows(lifecycle.FREEZE_ROSTER, cancelled)
    assert not lifecycle.allows(lifecycle.CLOSE, cancelled)
    assert lifecycle.state_of(cancelled) is State.CANCELLED and State.CANCELLED.stored == "cancelled"


def test_a_plan_whose_start_has_passed_is_not_approved_but_may_be_rejected():
    activity = document("submitted", start=NOW)
    with pytest.raises(Conflict) as refused:
        lifecycle.apply(lifecycle.APPROVE, activity, NOW)
    assert (refused.value.code, refused.value.message) == ("PLAN_IN_PAST", "活动开始时间已过，请支部重新提交计划")
    assert lifecycle.apply(lifecycle.REJECT, activity, NOW) is State.PLANNING
    assert lifecycle.apply(lifecycle.APPROVE, activity, NOW - timedelta(seconds=1)) is State.APPROVED


@pytest.mark.parametrize("name", ["request_leave", "decide_leave"])
@pytest.mark.parametrize("state", ["submitted", "approved", "open"])
def test_leave_is_asked_and_decided_only_before_the_start(name, state):
    activity = document(state, start=NOW)
    with pytest.raises(Conflict) as refused:
        lifecycle.apply(BY_NAME[name], activity, NOW)
    assert (refused.value.code, refused.value.message) == REFUSAL[name]
    assert lifecycle.apply(BY_NAME[name], activity, NOW - timedelta(seconds=1)) is State(state)


def test_leave_is_asked_while_planning_with_no_plan_yet():
    assert lifecycle.apply(lifecycle.REQUEST_LEAVE, document("planning"), NOW) is State.PLANNING


@pytest.mark.parametrize("state", STATES)
def test_the_state_of_a_stored_activity(state):
    assert lifecycle.state_of(document(state)) is State(state)


def test_open_is_derived_and_never_stored():
    assert lifecycle.STORED_STATUSES == ("planning", "submitted", "approved", "closed", "cancelled")
    assert State.OPEN.stored == "approved" and State.CLOSED.stored == "closed"
    assert lifecycle.state_of({"status": "closed", "roster_frozen_at": None}) is State.CLOSED
    with pytest.raises(ValueError):
        lifecycle.state_of({"status": "open"})


def test_a_plan_is_submitted_the_first_time_and_resubmitted_while_it_waits():
    assert lifecycle.submission(document("planning")) is lifecycle.SUBMIT
    assert lifecycle.submission(document("submitted")) is lifecycle.RESUBMIT
    assert lifecycle.submission(document("approved")) is lifecycle.SUBMIT     # then refused: PLAN_LOCKED
