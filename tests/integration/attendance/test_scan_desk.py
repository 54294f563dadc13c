"""Two scan desks (two attendance processes) on one real store. A desk judges scans of a chain it follows (it knows
the head and every record up to it) without reading anything; a desk that did not store a record still finds it: a sign-out whose sign-in the other desk stored counts, a repeat of a record the other desk stored
answers with that first record and stores nothing, and a sign-out with no sign-in anywhere is refused. A desk whose
chain heads are stale (the other appended since) chains after the stored head inside its write, without a failed
write, with its events' positions to match, and learns the other's records (its device book flags a device the
other desk's member used; a repeat of a record the other appended since is answered as that record)."""
from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta, timezone

import pytest

from servicekit.errors import Conflict
from servicekit.timestamps import stamp
from servicekit.storage.mongo import open_store
from services.attendance.chaining import ChainWriter
from services.attendance.domain import chain, qrtoken
from services.attendance.scanning import CLOSE_GRACE_SECONDS, ScanDesk
from services.attendance.store import AttendanceStore, scan_changed

pytestmark = pytest.mark.integration

ACTIVITY = "act_b1_2026-11"
KEY = qrtoken.tenant_key(b"test master secret", "t1")
START = datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc)
END = START + timedelta(hours=2)


class CountingStore(AttendanceStore):
    """Counts the reads of scan records made to judge scans (the device book's projected reads aside)."""

    def __init__(self, db):
        super().__init__(db)
        self.judging_reads: list[list[str]] = []

        self.book_reads: list[list[str]] = []     # the activities whose device book was read
        self.chain_reads: list[str] = []          # one activity's chain read for its head

    def records_by_ids(self, record_ids, projection=None):
        if projection is None:
            self.judging_reads.append(sorted(record_ids))
        else:                                     # the device book's
            self.book_reads.append(sorted({record_id.split(":")[0] for record_id in record_ids}))
        return super().records_by_ids(record_ids, projection)

    def chain_head(self, activity_id, **options):
        self.chain_reads.append(activity_id)
        return super().chain_head(activity_id, **options)


class SteppedClock:
    """The service clock, set by the test (the desks' time is outside what is tested here)."""

    def __init__(self, moment: datetime):
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


def activity(members=("m1", "m2", "m3"), activity_id: str = ACTIVITY) -> dict:
    return {"_id": activity_id, "tenant_id": "t1", "branch_id": "b1", "branch_month": "b1:2026-11",
            "status": "approved", "radius_m": 300, "roster_frozen_at": stamp(START - timedelta(minutes=20)),
            "roster": {member: {"name": member, "mobile": False} for member in members}, "on_leave": {},
            "plan": {"venue": {"lat": 30.0, "lng": 120.0},
                     "checkin_opens_at": stamp(START - timedelta(minutes=30)),
                     "checkin_closes_at": stamp(START + timedelta(minutes=10)), "end_at": stamp(END),
                     "checkout_closes_at": stamp(END + timedelta(minutes=30))},
            **scan_changed()}


@pytest.fixture
def store(mongo_uri):
    store = open_store(CountingStore, f"attendance_desk_{secrets.token_hex(3)}", mongo_uri)
    store.db.activities.insert_one(activity())
    return store


@pytest.fixture
def clock():
    return SteppedClock(START - timedelta(minutes=5))


def desk(store, clock) -> ScanDesk:
    return ScanDesk(store, ChainWriter(store), clock, lambda tenant_id: KEY)


def scan(member: str, direction: str, clock: SteppedClock, activity_id: str = ACTIVITY) -> dict:
    return {"scope": {"account_id": f"acc-{member}", "tenant_id": "t1", "member_id": member,
                      "roles": [{"role": "member", "org_id": "b1"}]},
            "token": qrtoken.issue(KEY, activity_id, direction, qrtoken.step_of(clock.now())),
            "fix": {"lat": 30.0001, "lng": 120.0001, "accuracy_m": 10, "device_id": f"phone-{member}",
                    "taken_at": stamp(clock.now()),
                    "history": [{"lat": 30.0, "lng": 120.0, "taken_at": stamp(clock.now() - timedelta(hours=1))}]}}


