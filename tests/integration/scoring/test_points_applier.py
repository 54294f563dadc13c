"""The points applier against the real store: its own database, so a points transaction never holds up a
score transaction, and members learned from a roster take their branch's place in the tree."""
from __future__ import annotations

import secrets
import threading

import pytest

from servicekit.storage.mongo import open_store
from services.scoring.points_store import PointsStore, points_database
from services.scoring.store import ScoringStore
from services.scoring.usecases import points_events
from services.scoring.usecases.points_events import PointsApplier
from services.scoring.usecases.score_events import ScoreApplier
from tests.support.scoring import ThemedDay

pytestmark = pytest.mark.integration
BRANCH = {"id": "b1", "name": "一支部", "path_ids": ["city", "county", "b1"], "field": "rural"}


@pytest.fixture
def stores(mongo_uri):
    service = f"scoring_points_test_{secrets.token_hex(3)}"
    return open_store(ScoringStore, service, mongo_uri), open_store(PointsStore, points_database(service), mongo_uri)


def test_a_roster_in_a_later_batch_takes_the_branch_path_learned_at_issue(stores):
    _, points = stores
    day = ThemedDay("t1", BRANCH, "2026-05", ["m1", "m2"])
    applier = PointsApplier(points)
    applier.apply([day.issued()])
    applier.apply(day.planned_and_opened())                 # roster_frozen without its activity_issued
    member = points.member("m1")
    assert (member["branch_id"], member["a0"], member["a1"], member["a2"]) == ("b1", "city", "county", "b1")
    assert [m["_id"] for m in points.members_under("county", 1)] == ["m1", "m2"]
    applier.apply([day.scan("m1", "in"), day.scan("m1", "out"), day.closed({"m1": "present", "m2": "absent"})])
    assert [entry["category"] for entry in points.ledger_of("m1", "2026")] == ["attendance"]
    assert points.balances_of_cycle("t1", "2026")["m1"]["a1"] == "county"


def test_a_score_batch_commits_while_a_points_transaction_is_open(stores):
    scores, points = stores
    day = ThemedDay("t1", BRANCH, "2026-05", ["m1", "m2"])
    points_open, score_done = threading.Event(), threading.Event()

    def hold_a_points_transaction():
        with points.transaction() as session:
            points.db.ledger.insert_one({"_id": "held", "member_id": "m1", "cycle": "2026"}, session=session)
            points_open.set()
            score_done.wait(15)                                  # still open while the score batch runs

    holder = threading.Thread(target=hold_a_points_transaction)
    holder.start()
    try:
        assert points_open.wait(10)
        ScoreApplier(scores).apply([day.issued(), *day.planned_and_opened(), day.scan("m1")])
        assert holder.is_alive(), "the score batch waited for the points transaction to end"
        assert set(scores.activity(day.activity_id)["in"]) == {"m1"}
    finally:
        score_done.set()
        holder.join(30)
    assert points.ledger_entry("held") is not None                   # and the points transaction committed too


class CountingPointsStore(PointsStore):
    def __init__(self, db):
        super().__init__(db)
        self.tenant_reads = 0

    def tenant(self, tenant_id):
        self.tenant_reads += 1
        return super().tenant(tenant_id)


def test_a_batch_reads_its_tenants_rules_once(stores):
    _, points = stores
    day = ThemedDay("t1", BRANCH, "2026-05", [f"m{n}" for n in range(6)])
    counting = CountingPointsStore(points.db)
    PointsApplier(counting).apply([day.issued(), *day.planned_and_opened(), *[day.reflection(f"m{n}") for n in range(6)],
                                   day.closed({f"m{n}": "present" for n in range(6)})])
    assert counting.tenant_reads == 1
    assert sum(len(points.ledger_of(f"m{n}", "2026")) for n in range(6)) == 12


def test_points_are_idempotent_by_their_ledger_ids_without_recording_event_ids(stores):
    _, points = stores
    day = ThemedDay("t1", BRANCH, "2026-05", ["m1", "m2"])
    applier = PointsApplier(points)
    applier.apply([day.issued(), *day.planned_and_opened()])
    closing = day.closed({"m1": "present", "m2": "excused"})
    applier.apply([closing, closing])                         # the same event twice in one batch
    applier.apply([closing])                                  # and redelivered later
    applier.apply([day.scan("m1", "out", backfilled=True)])   # another event for the same fact
    entries = points.ledger_of("m1", "2026")
    assert [entry["category"] for entry in entries] == ["attendance"]
    assert points.db.balances.find_one({"member_id": "m1"})["total"] == entries[0]["points"]
    assert points.db.processed_events.count_documents({}) == 0


class RacingPointsStore(PointsStore):
    """Another consumer writes the same ledger entry after this batch looked for it, before it inserts."""

    def __init__(self, db, racer):
        super().__init__(db)
        self.racer = racer

    def transaction(self):
        if self.racer:
            racer, self.racer = self.racer, None
            racer()
        return super().transaction()


