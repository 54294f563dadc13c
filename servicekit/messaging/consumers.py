"""Batched, reliable event consumption for high-volume streams.

nameko's event handler runs one worker and one transaction per message (~600 events/s
here). ``BatchEventConsumer`` is a nameko dependency that runs one kombu consumer per
process on the same declared quorum queues (``servicekit.messaging.topology.event_queue``), with a
large prefetch. A message's body is one event, or a list of events of one type (the
relay sends a bundled outbox entry that way, ``servicekit.messaging.outbox.amqp_messages``). It
gathers up to ``max_batch`` events or ``max_wait_ms``, hands them to its applier in one
call and acks their messages only after the applier returned: a crash before the ack
redelivers the batch, and ``apply_once`` (or, for an effect idempotent by keys of its own,
``apply_idempotent``) makes the redelivery a no-op. A batch that
fails is retried one message, then one event, at a time; a message with an event that
keeps failing is requeued (its other events are no-ops the next time) and, after the
queue's delivery limit, parked on the dead-letter exchange (by the consumer on its last delivery, counted). A body
that is not JSON, or not an event or a list of events with ids, is parked alone, its batch applied without it
(servicekit.messaging.dead_letters). A message that does not carry its publisher's proof
(``servicekit.security.proofs.verify_event``: signed by the service that owns the exchange) is never applied: it
is parked on the dead-letter exchange at once and counted as ``refused``.
"""
from __future__ import annotations

import logging
import socket
import time

import eventlet
from kombu import Consumer
from nameko.constants import AMQP_SSL_CONFIG_KEY
from nameko.extensions import DependencyProvider
from prometheus_client import Gauge, Histogram
from pymongo.errors import BulkWriteError, DuplicateKeyError

from servicekit.errors import ServiceError
from servicekit.process.config import amqp_connection
from servicekit.security.proofs import verify_event
from servicekit.timestamps import parse_stamp
from servicekit.process.metrics import EVENTS_CONSUMED
from servicekit.storage.mongo import is_duplicate
from servicekit.messaging.dead_letters import DEAD_LETTERS, park
from servicekit.messaging.topology import (DEAD_LETTER_QUEUE, DELIVERY_LIMIT, declare_consumer_topology,
                                          declares_whole_topology, event_queue)

log = logging.getLogger(__name__)

BATCH_SIZE = Histogram("event_batch_size", "Events per applied batch", ["service", "consumer"],
                       buckets=(1, 10, 50, 100, 250, 500, 1000, 2000))
