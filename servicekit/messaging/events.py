"""Integration events: one definition of each, shared by publisher and consumers.

An event is a plain dict: the envelope (event_id, event_type, occurred_at,
schema_version, tenant_id) plus the fields its spec names. Consumers ignore
fields they do not know; a breaking change gets a new event name.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from servicekit.timestamps import iso, utc_now

ENVELOPE = ("event_id", "event_type", "occurred_at", "schema_version", "tenant_id")


@dataclass(frozen=True)
class EventSpec:
    source: str          # publishing service, e.g. "identity" (exchange "identity.events")
    name: str            # past-tense snake_case, e.g. "member_joined"
    fields: tuple[str, ...]
    schema_version: int = 1

    @property
    def exchange(self) -> str:
        return f"{self.source}.events"

    def build(self, tenant_id: str | None, occurred_at: datetime | str | None = None, **fields) -> dict:
        """The event with its envelope; ``occurred_at`` a datetime, a ``stamp`` already made (one for a whole
        batch of events), or None for now."""
        missing = [name for name in self.fields if name not in fields]
        unknown = [name for name in fields if name not in self.fields]
        if missing or unknown:
            raise ValueError(f"{self.name}: missing {missing}, unknown {unknown}")
        return {
            "event_id": uuid.uuid4().hex,
            "event_type": self.name,
            "occurred_at": occurred_at if isinstance(occurred_at, str) else iso(occurred_at or utc_now()),
            "schema_version": self.schema_version,
            "tenant_id": tenant_id,
            **fields,
        }
