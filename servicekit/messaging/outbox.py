"""Transactional outbox: events are stored with the state change, then relayed.

Writers call ``add_events(db, events, session)`` inside the same transaction as the
change. ``OutboxRelay`` (a nameko dependency every publishing service declares)
runs one green thread per process; a lease in the database makes one process per
service the relay at a time. It publishes a batch of pending entries to the source's
topic exchanges, persistent, with pipelined publisher confirms (publish all, then wait
once for the acks), and marks sent only what the broker confirmed, so a crash
republishes at worst: consumers are idempotent on event_id. Every message is mandatory: one the broker returns for
want of a queue that a consumer subscribes to stays in the outbox (``UNROUTABLE``) and is published again later.

A service's store subclasses ``OutboxStore``, whose ``commit(writes, events)`` runs the writes and
stores the events in one transaction, then hands the entries to the process's relay and wakes it:
the relay publishes them from memory and only marks them sent, and no other code wakes it. The relay still reads the outbox whenever nothing was handed
over, and at least every ``QUERY_SECONDS`` (entries of other writers and processes, entries whose
publishing failed): a scan batch's bundle cost the store a query and the relay a decode each.
"""
from __future__ import annotations

import json
import logging
import socket
import time
import uuid
from collections import OrderedDict, defaultdict, deque
from datetime import timedelta
from typing import Callable

import amqp
import eventlet
from kombu import Connection, Exchange
from nameko.constants import AMQP_SSL_CONFIG_KEY
from nameko.extensions import DependencyProvider
from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from servicekit.process.config import AMQP_SSL_FROM_ENV, amqp_connection, amqp_uri, database_name, env
from servicekit.timestamps import parse_stamp, stamp, utc_now
from servicekit.process.metrics import (EVENTS_PUBLISHED, EVENTS_UNROUTABLE, OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE,
                                        OUTBOX_UNROUTABLE)
from servicekit.errors import Conflict
from servicekit.security.proofs import event_headers
from servicekit.storage.mongo import Store, is_duplicate, shared_client
from servicekit.messaging.topology import SUBSCRIPTIONS, declare_publisher_topology

log = logging.getLogger(__name__)

# what a service database holds for messaging: the outbox, the relay's lease, and the ids of consumed events
MESSAGING_COLLECTIONS = {"outbox": ["status", "created_at"], "outbox_lease": [], "processed_events": []}
PENDING, SENT = "pending", "sent"
# returned by the broker (mandatory publishing: no queue bound) although a consumer subscribes: kept, published again
# from its ``retry_at`` on, with back-off, until a queue takes it
UNROUTABLE = "unroutable"
RETRY_QUERY_SECONDS = 2.0
RETRY_FIRST_SECONDS, RETRY_MAX_SECONDS = 1.0, 60.0
LEASE_SECONDS = 10
BATCH = 500
CONFIRM_TIMEOUT_SECONDS = 10.0
QUERY_SECONDS = 1.0
READ_IDS_KEPT = 5_000
KEEP_SENT = timedelta(days=7)
EPOCH = "1970-01-01T00:00:00.000Z"


def outbox_entry(event: dict) -> dict:
    source = event.get("_source") or event["event_type"].split(".")[0]
    payload = {key: value for key, value in event.items() if key != "_source"}
    return {"_id": event["event_id"], "exchange": f"{source}.events", "routing_key": event["event_type"],
            "payload": payload, "status": PENDING, "created_at": stamp(), "attempts": 0}


def encode_body(payload) -> str:
    """A message body as the relay sends it: JSON text (UTF-8 on the wire)."""
    return json.dumps(payload, ensure_ascii=False)


def bundle_entry(events: list[dict], source: str) -> dict:
    """One outbox entry carrying many events: one insert for a whole batch of changes.

    The entry holds its messages already encoded, ``[exchange, routing_key, body, events]`` each: the
    events of the bundle that share a routing key form one message whose body is their list, in order (a
    lone event's body is the event itself). Stored as text, an entry costs the embedded store a few
    strings to copy, encode and decode instead of a few hundred fields (about half the store CPU per
    event for the insert, the relay's read and its mark: ``python -m bench.store_costs``), and the relay
    publishes the text as it is."""
    groups: dict[str, list[dict]] = {}
    for event in events:
        groups.setdefault(event["event_type"], []).append(event)
    messages = [[f"{source}.events", routing_key, encode_body(grouped[0] if len(grouped) == 1 else grouped),
                 len(grouped)] for routing_key, grouped in groups.items()]
    return {"_id": uuid.uuid4().hex, "messages": messages, "status": PENDING, "created_at": stamp(), "attempts": 0}


