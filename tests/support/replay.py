"""A service's events published again through a real outbox relay from a scratch database: a redelivery's or a
replay's stand-in, signed as that service, for tests of a consumer's idempotency."""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

from servicekit.messaging.outbox import Relay, add_events
from servicekit.storage.mongo import shared_client


class ReplayedEvents:
    def __init__(self, source: str, mongo_uri: str, bus_uri: str):
        self.source = source
        self.db = shared_client(mongo_uri)[f"{os.environ['DB_PREFIX']}_replayed_{source}_{uuid.uuid4().hex[:6]}"]
        self.relay = Relay(source, db=self.db, uri=bus_uri)

    def publish(self, *events: dict) -> None:
        for event in events:
            self.db.outbox.delete_many({"_id": event["event_id"]})
            add_events(self.db, [event], self.source)
            while self.relay.run_once():
                pass

    def close(self) -> None:
        self.relay.close()


def replaying(source: str, mongo_uri: str, bus_uri: str) -> Iterator[ReplayedEvents]:
    """A fixture's body: the replayer of ``source``'s events, its relay closed after."""
    events = ReplayedEvents(source, mongo_uri, bus_uri)
    yield events
    events.close()
