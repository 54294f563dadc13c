"""The score applier against the real store: facts and score written together, and a write that raced
another process's is retried on the newer facts, never lost."""
from __future__ import annotations

import secrets
import time

import pytest

from servicekit.storage.mongo import open_store
from services.scoring import ranking_cache
from services.scoring.ranking_cache import RankingCache
from services.scoring.store import ScoringStore, epoch_ms
from services.scoring.usecases.score_events import ScoreApplier
from tests.support.scoring import ThemedDay

pytestmark = pytest.mark.integration
BRANCH = {"id": "b1", "name": "一支部", "path_ids": ["city", "county", "b1"], "field": "rural"}
NOW = "2026-05-20T10:00:00.000Z"


class RacingStore(ScoringStore):
    """The batch's first read returns the documents as they were before "another process" committed a sign-in
    of m9: the read raced that write (nx-27017 cannot interleave two transactions to show it for real)."""

    def __init__(self, db, stale: list[dict]):
        super().__init__(db)
        self.stale = stale

    def activities_by_ids(self, ids, session=None, fields=None):
        if self.stale:
            stale, self.stale = self.stale, []
            return stale
        return super().activities_by_ids(ids, session=session, fields=fields)


@pytest.fixture
def store(mongo_uri):
    return open_store(ScoringStore, f"scoring_applier_{secrets.token_hex(3)}", mongo_uri)


def test_a_batch_writes_facts_and_score_in_one_update(store):
    day = ThemedDay("t1", BRANCH, "2026-05", ["m1", "m2", "m3", "m4"])
    written = ScoreApplier(store).apply([day.issued(), *day.planned_and_opened(), day.scan("m1"), day.scan("m2")])
    doc = store.activity(day.activity_id)
    assert set(doc["in"]) == {"m1", "m2"} and doc["counts"]["present"] == 0 and doc["score"] == written[0]["score"]
    [row] = store.score_rows("t1:2026-05")                # derived from the activity: no second document written
    assert row["_id"] == "b1:2026-05" and row["score"] == doc["score"] and not row["final"]
    assert row["counts"] == doc["counts"] and row["changed_at"] == doc["scored_at"]
    assert store.score_rows("t2:2026-05") == [] and "scores" not in store.db.list_collection_names()
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
    from services.scoring.points_store import PointsStore, StaleBalance
    store = open_store(PointsStore, f"scoring_points_{secrets.token_hex(3)}", mongo_uri)
    with store.transaction() as session:
        store.write_balances(session, {"m1:2026": {"total": 5, "member_id": "m1"}}, {})
    read = store.db.balances.find_one({"_id": "m1:2026"})
    with store.transaction() as session:                   # another writer adds 3 points
        store.write_balances(session, {"m1:2026": {**read, "total": 8}}, {"m1:2026": read})
    with pytest.raises(StaleBalance):                      # a write based on the first read loses the race
        with store.transaction() as session:
            store.write_balances(session, {"m1:2026": {**read, "total": 6}}, {"m1:2026": read})
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
    store.set_rating(day.activity_id, 90, "很好", "acc-county", NOW)   # another writer: the remembered copy is stale
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


def test_an_activity_is_placed_when_issued_and_moved_when_closed_under_another_parent_not_by_scans(store):
    day = ThemedDay("t1", BRANCH, "2026-05", ["m1", "m2"])
    applier = ScoreApplier(store)
    applier.apply([day.issued(), *day.planned_and_opened()])
    assert store.db.places.find_one({"_id": day.activity_id}) == {
        "_id": day.activity_id, "tenant_id": "t1", "branch_id": "b1", "month": "2026-05", "month_key": "t1:2026-05",
        "a0": "city", "a1": "county", "a2": "b1"}
    store.db.places.update_one({"_id": day.activity_id}, {"$set": {"probe": 1}})
    applier.apply([day.scan("m1"), day.scan("m1", "out"), day.like("m2")])
    assert store.db.places.find_one({"_id": day.activity_id})["probe"] == 1    # a scan leaves the place alone
    day.branch = {**BRANCH, "path_ids": ["city", "county-2", "b1"]}              # the branch moved before closing
    applier.apply([day.closed({"m1": "present", "m2": "absent"})])
    place = store.db.places.find_one({"_id": day.activity_id})
    assert place["a1"] == "county-2" and "probe" not in place
    assert store.any_activity_under("county-2")["_id"] == day.activity_id
    assert [doc["_id"] for doc in store.activities_of_month("t1", "2026-05")] == [day.activity_id]
    assert [doc["_id"] for doc in store.activities_of_branch("b1")] == [day.activity_id]
    assert store.activities_of_month("t2", "2026-05") == [] and store.activities_of_branch("b2") == []


