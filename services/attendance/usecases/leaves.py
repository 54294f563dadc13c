"""Leave: a roster member asks before the start, the branch's secretary decides before the start; an approved
leave excuses the member (no scan is taken from it, and the closing counts it excused). A meeting's reschedule to
another time makes its pending and approved leave lapse (``domain/leaves.py``); a refused or lapsed leave may be
asked again."""
from __future__ import annotations

from servicekit.arguments import choice, text
from servicekit.errors import Conflict, NotFound
from servicekit.security.scope import CallerScope
from servicekit.timestamps import stamp

from services.attendance import access, events
from services.attendance.arguments import MAX_REASON_CHARS
from services.attendance.domain import leaves as rules, lifecycle
from services.attendance.scanning import record_id
from services.attendance.store import new_id
from services.attendance.views import leave_view

LEAVE_NOT_FOUND = "请假申请不存在或不在您的管辖范围内"


class Leaves:
    def __init__(self, store, clock):
        self.store, self.clock = store, clock

    def request_leave(self, caller: CallerScope, activity_id, reason) -> dict:
        activity = access.as_member(caller, self.store.activity(activity_id))
        reason = text(reason, "reason", max_length=MAX_REASON_CHARS)
        lifecycle.apply(lifecycle.REQUEST_LEAVE, activity, self.clock.now())
        roster = activity.get("roster")
        if roster is not None and caller.member_id not in roster:
            raise Conflict("您不在本次活动的参加人员名单中", code="NOT_ON_ROSTER")
        if self.store.records_by_ids([record_id(activity_id, "in", caller.member_id)]):
            raise Conflict("您已签到，无需请假", code="ALREADY_CHECKED_IN")
        existing = self.store.leave_of(activity_id, caller.member_id)
        now = stamp(self.clock.now())
        if not rules.may_ask_again(existing):        # a refused or lapsed request may be asked again
            raise Conflict("您已提交过请假申请", code="LEAVE_EXISTS")
        leave = {"_id": existing["_id"] if existing else new_id("lv"), "tenant_id": activity["tenant_id"],
                 "activity_id": activity_id, "member_id": caller.member_id,
                 "leave_key": f"{activity_id}:{caller.member_id}",
                 "member_name": (roster or {}).get(caller.member_id, {}).get("name", ""), "reason": reason,
                 "state": rules.PENDING, "requested_at": now}
        self.store.request_leave(leave, activity, existing)
        return leave_view(leave)

    def decide_leave(self, caller: CallerScope, leave_id, decision, note) -> dict:
        leave = self.store.leave(leave_id)
        activity = self.store.activity(leave["activity_id"]) if leave else None
        if leave is None or activity is None:
            raise NotFound(LEAVE_NOT_FOUND, code="LEAVE_NOT_FOUND", field="leave_id")
        try:
            access.as_secretary(caller, activity)
        except NotFound:
            raise NotFound(LEAVE_NOT_FOUND, code="LEAVE_NOT_FOUND", field="leave_id") from None
        decision = choice(decision, "decision", (events.LEAVE_APPROVED, events.LEAVE_REFUSED), required=True)
        note = text(note, "note", required=False, max_length=MAX_REASON_CHARS)
        if leave["state"] == rules.LAPSED:
            raise Conflict("会议已改期，该请假申请已失效", code="LEAVE_ALREADY_DECIDED")
        if leave["state"] != rules.PENDING:
            raise Conflict("该请假申请已处理", code="LEAVE_ALREADY_DECIDED")
        lifecycle.apply(lifecycle.DECIDE_LEAVE, activity, self.clock.now())
        if decision == events.LEAVE_APPROVED and self.store.records_by_ids(
                [record_id(activity["_id"], "in", leave["member_id"])]):
            raise Conflict("该党员已签到", code="ALREADY_CHECKED_IN")
        now = stamp(self.clock.now())
        changes = {"state": decision, "decision_note": note, "decided_by": caller.account_id, "decided_at": now}
        event = events.LEAVE_DECIDED.build(activity["tenant_id"], activity_id=activity["_id"],
                                           branch_id=activity["branch_id"], member_id=leave["member_id"],
                                           leave_id=leave_id, decision=decision, decided_by=caller.account_id)
        self.store.decide_leave(leave, changes, None if activity.get("meeting_type") else event)
        return leave_view({**leave, **changes})

    def list_leaves(self, caller: CallerScope, activity_id) -> dict:
        activity = access.readable(caller, self.store.activity(activity_id))
        leaves = self.store.leaves_of(activity_id)
        if not (access.is_superior(caller, activity) or access.is_secretary(caller, activity)):
            leaves = [leave for leave in leaves if leave["member_id"] == caller.member_id]
        return {"leaves": [leave_view(leave) for leave in leaves]}
