"""The score applier against the real store: facts and score written together, and a write that raced
another process's is retried on the newer facts, never lost."""
from __future__ import annotations

import secrets

import pytest

from servicekit.mongo import open_store
from services.scoring.consumers import ScoreApplier
from services.scoring.store import ScoringStore
from tests.support.scoring import ThemedDay

pytestmark = pytest.mark.integration
BRANCH = {"id": "b1", "name": "一支部", "path_ids": ["city", "county", "b1"], "field": "rural"}


class RacingStore(ScoringStore):
    """The batch's first read returns the documents as they were before "another process" committed a sign-in
    of m9: the read raced that write (nx-27017 cannot interleave two transactions to show it for real)."""

    def __init__(self, db, stale: list[dict]):
        super().__init__(db)
        self.stale = stale

    def activities_by_ids(self, ids, session=None):
        if self.stale:
            stale, self.stale = self.stale, []
            return stale
        return super().activities_by_ids(ids, session=session)


@pytest.fixture
def store(mongo_uri):
    return open_store(ScoringStore, f"scoring_applier_{secrets.token_hex(3)}", mongo_uri)


def test_a_batch_writes_facts_and_score_in_one_update(store):
    day = ThemedDay("t1", BRANCH, "2026-05", ["m1", "m2", "m3", "m4"])
    written = ScoreApplier(store).apply([day.issued(), *day.planned_and_opened(), day.scan("m1"), day.scan("m2")])
    doc = store.activity(day.activity_id)
    assert set(doc["in"]) == {"m1", "m2"} and doc["counts"]["present"] == 0 and doc["score"] == written[0]["score"]
    row = store.db.scores.find_one({"_id": "b1:2026-05"})
    assert row["score"] == doc["score"] and row["period_key"] == "t1:2026-05" and not row["final"]
    again = ScoreApplier(store).apply([day.scan("m1"), day.scan("m3", "out")])    # m1 again: nothing changes
    assert set(store.activity(day.activity_id)["out"]) == {"m3"} and again[0]["rev"] == doc["rev"] + 2


def test_a_write_that_raced_another_is_retried_on_the_newer_facts(mongo_uri, store):
    day = ThemedDay("t1", BRANCH, "2026-05", ["m1", "m2", "m9"])
    ScoreApplier(store).apply([day.issued(), *day.planned_and_opened()])
    racing = RacingStore(store.db, store.activities_by_ids([day.activity_id]))
    ScoreApplier(store).apply([day.scan("m9")])                   # the other process, after the batch's read
    [written] = ScoreApplier(racing).apply([day.scan("m1")])
    doc = store.activity(day.activity_id)
    assert not racing.stale and set(doc["in"]) == {"m1", "m9"}   # neither the racer's fact nor the batch's is lost
    assert written["in"] == doc["in"] and doc["score"] == written["score"]
    # the issue, the plan and the opening recorded; scans are idempotent by member and leave no ids
    assert store.db.processed_events.count_documents({}) == len(day.planned_and_opened()) + 1


def test_a_balance_changed_since_it_was_read_is_not_overwritten(mongo_uri):
    from services.scoring import ledger
    from services.scoring.points_store import PointsStore
    store = open_store(PointsStore, f"scoring_points_{secrets.token_hex(3)}", mongo_uri)
    with store.transaction() as session:
        ledger.write_balances(store, session, {"m1:2026": {"total": 5, "member_id": "m1"}}, {})
    read = store.db.balances.find_one({"_id": "m1:2026"})
    with store.transaction() as session:                   # another writer adds 3 points
        ledger.write_balances(store, session, {"m1:2026": {**read, "total": 8}}, {"m1:2026": read})
    with pytest.raises(ledger.StaleBalance):                 # a write based on the first read loses the race
        with store.transaction() as session:
            ledger.write_balances(store, session, {"m1:2026": {**read, "total": 6}}, {"m1:2026": read})
    assert store.db.balances.find_one({"_id": "m1:2026"})["total"] == 8


