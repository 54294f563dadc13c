"""The shared wiring against the real store and broker: idempotent consumption, outbox relay, metrics."""
import re
import time
from contextlib import contextmanager
import uuid
import urllib.request

import pytest
from kombu import Connection

from servicekit.messaging.events import EventSpec
from servicekit.storage.mongo import open_store
from servicekit.messaging.outbox import OutboxStore, Relay, add_events, note_committed
from servicekit.messaging.topology import declare_topology, event_queue

PUBLISHER = "identity"      # the relays here publish made-up services' entries; they sign with a real key

pytestmark = pytest.mark.integration
SAMPLE = EventSpec("wiringtest", "thing_happened", ("thing_id",))


class TallyStore(OutboxStore):
    source = "wiringtest"
    collections = {"tallies": []}


def test_the_relay_publishes_each_pending_entry_with_confirms_and_marks_it_sent(mongo_uri, bus_uri):
    store = open_store(TallyStore, "wiring_relay")
    subscription = ("wiringtest", "thing_happened", "watcher", "on_thing")
    with Connection(bus_uri) as connection:
        declare_topology(connection, [subscription])
        queue = event_queue(*subscription)(connection.default_channel)
        queue.purge()
        events = [SAMPLE.build("tenant-a", thing_id=f"r{i}") for i in range(5)]
        with store.transaction() as session:
            add_events(store.db, events, "wiringtest", session=session)
        relay = Relay("wiring_relay", db=store.db, uri=bus_uri, publisher=PUBLISHER)
        assert relay.run_once() == 5
        assert relay.run_once() == 0
        relay.close()
        got = []
        deadline = time.monotonic() + 5
        while len(got) < 5 and time.monotonic() < deadline:
            message = queue.get(no_ack=True)
            if message is not None:
                got.append(message.payload["thing_id"])
        assert sorted(got) == [f"r{i}" for i in range(5)]
        assert store.db.outbox.find_one({"status": "pending"}) is None


def test_a_bundled_entry_travels_as_one_message_per_routing_key_with_its_events_in_order(mongo_uri, bus_uri):
    store = open_store(TallyStore, "wiring_bundle")
    things = ("wiringtest", "thing_happened", "watcher", "on_bundle")
    others = ("wiringtest", "other_happened", "watcher", "on_bundle")
    other = EventSpec("wiringtest", "other_happened", ("thing_id",))
    with Connection(bus_uri) as connection:
        declare_topology(connection, [things, others])
        thing_queue, other_queue = (event_queue(*row)(connection.default_channel) for row in (things, others))
        thing_queue.purge()
        other_queue.purge()
        events = [SAMPLE.build("tenant-a", thing_id="b0"), other.build("tenant-a", thing_id="o0"),
                  SAMPLE.build("tenant-a", thing_id="b1"), SAMPLE.build("tenant-a", thing_id="b2")]
        with store.transaction() as session:
            add_events(store.db, events, "wiringtest", session=session, bundle=True)
        relay = Relay("wiring_bundle", db=store.db, uri=bus_uri, publisher=PUBLISHER)
        assert relay.run_once() == 1                              # one outbox entry
        relay.close()

        def next_message(queue):
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                message = queue.get(no_ack=True)
                if message is not None:
                    return message
            raise AssertionError("nothing arrived")
        bundled = next_message(thing_queue).payload
        assert [event["thing_id"] for event in bundled] == ["b0", "b1", "b2"]
        assert [event["event_id"] for event in bundled] == [events[0]["event_id"], events[2]["event_id"],
                                                           events[3]["event_id"]]
        assert next_message(other_queue).payload["thing_id"] == "o0"   # a lone event stays a plain body
        assert thing_queue.get(no_ack=True) is None


class CountingFinds:
    """The outbox collection of a database, counting the relay's reads of it."""

    def __init__(self, db):
        self.db, self.finds = db, 0

    def __getattr__(self, name):
        return getattr(self.db, name)

    @property
    def outbox(self):
        outer = self

        class Outbox:
            def __getattr__(self, name):
                return getattr(outer.db.outbox, name)

            def find(self, *args, **kwargs):
                outer.finds += 1
                return outer.db.outbox.find(*args, **kwargs)
        return Outbox()


def drain(queue, count: int) -> list:
    got, deadline = [], time.monotonic() + 5
    while len(got) < count and time.monotonic() < deadline:
        message = queue.get(no_ack=True)
        if message is not None:
            got.append(message.payload["thing_id"])
    return got


def commit(store, events: list[dict], handed: bool) -> list[dict]:
    with store.transaction() as session:
        entries = add_events(store.db, events, "wiringtest", session=session, bundle=True)
    if handed:
        note_committed(store.db, entries)
    return entries


@contextmanager
def watched(bus_uri: str, method: str):
    """A fresh store and the purged queue its thing_happened events reach."""
    store = open_store(TallyStore, f"wiring_handed_{uuid.uuid4().hex[:6]}")
    subscription = ("wiringtest", "thing_happened", "watcher", method)
    with Connection(bus_uri) as connection:
        declare_topology(connection, [subscription])
        queue = event_queue(*subscription)(connection.default_channel)
        queue.purge()
        yield store, queue


