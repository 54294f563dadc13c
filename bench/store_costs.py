"""Benchmark: what the embedded store (nx-27017) spends on the hot paths of a themed day, measured as
the store process's own CPU time (from /proc), each way side by side.

    .venv/bin/python -m bench.store_costs [--bundles 300] [--activities 900] [--records 50000] [--attempts 3000]
                                          [--only answers ...]

1. The outbox: a bundle of 16 sign-in events inserted, then read and marked sent by the relay,
   stored as nested event documents (which the store decodes and re-encodes) or as encoded JSON text
   (``bundle_entry``), and encoded bundles handed to the relay in memory (``note_committed``): marked sent,
   not read back.
2. The scan desk's activity cache: 900 frozen activities (23 members on each roster), read again in
   full by id, with a projection, or only checked for a change (``activities_changed_since``).
3. A scan batch's chain catch-up (``AttendanceStore.appended_since``), with nothing and with 2 records appended by
   another instance.
4. The score consumer: 300 branches' sign-ins and sign-outs in batches of 50, with every event id recorded
   or scans applied without ids (``needs_event_id``, idempotent by member), on activities carrying their own
   month, branch and ancestor indexes or found through ``places``, with each activity's ranking row written to
   a collection of its own as well or derived from the activity (``score_row_of``); and what a ranking cache
   reads, a month of --ranking-branches rows and the rows scored since a moment, both ways. Each index and
   each extra document is rewritten by nx-27017 for every scan, which is what these lines price.
5. The points consumer: 300 branches' sign-outs in batches of 50, applied with processed event ids
   recorded (``apply_once``) or idempotent by ledger ids alone (``apply_idempotent``), and
   the latter in batches of 30 and of 300 (what the consumer gathers while sign-outs keep coming).
6. Attendance's records: batches of 14 inserted in a transaction into a collection already holding
   --records of them, indexed by activity, member and chain key or by the chain key alone; and an
   activity's records found by ``activity_id`` or by the range of their chain keys (the key range is why
   the other two indexes can go).
7. A contest's answers as content saves them: each a ``$set`` of one answer into its attempt (ten questions),
   30 to a transaction; what ``servicekit.storage.nx_server``'s updates in SQL are for.
"""
from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from pathlib import Path

from pymongo import MongoClient, ReplaceOne, UpdateOne

from bench.proc import cpu_seconds
from servicekit.messaging.consumers import apply_idempotent, apply_once
from servicekit.storage.embedded_mongo import EmbeddedMongo
from servicekit.timestamps import stamp
from servicekit.storage.mongo import open_store
from servicekit.messaging.outbox import PENDING, SENT, bundle_entry
from services.attendance import events
from services.attendance.scanning import record_id
from services.attendance.store import SCAN_CHANGED_AT, AttendanceStore
from services.content.stores.quizzes import answer_saved
from services.scoring.usecases.points_events import PointsApplier
from services.scoring.usecases.score_events import ScoreApplier, needs_event_id
from services.scoring.points_store import PointsStore
from services.scoring.store import ScoringStore, score_row_of
from tests.support.scoring import ThemedDay

NOW = "2026-11-25T00:50:00.000Z"


def sign_ins(count: int) -> list[dict]:
    return [events.CHECKIN_RECORDED.build("t1", activity_id=f"act-{uuid.uuid4().hex[:8]}", branch_id="org-1234",
                                          member_id=f"m-{uuid.uuid4().hex[:10]}", record_id="r" * 40, at=NOW,
                                          distance_m=12.3, flags=[], seq=17, hash="ab" * 32, backfilled=False)
            for _ in range(count)]


def nested_entry(batch: list[dict]) -> dict:
    """An outbox entry with every event a nested document, which the store decodes and the relay re-encodes."""
    return {"_id": uuid.uuid4().hex, "status": PENDING, "created_at": NOW, "attempts": 0,
            "bundle": [{"exchange": "attendance.events", "routing_key": event["event_type"], "payload": event}
                       for event in batch]}