def test_scans_delivered_again_change_no_fact_and_record_no_ids(store):
    day = ThemedDay("t1", BRANCH, "2026-05", ["m1", "m2", "m3"])
    applier = ScoreApplier(store)
    setup = [day.issued(), *day.planned_and_opened()]
    scans = [day.scan("m1"), day.scan("m2"), day.scan("m1", "out", flags=["MOCK_LOCATION"]), day.like("m3"),
             day.reflection("m1")]
    applier.apply(setup + scans)
    before = store.activity(day.activity_id)
    ids_before = store.db.processed_events.count_documents({})
    for redelivery in (scans, scans[::-1], scans + scans):            # again, in another order, twice in a batch
        [written] = ScoreApplier(ScoringStore(store.db)).apply(redelivery)
        after = store.activity(day.activity_id)
        for field in ("in", "out", "flagged", "liked", "refl", "score", "counts", "breakdown"):
            assert after[field] == before[field], field
        assert written["score"] == before["score"]
    assert ids_before == len(setup) and store.db.processed_events.count_documents({}) == ids_before


def test_a_rejection_delivered_again_is_counted_once(store):
    from services.attendance import events as att
    day = ThemedDay("t1", BRANCH, "2026-05", ["m1"])
    rejected = att.PLAN_REVIEWED.build("t1", activity_id=day.activity_id, branch_id="b1", month="2026-05",
                                       decision="rejected", reason="地点不清", reviewed_by="acc-county")
    ScoreApplier(store).apply([day.issued(), rejected])
    ScoreApplier(ScoringStore(store.db)).apply([rejected, day.scan("m1")])
    doc = store.activity(day.activity_id)
    assert doc["rejections"] == 1 and set(doc["in"]) == {"m1"}


class CountingStore(ScoringStore):
    def __init__(self, db):
        super().__init__(db)
        self.read_ids: list[list[str]] = []

    def activities_by_ids(self, ids, session=None):
        self.read_ids.append(sorted(ids))
        return super().activities_by_ids(ids, session=session)


def test_an_activity_this_process_wrote_is_not_read_back_by_its_next_batch(store):
    day = ThemedDay("t1", BRANCH, "2026-05", ["m1", "m2", "m3"])
    counting = CountingStore(store.db)
    applier = ScoreApplier(counting)
    applier.apply([day.issued(), *day.planned_and_opened(), day.scan("m1")])
    reads = len(counting.read_ids)
    [written] = applier.apply([day.scan("m2")])
    assert len(counting.read_ids) == reads                       # served from what it committed
    doc = store.activity(day.activity_id)
    assert set(doc["in"]) == {"m1", "m2"} and doc == written


def test_a_rating_written_meanwhile_is_kept_and_the_scan_still_counts(store):
    day = ThemedDay("t1", BRANCH, "2026-05", ["m1", "m2"])
    applier = ScoreApplier(store)
    applier.apply([day.issued(), *day.planned_and_opened(), day.scan("m1")])
    store.set_rating(day.activity_id, 90, "很好", "acc-county")     # another writer: the remembered copy is stale
    [written] = applier.apply([day.scan("m2")])
    doc = store.activity(day.activity_id)
    assert doc["rating"] == 90 and set(doc["in"]) == {"m1", "m2"} and written["rating"] == 90


def test_another_scoring_process_writing_meanwhile_loses_nothing(store):
    day = ThemedDay("t1", BRANCH, "2026-05", ["m1", "m2", "m3"])
    first, second = ScoreApplier(store), ScoreApplier(ScoringStore(store.db))
    first.apply([day.issued(), *day.planned_and_opened(), day.scan("m1")])
    second.apply([day.scan("m2")])                                # reads the store: sees m1
    first.apply([day.scan("m3")])                                 # its copy lacks m2: retried on the store's
    assert set(store.activity(day.activity_id)["in"]) == {"m1", "m2", "m3"}
