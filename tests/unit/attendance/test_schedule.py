"""The sweep's schedule in memory: it reads only the freezes and closings due within its horizon, again every
few seconds, and at once when the clock passes what it read (a test's clock jumps hours)."""
from datetime import datetime, timedelta, timezone

from servicekit.timestamps import stamp
from services.attendance.schedule import Schedule

NOW = datetime(2026, 11, 26, 1, 0, tzinfo=timezone.utc)
ENTRIES = [("freeze", "a1", NOW - timedelta(seconds=1)), ("close", "a1", NOW + timedelta(seconds=30)),
           ("close", "a2", NOW + timedelta(hours=4))]


class ScheduleStore:
    def __init__(self):
        self.reads: list[str] = []

    def schedule_entries(self, due_by: str) -> list[dict]:
        self.reads.append(due_by)
        return [{"kind": kind, "activity_id": activity_id, "due_at": stamp(due)}
                for kind, activity_id, due in ENTRIES if stamp(due) <= due_by]


def test_only_the_entries_due_within_the_horizon_are_read():
    store = ScheduleStore()
    schedule = Schedule(store, refresh_seconds=5, horizon_seconds=60)
    assert schedule.due("freeze", NOW) == ["a1"] and schedule.due("close", NOW) == []
    assert store.reads == [stamp(NOW + timedelta(seconds=60))]


def test_within_the_refresh_and_the_horizon_the_store_is_not_asked_again():
    store = ScheduleStore()
    schedule = Schedule(store, refresh_seconds=5, horizon_seconds=60)
    schedule.due("freeze", NOW)
    assert schedule.due("close", NOW + timedelta(seconds=31)) == ["a1"]
    assert len(store.reads) == 1


def test_a_clock_past_what_was_read_reads_again_at_once():
    store = ScheduleStore()
    schedule = Schedule(store, refresh_seconds=5, horizon_seconds=60)
    schedule.due("close", NOW)
    later = NOW + timedelta(hours=5)
    assert schedule.due("close", later) == ["a1", "a2"]
    assert store.reads == [stamp(NOW + timedelta(seconds=60)), stamp(later + timedelta(seconds=60))]


def test_after_the_refresh_interval_the_store_is_read_again():
    store = ScheduleStore()
    moments = iter([100.0, 100.0, 106.0, 106.0])       # the check and the stamp of each read
    schedule = Schedule(store, refresh_seconds=5, horizon_seconds=60, monotonic=lambda: next(moments))
    schedule.due("close", NOW)
    schedule.due("close", NOW)
    assert len(store.reads) == 2