def amqp_messages(entry: dict) -> list[tuple[str, str, str, int]]:
    """What the relay publishes for an entry: ``(exchange, routing_key, body text, number of events)``.

    A bundle's events of one routing key travel as one message whose body is their list, in order, so
    a scan batch of 20 sign-ins is one message to each of its queues instead of 20, which was most of
    the broker's work per scan (servicekit.messaging.consumers unpacks it)."""
    if "messages" in entry:
        return [(exchange, routing_key, body, count) for exchange, routing_key, body, count in entry["messages"]]
    return [(entry["exchange"], entry["routing_key"], encode_body(entry["payload"]), 1)]


def add_events(db, events: list[dict], source: str, session=None, bundle: bool | int = False) -> list[dict]:
    """Store events to publish from ``source`` as part of the caller's transaction; the entries stored.

    ``bundle=True`` stores them as one entry (published in order, marked sent together); ``bundle=N`` as entries
    of at most N events each (none too large a message)."""
    if not events:
        return []
    if bundle:
        size = len(events) if bundle is True else int(bundle)
        entries = [bundle_entry(events[start:start + size], source) for start in range(0, len(events), size)]
    else:
        entries = [{**outbox_entry({**event, "_source": source})} for event in events]
    if len(entries) == 1:
        db.outbox.insert_one(entries[0], session=session)
    else:
        db.outbox.insert_many(entries, ordered=True, session=session)
    return entries


# database name -> committed entries not relayed yet; bounded for a process that commits with no relay running
# (an entry pushed out stays pending in the store, where the relay's reads find it)
HANDED_OVER_KEPT = 20 * BATCH
_handed_over: defaultdict[str, deque] = defaultdict(lambda: deque(maxlen=HANDED_OVER_KEPT))


# database name -> how to wake the relay of this process that publishes it (set while one runs)
_wakers: dict[str, Callable[[], None]] = {}


def note_committed(db, entries: list[dict]) -> None:
    """Entries of ``add_events`` whose transaction has committed: this process's relay publishes them without
    reading them back (they stay pending in the store until it marks them sent, as any other), woken now."""
    if not entries:
        return
    _handed_over[db.name].extend(entries)
    wake = _wakers.get(db.name)
    if wake is not None:
        wake()


class OutboxStore(Store):
    """A service database that publishes events. ``source``: the publishing service (exchange
    ``<source>.events``); ``duplicate``: ``(code, message)`` of the Conflict a unique index's refusal
    becomes in ``commit`` (None: the error passes as it is)."""

    collections = MESSAGING_COLLECTIONS
    source = ""
    duplicate: tuple[str, str] | None = None

    def commit(self, writes, events=(), bundle: bool | int = False, duplicate: tuple[str, str] | None = None):
        """Run ``writes(session)`` and store ``events`` in the outbox in one transaction, then hand the entries
        to this process's relay. Returns what ``writes`` returned."""
        duplicate = duplicate or self.duplicate
        if events and not self.source:
            raise ValueError(f"{type(self).__name__} commits events but names no source (its exchange)")

        def run(session):
            # run again from the start on a transient error (Store.run_transaction): new entries each run, and what
            # ``writes`` gathered in lists of its caller's (often ``events`` itself) put back first
            result = writes(session)
            self.commit_also(session, events)
            return result, add_events(self.db, list(events), self.source, session=session, bundle=bundle)
        try:
            result, entries = self.run_transaction(run, keeps=(writes, events))
        except (DuplicateKeyError, BulkWriteError) as error:
            if duplicate is not None and is_duplicate(error):
                raise Conflict(duplicate[1], code=duplicate[0]) from error
            raise
        note_committed(self.db, entries)
        return result

    def commit_also(self, session, events) -> None:
        """Writes a store adds to every commit of ``events``, in the same transaction (none here)."""