def outbox_costs(db, pid: int, bundles: int) -> None:
    print(f"outbox: {bundles} bundles of 16 sign-ins, relayed 20 at a time (store CPU, ms)")
    encoded = lambda batch: bundle_entry(batch, "attendance")    # noqa: E731
    for label, make, read in (("nested event documents", nested_entry, True), ("encoded JSON text", encoded, True),
                              ("encoded, handed over", encoded, False)):
        collection = db[f"outbox_{uuid.uuid4().hex[:6]}"]
        collection.create_index("status")
        collection.create_index("created_at")
        entries = [make(sign_ins(16)) for _ in range(bundles)]
        started = cpu_seconds(pid)
        for entry in entries:
            collection.insert_one(entry)
        inserted = cpu_seconds(pid)
        for start in range(0, bundles, 20):
            if read:                   # the relay reads what is pending, as it does when nothing was handed over
                relayed = list(collection.find({"status": PENDING}).sort("created_at", 1).limit(20))
            else:                      # handed over in memory by the process that committed them
                relayed = entries[start:start + 20]
            collection.update_many({"_id": {"$in": [entry["_id"] for entry in relayed]}},
                                   {"$set": {"status": SENT, "sent_at": NOW}})
        relayed = cpu_seconds(pid)
        print(f"  {label:24} insert {1000 * (inserted - started) / bundles:.2f} per bundle, "
              f"relay {'read + mark' if read else 'mark only  '} {1000 * (relayed - inserted) / bundles:.2f} "
              f"per bundle, {1000 * (relayed - started) / bundles / 16:.3f} per event")


def frozen_activity(number: int) -> dict:
    roster = {f"m-{uuid.uuid4().hex[:12]}": {"name": f"党员{member}", "mobile": member % 5 == 0} for member in range(23)}
    return {"_id": f"act-{number:05d}", "tenant_id": "t1", "branch_id": f"org-{number}", "status": "approved",
            "branch_month": f"org-{number}:2026-11", "radius_m": 300, "roster": roster, "on_leave": {},
            "roster_frozen_at": "2026-11-25T00:40:00.000Z", SCAN_CHANGED_AT: "2026-11-25T00:40:00.000Z",
            "plan": {"date": "2026-11-25", "start_at": "2026-11-25T01:00:00.000Z", "end_at": "2026-11-25T03:00:00.000Z",
                     "venue": {"name": "党群服务中心第三会议室", "lat": 30.1, "lng": 120.2, "address": "某某路 100 号"},
                     "checkin_opens_at": "2026-11-25T00:45:00.000Z", "checkin_closes_at": "2026-11-25T01:10:00.000Z",
                     "checkout_closes_at": "2026-11-25T03:30:00.000Z", "actions": ["a", "b", "c", "d", "e", "f"]},
            "title": "十一月主题党日", "theme_id": "th-1", "month": "2026-11", "likes": 0, "reflections": 0}


def activity_costs(db, pid: int, activities: int) -> None:
    store = AttendanceStore(db)
    db.activities.insert_many([frozen_activity(number) for number in range(activities)])
    db.activities.update_one({"_id": "act-00005"}, {"$set": {SCAN_CHANGED_AT: NOW}})     # one changed
    ids = [f"act-{number:05d}" for number in range(activities)]
    print(f"activity cache: {activities} frozen activities, asked for in groups of 20, 5 rounds "
          f"(store CPU per activity, ms)")
    ways = (("read again in full", lambda group: store.activities_by_ids(group)),
            ("read with a projection", lambda group: list(db.activities.find(
                {"_id": {"$in": group}}, {"status": 1, "on_leave": 1, "roster_frozen_at": 1}))),
            ("checked for a change", lambda group: store.activities_changed_since(group, "2026-11-25T00:45:00.000Z")))
    for label, ask in ways:
        started = cpu_seconds(pid)
        for _ in range(5):
            for start in range(0, activities, 20):
                ask(ids[start:start + 20])
        print(f"  {label:24} {1000 * (cpu_seconds(pid) - started) / (5 * activities):.3f}")