def record_of(answer: dict) -> dict:
    assert "result" in answer, answer
    return answer["result"]["record"]


def test_scans_of_a_chain_the_desk_follows_are_judged_without_a_read(store, clock):
    first = desk(store, clock)
    signed_in = first.record([scan("m1", "in", clock), scan("m2", "in", clock)])
    assert [answer["result"]["repeat"] for answer in signed_in] == [False, False]
    assert store.judging_reads == [[f"{ACTIVITY}:in:m1", f"{ACTIVITY}:in:m2"]]     # its head not known yet
    store.judging_reads.clear()
    clock.moment = END + timedelta(minutes=1)
    signed_out = first.record([scan("m1", "out", clock), scan("m2", "out", clock)])
    assert [record_of(answer)["direction"] for answer in signed_out] == ["out", "out"]
    assert store.judging_reads == []                            # neither the sign-ins nor the sign-outs' own records
    assert store.db.records.count_documents({"kind": "checkout"}) == 2


def test_a_repeat_of_this_desk_s_own_record_answers_with_the_first_record(store, clock):
    first = desk(store, clock)
    original = record_of(first.record([scan("m1", "in", clock)])[0])
    clock.moment += timedelta(seconds=40)
    again = first.record([scan("m1", "in", clock)])[0]["result"]
    assert again["repeat"] is True and again["record"] == original
    assert store.db.records.count_documents({}) == 1


def test_a_sign_out_whose_sign_in_the_other_desk_stored_counts(store, clock):
    desk(store, clock).record([scan("m1", "in", clock)])
    clock.moment = END + timedelta(minutes=1)
    other = desk(store, clock)
    answer = other.record([scan("m1", "out", clock)])[0]
    assert record_of(answer)["direction"] == "out"
    assert f"{ACTIVITY}:in:m1" in store.judging_reads[-1]        # it had to ask the store, and did


def test_a_repeat_of_a_record_the_other_desk_stored_answers_with_that_record_and_stores_nothing(store, clock):
    first, other = desk(store, clock), desk(store, clock)
    original = record_of(first.record([scan("m1", "in", clock)])[0])
    clock.moment += timedelta(seconds=40)
    answers = other.record([scan("m1", "in", clock), scan("m2", "in", clock)])
    assert answers[0]["result"]["repeat"] is True and answers[0]["result"]["record"] == original
    assert record_of(answers[1])["member_id"] == "m2"            # the rest of the batch still counts
    assert store.db.records.count_documents({}) == 2
    assert sorted(doc["seq"] for doc in store.db.records.find()) == [1, 2]   # one chain, no fork


def test_a_sign_out_with_no_sign_in_anywhere_is_refused_and_stores_nothing(store, clock):
    first = desk(store, clock)
    first.record([scan("m1", "in", clock)])
    clock.moment = END + timedelta(minutes=1)
    answer = first.record([scan("m2", "out", clock)])[0]
    assert answer["error"]["code"] == "CHECKIN_REQUIRED"
    assert store.db.records.count_documents({"kind": "checkout"}) == 0


def test_the_device_books_of_activities_without_records_are_not_read(store, clock):
    others = [f"act_b{n}_2026-11" for n in range(2, 6)]
    store.db.activities.insert_many([{**activity(activity_id=activity_id), "branch_month": f"{activity_id}:2026-11"}
                                     for activity_id in others])
    first = desk(store, clock)
    first.record([scan("m1", "in", clock)])                    # the first activity's chain begins
    store.book_reads.clear(), store.chain_reads.clear()
    answers = desk(store, clock).record([scan("m2", "in", clock, activity_id) for activity_id in [ACTIVITY, *others]])
    assert [record_of(answer)["seq"] for answer in answers] == [2, 1, 1, 1, 1]
    assert sorted(store.chain_reads) == sorted([ACTIVITY, *others])     # each head read once, as before
    assert store.book_reads == [[ACTIVITY]]                    # the only activity with records stored
    again = first.record([scan("m3", "in", clock, activity_id) for activity_id in others])
    assert [record_of(answer)["seq"] for answer in again] == [2, 2, 2, 2]    # another desk's links: no fork