BATCH_SECONDS = Histogram("event_batch_seconds", "Time to apply one batch", ["service", "consumer"],
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
# Where an event's way to its effect goes: this is from the event's occurrence to its batch being handed to the
# applier (the publisher's outbox, the broker, the queue and the batching); the applier's own time is
# event_batch_seconds. Observed once per event, like score_lag_seconds (a bundle's events share the wait of its
# first: one commit's events occur together), so that the two compare.
EVENT_WAIT = Histogram("event_wait_seconds", "From an event's occurrence to the start of the batch applying it",
                       ["service", "consumer", "event_type"],
                       buckets=(0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 10, 30, 60, 300))
# A consumer's backlog in messages (a bundled outbox entry is one message of many events), asked of the broker every
# DEPTH_EVERY seconds with a passive declare; it stays at its last value while the consumer is away (alert on ``up``)
QUEUE_READY = Gauge("event_queue_messages_ready", "Messages waiting in a consumer's queue, not yet delivered",
                    ["service", "consumer", "queue"])
DEPTH_EVERY = 15.0
IN_CHUNKS = 1000


def processed_keys(consumer: str, events: list[dict]) -> dict[str, dict]:
    """One key per distinct event (a batch may hold the same event twice)."""
    keys = {}
    for event in events:
        keys.setdefault(f"{consumer}:{event['event_id']}", event)
    return keys


def apply_once(store, consumer: str, events: list[dict], effect, needs_id=None) -> tuple[list[dict], list[dict]]:
    """Apply ``effect(session, fresh_events)`` to the events this consumer has not processed yet and record
    their ids, in one transaction. Returns (fresh, duplicates).

    ``needs_id(event)`` False marks an event whose effect is idempotent by keys of its own (a member's
    sign-in kept as the earliest time under its member id): it is always applied and its id is neither
    looked up nor recorded, which cost a read and a write per event (see ``apply_idempotent``)."""
    keyed = events if needs_id is None else [event for event in events if needs_id(event)]
    always = [] if needs_id is None else [event for event in events if not needs_id(event)]
    for attempt in (1, 2):
        keys = processed_keys(consumer, keyed)
        ids = list(keys)
        seen = set()
        for start in range(0, len(ids), IN_CHUNKS):
            seen.update(doc["_id"] for doc in store.db.processed_events.find(
                {"_id": {"$in": ids[start:start + IN_CHUNKS]}}, {"_id": 1}))
        fresh = [event for key, event in keys.items() if key not in seen] + always
        duplicates = [event for key, event in keys.items() if key in seen]
        if not fresh:
            return [], duplicates
        try:
            with store.transaction() as session:
                new_keys = [{"_id": key, "event_type": event.get("event_type")} for key, event in keys.items()
                            if key not in seen]
                if new_keys:
                    store.db.processed_events.insert_many(new_keys, ordered=False, session=session)
                effect(session, fresh)
            return fresh, duplicates
        except (DuplicateKeyError, BulkWriteError):
            if attempt == 2:
                raise
            log.info("%s: another consumer processed part of the batch; retrying without it", consumer)
    raise AssertionError("unreachable")


def apply_idempotent(store, consumer: str, events: list[dict], effect) -> None:
    """Apply ``effect(session, events)`` in one transaction without recording event ids, for an effect that
    is idempotent by keys of its own (a ledger entry's natural id, an upsert of the same fields): recording
    the ids as well cost a read and a write per event. A duplicate key (another consumer wrote the same
    entry first) rolls the transaction back and the batch is applied once more, finding what is written."""
    for attempt in (1, 2):
        try:
            with store.transaction() as session:
                effect(session, events)
            return
        except (DuplicateKeyError, BulkWriteError) as error:
            if attempt == 2 or not is_duplicate(error):
                raise
            log.info("%s: another consumer wrote part of the batch; applying it again", consumer)


def observe_wait(service: str, consumer: str, messages: list[list[dict]], now: float | None = None) -> None:
    """``event_wait_seconds`` up to ``now`` (epoch s) for every event of each message, from the message's first
    event's ``occurred_at``; a message whose first event has no readable time is skipped."""
    now = time.time() if now is None else now
    for events in messages:
        first = events[0]
        try:
            waited = max(0.0, now - parse_stamp(first["occurred_at"]).timestamp())
        except (KeyError, TypeError, ValueError):
            continue
        histogram = EVENT_WAIT.labels(service, consumer, first.get("event_type", "?"))
        for _ in events:
            histogram.observe(waited)


class QueueDepths:
    """``event_queue_messages_ready`` of a consumer's queues, on a channel of their own (a failed passive declare
    closes its channel, never the consumer's)."""

    def __init__(self, connection, service: str, consumer: str, queue_names: list[str], every: float = DEPTH_EVERY,
                 clock=time.monotonic, also: dict | None = None):
        """``also``: other queues' gauges sampled on the same channel (``dead_letters{queue}``)."""
        self.connection, self.queue_names, self.every, self.clock = connection, queue_names, every, clock
        self.gauges = {**{name: QUEUE_READY.labels(service, consumer, name) for name in queue_names}, **(also or {})}
        self.channel = None
        self.next_at = 0.0

    def sample_when_due(self) -> None:
        if self.clock() < self.next_at:
            return
        self.next_at = self.clock() + self.every
        try:
            if self.channel is None:
                self.channel = self.connection.channel()
            for name, gauge in self.gauges.items():
                gauge.set(self.channel.queue_declare(queue=name, passive=True).message_count)
        except Exception as error:  # noqa: BLE001  a missing metric is no reason to stop consuming
            log.warning("queue depths of %s: %s", self.queue_names[:1], error)
            self.channel = None


def _deliveries(message) -> int:
    """How many times ``message`` has been delivered, this time included (a quorum queue counts the earlier ones in
    ``x-delivery-count``)."""
    try:
        return int((getattr(message, "headers", None) or {}).get("x-delivery-count", 0)) + 1
    except (TypeError, ValueError):
        return 1


class BatchEventConsumer(DependencyProvider):
    """``events = BatchEventConsumer("score", [("attendance", "checkin_recorded"), ...], make_applier)``.

    ``make_applier(container)`` returns an object with ``apply(events: list[dict]) -> None``.
    Each row becomes the queue ``evt-<source>-<event_type>--<service>.<name>``; list the same rows in
    ``servicekit.messaging.topology.SUBSCRIPTIONS`` so they are declared before anyone publishes.
    """

    def __init__(self, name: str, subscriptions: list[tuple[str, str]], make_applier, max_batch: int = 1000,
                 max_wait_ms: int = 100, prefetch: int = 1000, quiet_ms: int | None = None):
        """A batch is applied when it holds ``max_batch`` events, ``max_wait_ms`` after its first message, or,
        with ``quiet_ms``, as soon as no message has come for that long: while events keep coming (a themed
        day's peak) batches grow to ``max_wait_ms``, and a lone event still waits only ``quiet_ms``."""
        self.name = name
        self.subscriptions = subscriptions
        self.make_applier = make_applier
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000
        self.quiet = None if quiet_ms is None else quiet_ms / 1000
        self.clock = time.monotonic
        self._first_at = self._last_at = 0.0
        self.prefetch = prefetch
        self.applier = None
        self._running = False
        self._idle = None
        self._pending: list[tuple[list[dict], object]] = []   # (the message's events, the message)
        self._pending_events = 0
        self.applied = 0

    @property
    def rows(self) -> list[tuple[str, str, str, str]]:
        return [(source, event_type, self.container.service_name, self.name)
                for source, event_type in self.subscriptions]

    def setup(self):
        self.uri, self.ssl_options = self.container.config["AMQP_URI"], self.container.config.get(AMQP_SSL_CONFIG_KEY)
        with amqp_connection(self.uri, self.ssl_options) as connection:
            connection.ensure_connection(max_retries=3)
            declare_consumer_topology(connection, self.rows, self.uri)

    def start(self):
        self.applier = self.make_applier(self.container)
        self._running = True
        self._idle = eventlet.event.Event()
        self.container.spawn_managed_thread(self._run, identifier=f"batch_consumer:{self.name}")

    def stop(self):
        self._running = False
        if self._idle is not None:
            self._idle.wait()

    def kill(self):
        self._running = False

    def get_dependency(self, worker_ctx):
        return self

    # ------------------------------------------------------------------ loop
    def _run(self):
        try:
            while self._running:
                try:
                    self._consume()
                except Exception:  # noqa: BLE001  reconnect after any broker or store failure
                    log.exception("batch consumer %s: restarting in 1 s", self.name)
                    self._pending, self._pending_events = [], 0  # unacked: redelivered to the new channel
                    eventlet.sleep(1)
        finally:
            self._idle.send()

    def _consume(self):
        with amqp_connection(self.uri, self.ssl_options) as connection:
            connection.ensure_connection(max_retries=3)
            declare_consumer_topology(connection, self.rows, self.uri)
            channel = connection.channel()
            channel.basic_qos(0, self.prefetch, False)
            whole = declares_whole_topology(self.uri)     # its own user may not declare the publishers' exchanges
            queues = [event_queue(*row, declare_exchange=whole) for row in self.rows]
            depths = QueueDepths(connection, self.container.service_name, self.name, [q.name for q in queues],
                                 also={DEAD_LETTER_QUEUE: DEAD_LETTERS.labels(DEAD_LETTER_QUEUE)})
            # a body kombu cannot decode is parked alone; raised, it closed the channel and redelivered the prefetch
            with Consumer(channel, queues=queues, callbacks=[self._received], accept=["json"], no_ack=False,
                          on_decode_error=self._undecodable):
                while self._running:
                    depths.sample_when_due()
                    due = self.due_at()
                    timeout = 1.0 if due is None else max(0.0, due - self.clock())
                    try:
                        connection.drain_events(timeout=timeout)
                    except socket.timeout:
                        pass
                    due = self.due_at()
                    if due is not None and (self._pending_events >= self.max_batch or self.clock() >= due):
                        self._flush(channel)
                if self._pending:
                    self._flush(channel)

    def due_at(self) -> float | None:
        """When the pending batch is to be applied (on ``clock``), None when nothing is pending."""
        if not self._pending:
            return None
        due = self._first_at + self.max_wait
        return due if self.quiet is None else min(due, self._last_at + self.quiet)

    def _undecodable(self, message, error):
        log.error("batch consumer %s: a message on %s is not JSON (%s); parked in dead letters", self.name,
                  message.delivery_info.get("exchange"), type(error).__name__)
        park(message, self.container.service_name, self.name, "malformed")

    def _received(self, body, message):
        try:
            verify_event(message.delivery_info.get("exchange", ""), message.body, message.headers)
        except ServiceError as refusal:      # not from the service that owns the exchange: never applied
            log.warning("batch consumer %s: refused an event on %s (%s); parked in dead letters", self.name,
                        message.delivery_info.get("exchange"), refusal.code)
            EVENTS_CONSUMED.labels(self.container.service_name, "?", "refused").inc()
            park(message, self.container.service_name, self.name, "refused")
            return
        self._last_at = self.clock()
        if not self._pending:
            self._first_at = self._last_at
        events = body if isinstance(body, list) else [body]
        self._pending.append((events, message))
        self._pending_events += len(events)

    def _flush(self, channel):
        pending, self._pending, self._pending_events = self._pending, [], 0
        good = []
        for events, message in pending:
            if events and all(isinstance(event, dict) and event.get("event_id") for event in events):
                good.append((events, message))
            else:
                log.error("batch consumer %s: dropping a message without event_id to dead letters", self.name)
                park(message, self.container.service_name, self.name, "malformed")
        if not good:
            return
        service = self.container.service_name
        observe_wait(service, self.name, [message_events for message_events, _ in good])
        started = time.perf_counter()
        events = [event for message_events, _ in good for event in message_events]
        try:
            self.applier.apply(events)
        except Exception:  # noqa: BLE001  find the event that fails, apply the others
            log.exception("batch consumer %s: batch of %d failed; applying one by one", self.name, len(events))
            for message_events, message in good:
                if self._apply_each(message_events):
                    message.ack()
                elif _deliveries(message) >= DELIVERY_LIMIT:      # parked by us, counted, before the broker's limit
                    log.error("batch consumer %s: a message failed %d times; parked in dead letters", self.name,
                              _deliveries(message))
                    park(message, service, self.name, "failed")
                else:
                    message.reject(requeue=True)
            return
        channel.basic_ack(good[-1][1].delivery_tag, multiple=True)
        for event in events:
            EVENTS_CONSUMED.labels(service, event.get("event_type", "?"), "handled").inc()
        self.applied += len(events)
        BATCH_SIZE.labels(service, self.name).observe(len(events))
        BATCH_SECONDS.labels(service, self.name).observe(time.perf_counter() - started)

    def _apply_each(self, events: list[dict]) -> bool:
        """Apply one message's events one at a time; False when any of them failed."""
        service, failed = self.container.service_name, False
        for event in events:
            try:
                self.applier.apply([event])
                EVENTS_CONSUMED.labels(service, event.get("event_type", "?"), "handled").inc()
            except Exception:  # noqa: BLE001
                log.exception("batch consumer %s: event %s failed; its message is requeued", self.name,
                              event.get("event_id"))
                EVENTS_CONSUMED.labels(service, event.get("event_type", "?"), "failed").inc()
                failed = True
        return not failed
