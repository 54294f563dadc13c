"""Two processes writing one database in transactions, as the scoring service and its points consumer write the
points database: on nx-27017 they take turns (``servicekit.storage.mongo.embedded_transaction_lock``); without that, their
transactions interleaved on the server's one connection and a quarter to a half of them failed with "no such
savepoint" although their writes had been stored."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pymongo
import pytest

from servicekit.process.config import database_name

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
WRITER = """
import json, sys, time
import pymongo
from servicekit.storage.mongo import Store
uri, database, name, count, locked = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1"
store = Store(pymongo.MongoClient(uri)[database])
store.db.command("ping")
time.sleep(max(0.0, float(sys.argv[6]) - time.time()))     # both writers start together
if not locked:
    import servicekit.storage.mongo as mongo
    mongo.embedded_lock_name = lambda client: None          # as before: no lock between processes
failed = 0
for n in range(count):
    try:
        with store.transaction() as session:
            store.db.items.insert_one({"_id": f"{name}-{n}"}, session=session)
            store.db.items.insert_one({"_id": f"{name}-{n}-pair"}, session=session)
    except Exception:
        failed += 1
print(json.dumps({"failed": failed}))
"""


def run_two_writers(uri: str, database: str, locked: bool, count: int = 300) -> list[int]:
    start_at = str(time.time() + 3)
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, uri, database, name, str(count), "1" if locked else "0",
                                 start_at], cwd=REPO, stdout=subprocess.PIPE, text=True) for name in ("scores", "points")]
    return [json.loads(writer.communicate(timeout=120)[0])["failed"] for writer in writers]


@pytest.fixture
def database(mongo_uri, request):
    name = database_name("tx" + str(abs(hash(request.node.name)) % 10_000))
    with pymongo.MongoClient(mongo_uri) as client:
        client[name].create_collection("items")      # transactions fail on collections that do not exist yet
        yield client[name]
        client.drop_database(name)


def test_two_processes_transactions_on_one_database_all_commit(mongo_uri, database):
    failed = run_two_writers(mongo_uri, database.name, locked=True)

    assert failed == [0, 0]
    assert database.items.count_documents({}) == 2 * 2 * 300


def test_without_the_lock_the_embedded_store_fails_them(mongo_uri, database):
    """Why the lock exists (on a real MongoDB nothing fails, and the lock is not taken)."""
    if pymongo.MongoClient(mongo_uri).admin.command("buildInfo").get("process") != "nx_27017":
        pytest.skip("only the embedded store interleaves transactions")
    failed = run_two_writers(mongo_uri, database.name, locked=False)

    assert sum(failed) > 0
