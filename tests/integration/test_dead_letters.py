"""Dead letters and unroutable events on the real broker and store: a malformed message is parked alone and its batch
applied once; a parked event replayed with ``python -m deploy.dead_letters`` is applied once; an event no queue takes
stays in the outbox until a queue is bound; a classic ``dead-letters`` queue of an older broker becomes a quorum queue
with its messages."""
from __future__ import annotations

import io
import json
import re
import threading
import time
import uuid
from types import SimpleNamespace

import amqp
import pytest
from kombu import Connection, Exchange, Queue
from prometheus_client import REGISTRY

from deploy import dead_letters as command
from servicekit.messaging.consumers import BatchEventConsumer, apply_once
from servicekit.messaging.dead_letters import origin
from servicekit.messaging.events import EventSpec
from servicekit.messaging.outbox import SENT, UNROUTABLE, OutboxStore, Relay, add_events
from servicekit.messaging.topology import (DEAD_LETTER_EXCHANGE, DEAD_LETTER_QUEUE, declare_dead_letters,
                                          declare_topology, event_queue)
from servicekit.security.proofs import event_headers
from servicekit.storage.mongo import open_store
from tests.support.broker import TestVhost

pytestmark = pytest.mark.integration

SOURCE = "identity"                 # the test signs as identity (its key is this process's), on identity.events
EXCHANGE = f"{SOURCE}.events"
SERVICE = "dltest"


class TallyStore(OutboxStore):
    source = SOURCE
    collections = {"tallies": []}


class Tally:
    """Counts each thing once per applied event (apply_once: a redelivered or replayed event is a no-op); a thing in
    ``poison`` fails."""

    def __init__(self, store):
        self.store, self.poison, self.calls = store, set(), []

    def apply(self, events):
        self.calls.append([event["event_id"] for event in events])
        if self.poison & {event.get("thing_id") for event in events}:
            raise RuntimeError("poisoned")

        def effect(session, fresh):
            for event in fresh:
                self.store.db.tallies.update_one({"_id": event["thing_id"]}, {"$inc": {"n": 1}}, upsert=True,
                                                 session=session)
        apply_once(self.store, SERVICE, events, effect)

    def count(self, thing: str) -> int:
        return (self.store.db.tallies.find_one({"_id": thing}) or {}).get("n", 0)


@pytest.fixture
def tally(mongo_uri):
    store = open_store(TallyStore, "dltest_consumer")
    for name in ("tallies", "processed_events", "outbox"):
        store.db[name].delete_many({})
    return Tally(store)


class RunningConsumer:
    """A BatchEventConsumer's loop in a thread of this process (as its nameko container runs it, restarting after any
    failure, which ``restarts`` counts)."""

    def __init__(self, bus_uri, tally, event_type):
        self.consumer = BatchEventConsumer("tally", [(SOURCE, event_type)], lambda container: tally,
                                           max_wait_ms=500, prefetch=100)
        self.consumer.container = SimpleNamespace(service_name=SERVICE, config={"AMQP_URI": bus_uri})
        self.consumer.setup()
        self.consumer.applier = tally
        self.consumer._running = True
        self.restarts = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.consumer._running:
            try:
                self.consumer._consume()
            except Exception:  # noqa: BLE001  counted: a malformed message must not get here
                self.restarts += 1
                self.consumer._pending, self.consumer._pending_events = [], 0
                time.sleep(1)

    def stop(self):
        self.consumer._running = False
        self.thread.join(timeout=15)
        assert not self.thread.is_alive()


def publish(bus_uri, routing_key, body: bytes, proof=True) -> None:
    headers = event_headers(EXCHANGE, body, SOURCE) if proof else {}
    with Connection(bus_uri) as connection:
        channel = connection.channel()
        channel.basic_publish(amqp.Message(body, content_type="application/json", content_encoding="utf-8",
                                           delivery_mode=2, application_headers=headers),
                              exchange=EXCHANGE, routing_key=routing_key)


