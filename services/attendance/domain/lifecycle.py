"""An activity's lifecycle: its states, the transitions between them and what each state allows.

planning --submit--> submitted --approve--> approved --freeze roster--> open --close--> closed
submitted --reject--> planning; submitted --resubmit--> submitted; approved --close--> closed
approved --reschedule--> approved; approved --cancel--> cancelled (meetings, before sign-in opens)

``open`` is not stored: it is ``approved`` with the roster frozen (sign-in may start). Stored documents keep
the ``status`` strings of the other states. The actions (QR codes, uploads, leave, back-fill) are transitions
that leave the state as it is, so every rule about what a state allows lives in one table.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Callable

from servicekit.errors import Conflict
from servicekit.timestamps import parse_stamp


class State(str, Enum):
    PLANNING = "planning"       # issued: the branch's secretary fills the plan
    SUBMITTED = "submitted"     # the plan waits for its review
    APPROVED = "approved"       # the plan holds; the roster is not frozen yet
    OPEN = "open"               # approved with its roster frozen: members may scan (never stored)
    CLOSED = "closed"           # the sign-out window has ended: final statuses and totals
    CANCELLED = "cancelled"     # a meeting called off before its sign-in: never frozen, opened, closed or swept

    @property
    def stored(self) -> str:
        """The ``status`` string a document in this state holds."""
        return State.APPROVED.value if self is State.OPEN else self.value


PLANNING, SUBMITTED, APPROVED, OPEN, CLOSED, CANCELLED = State
STORED_STATUSES = tuple(state.value for state in State if state is not OPEN)
PLAN_APPROVED = frozenset({APPROVED, OPEN, CLOSED})     # the plan's times, venue and fence apply


def state_of(activity: dict) -> State:
    status = activity["status"]
    if status == APPROVED:
        return OPEN if activity.get("roster_frozen_at") else APPROVED
    state = State(status)
    if state is OPEN:
        raise ValueError("the status 'open' is derived, never stored")
    return state


def _starts_later(activity: dict, now: datetime) -> bool:
    plan = activity.get("plan")
    return not plan or parse_stamp(plan["start_at"]) > now


def _sign_in_later(activity: dict, now: datetime) -> bool:
    """Sign-in has not opened by the clock: a roster freeze running late must not let a plan change under scans."""
    plan = activity.get("plan")
    return bool(plan) and parse_stamp(plan["checkin_opens_at"]) > now


@dataclass(frozen=True)
class Transition:
    """From ``sources`` to ``target`` (None: the state stays); a Conflict ``code`` from any other state, and
    ``guard(activity, now)`` must hold too (else the Conflict ``guard_code``)."""
    name: str
    sources: frozenset[State]
    target: State | None
    code: str
    message: str
    guard: Callable[[dict, datetime], bool] | None = None
    guard_code: str = ""
    guard_message: str = ""


_PLAN_LOCKED = ("PLAN_LOCKED", "计划已审核通过或活动已结束，不能再修改")
_NOT_SUBMITTED = ("PLAN_NOT_SUBMITTED", "只能审核已提交的计划")
_CHANGED = ("ACTIVITY_CHANGED", "活动状态已变化，请刷新后重试")
_BEFORE_CLOSING = frozenset({PLANNING, SUBMITTED, APPROVED, OPEN})
_RESCHEDULE_REFUSED = ("MEETING_STARTED", "会议签到已开始或会议已结束，不能再改期")
_CANCEL_REFUSED = ("MEETING_STARTED", "会议签到已开始或会议已结束，不能再取消")
# what every transition answers from a state that allows none (rather than its own code, which names another cause)
REFUSED_FROM = {CANCELLED: ("MEETING_CANCELLED", "会议已取消")}

SUBMIT = Transition("submit", frozenset({PLANNING}), SUBMITTED, *_PLAN_LOCKED)
RESUBMIT = Transition("resubmit", frozenset({SUBMITTED}), SUBMITTED, *_PLAN_LOCKED)
APPROVE = Transition("approve", frozenset({SUBMITTED}), APPROVED, *_NOT_SUBMITTED, guard=_starts_later,
                     guard_code="PLAN_IN_PAST", guard_message="活动开始时间已过，请支部重新提交计划")
REJECT = Transition("reject", frozenset({SUBMITTED}), PLANNING, *_NOT_SUBMITTED)
FREEZE_ROSTER = Transition("freeze_roster", frozenset({APPROVED}), OPEN, *_CHANGED)
CLOSE = Transition("close", frozenset({APPROVED, OPEN}), CLOSED, *_CHANGED)
# actions: the state stays
ISSUE_QR_CODE = Transition("issue_qr_code", frozenset({APPROVED, OPEN}), None, "ACTIVITY_NOT_APPROVED",
                           "活动计划审核通过后才能生成签到二维码")
ADD_UPLOAD = Transition("add_upload", PLAN_APPROVED, None, "ACTIVITY_NOT_APPROVED", "活动计划审核通过后才能上传资料")
REQUEST_LEAVE = Transition("request_leave", _BEFORE_CLOSING, None, "ACTIVITY_STARTED", "请假须在活动开始前提出",
                           guard=_starts_later, guard_code="ACTIVITY_STARTED", guard_message="请假须在活动开始前提出")
DECIDE_LEAVE = Transition("decide_leave", _BEFORE_CLOSING, None, "ACTIVITY_STARTED", "活动已开始，不能再审批请假",
                          guard=_starts_later, guard_code="ACTIVITY_STARTED", guard_message="活动已开始，不能再审批请假")
BACKFILL = Transition("backfill", frozenset({CLOSED}), None, "BACKFILL_ONLY_AFTER_CLOSING", "活动结束后才能补录")
SET_PRINTED_CODE = Transition("set_printed_code", _BEFORE_CLOSING, None, "ACTIVITY_CLOSED",
                              "活动已结束，不能再更改签到码设置")
# a meeting's plan changes or it is called off only while no scan can be taken: approved, roster not frozen
RESCHEDULE = Transition("reschedule", frozenset({APPROVED}), None, *_RESCHEDULE_REFUSED, guard=_sign_in_later,
                        guard_code=_RESCHEDULE_REFUSED[0], guard_message=_RESCHEDULE_REFUSED[1])
CANCEL = Transition("cancel", frozenset({APPROVED}), CANCELLED, *_CANCEL_REFUSED, guard=_sign_in_later,
                    guard_code=_CANCEL_REFUSED[0], guard_message=_CANCEL_REFUSED[1])

TRANSITIONS = (SUBMIT, RESUBMIT, APPROVE, REJECT, FREEZE_ROSTER, CLOSE, ISSUE_QR_CODE, ADD_UPLOAD, REQUEST_LEAVE,
               DECIDE_LEAVE, BACKFILL, SET_PRINTED_CODE, RESCHEDULE, CANCEL)


def submission(activity: dict) -> Transition:
    """Submitting a plan: the first time, or again while it waits for its review."""
    return RESUBMIT if activity["status"] == SUBMITTED else SUBMIT


def allows(transition: Transition, activity: dict, now: datetime | None = None) -> bool:
    state = state_of(activity)
    return state in transition.sources and (transition.guard is None or transition.guard(activity, now))


def apply(transition: Transition, activity: dict, now: datetime | None = None) -> State:
    """The state ``transition`` takes ``activity`` to (its own state for an action); Conflict when refused.
    ``now`` is needed by a transition with a guard."""
    state = state_of(activity)
    if state not in transition.sources:
        code, message = REFUSED_FROM.get(state, (transition.code, transition.message))
        raise Conflict(message, code=code)
    if transition.guard is not None and not transition.guard(activity, now):
        raise Conflict(transition.guard_message, code=transition.guard_code)
    return transition.target or state
