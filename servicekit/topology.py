"""Broker topology declared up front by every service, so nothing is dropped unrouted.

``SUBSCRIPTIONS`` is the one table of which service consumes which event: each row
becomes a durable quorum queue bound before any publisher runs, with a delivery limit
and a dead-letter exchange so a poison message is parked, never lost or looped.
"""
from __future__ import annotations

from kombu import Exchange, Queue

DEAD_LETTER_EXCHANGE = "dead-letters"
DEAD_LETTER_QUEUE = "dead-letters"
DELIVERY_LIMIT = 5

# (source service, event type, consuming service, handler method)
SUBSCRIPTIONS: list[tuple[str, str, str, str]] = []


def queue_arguments() -> dict:
    return {"x-queue-type": "quorum", "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE}


def event_queue(source: str, event_type: str, consumer: str, method: str) -> Queue:
    """The same name nameko's service-pool event handler uses, with reliable arguments."""
    exchange = Exchange(f"{source}.events", type="topic", durable=True, delivery_mode=2)
    return Queue(f"evt-{source}-{event_type}--{consumer}.{method}", exchange=exchange, routing_key=event_type,
                 durable=True, auto_delete=False, queue_arguments=queue_arguments())


def declare_topology(connection, subscriptions=None) -> None:
    channel = connection.default_channel
    dead_letters = Exchange(DEAD_LETTER_EXCHANGE, type="fanout", durable=True)
    dead_letters.declare(channel=channel)
    Queue(DEAD_LETTER_QUEUE, exchange=dead_letters, durable=True).declare(channel=channel)
    for row in subscriptions if subscriptions is not None else SUBSCRIPTIONS:
        event_queue(*row).declare(channel=channel)
