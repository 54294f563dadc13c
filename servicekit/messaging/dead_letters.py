"""The dead letters: what is counted when a message is parked, how deep the parking queue is, and where a parked
message came from.

A consumer parks a message on the ``dead-letters`` exchange (``topology.DEAD_LETTER_EXCHANGE``) by rejecting it
without requeueing; the broker routes it to the ``dead-letters`` quorum queue with an ``x-death`` header naming the
queue it left, its original exchange and routing keys and the broker's reason (``rejected``, ``delivery_limit``).
The consumer counts each one as ``events_dead_lettered_total{service, queue, reason}`` with its own, finer reason:

- ``malformed``: the body is not JSON (or not UTF-8, or not ``application/json``), or not an event or a list of events
  with ids;
- ``refused``: it does not carry its publisher's proof (servicekit.security.proofs);
- ``failed``: applying it failed on every one of its ``topology.DELIVERY_LIMIT`` deliveries.

Every consumer process also samples the queue's depth into ``dead_letters{queue}`` with a passive declare (one
round trip, no read permission needed) with its own queues' depths (``consumers.QueueDepths``); alerts: deploy/alerts/dead-letters.yml.
``python -m deploy.dead_letters`` lists, shows, replays and drops parked messages.
"""
from __future__ import annotations

from prometheus_client import Counter, Gauge

DEAD_LETTERED = Counter("events_dead_lettered_total", "Messages a consumer parked in the dead letters, by origin "
                        "queue and reason (malformed, refused, failed)", ["service", "queue", "reason"])
DEAD_LETTERS = Gauge("dead_letters", "Messages waiting in the dead-letter queue", ["queue"])
# headers the broker writes when it dead-letters a message: dropped on replay, so a replayed message that is parked
# again starts a fresh history (the proof headers stay: consumers verify them)
DEATH_HEADERS = ("x-death", "x-first-death-exchange", "x-first-death-queue", "x-first-death-reason",
                 "x-last-death-exchange", "x-last-death-queue", "x-last-death-reason", "x-delivery-count")


def origin_queue(service: str, consumer: str, exchange: str, routing_key: str) -> str:
    """The queue a consumer received a message from (``topology.event_queue``'s name)."""
    return f"evt-{exchange.split('.', 1)[0]}-{routing_key}--{service}.{consumer}"


def park(message, service: str, consumer: str, reason: str) -> None:
    """Reject ``message`` (a kombu message) to the dead letters, once, and count it."""
    info = getattr(message, "delivery_info", None) or {}
    queue = origin_queue(service, consumer, info.get("exchange") or "?", info.get("routing_key") or "?")
    message.reject(requeue=False)
    DEAD_LETTERED.labels(service, queue, reason).inc()


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def origin(headers: dict | None) -> dict:
    """Where a dead-lettered message came from (the broker's ``x-first-death-*`` headers and its ``x-death`` entry
    for that queue): ``queue``, ``exchange``, ``routing_key``, ``reason`` and ``count`` (deaths there); empty strings
    when unknown."""
    headers = headers or {}
    deaths = headers.get("x-death") or []
    queue = _text(headers.get("x-first-death-queue", ""))
    entry = next((death for death in deaths if _text(death.get("queue", "")) == queue), deaths[-1] if deaths else {})
    keys = entry.get("routing-keys") or [""]
    return {"queue": queue or _text(entry.get("queue", "")),
            "exchange": _text(headers.get("x-first-death-exchange", entry.get("exchange", ""))),
            "routing_key": _text(keys[0]),
            "reason": _text(headers.get("x-first-death-reason", entry.get("reason", ""))),
            "count": int(entry.get("count", 1) or 1)}
