"""Attendance's records against the real store: an activity's records are found through their chain keys
alone (no index on activity or member), never another activity's whose id starts the same, and a database an
earlier version indexed by activity and member loses those indexes at start-up and answers the same."""
from __future__ import annotations

import secrets

import pytest

from servicekit.storage.mongo import open_store
from services.attendance.chaining import ChainWriter
from services.attendance.store import AttendanceStore

pytestmark = pytest.mark.integration


def chained(writer: ChainWriter, activity_id: str, members: list[str], kind: str = "checkin") -> list[dict]:
    entries = [({"_id": f"{activity_id}:{kind}:{member}", "activity_id": activity_id, "member_id": member,
                 "kind": kind}, {"kind": kind, "member_id": member}) for member in members]
    with writer.lock:
        documents = writer.links(entries)
    writer.store.db.records.insert_many(documents)
    return documents


def index_fields(collection) -> set[str]:
    return {info["key"][0][0] for info in collection.index_information().values()}


def test_an_activity_s_records_are_its_chain_whatever_other_ids_start_with(mongo_uri):
    store = open_store(AttendanceStore, f"attendance_records_{secrets.token_hex(3)}", mongo_uri)
    writer = ChainWriter(store)
    chained(writer, "act_b1_2026-11", ["m1", "m2"])
    chained(writer, "act_b1_2026-11", ["m1"], "checkout")
    chained(writer, "act_b1_2026-11:x", ["m9"])                 # an id that starts with the first one's key prefix
    chained(writer, "act_b1_2026-1", ["m8"])                    # and one that the first starts with
    chained(writer, "act_b10_2026-11", ["m7"])
    assert [(r["seq"], r["member_id"]) for r in store.records_of("act_b1_2026-11")] == [(1, "m1"), (2, "m2"), (3, "m1")]
    assert [r["kind"] for r in store.records_of("act_b1_2026-11", ("checkout",))] == ["checkout"]
    assert store.records_of("act_b1_2026-11", (), {"seq": 1})[0].keys() == {"_id", "seq", "activity_id"}
    assert sorted(r["member_id"] for r in store.records_of_many(["act_b1_2026-1", "act_b10_2026-11"])) == ["m7", "m8"]
    head = store.chain_head("act_b1_2026-11")
    assert head == (3, store.records_of("act_b1_2026-11")[-1]["hash"])
    assert store.chain_head("act_b1_2026-1")[0] == 1 and store.chain_head("act_none") is None
    assert index_fields(store.db.records) == {"_id", "chain_key"}


def test_records_an_earlier_version_indexed_by_activity_and_member_lose_those_indexes(mongo_uri):
    service = f"attendance_retired_{secrets.token_hex(3)}"
    earlier = open_store(AttendanceStore, service, mongo_uri)
    earlier.db.records.create_index("activity_id")
    earlier.db.records.create_index("member_id")
    chained(ChainWriter(earlier), "act_b1_2026-11", ["m1", "m2"])
    store = open_store(AttendanceStore, service, mongo_uri)                  # the new version starts
    assert index_fields(store.db.records) == {"_id", "chain_key"}
    assert [r["member_id"] for r in store.records_of("act_b1_2026-11")] == ["m1", "m2"]
    assert store.drop_retired_indexes() == []