def catch_up_costs(db, pid: int, activities: int) -> None:
    """What a scan batch's write asks the store about its chains (``AttendanceStore.appended_since``: the next
    position of each of its activities in one read, then 4 at a time where taken), in batches of 20 activities with 5
    records each: nothing appended since the head the batch took (one instance), and 2 appended by another."""
    store = AttendanceStore(db)
    ids = [f"dev-{number:05d}" for number in range(activities)]
    db.records.insert_many([{"_id": record_id(activity_id, "in", f"m{seq}"), "activity_id": activity_id,
                             "member_id": f"m{seq}", "device_key": f"{activity_id}:phone-{seq}", "kind": "checkin",
                             "seq": seq, "hash": "h", "chain_key": f"{activity_id}:{seq}",
                             "content": {"lat": 30.1, "lng": 120.2, "taken_at": NOW}}
                            for activity_id in ids for seq in range(1, 6)])
    groups = [ids[start:start + 20] for start in range(0, activities, 20)]
    print(f"chain catch-up of a batch's write: {activities} activities of 5 records, in groups of 20 (store CPU, ms)")
    for label, head in (("nothing appended", 5), ("2 appended by another", 3)):
        started = cpu_seconds(pid)
        for group in groups:
            store.appended_since(dict.fromkeys(group, head))
        print(f"  {label:28} {1000 * (cpu_seconds(pid) - started) / len(groups):.3f} per batch")


def opened_days(applier, branches: int, members: list[str]) -> list[ThemedDay]:
    """Themed days of ``branches`` branches, issued, planned and opened through ``applier``."""
    days = [ThemedDay("t1", {"id": f"b{number}", "name": "支部", "path_ids": ["city", "county", f"b{number}"]},
                      "2026-11", [f"{number}-{member}" for member in members]) for number in range(branches)]
    applier.apply([event for day in days for event in (day.issued(), *day.planned_and_opened())])
    return days


def consumer_costs(uri: str, pid: int, title: str, direction: str, ways, branches: int = 300) -> None:
    """``ways``: (label, store class, the applier for a store, how it applies a batch[, batch size: 50]); 300
    branches' scans."""
    print(f"{title}: {branches} branches x 23 sign-{direction}s, batches of 50 unless said "
          f"(store CPU per sign-{direction}, ms)")
    members = [f"m{number:03d}" for number in range(23)]
    for label, store_class, make_applier, apply, *size in ways:
        size = size[0] if size else 50
        applier = make_applier(open_store(store_class, f"consumer_costs_{uuid.uuid4().hex[:6]}", uri))
        days = opened_days(applier, branches, members)
        scans = [day.scan(f"{day.branch['id'][1:]}-{member}", direction) for member in members for day in days]
        started = cpu_seconds(pid)
        for start in range(0, len(scans), size):
            apply(applier, scans[start:start + size])
        print(f"  {label:28} {1000 * (cpu_seconds(pid) - started) / len(scans):.3f}")


def score_applier(needs_id):
    def make(store) -> ScoreApplier:
        applier = ScoreApplier(store)
        applier.needs_id = needs_id
        return applier
    return make


class RowsApartStore(ScoringStore):
    """Scoring's store with each activity's ranking row written to ``scores`` beside it, in the same transaction
    (a second replaced document per scan), and no index on the activities: the price of keeping rows apart."""
    collections = {**ScoringStore.collections, "activities": [], "scores": ["period_key", "changed_at"]}
    retired_indexes = {}

    def write_scores(self, activity_writes: list, session=None, places=()):
        result = super().write_scores(activity_writes, session=session, places=places)
        rows = [row for row in (score_row_of(write._doc) for write in activity_writes) if row]  # pymongo's field
        if rows:
            self.db.scores.bulk_write([ReplaceOne({"_id": row["_id"]}, row, upsert=True) for row in rows],
                                      ordered=False, session=session)
        return result


class IndexedActivitiesStore(RowsApartStore):
    """Scoring's store with its activities indexed by month, branch and ancestors (every scan's replacement of
    the document pays for eight indexes) and its scores by branch too: the price of ``places`` not existing."""
    collections = {**RowsApartStore.collections, "activities": ScoringStore.retired_indexes["activities"],
                   "scores": [*RowsApartStore.collections["scores"], "branch_id"]}


def score_costs(uri: str, pid: int) -> None:
    consumer_costs(uri, pid, "score consumer", "in", [
        ("processed ids recorded", IndexedActivitiesStore, score_applier(None), ScoreApplier.apply),
        ("scans without ids", IndexedActivitiesStore, score_applier(needs_event_id), ScoreApplier.apply),
        ("no ids, placed, rows apart", RowsApartStore, score_applier(needs_event_id), ScoreApplier.apply),
        ("rows read from activities", ScoringStore, score_applier(needs_event_id), ScoreApplier.apply)])
    consumer_costs(uri, pid, "score consumer", "out", [
        ("no ids, placed, rows apart", RowsApartStore, score_applier(needs_event_id), ScoreApplier.apply),
        ("rows read from activities", ScoringStore, score_applier(needs_event_id), ScoreApplier.apply)])


