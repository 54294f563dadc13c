"""Work the clock triggers: freezing rosters when sign-in opens, closing activities when
the sign-out window ends.

Approving a plan schedules both (collection ``schedule``, written in the approval's
transaction). Each process keeps the schedule in memory (``Schedule``), re-read every few
seconds, so the once-a-second tick costs nothing until something is due; the due
activities are then read by id. Every instance may sweep: each activity changes state with
a conditional update, and only the instance whose update matched publishes the event.
"""
from __future__ import annotations

import logging
import time
from datetime import timedelta

from servicekit.timestamps import stamp

from services.attendance import events
from services.attendance.domain import closing
from services.attendance.scanning import record_id
from services.attendance.store import scan_changed

log = logging.getLogger(__name__)
CHUNK = 500
SCAN_FIELDS = {"activity_id": 1, "member_id": 1, "kind": 1}   # what a closing needs of a scan record
REFRESH_SECONDS = 5.0
HORIZON_SECONDS = 60.0


class Schedule:
    """The due times of pending roster freezes and closings, cached in memory: the entries due within
    ``horizon_seconds`` of the clock, re-read every ``refresh_seconds`` and whenever the clock has passed what the
    last read covered (a test's clock jumps hours). A city's themed day keeps 9,000 closings pending from the
    freeze to the evening; reading all of them every 5 s held the embedded store's attendance database for about
    200 ms (170 ms of its CPU), while a batch of scans waited (README, session 22)."""

    def __init__(self, store, refresh_seconds: float = REFRESH_SECONDS, horizon_seconds: float = HORIZON_SECONDS,
                 monotonic=time.monotonic):
        self.store, self.refresh_seconds, self.horizon = store, refresh_seconds, timedelta(seconds=horizon_seconds)
        self.monotonic = monotonic
        self._entries: list[tuple[str, str, str]] = []     # (due_at, kind, activity_id), sorted
        self._loaded = float("-inf")
        self._covers = ""                                   # the entries due up to this stamp are cached

    def mark_changed(self) -> None:
        self._loaded = float("-inf")

    def due(self, kind: str, now) -> list[str]:
        now_text = stamp(now)
        if self.monotonic() - self._loaded > self.refresh_seconds or now_text > self._covers:
            covers = stamp(now + self.horizon)
            self._entries = sorted((e["due_at"], e["kind"], e["activity_id"])
                                   for e in self.store.schedule_entries(due_by=covers))
            self._loaded, self._covers = self.monotonic(), covers
        return [activity_id for due_at, entry_kind, activity_id in self._entries
                if entry_kind == kind and due_at <= now_text][:CHUNK]

    def done(self, kind: str, activity_ids) -> None:
        finished = set(activity_ids)
        self._entries = [e for e in self._entries if not (e[1] == kind and e[2] in finished)]


def freeze_due_rosters(store, identity, schedule: Schedule, now) -> list[str]:
    """Freeze the roster of every approved activity whose freeze time has come: the branch's
    party members at that moment (its mobile members included, flagged). The ids frozen."""
    due_ids = schedule.due("freeze", now)
    if not due_ids:
        return []
    activities = [a for a in store.activities_by_ids(due_ids).values()
                  if a["status"] == "approved" and not a.get("roster_frozen_at")]
    rosters: dict[str, list[dict]] = {}
    for tenant_id in {a["tenant_id"] for a in activities}:
        branch_ids = sorted({a["branch_id"] for a in activities if a["tenant_id"] == tenant_id})
        rosters.update(identity.branch_rosters(tenant_id=tenant_id, branch_ids=branch_ids))
    outbox, frozen = [], []

    def writes(session):
        for activity in activities:
            members = rosters.get(activity["branch_id"], [])
            roster = {m["member_id"]: {"name": m["name"], "mobile": bool(m["mobile"])} for m in members}
            updated = store.db.activities.update_one(
                {"_id": activity["_id"], "status": "approved", "roster_frozen_at": None},
                {"$set": {"roster": roster, "roster_frozen_at": stamp(now), **scan_changed()}}, session=session)
            if updated.matched_count != 1:
                continue
            frozen.append(activity["_id"])
            mobile = sorted(m for m, entry in roster.items() if entry["mobile"])
            outbox.append(events.ROSTER_FROZEN.build(
                activity["tenant_id"], activity_id=activity["_id"], branch_id=activity["branch_id"],
                month=activity["month"], roster_size=len(roster), on_site_expected=len(roster) - len(mobile),
                mobile_count=len(mobile), member_ids=sorted(roster), mobile_member_ids=mobile))
        store.unschedule(session, "freeze", due_ids)   # frozen now, or no longer waiting for it
    store.commit(writes, outbox, bundle=True)
    schedule.done("freeze", due_ids)
    return frozen


