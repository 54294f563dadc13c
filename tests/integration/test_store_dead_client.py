"""A service killed inside a transaction (kill -9) must not take later writes with it. nx-27017 keeps a session's
transaction on the database's one SQLite connection; left open by a dead client, every later transaction nested in it
as a savepoint and every later write joined it: answered, readable, and gone when the store restarted
(``servicekit.storage.nx_server.abort_transactions_of_closed_clients`` aborts it when the client's socket closes)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pymongo
import pytest

from servicekit.storage.embedded_mongo import EmbeddedMongo

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DIES_IN_A_TRANSACTION = """
import sys, time
import pymongo
client = pymongo.MongoClient(sys.argv[1])
db = client["dead_client"]
session = client.start_session()
session.start_transaction()
db.items.insert_one({"_id": "never-committed"}, session=session)
print("open", flush=True)
time.sleep(600)
"""


def test_writes_after_a_client_died_inside_a_transaction_survive_a_restart(tmp_path):
    data_dir = tmp_path / "store"
    with EmbeddedMongo(data_dir=data_dir) as store:
        with pymongo.MongoClient(store.uri) as client:
            client["dead_client"].create_collection("items")
        doomed = subprocess.Popen([sys.executable, "-c", DIES_IN_A_TRANSACTION, store.uri], cwd=REPO,
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert doomed.stdout.readline().strip() == "open"
        finally:
            os.kill(doomed.pid, signal.SIGKILL)
            doomed.wait(timeout=30)
        time.sleep(0.5)                                  # the store sees the socket close
        with pymongo.MongoClient(store.uri) as client:
            db = client["dead_client"]
            with client.start_session() as session:
                with session.start_transaction():
                    db.items.insert_one({"_id": "committed-in-a-transaction"}, session=session)
            db.items.insert_one({"_id": "written-alone"})
            assert {doc["_id"] for doc in db.items.find()} == {"committed-in-a-transaction", "written-alone"}
    with EmbeddedMongo(data_dir=data_dir) as store, pymongo.MongoClient(store.uri) as client:
        assert {doc["_id"] for doc in client["dead_client"].items.find()} == {"committed-in-a-transaction",
                                                                             "written-alone"}
