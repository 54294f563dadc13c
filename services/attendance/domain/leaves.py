"""Leave (请假): its states and what moves them. Pure rules.

pending --decide--> approved | refused
pending | approved --the meeting's date or times rescheduled (改期)--> lapsed (已失效)
refused | lapsed --the member asks again--> pending

A leave is asked (and approved) for the meeting's time: a member who cannot come on Tuesday may come on Thursday.
So a reschedule that changes the date, the start or the end makes every pending or approved leave of the meeting
lapse, in the reschedule's own transaction, keeping when, why and the state it lapsed from; a new venue, title or
sign-in window changes nothing of it, and a refusal stays as it is. Only an approved leave excuses a member (the
activity's ``on_leave``), so a lapsed one counts as no leave at closing. Asked again, the leave document (one per
member and activity, the same id) is replaced whole by the new request: the reschedule that made it lapse stays in
the meeting's ``reschedules``.
"""
from __future__ import annotations

PENDING, APPROVED, REFUSED, LAPSED = "pending", "approved", "refused", "lapsed"
STATES = (PENDING, APPROVED, REFUSED, LAPSED)
LAPSING = (PENDING, APPROVED)                   # what a new time makes lapse
ASKED_AGAIN = frozenset({REFUSED, LAPSED})      # what the member may replace with a new request
LAPSED_REASON = "会议已改期"

# the fields of a reschedule's changes (``meetings.plan_changes``) that move the meeting's time
TIME_FIELDS = frozenset({"date", "start_at", "end_at"})


def may_ask_again(leave: dict | None) -> bool:
    """Whether the member may request leave, given its current request (None: it has none)."""
    return leave is None or leave["state"] in ASKED_AGAIN


def moves_time(changes: list[dict]) -> bool:
    """Whether a reschedule with these changes moves the meeting's date or times."""
    return any(change["field"] in TIME_FIELDS for change in changes)


def lapse(changes: list[dict], at: str) -> dict | None:
    """The fields a meeting's pending and approved leaves take when a reschedule with these ``changes`` is written
    at ``at`` (the state they lapse from is added by the store, per state); None when it leaves them as they are."""
    if not moves_time(changes):
        return None
    return {"state": LAPSED, "lapsed_at": at, "lapsed_reason": LAPSED_REASON}
