"""The scoring service's batch appliers: branch scores from attendance events, member points.

``ScoreApplier`` writes every batch's facts and the scores they make in one transaction (with the
processed event ids of the events that are not idempotent by keys of their own: not the scans).
``PointsApplier`` turns attendance into ledger entries, in the points database (points_store). They
consume separate queues and write separate databases, so a backlog of points never delays scores and a
points transaction never holds up a score transaction.
"""
from __future__ import annotations

import time
from collections import OrderedDict

from prometheus_client import Histogram
from pymongo import ReplaceOne, UpdateOne

from servicekit.messaging.consumers import apply_idempotent, apply_once
from servicekit.timestamps import parse_stamp, stamp
from servicekit.storage.mongo import open_store

from services.scoring import ledger
from services.scoring.facts_updates import IDEMPOTENT_BY_KEYS, SCORE_EVENTS, applied, updates_for
from services.scoring.points_store import PointsStore, points_database
from services.scoring.rankings import note_written
from services.scoring.store import (ScoringStore, ancestor_fields, place_changed, place_of, score_row_of,
                                    scored_fields)

STUB = {"rev": 0, "stages": {}}
SCORE_LAG = Histogram("score_lag_seconds", "From an attendance event to the branch score that counts it",
                      ["event_type"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 10, 30, 60, 120, 300, 600))

MAX_ENTRIES_PER_TRANSACTION = 2000
PRESENT, ABSENT = "present", "absent"       # final statuses in activity_closed (attendance's domain/closing.py)
POINTS_EVENTS = ("roster_frozen", "checkout_recorded", "reflection_posted", "activity_closed", "activity_issued")
SCORE_SUBSCRIPTIONS = [("attendance", name) for name in SCORE_EVENTS]
POINTS_SUBSCRIPTIONS = [("attendance", name) for name in POINTS_EVENTS] + [("identity", "tenant_created")]


def needs_event_id(event: dict) -> bool:
    return event.get("event_type") not in IDEMPOTENT_BY_KEYS


class StaleFacts(Exception):
    """Another process wrote an activity's facts between this batch's read and its write."""


class ScoreApplier:
    """Per batch: read the touched activities once, apply the events to them in memory, and write each
    activity's new facts together with its new score (one replacement per activity, guarded by ``rev``; the
    ranking rows are read from it) and the processed event ids, in one transaction.

    The documents this process committed are kept (the ``remembered`` most recent), so the next batch
    touching the same activity does not read it back: at 9,000 branches almost every event is the only one
    of its activity in its batch, and that read was a third of the scoring store's work per scan. The
    ``rev`` guard keeps this safe: if anything else wrote the activity since (a rating, another scoring
    process), the replacement matches nothing, the batch's remembered documents are dropped and it is
    retried on what the store holds."""

    consumer = "score"
    needs_id = staticmethod(needs_event_id)     # which events' ids are looked up and recorded

    def __init__(self, store: ScoringStore, remembered: int = 20_000):
        self.store = store
        self.remembered = remembered
        self._known: OrderedDict[str, dict] = OrderedDict()   # activity id -> as this process last committed it

    @classmethod
    def for_container(cls, container) -> "ScoreApplier":
        return cls(open_store(ScoringStore, container.service_name))

    def apply(self, events: list[dict]) -> list[dict]:
        def attempt():
            written: list[dict] = []

            def effect(session, fresh):
                written[:] = self._effect(session, fresh)       # an inner retry replaces, never adds
            fresh, _ = apply_once(self.store, self.consumer, events, effect, needs_id=self.needs_id)
            return fresh, written
        fresh, written = retried(attempt)
        self._remember(written)                                           # committed: safe to reuse
        note_written([row for row in map(score_row_of, written) if row])    # after the commit only
        observe_lag(fresh)
        return written

    def _effect(self, session, events: list[dict]) -> list[dict]:
        updates = updates_for(events)
        if not updates:
            return []
        docs = {activity_id: self._known[activity_id] for activity_id in updates if activity_id in self._known}
        missing = [activity_id for activity_id in updates if activity_id not in docs]
        if missing:
            docs.update((doc["_id"], doc) for doc in self.store.activities_by_ids(missing, session=session))
        stubs = [{"_id": activity_id, **STUB} for activity_id in updates if activity_id not in docs]
        if stubs:
            self.store.db.activities.insert_many(stubs, ordered=True, session=session)
        now = stamp()
        activity_updates, places, written = [], [], []
        for activity_id, update in updates.items():
            before = docs.get(activity_id) or {"_id": activity_id, **STUB}
            after = applied(before, update)
            after.update(scored_fields(after, now))
            # the whole document replaced: on nx-27017 2.3x cheaper than the same change as operators
            activity_updates.append(ReplaceOne({"_id": activity_id, "rev": before.get("rev", 0)}, after))
            written.append(after)
            if place_changed(before, after):            # issued, or closed after a move: not a scan
                places.append(place_of(after))
        result = self.store.write_scores(activity_updates, session=session, places=places)
        if result.matched_count != len(activity_updates):
            for activity_id in updates:
                self._known.pop(activity_id, None)
            raise StaleFacts(f"{len(activity_updates) - result.matched_count} activities changed meanwhile")
        return written

    def _remember(self, written: list[dict]) -> None:
        for doc in written:
            self._known[doc["_id"]] = doc
            self._known.move_to_end(doc["_id"])
        while len(self._known) > self.remembered:
            self._known.popitem(last=False)


