"""Branch scores learned from attendance events: the score consumer's batches (``ScoreApplier``).

Each batch's facts and the scores they make are written in one transaction, with the processed ids of the
events that are not idempotent by keys of their own (not the scans). Points are learned apart
(points_events), from queues and a database of their own, so a backlog of points never delays scores.
"""
from __future__ import annotations

import time
from collections import OrderedDict

from prometheus_client import Histogram

from servicekit.messaging.consumers import apply_once
from servicekit.process.clock import WallClock
from servicekit.storage.mongo import open_store
from servicekit.timestamps import parse_stamp, stamp

from services.attendance import events as att
from services.scoring.domain.facts_updates import IDEMPOTENT_BY_KEYS, SCORE_EVENTS, applied, updates_for
from services.scoring.ranking_cache import note_written
from services.scoring.store import (STUB, ScoringStore, StaleFacts, place_changed, place_of, retried, score_row_of,
                                    scored_fields)

SCORE_SUBSCRIPTIONS = [(att.SOURCE, name) for name in SCORE_EVENTS]
SCORE_LAG = Histogram("score_lag_seconds", "From an attendance event to the branch score that counts it",
                      ["event_type"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 10, 30, 60, 120, 300, 600))


def needs_event_id(event: dict) -> bool:
    return event.get("event_type") not in IDEMPOTENT_BY_KEYS


class ScoreApplier:
    """Per batch: read the touched activities once, apply the events to them in memory, and replace each
    activity by its new facts and score (guarded by ``rev``), with the processed event ids, in one transaction.

    The documents this process committed are kept (the ``remembered`` most recent), so the next batch
    touching an activity does not read it back: at a city's scale almost every event is the only one of its
    activity in its batch. The ``rev`` guard keeps this safe: if anything else wrote the activity since (a
    rating, another scoring process), the batch's remembered documents are dropped and it is retried on what
    the store holds."""

    consumer = "score"
    needs_id = staticmethod(needs_event_id)     # which events' ids are looked up and recorded

    def __init__(self, store: ScoringStore, remembered: int = 20_000, clock=None):
        self.store = store
        self.remembered = remembered
        self.clock = clock or WallClock()
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
        stubs = [activity_id for activity_id in updates if activity_id not in docs]
        if stubs:
            self.store.add_stubs(stubs, session)
        now = stamp(self.clock.now())
        revs, places, written = [], [], []
        for activity_id, update in updates.items():
            before = docs.get(activity_id) or {"_id": activity_id, **STUB}
            after = applied(before, update)
            after.update(scored_fields(after, now))
            revs.append(before.get("rev", 0))
            written.append(after)
            if place_changed(before, after):            # issued, or closed after a move: not a scan
                places.append(place_of(after))
        try:
            self.store.replace_scored(revs, written, session, places=places)
        except StaleFacts:
            for activity_id in updates:
                self._known.pop(activity_id, None)
            raise
        return written

    def _remember(self, written: list[dict]) -> None:
        for doc in written:
            self._known[doc["_id"]] = doc
            self._known.move_to_end(doc["_id"])
        while len(self._known) > self.remembered:
            self._known.popitem(last=False)


def observe_lag(events: list[dict]) -> None:
    """Seconds from each event (a scan's record, a closing...) to the score that counts it."""
    now = time.time()
    for event in events:
        try:
            SCORE_LAG.labels(event["event_type"]).observe(max(0.0, now - parse_stamp(event["occurred_at"]).timestamp()))
        except (KeyError, TypeError, ValueError):
            continue