def ranking_read_costs(uri: str, pid: int, branches: int) -> None:
    """What a ranking cache reads: a month's rows (its first call of a period) and the rows scored since a moment
    (other processes' refresh every 15 s), from ``scores`` rows kept apart or derived from the activities."""
    store = open_store(RowsApartStore, f"ranking_reads_{uuid.uuid4().hex[:6]}", uri)
    applier = ScoreApplier(store)
    members = [f"m{number:03d}" for number in range(23)]
    days = opened_days(applier, branches, members)
    scans = [day.scan(f"{day.branch['id'][1:]}-{member}", "in") for member in members[:6] for day in days]
    for start in range(0, len(scans), 200):
        applier.apply(scans[start:start + 200])
    since = stamp()
    time.sleep(0.01)
    changed = days[:300]
    applier.apply([day.scan(f"{day.branch['id'][1:]}-{members[20]}", "in") for day in changed])
    derived, key = ScoringStore(store.db), f"t1:{days[0].month}"
    print(f"ranking reads: {branches} branches' rows of a month, and the {len(changed)} scored since a moment "
          "(store CPU, s)")
    for label, month, recent in (
            ("rows apart", lambda: store.db.scores.find({"period_key": key}),
             lambda: store.db.scores.find({"changed_at": {"$gte": since}})),
            ("from the activities", lambda: derived.score_rows(key), lambda: derived.score_rows_changed_since(since))):
        started = cpu_seconds(pid)
        rows = len(list(month()))
        month_seconds, started = cpu_seconds(pid) - started, cpu_seconds(pid)
        recent_rows = len(list(recent()))
        print(f"  {label:28} month {month_seconds:.2f} ({rows} rows)   since {cpu_seconds(pid) - started:.3f} "
              f"({recent_rows} rows)")


def points_costs(uri: str, pid: int) -> None:
    consumer_costs(uri, pid, "points consumer", "out", [
        ("processed ids recorded", PointsStore, PointsApplier,
         lambda applier, batch: apply_once(applier.store, "points", batch, applier._effect)),
        ("idempotent by ledger ids", PointsStore, PointsApplier,
         lambda applier, batch: apply_idempotent(applier.store, "points", batch, applier._effect)),
        ("idempotent, batches of 30", PointsStore, PointsApplier, PointsApplier.apply, 30),
        ("idempotent, batches of 300", PointsStore, PointsApplier, PointsApplier.apply, 300)])


def stored_record(number: int, activity: int) -> dict:
    activity_id, member_id = f"act_b{activity}_2026-11", f"m-{uuid.uuid4().hex[:12]}"
    content = {"kind": "checkin", "activity_id": activity_id, "member_id": member_id, "direction": "in", "at": NOW,
               "lat": 33.07, "lng": 107.02, "accuracy_m": 10.0, "mock_location": False, "device_id": "d" * 16,
               "taken_at": NOW, "distance_m": 12.3, "flags": [], "backfilled": None}
    return {"_id": record_id(activity_id, "in", member_id), "activity_id": activity_id, "tenant_id": "t1",
            "kind": "checkin", "member_id": member_id, "device_key": f"{activity_id}:d", "flags": [], "at": NOW,
            "seq": number, "prev_hash": "ab" * 32, "hash": "cd" * 32, "chain_key": f"{activity_id}:{number}",
            "content": content}


