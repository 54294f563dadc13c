"""Benchmark: what SQLite's ``synchronous=FULL`` costs the embedded store (nx-27017) against ``NORMAL``.

    .venv/bin/python -m bench.store_durability [--rounds 3] [--inserts 400] [--transactions 200] [--dir DIR]

Each round starts a store with ``EMBEDDED_MONGO_SYNCHRONOUS=NORMAL`` and one with ``FULL`` (in alternating order,
so that a drift of the machine falls on both), on a fresh data directory on disk (``--dir``, default the system's
temporary directory: it must not be a tmpfs, where a sync costs nothing), and measures from one client:
- inserts: ``insert_one`` of a small document outside a transaction (each its own commit);
- transactions: what ``OutboxStore.commit`` does for one scan, a document inserted, another updated and an outbox
  entry inserted in one transaction, through ``Store.run_transaction``.
Printed per round and setting: operations per second and latency (median, 95th and 99th percentile, ms), then the
median of the rounds per setting.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import pymongo

from servicekit.storage.embedded_mongo import EmbeddedMongo
from servicekit.storage.mongo import Store, durable_database

SETTINGS = ("NORMAL", "FULL")


class BenchStore(Store):
    collections = {"items": [], "outbox": ["status"]}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(latencies: list[float], elapsed: float) -> dict:
    return {"per_s": len(latencies) / elapsed, "p50": percentile(latencies, 0.5) * 1000,
            "p95": percentile(latencies, 0.95) * 1000, "p99": percentile(latencies, 0.99) * 1000}


def timed(count: int, operation) -> dict:
    latencies = []
    started = time.perf_counter()
    for n in range(count):
        before = time.perf_counter()
        operation(n)
        latencies.append(time.perf_counter() - before)
    return summary(latencies, time.perf_counter() - started)


def measure(setting: str, base: Path, inserts: int, transactions: int) -> dict:
    os.environ["EMBEDDED_MONGO_SYNCHRONOUS"] = setting          # read by the store process at its start
    data_dir = Path(tempfile.mkdtemp(prefix=f"durability-{setting.lower()}-", dir=base))
    try:
        return run_on(data_dir, inserts, transactions)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def run_on(data_dir: Path, inserts: int, transactions: int) -> dict:
    with EmbeddedMongo(data_dir / "data") as mongo, pymongo.MongoClient(mongo.uri) as client:
        store = BenchStore(durable_database(client, "bench_durability"))
        store.ensure_schema()
        store.db.items.insert_one({"_id": "counter", "n": 0})
        payload = {"member_id": "m-" + "x" * 10, "branch_id": "org-1234", "at": "2026-11-25T00:50:00.000Z"}

        def insert(n):
            store.db.items.insert_one({"_id": f"i{n}-{uuid.uuid4().hex[:6]}", **payload})

        def transaction(n):
            def work(session):
                store.db.items.insert_one({"_id": f"t{n}-{uuid.uuid4().hex[:6]}", **payload}, session=session)
                store.db.items.update_one({"_id": "counter"}, {"$inc": {"n": 1}}, session=session)
                store.db.outbox.insert_one({"_id": uuid.uuid4().hex, "status": "pending", "body": payload},
                                           session=session)
            store.run_transaction(work)

        timed(20, insert)                                               # warm-up: connections, first pages
        result = {"inserts": timed(inserts, insert), "transactions": timed(transactions, transaction)}
        assert store.db.items.find_one({"_id": "counter"})["n"] == transactions
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--inserts", type=int, default=400)
    parser.add_argument("--transactions", type=int, default=200)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    arguments = parser.parse_args()
    saved = os.environ.get("EMBEDDED_MONGO_SYNCHRONOUS")
    results: dict[str, list[dict]] = {setting: [] for setting in SETTINGS}
    try:
        for round_number in range(arguments.rounds):
            order = SETTINGS if round_number % 2 == 0 else tuple(reversed(SETTINGS))
            for setting in order:
                result = measure(setting, arguments.dir, arguments.inserts, arguments.transactions)
                results[setting].append(result)
                print(f"round {round_number + 1} {setting:6}", "  ".join(
                    f"{kind}: {r['per_s']:7.0f}/s p50 {r['p50']:5.2f} p95 {r['p95']:5.2f} p99 {r['p99']:6.2f} ms"
                    for kind, r in result.items()), flush=True)
    finally:
        if saved is None:
            os.environ.pop("EMBEDDED_MONGO_SYNCHRONOUS", None)
        else:
            os.environ["EMBEDDED_MONGO_SYNCHRONOUS"] = saved
    print("median of the rounds:")
    for setting in SETTINGS:
        line = []
        for kind in ("inserts", "transactions"):
            figures = {key: statistics.median(r[kind][key] for r in results[setting]) for key in ("per_s", "p50",
                                                                                                   "p99")}
            line.append(f"{kind}: {figures['per_s']:7.0f}/s p50 {figures['p50']:5.2f} p99 {figures['p99']:6.2f} ms")
        print(f"  {setting:6}", "  ".join(line))


if __name__ == "__main__":
    main()
