"""The series the alerts and the themed day's dashboard read that the code itself makes (docs/operations.md):
a store's availability as a process's client sees it, a consumer's queue depths as the broker counts them, and the
scan desk's answers by outcome; each on the real store, the real broker, the real desk."""
from __future__ import annotations

import secrets
import time
from datetime import timedelta

import pytest
from kombu import Connection, Producer
from prometheus_client import REGISTRY

from servicekit.messaging import consumers
from servicekit.storage import mongo
from servicekit.storage.embedded_mongo import EmbeddedMongo
from tests.integration.attendance.test_scan_desk import (ACTIVITY, START, CountingStore, SteppedClock, activity, desk,
                                                         scan)

pytestmark = pytest.mark.integration


def sample(name: str, labels: dict) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return condition()


def test_store_label_names_the_hosts_without_credentials_or_options():
    assert mongo.store_label("mongodb://pb:secret@db-0.mongo:27017,db-1.mongo:27017/pb?replicaSet=rs0") == \
        "db-0.mongo:27017,db-1.mongo:27017"
    assert mongo.store_label("mongodb://127.0.0.1:27017/") == "127.0.0.1:27017"


def test_store_up_falls_to_0_when_the_store_stops_and_returns_to_1_when_it_is_back(tmp_path):
    store = EmbeddedMongo(tmp_path / "data").start()
    uri, labels = store.uri, {"store": f"127.0.0.1:{store.port}"}
    try:
        mongo.shared_client(uri).admin.command("ping")
        assert sample("store_up", labels) == 1.0
        store.stop()
        assert wait_for(lambda: sample("store_up", labels) == 0.0, 40), "store_up stayed 1 after the store stopped"
        store = EmbeddedMongo(tmp_path / "data", port=store.port).start()
        assert wait_for(lambda: sample("store_up", labels) == 1.0, 40), "store_up stayed 0 after the store returned"
    finally:
        with mongo._clients_lock:
            client = mongo._clients.pop(uri, None)
        if client is not None:
            client.close()
        store.stop()
    assert sample("store_up", labels) is None          # a client no longer held is no longer reported


def test_queue_depths_are_the_broker_s_count_and_a_missing_queue_stops_nothing(amqp_uri):
    name, missing = f"test-depth-{secrets.token_hex(4)}", f"test-missing-{secrets.token_hex(4)}"
    labels = {"service": "test", "consumer": "depth", "queue": name}
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        channel.queue_declare(queue=name, exclusive=True)
        producer = Producer(channel)
        for index in range(3):
            producer.publish({"n": index}, routing_key=name, exchange="")
        depths = consumers.QueueDepths(connection, "test", "depth", [name], every=0)
        assert wait_for(lambda: depths.sample_when_due() or sample("event_queue_messages_ready", labels) == 3, 5)

        broken = consumers.QueueDepths(connection, "test", "depth", [missing, name], every=0)
        broken.sample_when_due()                       # the broker closes its channel: logged, nothing raised
        assert broken.channel is None
        channel.basic_get(queue=name, no_ack=True)
        depths.sample_when_due()                       # the consumer's own channel and the first sampler go on
        assert sample("event_queue_messages_ready", labels) == 2


def test_the_scan_desk_counts_each_answer_by_its_outcome(mongo_uri):
    store = mongo.open_store(CountingStore, f"attendance_outcomes_{secrets.token_hex(3)}", mongo_uri)
    store.db.activities.insert_one(activity())
    clock = SteppedClock(START - timedelta(minutes=5))
    far = scan("m2", "in", clock)
    far["fix"]["lat"] += 0.01                                      # about 1.1 km north of the venue
    forged = scan("m3", "in", clock)
    forged["token"] = forged["token"][:-4] + ("AAAA" if not forged["token"].endswith("AAAA") else "BBBB")
    outcomes = ("recorded", "repeat", "OUTSIDE_FENCE")
    before = {outcome: sample("attendance_scans_total", {"outcome": outcome}) or 0.0 for outcome in outcomes}

    answers = desk(store, clock).record([scan("m1", "in", clock), scan("m1", "in", clock), far, forged])

    assert "result" in answers[0] and answers[1]["result"]["repeat"] is True
    assert answers[2]["error"]["code"] == "OUTSIDE_FENCE"
    forged_code = answers[3]["error"]["code"]
    for outcome in outcomes:
        assert sample("attendance_scans_total", {"outcome": outcome}) - before[outcome] == 1.0, outcome
    assert sample("attendance_scans_total", {"outcome": forged_code}) >= 1.0
    assert store.db.records.count_documents({"activity_id": ACTIVITY}) == 1