def test_a_device_used_by_another_member_is_flagged_in_an_activity_whose_book_started_empty(store, clock):
    first = desk(store, clock)
    borrowed = scan("m2", "in", clock)
    borrowed["fix"]["device_id"] = "phone-m1"
    answers = first.record([scan("m1", "in", clock)])
    assert store.book_reads == [] and record_of(answers[0])["flags"] == []
    assert "SHARED_DEVICE" in record_of(first.record([borrowed])[0])["flags"]


def test_a_chain_whose_first_link_was_removed_still_takes_scans_and_verify_reports_it(store, clock):
    first = desk(store, clock)
    first.record([scan(member, "in", clock) for member in ("m1", "m2", "m3")])
    store.db.records.delete_one({"chain_key": f"{ACTIVITY}:1"})         # tampering with the store
    clock.moment = END + timedelta(minutes=1)
    answers = desk(store, clock).record([scan("m2", "out", clock), scan("m3", "out", clock)])
    assert [record_of(answer)["seq"] for answer in answers] == [4, 5]    # after the last link left
    records = list(store.db.records.find())
    assert sorted(record["seq"] for record in records) == [2, 3, 4, 5]
    report = chain.verify(records, None)
    assert not report["ok"] and [problem["problem"] for problem in report["problems"]] == ["missing"]


def test_chains_warmed_at_the_roster_freeze_need_no_head_read_at_the_first_scans(store, clock):
    others = [f"act_b{n}_2026-11" for n in range(2, 4)]
    store.db.activities.insert_many([{**activity(activity_id=activity_id), "branch_month": f"{activity_id}:2026-11"}
                                     for activity_id in others])
    desk(store, clock).record([scan("m1", "in", clock)])       # the first activity's chain begins elsewhere
    writer = ChainWriter(store)
    store.chain_reads.clear()

    assert writer.warm([ACTIVITY, *others]) == 3
    assert writer.warm([ACTIVITY]) == 0                          # known now: not read again
    store.chain_reads.clear(), store.book_reads.clear()
    warmed = ScanDesk(store, writer, clock, lambda tenant_id: KEY)
    answers = warmed.record([scan("m2", "in", clock, activity_id) for activity_id in [ACTIVITY, *others]])

    assert [record_of(answer)["seq"] for answer in answers] == [2, 1, 1]    # the stored head read at the warm-up
    assert store.chain_reads == []
    assert store.book_reads == [[ACTIVITY]]                    # the only activity with records stored
    assert chain.verify(list(store.db.records.find({"activity_id": ACTIVITY})), None)["ok"]


class CountingChain(ChainWriter):
    """Counts the heads dropped after a failed write (the whole batch judged again)."""

    def __init__(self, store):
        super().__init__(store)
        self.forgotten = 0

    def forget(self, activity_ids) -> None:
        self.forgotten += 1
        super().forget(activity_ids)


def bundled_events(store) -> dict[str, dict]:
    """record id -> its sign-in or sign-out event, from the outbox bundles."""
    events = {}
    for entry in store.db.outbox.find({"messages": {"$exists": True}}):
        for _, routing_key, body, _ in entry["messages"]:
            decoded = json.loads(body)
            for event in decoded if isinstance(decoded, list) else [decoded]:
                if routing_key in ("checkin_recorded", "checkout_recorded"):
                    events[event["record_id"]] = event
    return events


