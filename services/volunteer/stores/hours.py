"""The hours ledger (collection ``hours``): what members served, permanently, one entry per member per source.

The write every topic uses (orders on confirmation, team events on close)::

    credit_writes(entries: list[dict], events: list[dict], session) -> list[dict]
        inside a caller's ``self.commit(writes, events)``: inserts the entries whose ``_id`` the ledger does not
        hold yet and appends one ``hours_credited`` event per entry inserted to ``events`` (the list handed to
        ``commit``, which stores it after ``writes`` ran); returns the entries inserted. Entries are built by
        ``services.volunteer.domain.hours.ledger_entry``.

    credit_hours(entries: list[dict]) -> list[dict]
        the same as a commit of its own: the entries inserted (a replay inserts and publishes nothing).

A mixin of ``services.volunteer.store.VolunteerStore``. Entries: ``_id`` "order:<id>:<member>" or
"event:<id>:<member>", ``tenant_id, member_id, member_name, branch_id, b0..b5`` (the member's branch path),
``community_id, a0..a5`` (the order's community; for an event its team's node), ``source_kind, source_id, title,
hours, credited_at, day``.
"""
from __future__ import annotations

from servicekit.storage.subtree import LEVEL_FIELDS

from services.volunteer import events as published
from services.volunteer.domain.hours import BRANCH_FIELDS


def hours_credited(entry: dict) -> dict:
    """The ``hours_credited`` event of a ledger entry."""
    return published.HOURS_CREDITED.build(
        entry["tenant_id"], entry["credited_at"], entry_id=entry["_id"], member_id=entry["member_id"],
        branch_id=entry["branch_id"], hours=entry["hours"], source_kind=entry["source_kind"],
        source_id=entry["source_id"], credited_at=entry["credited_at"])


class HoursRecords:
    collections: dict[str, list] = {"hours": ["member_id", "community_id", "source_id", "day", *LEVEL_FIELDS,
                                              *BRANCH_FIELDS]}

    def credit_writes(self, entries: list[dict], events: list[dict], session) -> list[dict]:
        if not entries:
            return []
        wanted = {entry["_id"]: entry for entry in entries}
        held = {doc["_id"] for doc in self.db.hours.find({"_id": {"$in": list(wanted)}}, {"_id": 1},
                                                          session=session)}
        fresh = [entry for entry_id, entry in wanted.items() if entry_id not in held]
        if fresh:
            self.db.hours.insert_many(fresh, ordered=True, session=session)
            events.extend(hours_credited(entry) for entry in fresh)
        return fresh

    def credit_hours(self, entries: list[dict]) -> list[dict]:
        events: list[dict] = []
        return self.commit(lambda session: self.credit_writes(entries, events, session), events)
