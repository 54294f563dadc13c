"""The import write path on the real store: batches in transactions, all or nothing, crash recovery."""
from __future__ import annotations

import secrets
import uuid

import pymongo
import pytest

from servicekit.errors import Conflict
from servicekit.storage.mongo import open_store
from services.identity.store import IdentityStore


@pytest.fixture
def store(mongo_uri):
    store = open_store(IdentityStore, f"imports{secrets.token_hex(4)}", mongo_uri)
    yield store
    store.client.drop_database(store.db.name)


def member(import_id: str, index_value: str | None = None) -> dict:
    return {"_id": f"mem_{uuid.uuid4().hex}", "tenant_id": "ten_x", "branch_id": "org_b", "name": "张三",
            "id_number_index": index_value or uuid.uuid4().hex, "status": "full", "mobile": False,
            "import_id": import_id}


def event(import_id: str) -> dict:
    return {"event_type": "members_imported", "event_id": uuid.uuid4().hex, "import_id": import_id}


def test_every_batch_is_written_then_the_import_is_done_with_its_events(store):
    store.begin_import("imp_ok", "ten_x", "members", "acc_x", 7)
    batches = ([member("imp_ok") for _ in range(size)] for size in (3, 3, 1))
    store.write_import("imp_ok", "members", batches, lambda: [event("imp_ok")])
    assert store.db.members.count_documents({"import_id": "imp_ok"}) == 7
    assert store.db.imports.find_one({"_id": "imp_ok"})["status"] == "done"
    assert store.db.outbox.count_documents({}) == 1


def test_a_duplicate_in_a_later_batch_leaves_nothing_of_the_import(store):
    store.db.members.insert_one(member("imp_earlier", "taken"))
    store.begin_import("imp_dup", "ten_x", "members", "acc_x", 9)
    made = []

    def batches():
        for number in range(3):
            made.append(number)
            yield [member("imp_dup"), member("imp_dup", "taken" if number == 1 else None), member("imp_dup")]

    with pytest.raises(Conflict) as error:
        store.write_import("imp_dup", "members", batches(), lambda: [event("imp_dup")])
    assert error.value.code == "IMPORT_CONFLICT"
    assert store.db.members.count_documents({"import_id": "imp_dup"}) == 0
    assert store.db.members.count_documents({"import_id": "imp_earlier"}) == 1
    assert store.db.imports.find_one({"_id": "imp_dup"})["status"] == "rolled_back"
    assert store.db.outbox.count_documents({}) == 0


def test_a_failure_while_making_a_batch_removes_the_batches_already_written(store):
    store.begin_import("imp_fail", "ten_x", "members", "acc_x", 6)

    def batches():
        yield [member("imp_fail") for _ in range(3)]
        yield [member("imp_fail") for _ in range(3)]
        raise RuntimeError("cipher unavailable")

    with pytest.raises(RuntimeError):
        store.write_import("imp_fail", "members", batches(), [event("imp_fail")])
    assert store.db.members.count_documents({"import_id": "imp_fail"}) == 0
    assert store.db.imports.find_one({"_id": "imp_fail"})["status"] == "rolled_back"
    assert store.db.outbox.count_documents({}) == 0


def test_start_up_ends_the_session_of_an_import_that_died_inside_a_batch_transaction(store, mongo_uri):
    """The dead process's transaction is aborted (nx-27017 would keep it open on the shared connection,
    swallowing every later write), then what the import had committed is removed."""
    store.begin_import("imp_dead", "ten_x", "members", "acc_x", 4)
    dead = pymongo.MongoClient(mongo_uri)
    try:
        collection = dead[store.db.name].members
        session = dead.start_session()
        store.db.imports.update_one({"_id": "imp_dead"}, {"$set": {"session_id": session.session_id["id"].hex()}})
        with session.start_transaction():
            collection.insert_many([member("imp_dead") for _ in range(2)], session=session)
        session.start_transaction()
        collection.insert_many([member("imp_dead") for _ in range(2)], session=session)
        # the process dies here: no commit, no abort, no endSessions

        assert store.roll_back_unfinished_imports() == 1
        assert store.db.members.count_documents({"import_id": "imp_dead"}) == 0
        assert store.db.imports.find_one({"_id": "imp_dead"})["status"] == "rolled_back"
        store.db.members.insert_one(member("imp_after"))
        session.abort_transaction()  # too late: the transaction is gone, so it cannot undo later writes
        assert store.db.members.count_documents({"import_id": "imp_after"}) == 1
        assert store.db.members.count_documents({"import_id": "imp_dead"}) == 0
    finally:
        dead.close()


def org(import_id: str, org_id: str | None = None) -> dict:
    return {"_id": org_id or f"org_{uuid.uuid4().hex}", "tenant_id": "ten_x", "parent_id": "org_root",
            "name": "支部", "kind": "branch", "import_id": import_id}


def test_an_org_import_moves_the_tree_revision_when_done_and_when_rolled_back(store):
    """A peer keeping the tree may read an import's nodes while they are written: undoing them moves the revision,
    as finishing does (the organisations_imported event); a member import moves nothing."""
    assert store.org_tree_revision() == 0
    store.begin_import("imp_members", "ten_x", "members", "acc_x", 1)
    store.write_import("imp_members", "members", [[member("imp_members")]], lambda: [event("imp_members")])
    assert store.org_tree_revision() == 0
    store.begin_import("imp_orgs", "ten_x", "orgs", "acc_x", 2)
    store.write_import("imp_orgs", "orgs", [[org("imp_orgs"), org("imp_orgs")]],
                       lambda: [{"event_type": "organisations_imported", "event_id": uuid.uuid4().hex}])
    assert store.org_tree_revision() == 1
    store.db.orgs.insert_one(org("imp_earlier", "org_taken"))
    store.begin_import("imp_dup", "ten_x", "orgs", "acc_x", 2)
    with pytest.raises(Conflict):
        store.write_import("imp_dup", "orgs", iter([[org("imp_dup")], [org("imp_dup", "org_taken")]]),
                           lambda: [{"event_type": "organisations_imported", "event_id": uuid.uuid4().hex}])
    assert store.db.orgs.count_documents({"import_id": "imp_dup"}) == 0
    assert store.org_tree_revision() == 2