def test_a_desk_whose_head_another_advanced_chains_after_it_in_its_write_without_failing(store, clock):
    store.db.activities.replace_one({"_id": ACTIVITY}, activity(members=[f"m{n}" for n in range(1, 7)]))
    chain_a, chain_b = CountingChain(store), CountingChain(store)
    first = ScanDesk(store, chain_a, clock, lambda tenant_id: KEY)
    other = ScanDesk(store, chain_b, clock, lambda tenant_id: KEY)
    first.record([scan("m1", "in", clock)])                     # first's head: 1
    other.record([scan("m2", "in", clock), scan("m3", "in", clock)])      # seq 2 and 3, first does not know
    answers = first.record([scan("m4", "in", clock), scan("m5", "in", clock)])

    assert [record_of(answer)["seq"] for answer in answers] == [4, 5]
    assert chain_a.forgotten == 0 and chain_b.forgotten == 0            # no write failed, no batch judged again
    records = list(store.db.records.find())
    assert chain.verify(records, None)["ok"] and sorted(r["seq"] for r in records) == [1, 2, 3, 4, 5]
    events = bundled_events(store)
    assert {r["_id"]: (r["seq"], r["hash"]) for r in records} == {
        record: (event["seq"], event["hash"]) for record, event in events.items()}
    assert first.record([scan("m6", "in", clock)])[0]["result"]["record"]["seq"] == 6   # its head is right now


def test_a_desk_learns_the_records_another_appended_and_flags_a_device_they_used(store, clock):
    first, other = desk(store, clock), desk(store, clock)
    first.record([scan("m1", "in", clock)])
    lent = scan("m2", "in", clock)
    lent["fix"]["device_id"] = "phone-shared"
    other.record([lent])                                        # the other instance's member on the shared phone
    first.record([scan("m3", "in", clock)])                     # first's write reads what other appended
    borrowed = scan("m3", "out", clock)
    borrowed["fix"]["device_id"] = "phone-shared"
    clock.moment = END + timedelta(minutes=1)
    borrowed["token"] = qrtoken.issue(KEY, ACTIVITY, "out", qrtoken.step_of(clock.now()))
    borrowed["fix"]["taken_at"] = stamp(clock.now())
    store.book_reads.clear()
    answer = first.record([borrowed])[0]
    assert "SHARED_DEVICE" in record_of(answer)["flags"]
    assert store.book_reads == []                               # learned at the write, not read again


def test_a_reflection_appended_after_a_stale_head_is_stored_after_the_other_s_records_but_a_second_is_refused(
        store, clock):
    """Reflections, likes and uploads append one record each (``ChainWriter.append``): a position another instance
    took is not mistaken for the record existing."""
    writer = ChainWriter(store)
    desk(store, clock).record([scan("m1", "in", clock)])
    writer.warm([ACTIVITY])                                     # this process's head: 1
    desk(store, clock).record([scan("m2", "in", clock)])       # another instance appends seq 2

    def reflection():
        document = {"_id": f"{ACTIVITY}:reflection:m1", "activity_id": ACTIVITY, "tenant_id": "t1",
                    "kind": "reflection", "member_id": "m1", "size": 4, "at": stamp(clock.now())}
        content = {"kind": "reflection", "activity_id": ACTIVITY, "member_id": "m1", "text": "深受教育",
                   "at": document["at"], "backfilled": None}
        return [(document, content)]
    stored = writer.append(reflection(), lambda documents: store.post_reflection(documents[0], []))
    assert stored[0]["seq"] == 3
    assert chain.verify(list(store.db.records.find()), None)["ok"]
    with pytest.raises(Conflict) as again:
        writer.append(reflection(), lambda documents: store.post_reflection(documents[0], []))
    assert again.value.code == "REFLECTION_EXISTS"
    assert store.db.records.count_documents({"kind": "reflection"}) == 1