def retried(attempt, attempts: int = 3):
    """``attempt()`` again (its transaction rolled back) while another writer keeps winning the race."""
    for number in range(1, attempts + 1):
        try:
            return attempt()
        except (StaleFacts, ledger.StaleBalance):
            if number == attempts:
                raise
    raise AssertionError("unreachable")


def observe_lag(events: list[dict]) -> None:
    """Seconds from each event (a scan's record, a closing...) to the score that counts it."""
    now = time.time()
    for event in events:
        try:
            SCORE_LAG.labels(event["event_type"]).observe(max(0.0, now - parse_stamp(event["occurred_at"]).timestamp()))
        except (KeyError, TypeError, ValueError):
            continue


class PointsApplier:
    consumer = "points"

    def __init__(self, store: PointsStore):
        self.store = store

    @classmethod
    def for_container(cls, container) -> "PointsApplier":
        return cls(open_store(PointsStore, points_database(container.service_name)))

    def apply(self, events: list[dict]) -> None:
        # Idempotent by natural keys: ledger ids <activity>:<member>:<category> (an existing entry is skipped
        # and balances move only with new entries), members, branches and tenants upserted with the same fields.
        # So a batch may be written in several transactions: a redelivery after a crash between them finds the
        # first ones' entries and skips them.
        for part in transaction_parts([event for event in events if has_points_work(event)]):
            retried(lambda part=part: apply_idempotent(self.store, self.consumer, part, self._effect))

    def _effect(self, session, events: list[dict]) -> None:
        db = self.store.db
        # Paths come with activity_issued/activity_closed (remembered per branch); roster_frozen members
        # take their branch's.
        issued_paths = {event["branch_id"]: ancestor_fields(event["org_path"]) for event in events
                        if event["event_type"] == "activity_issued" and event.get("org_path")}
        branch_paths = dict(issued_paths)
        branch_paths.update({event["branch_id"]: ancestor_fields(event["org_path"]) for event in events
                             if event["event_type"] == "activity_closed" and event.get("org_path")})
        if branch_paths:
            db.branches.bulk_write([ReplaceOne({"_id": branch_id}, {"_id": branch_id, **fields}, upsert=True)
                                    for branch_id, fields in branch_paths.items()], ordered=False, session=session)
        roster_branches = {event["branch_id"] for event in events
                           if event["event_type"] == "roster_frozen" and event["branch_id"] not in branch_paths}
        if roster_branches:
            for doc in db.branches.find({"_id": {"$in": list(roster_branches)}}, session=session):
                branch_paths[doc.pop("_id")] = doc
        for event in events:
            if event["event_type"] == "tenant_created":
                db.tenants.update_one({"_id": event["tenant_id"]}, {"$set": {"root_org_id": event["root_org_id"]}},
                                      upsert=True, session=session)
            elif event["event_type"] == "activity_issued" and event.get("org_path"):
                db.tenants.update_one({"_id": event["tenant_id"]}, {"$setOnInsert": {
                    "root_org_id": event["org_path"][0]}}, upsert=True, session=session)
        for event in events:
            if event["event_type"] == "roster_frozen":
                fields = branch_paths.get(event["branch_id"], {})
                writes = [UpdateOne({"_id": member_id}, {"$set": {
                    "tenant_id": event["tenant_id"], "branch_id": event["branch_id"], **fields}}, upsert=True)
                    for member_id in event.get("member_ids") or []]
                if writes:
                    db.members.bulk_write(writes, ordered=False, session=session)
        for branch_id, fields in issued_paths.items():   # a branch moved since last month: its members follow
            db.members.update_many({"branch_id": branch_id}, {"$set": fields}, session=session)
        candidates, rules_by_tenant = [], {}
        for event in events:
            candidates.extend(self._awards(event, rules_by_tenant))
        ledger.write_entries(self.store, session, candidates, rules_by_tenant)

    def _awards(self, event: dict, rules_by_tenant: dict) -> list[dict]:
        kind, tenant_id = event["event_type"], event.get("tenant_id")
        if kind not in ("checkout_recorded", "reflection_posted", "activity_closed") or not tenant_id:
            return []
        table = ledger.batch_rules(self.store, tenant_id, rules_by_tenant)
        source = {"kind": "event", "event_id": event["event_id"], "event_type": kind}
        at = event.get("at") or event["occurred_at"]
        if kind == "checkout_recorded":            # back-filled after the closing (has_points_work)
            points = ledger.rule_points(table, "attendance")
            return [] if not points else [attendance_entry(event["activity_id"], event["member_id"], tenant_id,
                                                           points, source, at)]
        if kind == "reflection_posted":
            points = ledger.rule_points(table, "reflection")
            return [] if not points else [ledger.entry(
                f"{event['activity_id']}:{event['member_id']}:reflection", tenant_id, event["member_id"],
                "reflection", points, "发表心得体会", source, at)]
        # the closing: each present member's attendance (参加主题党日) and each absent member's deduction
        at = event.get("closed_at") or at
        statuses = sorted((event.get("statuses") or {}).items())
        attendance, absence = ledger.rule_points(table, "attendance"), ledger.rule_points(table, "absence")
        entries = []
        for member_id, status in statuses:
            if status == PRESENT and attendance:
                entries.append(attendance_entry(event["activity_id"], member_id, tenant_id, attendance, source, at))
            elif status == ABSENT and absence:
                entries.append(ledger.entry(f"{event['activity_id']}:{member_id}:absence", tenant_id, member_id,
                                            "absence", absence, "主题党日缺勤", source, at))
        return entries


