"""Backups (deploy.backup) on the real embedded store, taken while writers write: each database is one point in
time, a restore into an empty store finds the same data, a changed file or an occupied target is refused."""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import bson
import pymongo
import pytest

from deploy import backup
from servicekit.storage.embedded_mongo import EmbeddedMongo

pytestmark = pytest.mark.integration


def backed_up(folder: Path, database: str, collection: str) -> list[dict]:
    with (folder / database / f"{collection}.bson").open("rb") as file:
        return list(bson.decode_file_iter(file))


def expiring(folder: Path, database: str, collection: str) -> bool:
    indexes = json.loads((folder / database / f"{collection}.indexes.json").read_text())
    return any("expireAfterSeconds" in index for index in indexes)


def stored(client: pymongo.MongoClient, database: str) -> dict[str, list[dict]]:
    db = client[database]
    return {name: list(db[name].find({}).sort("_id", 1)) for name in db.list_collection_names()}


class Writer(threading.Thread):
    """Orders and their counter, written together in one transaction each, as fast as the store takes them."""

    def __init__(self, uri: str):
        super().__init__(daemon=True)
        self.uri, self.stop, self.written = uri, threading.Event(), 0

    def run(self) -> None:
        with pymongo.MongoClient(self.uri) as client:
            db = client[f"{backup.prefix()}shop"]
            while not self.stop.is_set():
                with client.start_session() as session, session.start_transaction():
                    db.orders.insert_one({"_id": f"o{self.written:06d}", "n": self.written}, session=session)
                    db.counters.update_one({"_id": "orders"}, {"$inc": {"n": 1}}, session=session)
                self.written += 1


@pytest.fixture
def shop(tmp_path):
    with EmbeddedMongo(tmp_path / "var" / "mongo") as mongo, pymongo.MongoClient(mongo.uri) as client:
        db = client[f"{backup.prefix()}shop"]
        for name in ("orders", "counters"):
            db.create_collection(name)
        db.orders.create_index("n", unique=True)
        db.counters.insert_one({"_id": "orders", "n": 0})
        yield mongo, client


def test_a_backup_taken_under_writes_is_one_point_in_time_and_restores_to_the_same_data(shop, tmp_path):
    mongo, client = shop
    writer = Writer(mongo.uri)
    writer.start()
    try:
        while writer.written < 200:
            time.sleep(0.05)
        manifest = backup.create(tmp_path / "backup", [mongo.served_dir])
        during = writer.written
        time.sleep(0.3)
    finally:
        writer.stop.set()
        writer.join(30)
    assert writer.written > during, "the writer went on while the backup was taken"
    name = f"{backup.prefix()}shop"
    orders = backed_up(tmp_path / "backup", name, "orders")
    counter = backed_up(tmp_path / "backup", name, "counters")[0]["n"]
    assert 200 <= len(orders) == counter < writer.written    # both collections at the same commit
    assert [o["n"] for o in orders] == list(range(len(orders)))
    assert manifest["databases"][name]["collections"]["orders"]["documents"] == len(orders)

    target = tmp_path / "restored" / "mongo"
    backup.restore(tmp_path / "backup", [target])
    with EmbeddedMongo(target) as restored, pymongo.MongoClient(restored.uri) as again:
        found = stored(again, name)
        assert found["orders"] == orders and found["counters"][0]["n"] == counter
        with pytest.raises(pymongo.errors.DuplicateKeyError):       # the unique index came back too
            again[name].orders.insert_one({"_id": "x", "n": 0})


def test_an_occupied_target_is_refused_unless_replaced_and_a_changed_file_is_found(shop, tmp_path):
    mongo, client = shop
    name = f"{backup.prefix()}shop"
    client[name].orders.insert_many([{"_id": f"o{n}", "n": n} for n in range(5)])
    backup.create(tmp_path / "backup", [mongo.served_dir])
    with pytest.raises(backup.BackupError, match="not empty"):
        backup.create(tmp_path / "backup", [mongo.served_dir])
    client[name].orders.delete_many({"n": {"$gte": 3}})
    client[name].orders.insert_one({"_id": "late", "n": 99})
    mongo.stop()
    with pytest.raises(backup.BackupError, match="already holds data"):
        backup.restore(tmp_path / "backup", [mongo.served_dir])
    with EmbeddedMongo(mongo.served_dir) as again, pymongo.MongoClient(again.uri) as reopened:
        assert reopened[name].orders.find_one({"_id": "late"}) is not None     # the refusal wrote nothing
    backup.restore(tmp_path / "backup", [mongo.served_dir], replace=True)
    with EmbeddedMongo(mongo.served_dir) as again, pymongo.MongoClient(again.uri) as reopened:
        assert [o["n"] for o in reopened[name].orders.find({}).sort("_id", 1)] == [0, 1, 2, 3, 4]

    path = tmp_path / "backup" / name / "orders.bson"
    data = bytearray(path.read_bytes())
    data[-3] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(backup.BackupError, match="orders.bson"):
        backup.verify(tmp_path / "backup")
    assert backup.main(["verify", "--from", str(tmp_path / "backup")]) == 2


def test_the_platforms_databases_back_up_while_identity_writes_and_restore_the_same(rpc, city, mongo_uri, tmp_path):
    """The session's store, with identity writing members through its RPC while the backup is taken."""
    branch = city.branches[0][0]
    made, stop = [], threading.Event()

    def write():
        while not stop.is_set() and len(made) < 400:
            made.append(city.add_member(branch, f"备份测试{len(made)}")["id"])
    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        while len(made) < 5:
            time.sleep(0.05)
        data_dir = os.environ.get("TEST_STORE_DATA_DIR")
        if data_dir:
            manifest = backup.create(tmp_path / "backup", [Path(data_dir)])
        else:
            manifest = backup.create(tmp_path / "backup", uri=os.environ["MONGO_URI"])
        during = len(made)
        time.sleep(0.5)
    finally:
        stop.set()
        writer.join(60)
    identity = f"{backup.prefix()}identity"
    assert identity in manifest["databases"] and len(made) > during
    members = {m["_id"]: m for m in backed_up(tmp_path / "backup", identity, "members")}
    backed = [member_id for member_id in made if member_id in members]
    # a prefix of what was written: every member made before the last one backed up is there
    assert backed == made[:len(backed)] and 1 <= len(backed) <= during
    with pymongo.MongoClient(os.environ["MONGO_URI"]) as live:
        for member_id in backed:
            assert live[identity].members.find_one({"_id": member_id}) == members[member_id]

    store = manifest["databases"][identity]["store"]
    target = tmp_path / "restored" / ("mongo" if store == "mongodb" else store)
    backup.restore(tmp_path / "backup", [target])
    with EmbeddedMongo(target) as restored, pymongo.MongoClient(restored.uri) as again:
        for name, database in manifest["databases"].items():
            found = stored(again, name)
            for collection, entry in database["collections"].items():
                if expiring(tmp_path / "backup", name, collection):
                    continue        # a TTL index: the store drops what expired since the backup as it reads

                assert found.get(collection, []) == backed_up(tmp_path / "backup", name, collection), (name, collection)
                assert len(found.get(collection, [])) == entry["documents"]