class Relay:
    """Publishes pending outbox entries of one service database. Usable without nameko. Each message is signed as
    ``publisher`` (the service itself unless named: servicekit.security.proofs), whose private key it needs.
    ``ssl_options``: TLS as nameko's ``AMQP_SSL`` (servicekit.process.config.amqp_ssl); the environment's by default."""

    def __init__(self, service_name: str, db=None, uri: str | None = None, publisher: str | None = None,
                 ssl_options=AMQP_SSL_FROM_ENV, must_route=None):
        """``must_route``: the (exchange, routing key) pairs a consumer subscribes to (default: those of
        ``topology.SUBSCRIPTIONS``). Every event is published mandatory; one the broker returns is kept in the
        outbox as unroutable when its pair is in ``must_route``, and counted as sent otherwise (no one listens)."""
        self.service_name, self.publisher = service_name, publisher or service_name
        self.must_route = frozenset(must_route if must_route is not None else
                                    ((f"{source}.events", event_type) for source, event_type, _, _ in SUBSCRIPTIONS))
        self._returned: set[tuple[str, str, str]] = set()       # (entry id, exchange, routing key) of this batch
        self._retried_at = float("-inf")     # monotonic time of the last read of unroutable entries
        self._unroutable_waiting: bool | None = None     # whether any wait (None: to be asked once)
        self.db = db if db is not None else shared_client()[database_name(service_name)]
        self.uri = uri or amqp_uri()
        self.ssl_options = ssl_options
        self.holder = f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self._connection: Connection | None = None
        self._exchanges: dict[str, Exchange] = {}
        self._last_purge = 0.0
        self.holds_lease = False
        self._renew_after = float("-inf")    # monotonic time from which our lease is renewed again
        self._queried_at = float("-inf")     # monotonic time of the last read of the outbox
        self._read: OrderedDict[str, None] = OrderedDict()   # ids of the latest entries read (READ_IDS_KEPT)
        self._ensure_lease_document()

    def _ensure_lease_document(self) -> None:
        try:
            self.db.outbox_lease.insert_one({"_id": "relay", "holder": None, "expires_at": EPOCH})
        except DuplicateKeyError:
            pass

    def hold_lease(self) -> bool:
        """Renew our lease, or take it over once it has expired (two plain filters: nx-27017 mis-answers $or).

        A lease renewed less than half its length ago is ours without asking the store: no one else may take
        it before it expires (the relay loops after every batch; a renewal each time was a write each time)."""
        if time.monotonic() < self._renew_after:
            return True
        now = utc_now()
        renewed = {"$set": {"holder": self.holder, "expires_at": stamp(now + timedelta(seconds=LEASE_SECONDS))}}
        for condition in ({"holder": self.holder}, {"expires_at": {"$lt": stamp(now)}}):
            if self.db.outbox_lease.find_one_and_update({"_id": "relay", **condition}, renewed,
                                                        return_document=ReturnDocument.AFTER) is not None:
                self._renew_after = time.monotonic() + LEASE_SECONDS / 2
                return True
        return False

    def release_lease(self) -> None:
        self._renew_after = float("-inf")
        self.db.outbox_lease.update_one({"_id": "relay", "holder": self.holder},
                                        {"$set": {"holder": None, "expires_at": EPOCH}})

    def _channel(self):
        """A channel in confirm mode: publish a whole batch, then wait once for the broker's acks."""
        if self._connection is None:
            self._connection = amqp_connection(self.uri, self.ssl_options)
            self._connection.ensure_connection(max_retries=3)
            declare_publisher_topology(self._connection, self.uri)
            channel = self._connection.default_channel
            channel.confirm_select()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            channel.events["basic_return"].add(self._on_return)
            self._next_tag, self._unconfirmed, self._nacked = 1, set(), False
        return self._connection.default_channel

    def _on_ack(self, delivery_tag, multiple):
        if multiple:
            self._unconfirmed = {tag for tag in self._unconfirmed if tag > delivery_tag}
        else:
            self._unconfirmed.discard(delivery_tag)

    def _on_return(self, error, exchange, routing_key, message):
        """basic.return of a mandatory message no queue took; it comes before that message's confirm."""
        entry_id = str((message.properties or {}).get("message_id", "")).rsplit("/", 1)[0]
        self._returned.add((entry_id, exchange, routing_key))

    def _on_nack(self, delivery_tag, multiple):
        self._nacked = True
        self._on_ack(delivery_tag, multiple)

    def _exchange(self, name: str) -> str:
        if name not in self._exchanges:
            exchange = Exchange(name, type="topic", durable=True, delivery_mode=2)
            exchange.declare(channel=self._channel())
            self._exchanges[name] = exchange
        return name

    def _drop_connection(self) -> None:
        if self._connection is not None:
            try:
                self._connection.release()
            except Exception:  # noqa: BLE001  the connection is being thrown away
                pass
        self._connection = None
        self._exchanges.clear()

    def next_entries(self) -> list[dict]:
        """The entries handed over by this process's writers or, when none were or the last read is older than
        ``QUERY_SECONDS``, the oldest pending ones in the store. An entry is taken once either way: a read can
        find an entry before its writer, back from the commit, hands it over (the ids of the latest entries
        read are kept for that), or while it waits to be taken."""
        handed = _handed_over[self.db.name]
        if handed and time.monotonic() - self._queried_at < QUERY_SECONDS:
            taken = [handed.popleft() for _ in range(min(len(handed), BATCH))]
            return [entry for entry in taken if entry["_id"] not in self._read]
        entries = list(self.db.outbox.find({"status": PENDING}).sort("created_at", 1).limit(BATCH))
        self._queried_at = time.monotonic()
        self._report_backlog(entries)
        for entry in entries:
            self._read[entry["_id"]] = None
        while len(self._read) > READ_IDS_KEPT:
            self._read.popitem(last=False)
        kept = [entry for entry in handed if entry["_id"] not in self._read]
        handed.clear()
        handed.extend(kept)
        return entries

    def publish_pending(self) -> int:
        """Publish one batch with pipelined publisher confirms; mark sent only what the broker confirmed and a
        queue took (or no consumer subscribes to)."""
        entries = self.next_entries()
        taken = {entry["_id"] for entry in entries}
        entries += [entry for entry in self.due_unroutable() if entry["_id"] not in taken]
        if not entries:
            return 0
        published, self._returned = [], set()
        try:
            channel = self._channel()
            last_tag_of = {}
            for entry in entries:
                for index, (exchange, routing_key, body, _) in enumerate(amqp_messages(entry)):
                    data = body.encode()
                    proof = event_headers(exchange, data, self.publisher)     # consumers apply only proven events
                    # mandatory: a message no queue takes is returned (basic.return) rather than confirmed and lost
                    channel.basic_publish(amqp.Message(data, content_type="application/json", content_encoding="utf-8",
                                                       delivery_mode=2, application_headers=proof,
                                                       message_id=f"{entry['_id']}/{index}"),
                                          exchange=self._exchange(exchange), routing_key=routing_key, mandatory=True)
                    self._unconfirmed.add(self._next_tag)
                    self._next_tag += 1
                last_tag_of[entry["_id"]] = self._next_tag - 1
            deadline = time.monotonic() + CONFIRM_TIMEOUT_SECONDS
            while self._unconfirmed and time.monotonic() < deadline:
                self._connection.drain_events(timeout=max(0.01, deadline - time.monotonic()))
            if self._nacked:
                raise RuntimeError("the broker refused (nacked) a message")
            oldest_unconfirmed = min(self._unconfirmed, default=self._next_tag)
            published = [entry_id for entry_id, tag in last_tag_of.items() if tag < oldest_unconfirmed]
            if self._unconfirmed:
                raise TimeoutError(f"{len(self._unconfirmed)} messages not confirmed in time")
        except Exception:
            log.exception("outbox relay of %s: publish failed, will retry", self.service_name)
            self._drop_connection()
        published = self._keep_unroutable(entries, published)
        for entry in entries:
            if entry["_id"] in published:
                for _, routing_key, _, count in amqp_messages(entry):
                    EVENTS_PUBLISHED.labels(self.service_name, routing_key).inc(count)
        log.debug("outbox relay of %s published %d of %d", self.service_name, len(published), len(entries))
        if published:
            self.db.outbox.update_many({"_id": {"$in": published}},
                                       {"$set": {"status": SENT, "sent_at": stamp()}})
        return len(published)

    def _keep_unroutable(self, entries: list[dict], published: list) -> list:
        """``published`` less the entries of which a message was returned for want of a queue a consumer should
        have bound: those are marked unroutable, to be published again after a back-off, counted and logged."""
        kept = {}
        for entry_id, exchange, routing_key in self._returned:
            if (exchange, routing_key) in self.must_route and entry_id in published:
                kept.setdefault(entry_id, set()).add((exchange, routing_key))
        self._returned = set()
        if not kept:
            return published
        self._unroutable_waiting = True
        now = utc_now()
        for entry in entries:
            if entry["_id"] not in kept:
                continue
            returned = int(entry.get("returned", 0))
            delay = min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2 ** returned)
            self.db.outbox.update_one({"_id": entry["_id"]}, {"$set": {
                "status": UNROUTABLE, "returned": returned + 1, "retry_at": stamp(now + timedelta(seconds=delay))}})
            for exchange, routing_key, _, count in amqp_messages(entry):
                if (exchange, routing_key) in kept[entry["_id"]]:
                    EVENTS_UNROUTABLE.labels(self.service_name, routing_key).inc(count)
        log.warning("outbox relay of %s: %d entries unroutable (no queue bound for %s); kept, published again later",
                    self.service_name, len(kept), sorted({pair for pairs in kept.values() for pair in pairs}))
        return [entry_id for entry_id in published if entry_id not in kept]

    def due_unroutable(self) -> list[dict]:
        """Unroutable entries whose ``retry_at`` has come, oldest first: read every ``RETRY_QUERY_SECONDS`` while any
        wait, and otherwise not at all (asked once when the relay takes the lease: another relay may have left some)."""
        if self._unroutable_waiting is None:
            self._unroutable_waiting = self.db.outbox.find_one({"status": UNROUTABLE}, {"_id": 1}) is not None
        if not self._unroutable_waiting:
            OUTBOX_UNROUTABLE.labels(self.service_name).set(0)
            return []
        if time.monotonic() - self._retried_at < RETRY_QUERY_SECONDS:
            return []
        self._retried_at = time.monotonic()
        waiting = list(self.db.outbox.find({"status": UNROUTABLE}).sort("created_at", 1).limit(BATCH))
        self._unroutable_waiting = bool(waiting)
        OUTBOX_UNROUTABLE.labels(self.service_name).set(
            len(waiting) if len(waiting) < BATCH else
            len(list(self.db.outbox.find({"status": UNROUTABLE}, {"_id": 1}).limit(100_000))))
        now = stamp()
        return [entry for entry in waiting if entry.get("retry_at", EPOCH) <= now]

    def _report_backlog(self, batch: list[dict]) -> None:
        if len(batch) < BATCH:
            backlog = len(batch)
        else:
            backlog = len(list(self.db.outbox.find({"status": PENDING}, {"_id": 1}).limit(100_000)))
        OUTBOX_BACKLOG.labels(self.service_name).set(backlog)
        oldest = batch[0]["created_at"] if batch else None
        OUTBOX_OLDEST_AGE.labels(self.service_name).set(
            (utc_now() - parse_stamp(oldest)).total_seconds() if oldest else 0)

    def purge_sent(self) -> None:
        if time.monotonic() - self._last_purge < 3600:
            return
        self._last_purge = time.monotonic()
        self.db.outbox.delete_many({"status": SENT, "created_at": {"$lt": stamp(utc_now() - KEEP_SENT)}})

    def run_once(self) -> int:
        held, self.holds_lease = self.holds_lease, self.hold_lease()
        if self.holds_lease and not held:
            self._unroutable_waiting = None
        if not self.holds_lease:
            _handed_over[self.db.name].clear()        # the holder reads them from the store
            return 0
        published = self.publish_pending()
        self.purge_sent()
        return published

    def close(self) -> None:
        self._drop_connection()
        try:
            self.release_lease()
        except PyMongoError:
            pass