def assert_published_once(queue, thing_ids: list[str]) -> None:
    assert sorted(drain(queue, len(thing_ids))) == sorted(thing_ids)
    time.sleep(0.3)
    assert queue.get(no_ack=True) is None                    # and nothing twice


def test_entries_handed_over_are_published_without_reading_the_outbox_and_others_still_are(mongo_uri, bus_uri):
    with watched(bus_uri, "on_handed") as (store, queue):
        counting = CountingFinds(store.db)
        relay = Relay("wiring_handed", db=counting, uri=bus_uri, publisher=PUBLISHER)
        commit(store, [SAMPLE.build("tenant-a", thing_id="h0")], handed=False)     # another writer's
        assert relay.run_once() == 1 and counting.finds == 1                      # nothing handed: read
        commit(store, [SAMPLE.build("tenant-a", thing_id="h1")], handed=True)
        commit(store, [SAMPLE.build("tenant-a", thing_id="h2")], handed=True)
        commit(store, [SAMPLE.build("tenant-a", thing_id="h3")], handed=False)
        assert relay.run_once() == 2 and counting.finds == 1                      # from memory
        relay._queried_at -= 60                                                   # the periodic read is due
        assert relay.run_once() == 1 and counting.finds == 2                      # h3, by reading
        relay.close()
        assert_published_once(queue, ["h0", "h1", "h2", "h3"])
        assert store.db.outbox.count_documents({"status": "pending"}) == 0


def test_a_commit_in_sized_bundles_hands_every_bundle_over_and_wakes_the_relay(mongo_uri, bus_uri):
    from servicekit.messaging import outbox
    with watched(bus_uri, "on_sized") as (store, queue):
        woken = []
        outbox._wakers[store.db.name] = lambda: woken.append(True)
        try:
            counting = CountingFinds(store.db)
            relay = Relay("wiring_sized", db=counting, uri=bus_uri, publisher=PUBLISHER)
            relay.run_once()                                                      # the first read: nothing yet
            finds = counting.finds
            things = [f"s{i}" for i in range(5)]
            store.commit(lambda session: None, [SAMPLE.build("tenant-a", thing_id=t) for t in things], bundle=2)
            assert woken == [True]
            assert store.db.outbox.count_documents({}) == 3                      # 2 + 2 + 1 events
            assert relay.run_once() == 3 and counting.finds == finds              # all three from memory
            relay.close()
            bodies, deadline = [], time.monotonic() + 5
            while len(bodies) < 3 and time.monotonic() < deadline:
                message = queue.get(no_ack=True)
                if message is not None:
                    bodies.append(message.payload)
            events = [event for body in bodies for event in (body if isinstance(body, list) else [body])]
            assert [len(body) if isinstance(body, list) else 1 for body in bodies] == [2, 2, 1]
            assert [event["thing_id"] for event in events] == things
        finally:
            outbox._wakers.pop(store.db.name, None)


def test_an_entry_both_handed_over_and_read_is_published_once(mongo_uri, bus_uri):
    with watched(bus_uri, "on_handed_once") as (store, queue):
        relay = Relay("wiring_handed", db=store.db, uri=bus_uri, publisher=PUBLISHER)
        relay._queried_at -= 60                                  # a read is due: it finds the handed entry too
        commit(store, [SAMPLE.build("tenant-a", thing_id="o1")], handed=True)
        assert relay.run_once() == 1 and relay.run_once() == 0
        relay.close()
        assert_published_once(queue, ["o1"])


def test_an_entry_read_before_its_writer_hands_it_over_is_published_once(mongo_uri, bus_uri):
    """The writer's commit returns after the relay (another green thread) has read and published the entry."""
    with watched(bus_uri, "on_handed_late") as (store, queue):
        relay = Relay("wiring_handed", db=store.db, uri=bus_uri, publisher=PUBLISHER)
        entries = commit(store, [SAMPLE.build("tenant-a", thing_id="w1")], handed=False)
        assert relay.run_once() == 1                             # read from the store
        note_committed(store.db, entries)                        # the writer, back from its commit
        commit(store, [SAMPLE.build("tenant-a", thing_id="w2")], handed=True)
        assert relay.run_once() == 1 and relay.run_once() == 0   # w2 only
        relay.close()
        assert_published_once(queue, ["w1", "w2"])


def test_a_relay_without_the_lease_leaves_handed_entries_to_the_holder(mongo_uri, bus_uri):
    store = open_store(TallyStore, f"wiring_handed_{uuid.uuid4().hex[:6]}")
    holder, other = Relay("wiring_handed", db=store.db, uri=bus_uri, publisher=PUBLISHER), Relay("wiring_handed", db=store.db, uri=bus_uri, publisher=PUBLISHER)
    assert holder.hold_lease() and not other.hold_lease()
    commit(store, [SAMPLE.build("tenant-a", thing_id="l1")], handed=True)
    assert other.run_once() == 0                                  # dropped from memory, still pending
    assert store.db.outbox.count_documents({"status": "pending"}) == 1
    assert holder.run_once() == 1 and store.db.outbox.count_documents({"status": "pending"}) == 0
    holder.close()
    other.close()