def test_activities_an_earlier_version_indexed_directly_are_placed_and_their_indexes_dropped(mongo_uri):
    service = f"scoring_unplaced_{secrets.token_hex(3)}"
    earlier = open_store(ScoringStore, service, mongo_uri).db
    earlier.places.drop()
    for field in ScoringStore.retired_indexes["activities"]:
        earlier.activities.create_index(field)
    for field in ScoringStore.retired_indexes["scores"]:             # ranking rows once kept apart
        earlier.scores.create_index(field)
    earlier.migrations.drop()
    earlier.activities.insert_many([
        {"_id": f"act-{n}", "tenant_id": "t1", "branch_id": f"b{n}", "month": "2026-04", "month_key": "t1:2026-04",
         "a0": "city", "a1": "county", "a2": f"b{n}", "in": {"m1": 1}, "stages": {"held": "2026-04-15T01:00:00Z"},
         "score": 50.0} for n in range(3)])
    earlier.places.insert_one({"_id": "act-0", "tenant_id": "t1", "branch_id": "b0", "month": "2026-04",
                              "month_key": "t1:2026-04", "a0": "city", "a1": "county", "a2": "b0"})  # a start cut off
    store = open_store(ScoringStore, service, mongo_uri)                  # the new version starts
    assert store.db.places.count_documents({}) == 3
    assert sorted(doc["_id"] for doc in store.activities_of_month("t1", "2026-04")) == ["act-0", "act-1", "act-2"]
    assert store.activities_of_branch("b1")[0]["score"] == 50.0
    rows = store.score_rows("t1:2026-04")                     # ranking rows read from activities scored before
    assert sorted((row["_id"], row["score"], row["final"]) for row in rows) == [
        (f"b{n}:2026-04", 50.0, False) for n in range(3)]
    assert store.any_activity_under("county")["tenant_id"] == "t1"
    keys = lambda collection: {info["key"][0][0] for info in collection.index_information().values()}  # noqa: E731
    assert keys(store.db.activities) == {"_id", "scored_ms"} and keys(store.db.scores) == {"_id"}
    assert {"month_key", "branch_id", "a1"} <= keys(store.db.places)
    assert store.db.migrations.find_one({"_id": "places"})["written"] == 2
    store.db.activities.insert_one({"_id": "act-9", "tenant_id": "t1", "month_key": "t1:2026-04"})
    assert store.place_activities() == 0 and store.drop_retired_indexes() == []    # once
    store.db.activities.insert_one({"_id": "act-8", "tenant_id": "t1", "branch_id": "b8", "month": "2026-04"})
    store.db.places.insert_one({"_id": "act-8", "tenant_id": "t1", "branch_id": "b8", "month_key": "t1:2026-04"})
    assert len(store.score_rows("t1:2026-04")) == 3           # act-8, placed but never scored, is no ranking row


def test_rows_changed_since_a_moment_are_those_scored_from_it_on(store):
    first, second = (ThemedDay("t1", {**BRANCH, "id": branch, "path_ids": ["city", "county", branch]}, "2026-05",
                               ["m1", "m2"]) for branch in ("b1", "b2"))
    applier = ScoreApplier(store)
    applier.apply([first.issued(), *first.planned_and_opened(), second.issued(), *second.planned_and_opened()])
    before_scan = store.activity(second.activity_id)["scored_at"]
    time.sleep(0.01)
    [scanned] = applier.apply([second.scan("m1")])
    changed = store.score_rows_changed_since(scanned["scored_at"])
    assert [row["activity_id"] for row in changed] == [second.activity_id] and changed[0]["counts"] == scanned["counts"]
    assert {row["activity_id"] for row in store.score_rows_changed_since(before_scan)} == {
        first.activity_id, second.activity_id}
    assert scanned["scored_ms"] == epoch_ms(scanned["scored_at"])


def test_another_process_ranking_cache_sees_a_scan_at_its_next_refresh(store):
    day = ThemedDay("t1", BRANCH, "2026-05", ["m1", "m2", "m3"])
    ScoreApplier(store).apply([day.issued(), *day.planned_and_opened()])
    other = RankingCache(ScoringStore(store.db))                 # a second scoring process's cache:
    ranking_cache._CACHES.discard(other)                         # not handed this process's commits
    [before] = other.rows("t1:2026-05")
    [scanned] = ScoreApplier(store).apply([day.scan("m1"), day.scan("m2")])
    assert other.rows("t1:2026-05") == [before]                    # not yet: it reads changes every 15 s
    other.refresh_now()
    [after] = other.rows("t1:2026-05")
    assert after["score"] == scanned["score"] != before["score"] and after["counts"]["incomplete"] == 2
