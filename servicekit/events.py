"""Integration events: one definition of each, shared by publisher and consumers.

An event is a plain dict: the envelope (event_id, event_type, occurred_at,
schema_version, tenant_id) plus the fields its spec names. Consumers ignore
fields they do not know; a breaking change gets a new event name.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

ENVELOPE = ("event_id", "event_type", "occurred_at", "schema_version", "tenant_id")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    """ISO-8601 UTC text to the millisecond, truncated: ``2026-11-22T10:00:00.123Z`` (isoformat, about a third of
    what strftime took: every scan stamps its fix's time)."""
    if moment.tzinfo is not timezone.utc:
        moment = moment.astimezone(timezone.utc)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


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


def stamp(moment: datetime | None = None) -> str:
    """A stored timestamp: ISO-8601 UTC text, which sorts and compares the same in MongoDB and nx-27017
    (nx-27017 turns a datetime written by ``$set`` into text, so datetimes would mix two types)."""
    return iso(moment or utc_now())


_STORED_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def parse_stamp(text: str) -> datetime:
    """A stored timestamp back to a datetime (UTC); ValueError for anything not of the stored form."""
    if isinstance(text, str) and _STORED_STAMP.fullmatch(text):     # what stamp() writes: the fast path
        return datetime.fromisoformat(text[:-1]).replace(tzinfo=timezone.utc)
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