def record_costs(client: MongoClient, pid: int, records: int, activities: int = 9000) -> None:
    print(f"records: {records} stored, 700 batches of 14 inserted in a transaction (store CPU per record, ms), "
          f"then 200 activities' records found (store CPU per activity, ms)")
    for label, indexes in (("activity, member, chain key", ["activity_id", "member_id"]), ("chain key alone", [])):
        collection = client[f"records_{uuid.uuid4().hex[:6]}"].records
        for field in indexes:
            collection.create_index(field)
        collection.create_index("chain_key", unique=True)
        for start in range(0, records, 1000):
            collection.insert_many([stored_record(n, n % activities) for n in range(start, start + 1000)])
        started = cpu_seconds(pid)
        for batch in range(700):
            with client.start_session() as session, session.start_transaction():
                collection.insert_many([stored_record(records + batch * 14 + n, (batch * 14 + n) % activities)
                                        for n in range(14)], session=session)
        inserted = 1000 * (cpu_seconds(pid) - started) / (700 * 14)
        started = cpu_seconds(pid)
        for activity in range(0, activities, activities // 200):
            activity_id = f"act_b{activity}_2026-11"
            query = {"activity_id": activity_id} if indexes else \
                {"chain_key": {"$gte": f"{activity_id}:", "$lt": f"{activity_id};"}}
            list(collection.find(query))
        print(f"  {label:28} insert {inserted:.3f}   found by {'activity_id' if indexes else 'key range'} "
              f"{1000 * (cpu_seconds(pid) - started) / 200:.3f}")


def answer_costs(client: MongoClient, pid: int, attempts: int) -> None:
    """A contest's answers as content saves them (``QuizRecords.save_answers``: each a ``$set`` of one answer into
    its attempt, matched in progress before its deadline), 30 to a transaction, into attempts of ten questions."""
    print(f"answers: {attempts} attempts of 10 questions, every answer saved, 30 to a transaction "
          f"(store CPU and wall time per answer, ms)")
    collection = client[f"answers_{uuid.uuid4().hex[:6]}"].attempts
    questions = [{"id": uuid.uuid4().hex, "stem": f"党章知识第{n}题：下列说法中正确的是哪一项？", "kind": "single",
                  "points": 10, "category": "党章",
                  "options": [{"key": key, "text": f"选项{key}{n}"} for key in "ABCD"]} for n in range(10)]
    ids = [uuid.uuid4().hex for _ in range(attempts)]
    collection.insert_many([{"_id": attempt_id, "state": "in_progress", "deadline_at": "2030-01-01T00:00:00.000Z",
                             "member_id": uuid.uuid4().hex, "quiz_id": "quiz", "questions": questions, "answers": {},
                             "number": 1, "started_at": NOW} for attempt_id in ids])
    answers = [(attempt_id, question["id"], {"choices": ["A"]}) for question in questions for attempt_id in ids]
    random.Random(7).shuffle(answers)
    started, clock = cpu_seconds(pid), time.perf_counter()
    for start in range(0, len(answers), 30):
        updates = [UpdateOne(*answer_saved(*answer, NOW)) for answer in answers[start:start + 30]]
        with client.start_session() as session, session.start_transaction():
            assert collection.bulk_write(updates, ordered=True, session=session).matched_count == len(updates)
    print(f"  store CPU {1000 * (cpu_seconds(pid) - started) / len(answers):.3f}   "
          f"wall {1000 * (time.perf_counter() - clock) / len(answers):.3f}")


SECTIONS = ("outbox", "activities", "catch-up", "scores", "ranking", "points", "records", "answers")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundles", type=int, default=300)
    parser.add_argument("--activities", type=int, default=900)
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--ranking-branches", type=int, default=9000)
    parser.add_argument("--attempts", type=int, default=3000)
    parser.add_argument("--only", choices=SECTIONS, action="append", help="these sections alone (again for more)")
    args = parser.parse_args()
    wanted = set(args.only or SECTIONS)
    with tempfile.TemporaryDirectory(prefix="bench-store-costs-") as directory, EmbeddedMongo(Path(directory) / "mongo") as mongo:
        db, pid = MongoClient(mongo.uri)["store_costs"], mongo.process.pid
        sections = {"outbox": lambda: outbox_costs(db, pid, args.bundles),
                    "activities": lambda: activity_costs(db, pid, args.activities),
                    "catch-up": lambda: catch_up_costs(db, pid, args.activities),
                    "scores": lambda: score_costs(mongo.uri, pid),
                    "ranking": lambda: ranking_read_costs(mongo.uri, pid, args.ranking_branches),
                    "points": lambda: points_costs(mongo.uri, pid),
                    "records": lambda: record_costs(MongoClient(mongo.uri), pid, args.records),
                    "answers": lambda: answer_costs(MongoClient(mongo.uri), pid, args.attempts)}
        for name in SECTIONS:
            if name in wanted:
                sections[name]()


if __name__ == "__main__":
    main()
