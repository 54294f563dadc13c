"""The clockwork: every second the timer freezes the rosters and closes the activities that are due
(``schedule.Schedule`` says which); tests shift the clock and sweep at once.

Every instance may sweep: each activity changes state with a conditional update, and only the instance whose
update matched publishes the event.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from servicekit.timestamps import stamp

from services.attendance import events
from services.attendance.domain import closing, lifecycle, meetings
from services.attendance.scanning import CLOSE_GRACE_SECONDS, record_id
from services.attendance.usecases.activities import ROSTER_LEAD_MINUTES

log = logging.getLogger(__name__)
SCAN_FIELDS = {"activity_id": 1, "member_id": 1, "kind": 1, "device_key": 1, "code_kind": 1}  # what a closing reads


class Sweeps:
    def __init__(self, store, clock, identity, desk):
        self.store, self.clock, self.identity, self.desk = store, clock, identity, desk

    def tick(self) -> None:
        try:
            self.sweep()
        except Exception:  # noqa: BLE001  the next tick retries; nothing is half written (transactions)
            log.exception("attendance sweep failed")

    def run_sweeps(self) -> dict:
        """Sweep now, re-reading the schedule."""
        self.desk.schedule.mark_changed()
        return self.sweep()

    def sweep(self) -> dict:
        now = self.clock.now()
        frozen = self.freeze_due_rosters(now)
        self.desk.chain.warm(frozen)            # before sign-in opens: the first scans read no chain head
        closed = self.close_due_activities(now)
        return {"frozen": len(frozen), "closed": len(closed)}

    def freeze_due_rosters(self, now) -> list[str]:
        """Freeze the roster of every approved activity whose freeze time has come: the branch's party members
        at that moment (its mobile members included, flagged). The ids frozen."""
        schedule = self.desk.schedule
        due_ids = schedule.due("freeze", now)
        if not due_ids:
            return []
        activities = [a for a in self.store.activities_by_ids(due_ids).values()
                      if lifecycle.allows(lifecycle.FREEZE_ROSTER, a)]
        rosters: dict[str, list[dict]] = {}
        for tenant_id in {a["tenant_id"] for a in activities}:
            branch_ids = sorted({a["branch_id"] for a in activities if a["tenant_id"] == tenant_id})
            rosters.update(self.identity.branch_rosters(tenant_id=tenant_id, branch_ids=branch_ids))
        frozen = []
        for activity in activities:
            members = rosters.get(activity["branch_id"], [])
            roster = {m["member_id"]: {"name": m["name"], "mobile": bool(m["mobile"])} for m in members}
            mobile = sorted(m for m, entry in roster.items() if entry["mobile"])
            if activity.get("meeting_type"):        # a meeting publishes meeting_held and meeting_recorded only
                frozen.append((activity["_id"], roster, None))
                continue
            frozen.append((activity["_id"], roster, events.ROSTER_FROZEN.build(
                activity["tenant_id"], activity_id=activity["_id"], branch_id=activity["branch_id"],
                month=activity["month"], roster_size=len(roster), on_site_expected=len(roster) - len(mobile),
                mobile_count=len(mobile), member_ids=sorted(roster), mobile_member_ids=mobile)))
        # only a roster whose stored sign-in opens within the lead: a meeting rescheduled meanwhile waits
        done = self.store.freeze_rosters(frozen, stamp(now), due_ids,
                                         opens_by=stamp(now + timedelta(minutes=ROSTER_LEAD_MINUTES)))
        schedule.done("freeze", due_ids)
        frozen_ids = set(done)      # before sign-in opens: the first scans read no device history
        self.desk.scans.devices.warm_history([a for a in activities if a["_id"] in frozen_ids])
        return done

    def close_due_activities(self, now) -> list[str]:
        """Close every approved activity whose sign-out window has ended: final statuses, totals, the sealed
        chain head and an activity_closed event each. The ids closed."""
        schedule, chain = self.desk.schedule, self.desk.chain
        # a grace after the window: a scan judged inside it, by any instance, has been stored or refused by then
        due_ids = schedule.due("close", now - timedelta(seconds=CLOSE_GRACE_SECONDS))
        if not due_ids:
            return []
        activities = [a for a in self.store.activities_by_ids(due_ids).values()
                      if lifecycle.allows(lifecycle.CLOSE, a)]
        with chain.lock:  # no record is appended while heads are sealed
            records = self._scan_records(activities)
            stored_heads = chain.stored_heads([activity["_id"] for activity in activities])   # others' appends too
            results, held = [], {}
            for activity in activities:
                seq, head_hash = stored_heads[activity["_id"]]
                head = {"seq": seq, "hash": head_hash} if seq else None
                scans = records[activity["_id"]]
                statuses, totals = closing.result(activity, scans)
                if activity.get("meeting_type"):
                    results.append(self._meeting_result(activity, statuses, totals, head, scans, held))
                    continue
                results.append((activity["_id"], {"statuses": statuses, "totals": totals, "chain_head": head,
                                                  "member_devices": closing.member_devices(activity["_id"], scans),
                                                  "printed_scans": closing.printed_scans(scans)},
                                events.ACTIVITY_CLOSED.build(
                                    activity["tenant_id"], activity_id=activity["_id"],
                                    branch_id=activity["branch_id"], month=activity["month"],
                                    org_path=activity["org_path"], closed_at=stamp(now), totals=totals,
                                    statuses=statuses, chain_head=head)))
            closed = self.store.close_activities(results, stamp(now), due_ids, held=held)
        schedule.done("close", due_ids)
        return closed

    @staticmethod
    def _meeting_result(meeting: dict, statuses: dict, totals: dict, head: dict | None, scans: list[dict],
                        held: dict) -> tuple:
        """A meeting closes as a themed day does; held (someone signed in) it counts in its branch's ledger and
        publishes meeting_held, else nothing."""
        was_held = meetings.was_held(totals)
        month = meeting["plan"]["date"][:7]
        event = None
        if was_held:
            held[meeting["_id"]] = (meeting, month)
            event = events.MEETING_HELD.build(
                meeting["tenant_id"], meeting_id=meeting["_id"], branch_id=meeting["branch_id"],
                org_path=meeting["org_path"], meeting_type=meeting["meeting_type"], date=meeting["plan"]["date"],
                month=month, attendance=meetings.attendance_of(totals),
                present_member_ids=sorted(member for member, status in statuses.items()
                                          if status == events.PRESENT))
        return (meeting["_id"], {"statuses": statuses, "totals": totals, "chain_head": head,
                                 "member_devices": closing.member_devices(meeting["_id"], scans),
                                 "printed_scans": closing.printed_scans(scans), "meeting_held": was_held}, event)

    def _scan_records(self, activities: list[dict]) -> dict[str, list[dict]]:
        """The sign-in and sign-out records of the activities' roster members, read by id."""
        ids = [record_id(a["_id"], direction, member_id) for a in activities
               for member_id in (a.get("roster") or {}) for direction in ("in", "out")]
        found: dict[str, list[dict]] = {a["_id"]: [] for a in activities}
        for start in range(0, len(ids), 2000):
            for record in self.store.records_by_ids(ids[start:start + 2000], SCAN_FIELDS).values():
                found[record["activity_id"]].append(record)
        return found
