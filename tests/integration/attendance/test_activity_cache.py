"""The scan desk's activity cache against the real store: a frozen activity is read once, then only checked
for changes; a leave approved or a closing written by any process is seen at the next check, a change
whose stamp is older than the last check (a slow commit) is still seen, and a change the desk already
holds is not read again."""
from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

from servicekit.timestamps import stamp, utc_now
from servicekit.storage.mongo import open_store
from services.attendance.scanning import ActivityCache
from services.attendance.store import SCAN_CHANGED_AT, AttendanceStore, change_mark, scan_changed

pytestmark = pytest.mark.integration


class CountingStore(AttendanceStore):
    def __init__(self, db):
        super().__init__(db)
        self.full_reads, self.checks, self.marks_sent = [], [], []

    def activities_by_ids(self, activity_ids):
        found = super().activities_by_ids(activity_ids)
        self.full_reads.append(sorted(found))
        return found

    def activities_changed_since(self, activity_ids, since):
        found = super().activities_changed_since(activity_ids, since)
        self.checks.append((sorted(activity_ids), sorted(found)))
        self.marks_sent.append(found)
        return found


def frozen_activity(activity_id: str, members=("m1", "m2", "m3")) -> dict:
    return {"_id": activity_id, "tenant_id": "t1", "branch_id": "b1", "branch_month": f"b1:{activity_id}",
            "status": "approved", "radius_m": 300, "roster_frozen_at": "2026-11-25T00:40:00.000Z",
            "roster": {member: {"name": member, "mobile": False} for member in members}, "on_leave": {},
            "plan": {"venue": {"lat": 30.0, "lng": 120.0}, "checkin_opens_at": "2026-11-25T00:30:00.000Z",
                     "checkin_closes_at": "2026-11-25T01:10:00.000Z", "end_at": "2026-11-25T03:00:00.000Z",
                     "checkout_closes_at": "2026-11-25T03:30:00.000Z"},
            **scan_changed()}


@pytest.fixture
def store(mongo_uri):
    store = open_store(CountingStore, f"attendance_cache_{secrets.token_hex(3)}", mongo_uri)
    store.db.activities.insert_many([frozen_activity("a1"), frozen_activity("a2")])
    return store


def test_a_frozen_activity_is_read_once_then_only_checked(store):
    cache = ActivityCache(store, ttl=0)
    first = cache.get_many(["a1", "a2"])
    assert store.full_reads == [["a1", "a2"]] and first["a1"][1].roster == {"m1", "m2", "m3"}
    store.db.activities.update_one({"_id": "a1"}, {"$inc": {"likes": 1}})     # not something a scan depends on
    again = cache.get_many(["a1", "a2"])
    assert store.full_reads == [["a1", "a2"]]                                    # no second full read
    assert store.checks[-1][0] == ["a1", "a2"]
    assert again["a1"][1] == first["a1"][1]


def test_a_leave_approved_by_another_process_is_seen_at_the_next_check(store):
    cache = ActivityCache(store, ttl=0)
    assert cache.get_many(["a1"])["a1"][1].on_leave == frozenset()
    store.db.activities.update_one({"_id": "a1"}, {"$set": {"on_leave.m2": True, **scan_changed()}})
    assert cache.get_many(["a1"])["a1"][1].on_leave == {"m2"}
    assert store.checks[-1] == (["a1"], ["a1"])


def test_a_closing_is_seen_at_the_next_check(store):
    cache = ActivityCache(store, ttl=0)
    assert cache.get_many(["a2"])["a2"][1].status == "open"
    store.db.activities.update_one({"_id": "a2"}, {"$set": {"status": "closed", **scan_changed()}})
    assert cache.get_many(["a2"])["a2"][1].status == "closed"


def test_a_change_stamped_before_the_last_check_is_still_seen(store):
    cache = ActivityCache(store, ttl=0, margin=60)
    cache.get_many(["a1"])
    cache.get_many(["a1"])                              # checked: nothing changed
    slow_commit = stamp(utc_now() - timedelta(seconds=30))
    store.db.activities.update_one({"_id": "a1"}, {"$set": {"on_leave.m3": True, SCAN_CHANGED_AT: slow_commit}})
    assert cache.get_many(["a1"])["a1"][1].on_leave == {"m3"}


def test_a_change_already_read_is_not_read_again_within_the_margin(store):
    cache = ActivityCache(store, ttl=0, margin=60)      # a1's stamp stays inside the margin for the whole test
    held = cache.get_many(["a1"])["a1"][0]
    cache.get_many(["a1"])
    cache.get_many(["a1"])
    assert store.checks == [(["a1"], ["a1"])] * 2       # the store says "changed since" at every check...
    assert store.marks_sent == [{"a1": change_mark(held)}] * 2   # ...with the mark only, not the roster...
    assert store.full_reads == [["a1"]]                 # ...and it is the write this desk already holds
    store.db.activities.update_one({"_id": "a1"}, {"$set": {"on_leave.m1": True, **scan_changed()}})
    assert cache.get_many(["a1"])["a1"][1].on_leave == {"m1"}
    assert store.full_reads == [["a1"], ["a1"]]


def test_two_writes_stamped_in_the_same_millisecond_are_told_apart(store):
    cache = ActivityCache(store, ttl=0, margin=60)
    held = cache.get_many(["a1"])["a1"][0]
    same_stamp = {**scan_changed(), SCAN_CHANGED_AT: held[SCAN_CHANGED_AT]}
    store.db.activities.update_one({"_id": "a1"}, {"$set": {"on_leave.m2": True, **same_stamp}})
    assert cache.get_many(["a1"])["a1"][1].on_leave == {"m2"}


def test_within_the_ttl_the_store_is_not_asked(store):
    cache = ActivityCache(store, ttl=3600)
    cache.get_many(["a1"])
    cache.get_many(["a1"])
    assert store.full_reads == [["a1"]] and store.checks == []


def test_an_activity_not_frozen_yet_is_read_again_in_full(store):
    store.db.activities.insert_one({**frozen_activity("a3"), "roster_frozen_at": None, "roster": None})
    cache = ActivityCache(store, ttl=3600, unfrozen_ttl=0)
    assert cache.get_many(["a3"])["a3"][1].roster == frozenset()
    store.db.activities.update_one({"_id": "a3"}, {"$set": {"roster": {"m7": {}},
                                                            "roster_frozen_at": "2026-11-25T00:40:00.000Z"}})
    assert cache.get_many(["a3"])["a3"][1].roster == {"m7"}
    assert store.full_reads == [["a3"], ["a3"]]


def test_after_the_full_ttl_a_frozen_activity_is_read_again_whatever_its_stamp(store):
    cache = ActivityCache(store, ttl=0, full_ttl=0)
    cache.get_many(["a1"])
    store.db.activities.update_one({"_id": "a1"}, {"$set": {"on_leave.m1": True}})   # an older version: no stamp
    assert cache.get_many(["a1"])["a1"][1].on_leave == {"m1"}
    assert store.full_reads == [["a1"], ["a1"]] and store.checks == []
