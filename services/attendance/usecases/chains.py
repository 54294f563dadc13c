"""An activity's hash chain: a superior back-fills a missing scan after closing (the results and the sealed head
follow), and the secretary verifies that the stored chain is whole."""
from __future__ import annotations

from servicekit.arguments import choice, text
from servicekit.errors import Conflict, NotFound
from servicekit.security.scope import CallerScope
from servicekit.timestamps import stamp

from services.attendance import access, events
from services.attendance.arguments import MAX_REASON_CHARS
from services.attendance.domain import chain, closing, lifecycle, qrtoken
from services.attendance.scanning import record_id
from services.attendance.views import scan_view


class Chains:
    def __init__(self, store, clock, chain_writer):
        self.store, self.clock, self.chain = store, clock, chain_writer

    def backfill_scan(self, caller: CallerScope, activity_id, member_id, direction, reason) -> dict:
        activity = access.as_superior(caller, self.store.activity(activity_id))
        direction = choice(direction, "direction", qrtoken.DIRECTIONS, required=True)
        reason = text(reason, "reason", max_length=MAX_REASON_CHARS)
        lifecycle.apply(lifecycle.BACKFILL, activity)
        if activity.get("meeting_type"):   # its holding is settled at closing; a late record is the meeting's 补录
            raise Conflict("会议的签到不能补录，请在会议记录中说明", code="MEETING_SCAN_NOT_BACKFILLED")
        if member_id not in (activity.get("roster") or {}):
            raise NotFound("该党员不在本次活动名单中", code="MEMBER_NOT_ON_ROSTER", field="member_id")
        existing = self.store.records_by_ids([record_id(activity_id, d, member_id) for d in qrtoken.DIRECTIONS])
        if record_id(activity_id, direction, member_id) in existing:
            raise Conflict("该记录已存在", code="RECORD_EXISTS")
        if direction == "out" and record_id(activity_id, "in", member_id) not in existing:
            raise Conflict("须先补录签到", code="CHECKIN_REQUIRED")
        now = stamp(self.clock.now())
        content = {"kind": "checkin" if direction == "in" else "checkout", "activity_id": activity_id,
                   "member_id": member_id, "direction": direction, "at": now, "lat": None, "lng": None,
                   "accuracy_m": None, "mock_location": False, "device_id": "", "taken_at": now, "distance_m": None,
                   "flags": ["BACKFILLED"], "backfilled": {"by": caller.account_id, "reason": reason, "at": now}}
        document = {"_id": record_id(activity_id, direction, member_id), "activity_id": activity_id,
                    "tenant_id": activity["tenant_id"], "kind": content["kind"], "member_id": member_id,
                    "device_key": None, "flags": ["BACKFILLED"], "at": now}
        spec = events.CHECKIN_RECORDED if direction == "in" else events.CHECKOUT_RECORDED

        def write(documents):
            doc = documents[0]
            statuses, totals = closing.result(activity, self.store.records_of(activity_id, ("checkin", "checkout"))
                                              + [doc])
            self.store.backfill_scan(doc, [spec.build(
                activity["tenant_id"], activity_id=activity_id, branch_id=activity["branch_id"], member_id=member_id,
                record_id=doc["_id"], at=now, distance_m=0.0, flags=["BACKFILLED"], seq=doc["seq"], hash=doc["hash"],
                backfilled=True)], statuses, totals, now)
        return scan_view(self.chain.append([(document, content)], write)[0])

    def verify_chain(self, caller: CallerScope, activity_id) -> dict:
        activity = access.as_secretary(caller, self.store.activity(activity_id))
        records = [{"seq": r.get("seq"), "prev_hash": r.get("prev_hash"), "hash": r.get("hash"),
                    "content": r.get("content")} for r in self.store.records_of(activity_id)]
        report = chain.verify(records, activity.get("chain_head"))
        head = report.get("head") or {}
        return {"ok": report["ok"], "checked": report["checked"], "head_seq": head.get("seq", 0),
                "head_hash": head.get("hash", ""), "sealed": bool(activity.get("chain_head")),
                "problems": report["problems"]}