def attendance_entry(activity_id: str, member_id: str, tenant_id: str, points: float, source: dict, at: str) -> dict:
    """A member's points for taking part in a themed day: one entry per activity and member, whichever event
    brings it (the closing, or a sign-out back-filled after it)."""
    return ledger.entry(f"{activity_id}:{member_id}:attendance", tenant_id, member_id, "attendance", points,
                        "参加主题党日", source, at)


def has_points_work(event: dict) -> bool:
    """A sign-out earns its points at the closing, which names every member present (signed in and out), so
    the sign-outs themselves are skipped while they pour in: at a city's sign-out peak their ledger entries
    and balances had cost scoring's store 0.3-0.4 ms of CPU each, the largest single share of a sign-out. Only
    a sign-out back-filled after the closing is credited on its own."""
    return event.get("event_type") != "checkout_recorded" or bool(event.get("backfilled"))


def transaction_parts(events: list[dict], most_entries: int | None = None) -> list[list[dict]]:
    """The events in order, cut into parts of about ``most_entries`` (``MAX_ENTRIES_PER_TRANSACTION``) ledger entries
    or members at most (a closing counts its roster, a roster its members; one event is never cut): a batch of a
    thousand closings would otherwise be one transaction of 20,000 entries, holding the points database for
    seconds."""
    most_entries = most_entries or MAX_ENTRIES_PER_TRANSACTION
    parts, part, weight = [], [], 0
    for event in events:
        size = max(1, len(event.get("statuses") or ()), len(event.get("member_ids") or ()))
        if part and weight + size > most_entries:
            parts.append(part)
            part, weight = [], 0
        part.append(event)
        weight += size
    return parts + [part] if part else parts


def declared_in_topology() -> bool:
    """The consumers' rows are the ones servicekit.messaging.topology declares up front."""
    from servicekit.messaging.topology import SUBSCRIPTIONS
    rows = {(source, event, "scoring", consumer) for consumer, subscriptions in
            (("score", SCORE_SUBSCRIPTIONS), ("points", POINTS_SUBSCRIPTIONS)) for source, event in subscriptions}
    return rows <= set(SUBSCRIPTIONS)
