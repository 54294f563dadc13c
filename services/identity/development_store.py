"""The identity store's part for development records (发展党员纪实): ``development_entries``, append-only.

An entry: ``_id``, ``tenant_id``, ``member_id``, ``branch_id`` (the member's branch when recorded), ``kind``,
``on`` (YYYY-MM-DD), ``detail`` (by kind), ``note``, ``corrects`` (the id of the entry it corrects, or ""),
``recorded_at``, ``recorded_by`` (account id) and ``recorded_by_name``. There is no write that changes or removes
an entry: a correction is a new entry. A member's record is read by ``member_id`` (the member may have moved
branch since: who may read it follows the member, not the entry).
"""
from __future__ import annotations

from servicekit.errors import Conflict

# ``development_heads``: one per member with entries, ``_id`` the member's id, ``entries`` how many it has. Every new
# entry moves its member's head from the count its rules were checked against: one document that two recordings at
# once both write, which a real MongoDB's transactions detect as a write conflict and nx-27017 serialises.
DEVELOPMENT_COLLECTIONS = {"development_entries": ["member_id"], "development_heads": []}
RECORD_CHANGED = ("RECORD_CHANGED", "该发展纪实刚被他人更新，请刷新后重试")


class DevelopmentStore:
    db = None                   # the service's database (``MongoStore``)

    def development_entries(self, member_id: str) -> list[dict]:
        """A member's entries, in the order they were recorded."""
        return sorted(self.db.development_entries.find({"member_id": member_id}),
                      key=lambda entry: (entry["recorded_at"], entry["_id"]))

    def development_entry_counts(self, member_ids) -> dict[str, int]:
        counts = {member_id: 0 for member_id in member_ids}
        if counts:
            for head in self.db.development_heads.find({"_id": {"$in": list(counts)}}):
                counts[head["_id"]] = head["entries"]
        return counts

    def record_development_entry(self, entry: dict, seen: int, events: list[dict]) -> None:
        """The entry and its event in one transaction, only while the member's record still holds the ``seen``
        entries its rules were checked against (two corrections of one entry, or two introducer entries, recorded
        at once: the second is refused with RECORD_CHANGED)."""
        def writes(session):
            moved = self.db.development_heads.update_one(
                {"_id": entry["member_id"], "entries": seen}, {"$inc": {"entries": 1}}, upsert=seen == 0,
                session=session)
            if not moved.matched_count and moved.upserted_id is None:
                raise Conflict(RECORD_CHANGED[1], code=RECORD_CHANGED[0], field="member_id")
            self.db.development_entries.insert_one(entry, session=session)
        self.commit(writes, events, duplicate=RECORD_CHANGED)
