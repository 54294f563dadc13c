"""Reliable, idempotent event consumption.

``reliable_event_handler`` is nameko's service-pool event handler on a quorum queue
with a delivery limit and dead-lettering, requeueing on error. ``handle_once`` runs a
handler's effect and records the event id in one transaction: a redelivered or
replayed event changes nothing.
"""
from __future__ import annotations

from nameko.events import EventHandler
from nameko.messaging import Consumer
from pymongo.errors import DuplicateKeyError

from servicekit.metrics import EVENTS_CONSUMED
from servicekit.topology import event_queue

CONSUMER_COLLECTIONS = {"processed_events": []}


class ReliableEventHandler(EventHandler):
    def __init__(self, source_service, event_type, **kwargs):
        kwargs.setdefault("requeue_on_error", True)
        super().__init__(source_service, event_type, **kwargs)

    def setup(self):
        self.queue = event_queue(self.source_service, self.event_type, self.container.service_name,
                                 self.method_name)
        Consumer.setup(self)


reliable_event_handler = ReliableEventHandler.decorator


def handle_once(store, service_name: str, handler_name: str, event: dict, effect) -> bool:
    """Apply ``effect(session)`` unless this handler already processed the event; True if applied."""
    key = f"{handler_name}:{event['event_id']}"
    try:
        with store.transaction() as session:
            store.db.processed_events.insert_one({"_id": key, "event_type": event.get("event_type")},
                                                 session=session)
            effect(session)
    except DuplicateKeyError:
        EVENTS_CONSUMED.labels(service_name, event.get("event_type", "?"), "duplicate").inc()
        return False
    except Exception:
        EVENTS_CONSUMED.labels(service_name, event.get("event_type", "?"), "failed").inc()
        raise
    EVENTS_CONSUMED.labels(service_name, event.get("event_type", "?"), "handled").inc()
    return True