def activity_result(activity: dict, scans: list[dict]) -> tuple[dict, dict]:
    """(statuses, totals) of an activity from its scan records and its counters."""
    roster = {member_id: bool(entry.get("mobile")) for member_id, entry in (activity.get("roster") or {}).items()}
    checked_in = {r["member_id"] for r in scans if r.get("kind") == "checkin"}
    checked_out = {r["member_id"] for r in scans if r.get("kind") == "checkout"}
    counts = activity.get("counts") or {}
    statuses = closing.final_statuses(roster, set(activity.get("on_leave") or {}), checked_in, checked_out)
    totals = closing.totals(statuses, roster, set(activity.get("liked") or {}), counts.get("reflections", 0),
                            counts.get("photos", 0), counts.get("text_chars", 0))
    return statuses, totals


def scan_records(store, activities: list[dict]) -> dict[str, list[dict]]:
    """The sign-in and sign-out records of the activities' roster members, read by id."""
    ids = [record_id(a["_id"], direction, member_id) for a in activities
           for member_id in (a.get("roster") or {}) for direction in ("in", "out")]
    found: dict[str, list[dict]] = {a["_id"]: [] for a in activities}
    for start in range(0, len(ids), 2000):
        for record in store.records_by_ids(ids[start:start + 2000], SCAN_FIELDS).values():
            found[record["activity_id"]].append(record)
    return found


def close_due_activities(store, chain, schedule: Schedule, now) -> list[str]:
    """Close every approved activity whose sign-out window has ended: final statuses, totals,
    the sealed chain head and an activity_closed event each. The ids closed."""
    due_ids = schedule.due("close", now)
    if not due_ids:
        return []
    activities = [a for a in store.activities_by_ids(due_ids).values() if a["status"] == "approved"]
    outbox, closed = [], []
    with chain.lock:  # no record is appended while heads are sealed
        records = scan_records(store, activities)

        def writes(session):
            for activity in activities:
                seq, head_hash = chain.head(activity["_id"])
                head = {"seq": seq, "hash": head_hash} if seq else None
                statuses, totals = activity_result(activity, records[activity["_id"]])
                updated = store.db.activities.update_one(
                    {"_id": activity["_id"], "status": "approved"},
                    {"$set": {"status": "closed", "statuses": statuses, "totals": totals, "chain_head": head,
                              "closed_at": stamp(now), **scan_changed()}}, session=session)
                if updated.matched_count != 1:
                    continue
                closed.append(activity["_id"])
                outbox.append(events.ACTIVITY_CLOSED.build(
                    activity["tenant_id"], activity_id=activity["_id"], branch_id=activity["branch_id"],
                    month=activity["month"], org_path=activity["org_path"], closed_at=stamp(now), totals=totals,
                    statuses=statuses, chain_head=head))
            store.unschedule(session, "close", due_ids)   # closed now, or no longer open
        store.commit(writes, outbox, bundle=True)
    schedule.done("close", due_ids)
    return closed
