"""The schedule against the real store: only the freezes and closings due by a moment are read, by an index."""
from __future__ import annotations

import secrets

import pytest

from servicekit.storage.mongo import open_store
from services.attendance.store import AttendanceStore

pytestmark = pytest.mark.integration


def test_only_the_entries_due_by_the_moment_are_read(mongo_uri):
    store = open_store(AttendanceStore, f"attendance_schedule_{secrets.token_hex(3)}", mongo_uri)
    store.db.schedule.insert_many([
        {"_id": "freeze:a1", "kind": "freeze", "activity_id": "a1", "due_at": "2026-11-26T00:40:00.000Z"},
        {"_id": "close:a1", "kind": "close", "activity_id": "a1", "due_at": "2026-11-26T01:00:59.999Z"},
        {"_id": "close:a2", "kind": "close", "activity_id": "a2", "due_at": "2026-11-26T01:01:00.000Z"},
        {"_id": "close:a3", "kind": "close", "activity_id": "a3", "due_at": "2026-11-26T05:00:00.000Z"}])
    due = store.schedule_entries(due_by="2026-11-26T01:01:00.000Z")
    assert sorted(entry["_id"] for entry in due) == ["close:a1", "close:a2", "freeze:a1"]
    assert set(due[0]) == {"_id", "kind", "activity_id", "due_at"}
    assert "due_at" in {info["key"][0][0] for info in store.db.schedule.index_information().values()}