class OutboxRelay(DependencyProvider):
    """Declare ``relay = OutboxRelay()`` on a publishing service; its store's commits wake it."""

    def __init__(self):
        self._wake = None
        self._running = False
        self.relay: Relay | None = None

    def start(self):
        self.relay = Relay(self.container.service_name, uri=self.container.config.get("AMQP_URI"),
                           ssl_options=self.container.config.get(AMQP_SSL_CONFIG_KEY))
        self._wake = eventlet.event.Event()
        self._running = True
        _wakers[self.relay.db.name] = self.wake
        self.container.spawn_managed_thread(self._loop, identifier="outbox_relay")

    def stop(self):
        self._running = False
        if self.relay is not None and _wakers.get(self.relay.db.name) == self.wake:
            del _wakers[self.relay.db.name]
        self.wake()

    def kill(self):
        self._running = False

    def wake(self):
        if self._wake is not None and not self._wake.ready():
            self._wake.send()

    def _loop(self):
        poll = float(env("OUTBOX_POLL_SECONDS", "0.2"))
        while self._running:
            try:
                published = self.relay.run_once()
            except Exception:
                log.exception("outbox relay loop error")
                published = 0
            if not self.relay.holds_lease:
                log.debug("outbox relay of %s: another process holds the lease", self.relay.service_name)
            if published >= BATCH:
                continue            # a full batch: more are likely pending
            # Otherwise everything pending was published: wait for the next commit's wake (one that came
            # while publishing has set the event already) instead of a query that would find nothing.
            with eventlet.Timeout(poll, False):
                self._wake.wait()
            self._wake = eventlet.event.Event()
        self.relay.close()

    def get_dependency(self, worker_ctx):
        return self
