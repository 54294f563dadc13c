"""Development entries on the real store: append-only, read back in the order they were recorded, counted per
member, each with its event in the outbox in the same transaction; a record changed since its rules were checked
takes nothing (two corrections of one entry at once: one stands)."""
from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest

from servicekit.errors import Conflict
from servicekit.storage.mongo import open_store
from services.identity import events
from services.identity.store import IdentityStore

pytestmark = pytest.mark.integration


@pytest.fixture
def store(mongo_uri):
    store = open_store(IdentityStore, f"development{secrets.token_hex(4)}", mongo_uri)
    yield store
    store.client.drop_database(store.db.name)


def entry(entry_id: str, member_id: str = "mem_1", corrects: str = "", at: str = "2026-12-06T08:00:00.000Z") -> dict:
    return {"_id": entry_id, "tenant_id": "ten_1", "member_id": member_id, "branch_id": "org_b", "kind": "talk",
            "on": "2026-12-01", "detail": {"purpose": "application", "talker": "书记", "summary": "谈话"},
            "note": "更正" if corrects else "", "corrects": corrects, "recorded_at": at, "recorded_by": "acc_1",
            "recorded_by_name": "书记"}


def event_of(doc: dict) -> list[dict]:
    return [events.DEVELOPMENT_ENTRY_RECORDED.build(
        "ten_1", doc["recorded_at"], entry_id=doc["_id"], member_id=doc["member_id"], branch_id=doc["branch_id"],
        kind=doc["kind"], on=doc["on"], corrects=doc["corrects"], recorded_by=doc["recorded_by"])]


def outbox_types(store) -> list[str]:
    return sorted(doc["routing_key"] for doc in store.db.outbox.find())


def test_entries_are_read_back_in_recording_order_and_counted_per_member(store):
    first, second = entry("dev_b", at="2026-12-06T08:00:00.000Z"), entry("dev_a", at="2026-12-06T09:00:00.000Z")
    store.record_development_entry(first, 0, event_of(first))
    store.record_development_entry(second, 1, event_of(second))
    other = entry("dev_c", member_id="mem_2")
    store.record_development_entry(other, 0, event_of(other))
    assert [doc["_id"] for doc in store.development_entries("mem_1")] == ["dev_b", "dev_a"]
    assert store.development_entry_counts(["mem_1", "mem_2", "mem_3"]) == {"mem_1": 2, "mem_2": 1, "mem_3": 0}
    assert outbox_types(store) == ["development_entry_recorded"] * 3


def test_a_record_changed_since_it_was_checked_takes_nothing_and_publishes_nothing(store):
    first = entry("dev_1")
    store.record_development_entry(first, 0, event_of(first))
    stale = entry("dev_2", corrects="dev_1")
    with pytest.raises(Conflict) as refused:
        store.record_development_entry(stale, 0, event_of(stale))      # checked against an empty record
    assert refused.value.code == "RECORD_CHANGED"
    assert [doc["_id"] for doc in store.development_entries("mem_1")] == ["dev_1"]
    assert len(outbox_types(store)) == 1


def test_two_corrections_of_one_entry_at_once_leave_one(store):
    first = entry("dev_1")
    store.record_development_entry(first, 0, event_of(first))

    def correct(n: int):
        doc = entry(f"dev_fix{n}", corrects="dev_1")
        try:
            store.record_development_entry(doc, 1, event_of(doc))
            return "ok"
        except Conflict as refused:
            return refused.code

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(correct, range(6)))
    assert outcomes.count("ok") == 1 and set(outcomes) == {"ok", "RECORD_CHANGED"}
    assert len(store.development_entries("mem_1")) == 2 and len(outbox_types(store)) == 2


def test_the_store_has_no_write_that_changes_or_removes_an_entry():
    from services.identity.development_store import DevelopmentStore
    writes = {name for name in vars(DevelopmentStore) if not name.startswith("_") and callable(getattr(
        DevelopmentStore, name))}
    assert writes == {"development_entries", "development_entry_counts", "record_development_entry"}
