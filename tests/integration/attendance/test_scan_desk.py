"""Two scan desks (two attendance processes) on one real store. A desk judges a sign-out whose sign-in it
stored without reading that sign-in, and, while it knows itself the only instance, reads nothing at all; a
desk that did not store a record still finds it: a sign-out whose sign-in the other desk stored counts, a
repeat of a record the other desk stored answers with that first record and stores nothing, and a sign-out
with no sign-in anywhere is refused."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

import pytest

from servicekit.timestamps import stamp
from servicekit.storage.mongo import open_store
from services.attendance.chaining import ChainWriter
from services.attendance.domain import chain, qrtoken
from services.attendance.scanning import ScanDesk
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

    def chain_head(self, activity_id):
        self.chain_reads.append(activity_id)
        return super().chain_head(activity_id)


class Peers:
    """What the broker would say about other attendance instances (``servicekit.messaging.peers.ServicePeers``)."""

    def __init__(self, others: bool):
        self.others = others

    def others_running(self) -> bool:
        return self.others


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


def desk(store, clock, others_running: bool = False) -> ScanDesk:
    return ScanDesk(store, ChainWriter(store), clock, lambda tenant_id: KEY, peers=Peers(others_running))


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


def test_a_sign_out_whose_sign_in_this_desk_stored_is_judged_without_a_read(store, clock):
    first = desk(store, clock)
    signed_in = first.record([scan("m1", "in", clock), scan("m2", "in", clock)])
    assert [answer["result"]["repeat"] for answer in signed_in] == [False, False]
    store.judging_reads.clear()
    clock.moment = END + timedelta(minutes=1)
    signed_out = first.record([scan("m1", "out", clock), scan("m2", "out", clock)])
    assert [record_of(answer)["direction"] for answer in signed_out] == ["out", "out"]
    assert store.judging_reads == []
    assert store.db.records.count_documents({"kind": "checkout"}) == 2


def test_with_other_instances_running_a_desk_still_reads_each_scan_s_own_record_but_not_a_known_sign_in(
        store, clock):
    first = desk(store, clock, others_running=True)
    first.record([scan("m1", "in", clock)])
    assert store.judging_reads == [[f"{ACTIVITY}:in:m1"]]
    clock.moment = END + timedelta(minutes=1)
    assert record_of(first.record([scan("m1", "out", clock)])[0])["direction"] == "out"
    assert store.judging_reads[-1] == [f"{ACTIVITY}:out:m1"]


def test_a_desk_that_cannot_tell_whether_others_run_reads_as_before(store, clock):
    unsure = ScanDesk(store, ChainWriter(store), clock, lambda tenant_id: KEY)       # no peers
    unsure.record([scan("m1", "in", clock)])
    assert store.judging_reads == [[f"{ACTIVITY}:in:m1"]]


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
    assert store.judging_reads[-1] == [f"{ACTIVITY}:in:m1"]       # it had to ask the store, and did


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


def test_with_other_instances_running_the_device_book_of_an_activity_without_records_is_still_read(store, clock):
    desk(store, clock, others_running=True).record([scan("m1", "in", clock)])
    assert store.book_reads == [[ACTIVITY]]                    # another instance may have stored since the head


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
    warmed = ScanDesk(store, writer, clock, lambda tenant_id: KEY, peers=Peers(False))
    answers = warmed.record([scan("m2", "in", clock, activity_id) for activity_id in [ACTIVITY, *others]])

    assert [record_of(answer)["seq"] for answer in answers] == [2, 1, 1]    # the stored head read at the warm-up
    assert store.chain_reads == []
    assert store.book_reads == [[ACTIVITY]]                    # the only activity with records stored
    assert chain.verify(list(store.db.records.find({"activity_id": ACTIVITY})), None)["ok"]