def test_a_sign_out_judged_in_the_window_but_written_after_the_grace_is_judged_again_and_refused(store, clock):
    """An activity closes ``CLOSE_GRACE_SECONDS`` after its sign-out window, on whichever instance sweeps: a batch
    whose write comes later than that after its judgement is judged again, never stored behind the closing."""
    first = desk(store, clock)
    first.record([scan("m1", "in", clock)])
    clock.moment = END + timedelta(minutes=30)                 # the last moment of the sign-out window
    late = scan("m1", "out", clock)
    moments = iter([0.0, CLOSE_GRACE_SECONDS + 1, CLOSE_GRACE_SECONDS + 1, CLOSE_GRACE_SECONDS + 1])

    def slow_write():                                           # the write comes long after the judgement
        clock.moment = END + timedelta(minutes=30, seconds=CLOSE_GRACE_SECONDS + 1)
        return next(moments)
    slow = ScanDesk(store, ChainWriter(store), clock, lambda tenant_id: KEY, monotonic=slow_write)
    answer = slow.record([late])[0]
    assert answer["error"]["code"] == "CHECKOUT_CLOSED"
    assert store.db.records.count_documents({"kind": "checkout"}) == 0


def test_a_repeat_of_a_record_the_other_desk_appended_since_is_answered_as_that_record(store, clock):
    """The desk follows the chain, so it does not read the scan's own record; its write's transaction finds the
    record the other desk appended meanwhile, the unique ``_id`` refuses the copy, and the batch is judged again."""
    first, other = desk(store, clock), desk(store, clock)
    first.record([scan("m1", "in", clock)])
    original = record_of(other.record([scan("m2", "in", clock)])[0])
    store.judging_reads.clear()
    again = first.record([scan("m2", "in", clock), scan("m3", "in", clock)])
    assert again[0]["result"]["repeat"] is True and again[0]["result"]["record"] == original
    assert record_of(again[1])["seq"] == 3
    assert store.judging_reads[-1] == [f"{ACTIVITY}:in:m2", f"{ACTIVITY}:in:m3"]   # the second pass read them
    assert sorted(doc["seq"] for doc in store.db.records.find()) == [1, 2, 3]


def test_a_late_repeat_of_a_record_the_other_desk_appended_is_answered_as_that_record_not_refused(store, clock):
    """A refusal is the answer only when the scan's record is not stored: where the desk judged without reading it
    (a chain it follows), it looks before refusing."""
    first, other = desk(store, clock), desk(store, clock)
    first.record([scan("m1", "in", clock)])
    original = record_of(other.record([scan("m2", "in", clock)])[0])
    clock.moment = START + timedelta(minutes=11)                # sign-in closed 10 minutes after the start
    answers = first.record([scan("m2", "in", clock), scan("m3", "in", clock)])
    assert answers[0]["result"]["repeat"] is True and answers[0]["result"]["record"] == original
    assert answers[1]["error"]["code"] == "CHECKIN_LATE"
    assert store.db.records.count_documents({}) == 2


def test_a_desk_writing_alone_asks_nothing_of_other_appends_after_its_first_batch(store, clock):
    # the append mark (one read by _id) replaces appended_since, whose $in is a scan of every record on nx-27017
    store.db.activities.replace_one({"_id": ACTIVITY}, activity(members=[f"m{n}" for n in range(1, 7)]))
    desk = ScanDesk(store, CountingChain(store), clock, lambda tenant_id: KEY)
    asked = []
    appended_since = store.appended_since
    store.appended_since = lambda heads, session=None, **kw: asked.append(heads) or appended_since(heads, session, **kw)
    desk.record([scan("m1", "in", clock)])
    first = len(asked)
    desk.record([scan("m2", "in", clock)])
    desk.record([scan("m3", "in", clock), scan("m4", "in", clock)])
    assert len(asked) == first                                   # the mark was its own: nothing asked
    other = ScanDesk(store, CountingChain(store), clock, lambda tenant_id: KEY)
    other.record([scan("m5", "in", clock)])
    answers = desk.record([scan("m6", "in", clock)])
    assert len(asked) > first                                    # another moved the mark: asked in full
    assert record_of(answers[0])["seq"] == 6
    assert chain.verify(list(store.db.records.find()), None)["ok"]
