"""Chain heads against the real store: a batch's new activities get their heads in one query, the same
heads one query per activity would give."""
from __future__ import annotations

import secrets

import pytest

from servicekit.mongo import open_store
from services.attendance.chaining import ChainWriter
from services.attendance.domain import chain
from services.attendance.store import AttendanceStore

pytestmark = pytest.mark.integration


class CountingStore(AttendanceStore):
    def __init__(self, db):
        super().__init__(db)
        self.head_queries = 0

    def chain_head(self, activity_id):
        self.head_queries += 1
        return super().chain_head(activity_id)

    def chain_heads(self, activity_ids):
        self.head_queries += 1
        return super().chain_heads(activity_ids)


def linked_records(activity_id: str, count: int) -> list[dict]:
    records, head = [], chain.GENESIS
    for seq in range(1, count + 1):
        link = chain.link(head, seq, {"n": seq})
        records.append({"_id": f"{activity_id}:{seq}", "activity_id": activity_id, "seq": seq,
                        "hash": link["hash"], "chain_key": f"{activity_id}:{seq}"})
        head = link["hash"]
    return records


def test_the_heads_of_a_batch_come_in_one_query_and_match_the_one_by_one_read(mongo_uri):
    store = CountingStore(open_store(AttendanceStore, f"attendance_heads_{secrets.token_hex(3)}", mongo_uri).db)
    store.db.records.insert_many([*linked_records("a1", 3), *linked_records("a2", 12)])
    writer = ChainWriter(store)
    writer.load_heads(["a1", "a2", "a3"])
    assert store.head_queries == 1
    assert [writer.head(a) for a in ("a1", "a2", "a3")] == [store.chain_head("a1"), store.chain_head("a2"),
                                                           (0, chain.GENESIS)]
    assert writer.head("a2")[0] == 12 and store.head_queries == 1 + 2     # the two reads of the check itself
    writer.load_heads(["a1", "a2"])                                         # known already: no query
    assert store.head_queries == 3