def test_a_ledger_entry_written_first_by_another_consumer_is_not_counted_twice(stores):
    _, points = stores
    day = ThemedDay("t1", BRANCH, "2026-05", ["m1", "m2"])
    PointsApplier(points).apply([day.issued(), *day.planned_and_opened()])
    sign_out = day.scan("m2", "out", backfilled=True)
    racing = RacingPointsStore(points.db, lambda: PointsApplier(points).apply([sign_out]))
    PointsApplier(racing).apply([sign_out])
    entries = points.ledger_of("m2", "2026")
    assert len(entries) == 1
    assert points.db.balances.find_one({"member_id": "m2"})["total"] == entries[0]["points"]


def test_balances_an_earlier_version_indexed_by_member_lose_that_index_at_start_up(mongo_uri):
    name = f"scoring_points_{secrets.token_hex(3)}"
    earlier = open_store(PointsStore, name, mongo_uri)
    earlier.db.balances.create_index("member_id")
    earlier.db.balances.insert_one({"_id": "m1:2026", "member_id": "m1", "cycle_key": "t1:2026", "total": 5, "v": 1})
    store = open_store(PointsStore, name, mongo_uri)
    assert {info["key"][0][0] for info in store.db.balances.index_information().values()} == {"_id", "cycle_key"}
    assert store.balances_of_cycle("t1", "2026")["m1"]["total"] == 5


def test_a_sign_out_earns_its_points_when_its_activity_closes(stores):
    _, points = stores
    day = ThemedDay("t1", BRANCH, "2026-05", ["m1", "m2", "m3", "m4"])
    applier = PointsApplier(points)
    applier.apply([day.issued(), *day.planned_and_opened()])
    written_before = points.db.ledger.count_documents({})
    applier.apply([day.scan("m1"), day.scan("m1", "out"), day.scan("m2"), day.scan("m2", "out"), day.scan("m3")])
    assert points.db.ledger.count_documents({}) == written_before == 0       # nothing yet: the statuses are not final
    applier.apply([day.closed({"m1": "present", "m2": "present", "m3": "incomplete", "m4": "absent"})])
    ledger = {entry["member_id"]: entry for entry in points.db.ledger.find({})}
    assert {member: entry["category"] for member, entry in ledger.items()} == {
        "m1": "attendance", "m2": "attendance", "m4": "absence"}
    assert ledger["m1"]["_id"] == f"{day.activity_id}:m1:attendance" and ledger["m1"]["reason"] == "参加主题党日"
    assert ledger["m1"]["at"] == "2026-05-15T04:00:00.000Z"                 # the closing's time
    assert ledger["m1"]["source"]["event_type"] == "activity_closed"
    balances = points.balances_of_cycle("t1", "2026")
    assert balances["m1"]["total"] == ledger["m1"]["points"] > 0 > balances["m4"]["total"]
    assert "m3" not in balances


def test_a_sign_out_back_filled_after_the_closing_earns_its_points_at_once(stores):
    _, points = stores
    day = ThemedDay("t1", BRANCH, "2026-05", ["m1", "m2"])
    applier = PointsApplier(points)
    applier.apply([day.issued(), *day.planned_and_opened(), day.closed({"m1": "present", "m2": "incomplete"})])
    applier.apply([day.scan("m2", "out", backfilled=True)])
    assert [entry["category"] for entry in points.ledger_of("m2", "2026")] == ["attendance"]
    assert points.ledger_of("m2", "2026")[0]["source"]["event_type"] == "checkout_recorded"


def test_a_closing_after_a_sign_out_credited_by_an_earlier_version_pays_once(stores):
    _, points = stores
    day = ThemedDay("t1", BRANCH, "2026-05", ["m1"])
    applier = PointsApplier(points)
    applier.apply([day.issued(), *day.planned_and_opened()])
    applier.apply([day.scan("m1", "out", backfilled=True)])      # as an earlier version credited every sign-out
    applier.apply([day.closed({"m1": "present"})])
    [entry] = points.ledger_of("m1", "2026")
    assert points.balances_of_cycle("t1", "2026")["m1"]["total"] == entry["points"]


class CountingTransactions(PointsStore):
    def __init__(self, db):
        super().__init__(db)
        self.transactions = 0

    def transaction(self, session=None):
        self.transactions += 1
        return super().transaction(session)


def test_a_batch_of_large_closings_is_written_in_several_transactions(stores, monkeypatch):
    _, points = stores
    monkeypatch.setattr(points_events, "MAX_ENTRIES_PER_TRANSACTION", 5)
    days = [ThemedDay("t1", {**BRANCH, "id": f"b{n}"}, "2026-05", [f"m{n}{k}" for k in range(3)]) for n in range(4)]
    applier = PointsApplier(points)
    applier.apply([event for day in days for event in (day.issued(), *day.planned_and_opened())])
    counting = CountingTransactions(points.db)
    PointsApplier(counting).apply([day.closed({m: "present" for m in day.members}) for day in days]
                                  + [days[0].scan("m00", "out")])      # a sign-out alone: no work, no transaction
    assert counting.transactions == 4                                  # 3 entries each, at most 5 per transaction
    assert points.db.ledger.count_documents({"category": "attendance"}) == 12
    counting.transactions = 0
    PointsApplier(counting).apply([days[0].scan("m01", "out"), days[1].scan("m11", "out")])
    assert counting.transactions == 0