def thing(event_type, name) -> dict:
    return {"event_id": uuid.uuid4().hex, "event_type": event_type, "occurred_at": "2026-12-06T10:00:00.000Z",
            "schema_version": 1, "tenant_id": "t-dl", "thing_id": name}


def parked(bus_uri, marker: str) -> list[dict]:
    """The origins of the dead letters whose body holds ``marker`` (every message is put back)."""
    with Connection(bus_uri) as connection:
        channel = connection.channel()
        held = command.hold(channel)
        found = [dict(item.origin) for item in held if marker.encode() in item.body]
        command.put_back(channel, held)
    return found


def wait_for(condition, timeout=30.0, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def dead_lettered_count(queue: str, reason: str) -> float:
    return REGISTRY.get_sample_value("events_dead_lettered_total",
                                     {"service": SERVICE, "queue": queue, "reason": reason}) or 0.0


def test_malformed_messages_are_parked_one_by_one_and_their_batch_is_applied_once(bus_uri, tally):
    event_type = f"dl_mixed_{uuid.uuid4().hex[:8]}"
    row = (SOURCE, event_type, SERVICE, "tally")
    queue_name = event_queue(*row).name
    with Connection(bus_uri) as connection:
        declare_topology(connection, [row])
    marker = uuid.uuid4().hex
    good = [thing(event_type, f"good-{i}-{marker}") for i in range(3)]
    malformed_before = dead_lettered_count(queue_name, "malformed")
    # all in the queue before the consumer starts: one prefetch, one batch
    publish(bus_uri, event_type, json.dumps(good[0]).encode())
    publish(bus_uri, event_type, f"not json {marker}".encode())
    publish(bus_uri, event_type, json.dumps([good[1]]).encode())
    publish(bus_uri, event_type, json.dumps({"no_event_id": marker}).encode())
    publish(bus_uri, event_type, json.dumps(good[2]).encode())

    consumer = RunningConsumer(bus_uri, tally, event_type)
    try:
        assert wait_for(lambda: all(tally.count(event["thing_id"]) for event in good))
        assert wait_for(lambda: len(parked(bus_uri, marker)) >= 2)
        time.sleep(3)                                        # a redelivery loop would show by now
    finally:
        consumer.stop()
    assert consumer.restarts == 0 and consumer.consumer.applied == 3

    assert [tally.count(event["thing_id"]) for event in good] == [1, 1, 1]
    applied = [event_id for call in tally.calls for event_id in call]
    assert sorted(applied) == sorted(event["event_id"] for event in good)     # each handed to the applier once
    origins = parked(bus_uri, marker)
    assert len(origins) == 2
    assert all((where["queue"], where["exchange"], where["routing_key"], where["reason"], where["count"]) ==
               (queue_name, EXCHANGE, event_type, "rejected", 1) for where in origins)
    assert dead_lettered_count(queue_name, "malformed") - malformed_before == 2
    with Connection(bus_uri) as connection:
        assert connection.default_channel.queue_declare(queue_name, passive=True).message_count == 0


def test_a_parked_event_replayed_by_the_command_is_applied_once(bus_uri, tally):
    event_type = f"dl_replay_{uuid.uuid4().hex[:8]}"
    row = (SOURCE, event_type, SERVICE, "tally")
    queue_name = event_queue(*row).name
    with Connection(bus_uri) as connection:
        declare_topology(connection, [row])
    failing, fine = thing(event_type, f"failing-{uuid.uuid4().hex}"), thing(event_type, f"fine-{uuid.uuid4().hex}")
    tally.poison.add(failing["thing_id"])
    consumer = RunningConsumer(bus_uri, tally, event_type)
    try:
        publish(bus_uri, event_type, json.dumps(failing).encode())
        publish(bus_uri, event_type, json.dumps(fine).encode())
        assert wait_for(lambda: len(parked(bus_uri, failing["event_id"])) == 1)
        assert tally.count(fine["thing_id"]) == 1 and tally.count(failing["thing_id"]) == 0
        assert dead_lettered_count(queue_name, "failed") >= 1               # parked by the consumer, counted

        listing = io.StringIO()
        assert command.main(["--uri", bus_uri, "list"], out=listing) == 0
        assert re.search(rf"^{queue_name} +rejected +1$", listing.getvalue(), re.M), listing.getvalue()
        shown = io.StringIO()
        assert command.main(["--uri", bus_uri, "show", "--event-id", failing["event_id"]], out=shown) == 0
        assert failing["event_id"] in shown.getvalue() and "1 shown" in shown.getvalue()

        tally.poison.clear()                                                 # the fault is fixed: replay it
        replayed = io.StringIO()
        assert command.main(["--uri", bus_uri, "replay", "--event-id", failing["event_id"]], out=replayed) == 0
        assert "1 replayed, 0 kept" in replayed.getvalue()
        assert wait_for(lambda: tally.count(failing["thing_id"]) == 1)
        time.sleep(2)
    finally:
        consumer.stop()
    assert consumer.restarts == 0
    assert (tally.count(failing["thing_id"]), tally.count(fine["thing_id"])) == (1, 1)
    assert parked(bus_uri, failing["event_id"]) == []                        # taken out, not parked again


def test_replay_and_drop_need_a_selection():
    with pytest.raises(SystemExit):
        command.main(["replay"])
    with pytest.raises(SystemExit):
        command.main(["drop"])


def test_an_event_no_queue_takes_stays_in_the_outbox_until_a_queue_is_bound(bus_uri, tally):
    subscribed = EventSpec(SOURCE, f"dl_unbound_{uuid.uuid4().hex[:8]}", ("thing_id",))
    unsubscribed = EventSpec(SOURCE, f"dl_nobody_{uuid.uuid4().hex[:8]}", ("thing_id",))
    store = tally.store
    event = subscribed.build("t-dl", thing_id="waiting")
    add_events(store.db, [event, unsubscribed.build("t-dl", thing_id="ignored")], SOURCE)
    relay = Relay(SERVICE, db=store.db, uri=bus_uri, publisher=SOURCE, must_route={(EXCHANGE, subscribed.name)})
    unroutable = REGISTRY.get_sample_value("events_unroutable_total",
                                           {"service": SERVICE, "event_type": subscribed.name}) or 0.0
    try:
        assert relay.run_once() == 1                  # the unsubscribed one: no one listens, marked sent
        entry = store.db.outbox.find_one({"_id": event["event_id"]})
        assert (entry["status"], entry["returned"]) == (UNROUTABLE, 1)
        assert REGISTRY.get_sample_value("events_unroutable_total",
                                         {"service": SERVICE, "event_type": subscribed.name}) == unroutable + 1
        time.sleep(2.5)
        relay.run_once()                              # published again, returned again: still kept
        assert store.db.outbox.find_one({"_id": event["event_id"]})["status"] == UNROUTABLE

        row = (SOURCE, subscribed.name, SERVICE, "tally")
        with Connection(bus_uri) as connection:
            declare_topology(connection, [row])
            queue = event_queue(*row)(connection.default_channel)
            assert wait_for(lambda: relay.run_once() == 1, timeout=20, step=0.5)
            got = []
            assert wait_for(lambda: got.append(queue.get(no_ack=True)) or
                            any(message is not None and message.payload["event_id"] == event["event_id"]
                                for message in got), timeout=5)
        assert store.db.outbox.find_one({"_id": event["event_id"]})["status"] == SENT
    finally:
        relay.close()


def test_a_classic_dead_letter_queue_becomes_a_quorum_queue_with_its_messages():
    vhost = TestVhost()
    with vhost as uri:
        if not vhost.created:
            pytest.skip("no virtual host of this test's own (rabbitmqctl missing or TEST_AMQP_URI set)")
        with Connection(uri) as connection:
            channel = connection.channel()
            old = Queue(DEAD_LETTER_QUEUE, exchange=Exchange(DEAD_LETTER_EXCHANGE, type="fanout", durable=True),
                        durable=True)
            old.declare(channel=channel)              # as the platform declared it before: a classic queue
            for index in range(2):
                channel.basic_publish(amqp.Message(f"old-{index}".encode(), application_headers={
                    "x-first-death-queue": "evt-a-b--c.d", "x-first-death-reason": "rejected"}),
                    exchange=DEAD_LETTER_EXCHANGE, routing_key="")
            assert declare_dead_letters(connection) is False          # refused, and the caller goes on
        out = io.StringIO()
        assert command.main(["--uri", uri, "migrate"], out=out) == 0
        assert "2 message(s) kept" in out.getvalue()
        with Connection(uri) as connection:
            assert declare_dead_letters(connection) is True           # a quorum queue now
            held = command.hold(connection.channel())
            assert sorted(item.body for item in held) == [b"old-0", b"old-1"]
            assert all(item.origin["queue"] == "evt-a-b--c.d" for item in held)
        again = io.StringIO()
        assert command.main(["--uri", uri, "migrate"], out=again) == 0 and "already" in again.getvalue()


def test_the_origin_of_a_dead_letter_is_read_from_the_brokers_headers():
    headers = {"x-first-death-queue": "q1", "x-first-death-exchange": "identity.events",
               "x-first-death-reason": "rejected",
               "x-death": [{"queue": "q2", "reason": "delivery_limit", "count": 1, "exchange": "x",
                            "routing-keys": ["k2"]},
                           {"queue": "q1", "reason": "rejected", "count": 3, "exchange": "identity.events",
                            "routing-keys": ["k1"]}]}
    assert origin(headers) == {"queue": "q1", "exchange": "identity.events", "routing_key": "k1",
                               "reason": "rejected", "count": 3}
    assert origin({})["queue"] == "" and origin(None)["count"] == 1


@pytest.mark.parametrize("waiting", [0, 1])
def test_set_up_replaces_an_empty_classic_dead_letter_queue_and_keeps_one_holding_messages(waiting, capsys):
    from deploy.local.broker import dead_letters_of_other_type, import_definitions

    vhost = TestVhost()
    with vhost as uri:
        if not vhost.created:
            pytest.skip("no virtual host of this test's own (rabbitmqctl missing or TEST_AMQP_URI set)")
        with Connection(uri) as connection:
            channel = connection.channel()
            Queue(DEAD_LETTER_QUEUE, exchange=Exchange(DEAD_LETTER_EXCHANGE, type="fanout", durable=True),
                  durable=True).declare(channel=channel)
            for index in range(waiting):
                channel.basic_publish(amqp.Message(b"parked"), exchange=DEAD_LETTER_EXCHANGE, routing_key="")
        assert wait_for(lambda: dead_letters_of_other_type(vhost.name, ["rabbitmqctl"]) == waiting, timeout=10)
        document = {"vhosts": [{"name": vhost.name}],
                    "exchanges": [{"name": DEAD_LETTER_EXCHANGE, "vhost": vhost.name, "type": "fanout",
                                   "durable": True, "auto_delete": False, "internal": False, "arguments": {}}],
                    "queues": [{"name": DEAD_LETTER_QUEUE, "vhost": vhost.name, "durable": True,
                                "auto_delete": False, "arguments": {"x-queue-type": "quorum"}}],
                    "bindings": [{"source": DEAD_LETTER_EXCHANGE, "vhost": vhost.name,
                                  "destination": DEAD_LETTER_QUEUE, "destination_type": "queue", "routing_key": "",
                                  "arguments": {}}]}
        import_definitions(document, ["rabbitmqctl"])
        with Connection(uri) as connection:
            assert declare_dead_letters(connection) is (waiting == 0)
            assert connection.channel().queue_declare(DEAD_LETTER_QUEUE, passive=True).message_count == waiting
        if waiting:
            assert "python -m deploy.dead_letters migrate" in capsys.readouterr().err