def test_only_one_relay_holds_the_lease_at_a_time(mongo_uri, bus_uri):
    store = open_store(TallyStore, "wiring_lease")
    first, second = Relay("wiring_lease", db=store.db, uri=bus_uri, publisher=PUBLISHER), Relay("wiring_lease", db=store.db, uri=bus_uri, publisher=PUBLISHER)
    assert first.hold_lease() is True
    assert second.hold_lease() is False
    first.release_lease()
    assert second.hold_lease() is True


def test_a_lease_renewed_within_half_its_length_is_not_written_again(mongo_uri, bus_uri):
    store = open_store(TallyStore, "wiring_lease_renewal")
    relay = Relay("wiring_lease_renewal", db=store.db, uri=bus_uri, publisher=PUBLISHER)
    assert relay.hold_lease() is True
    written = store.db.outbox_lease.find_one({"_id": "relay"})["expires_at"]
    time.sleep(0.01)
    assert relay.hold_lease() is True                        # still ours: no store write
    assert store.db.outbox_lease.find_one({"_id": "relay"})["expires_at"] == written
    relay._renew_after = time.monotonic()                     # half the lease has gone by
    time.sleep(0.01)
    assert relay.hold_lease() is True
    assert store.db.outbox_lease.find_one({"_id": "relay"})["expires_at"] > written


def test_the_service_serves_prometheus_metrics_by_operation_and_outcome(identity_service, city):
    body = urllib.request.urlopen(f"http://127.0.0.1:{identity_service.metrics_port}/metrics", timeout=5).read()
    text = body.decode()
    assert 'service_rpc_seconds_count{operation="create_org",outcome="ok",service="identity"}' in text
    assert "outbox_backlog" in text and "events_published_total" in text


def test_an_idempotent_batch_that_loses_a_race_for_a_key_is_applied_again_on_what_is_written(mongo_uri):
    from servicekit.messaging.consumers import apply_idempotent

    store = open_store(TallyStore, f"wiring_idempotent_{uuid.uuid4().hex[:6]}")
    store.db.tallies.insert_one({"_id": "entry-1", "by": "the other consumer"})
    attempts = []

    def effect(session, events):
        stale = not attempts                                  # the first attempt read before the other wrote
        attempts.append(1)
        existing = set() if stale else {doc["_id"] for doc in store.db.tallies.find(
            {"_id": {"$in": ["entry-1", "entry-2"]}}, session=session)}
        store.db.tallies.insert_many([{"_id": key, "by": "this consumer"} for key in ("entry-2", "entry-1")
                                      if key not in existing], ordered=True, session=session)

    apply_idempotent(store, "tally", [SAMPLE.build("tenant-a", thing_id="t1")], effect)
    assert len(attempts) == 2
    assert {doc["_id"]: doc["by"] for doc in store.db.tallies.find()} == {"entry-1": "the other consumer",
                                                                          "entry-2": "this consumer"}
    assert store.db.processed_events.count_documents({}) == 0


def test_entries_handed_over_with_no_relay_running_are_bounded_in_memory(mongo_uri):
    """A process that commits without a relay (a script, a test) keeps at most HANDED_OVER_KEPT entries in
    memory; the ones pushed out stay pending in the store for a relay's read."""
    from servicekit.messaging import outbox
    store = open_store(TallyStore, f"wiring_handed_{uuid.uuid4().hex[:6]}")
    note_committed(store.db, [{"_id": str(n)} for n in range(outbox.HANDED_OVER_KEPT + 10)])
    kept = outbox._handed_over[store.db.name]
    assert len(kept) == outbox.HANDED_OVER_KEPT and kept[0]["_id"] == "10"
    kept.clear()


def test_a_started_service_freezes_its_start_up_and_times_its_collections(identity_service, city):
    """The runner freezes what the start-up left (servicekit.process.collector) and serves the collector's pauses."""
    log = identity_service.log_path.read_text(errors="replace")
    frozen = re.search(r"(\d+) objects of its start-up frozen", log)
    assert frozen and int(frozen.group(1)) > 10_000
    body = urllib.request.urlopen(f"http://127.0.0.1:{identity_service.metrics_port}/metrics"
                                  "?name[]=process_gc_pause_seconds_count", timeout=5).read().decode()
    assert 'process_gc_pause_seconds_count{generation="2"}' in body
    assert sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
               if line.startswith("process_gc_pause_seconds_count")) > 0
    family = urllib.request.urlopen(f"http://127.0.0.1:{identity_service.metrics_port}/metrics"
                                    "?name[]=process_gc_pause_seconds", timeout=5).read().decode()
    assert 'process_gc_pause_seconds_count{generation="2"}' in family and "process_gc_pause_seconds_bucket{" in family
