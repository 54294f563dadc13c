"""Member points storage (积分), in a database of its own (``<scoring database>_points``).

The points consumer writes a ledger entry and a balance for almost every sign-out and absence. In a
database of its own its transactions never hold up the score consumer's (transactions wait only for
others on the same database, servicekit.storage.mongo.transaction_lock).

- ``tenants``: each tenant's root organisation and its points rules table.
- ``branches``: each branch's place in the tree (from activity_issued/activity_closed), so members
  learned from a roster get their ancestors without reading the scores' database.
- ``members``: each member's branch and ancestors (from rosters), for subtree lists.
- ``ledger``: the entries, never edited; ``balances``: per member and cycle, versioned by ``v``.
- ``talks``: the secretary's talk (诫勉谈话) with a listed member, one per member and cycle (``_id``
  ``<member>:<cycle>``), with the member's place when it was recorded; never edited.
Every query uses one single-field index (nx-27017 ignores compound ones).
"""
from __future__ import annotations

from pymongo.errors import PyMongoError

from servicekit.timestamps import stamp
from servicekit.messaging.outbox import OutboxStore
from servicekit.storage.mongo import is_duplicate
from servicekit.storage.subtree import LEVEL_FIELDS

POINTS_SUFFIX = "points"
# Before points had a database of their own they lived in the scores' database: taken over at start-up.
LEGACY_COLLECTIONS = ("tenants", "members", "ledger", "balances")
COPY_BATCH = 1000


def points_database(service_name: str) -> str:
    """The service name whose database holds a scoring service's points."""
    return f"{service_name}_{POINTS_SUFFIX}"


class PointsStore(OutboxStore):
    collections = {
        "tenants": [],
        "branches": [],
        "members": ["branch_id", *LEVEL_FIELDS],
        "ledger": ["member_id"],
        "balances": ["cycle_key"],
        "talks": ["cycle_key"],
    }
    retired_indexes = {"balances": ["member_id"]}    # rewritten for nearly every sign-out, never asked for by member

    def migrate(self) -> None:
        self.adopt_legacy_points()

    def adopt_legacy_points(self) -> dict[str, int]:
        """Copy the points an earlier version kept in the scores' database (``<scores db>`` for
        ``<scores db>_points``) into each collection of this database that is still empty, and the
        branches' places in the tree from the scores' activities. Idempotent: a document already here is
        left alone, so processes starting together copy the same documents once. Returns the counts copied."""
        suffix = f"_{POINTS_SUFFIX}"
        if not self.db.name.endswith(suffix):
            return {}
        legacy = self.client[self.db.name[:-len(suffix)]]
        copied = {}
        for name in LEGACY_COLLECTIONS:
            if self.db[name].find_one({}, {"_id": 1}) is None and legacy[name].find_one({}, {"_id": 1}):
                copied[name] = self._copy(legacy[name].find({}), name)
        if self.db.branches.find_one({}, {"_id": 1}) is None and legacy.activities.find_one({}, {"_id": 1}):
            branches = {}
            for doc in legacy.activities.find({}, {"branch_id": 1, "month": 1, **{n: 1 for n in LEVEL_FIELDS}}):
                if doc.get("branch_id") and doc.get("a0") and doc.get("month", "") >= branches.get(
                        doc["branch_id"], {}).get("month", ""):
                    branches[doc["branch_id"]] = doc
            copied["branches"] = self._copy(({"_id": branch_id, **{n: doc[n] for n in LEVEL_FIELDS if doc.get(n)}}
                                             for branch_id, doc in branches.items()), "branches")
        return copied

    def _copy(self, documents, name: str) -> int:
        count, batch = 0, []
        for document in documents:
            batch.append(document)
            if len(batch) == COPY_BATCH:
                count += self.insert_new(name, batch)
                batch = []
        return count + self.insert_new(name, batch)

    def tenant(self, tenant_id: str) -> dict | None:
        return self.db.tenants.find_one({"_id": tenant_id})

    def save_rules(self, tenant_id: str, rules: dict, by: str) -> None:
        self.db.tenants.update_one({"_id": tenant_id}, {"$set": {"rules": rules, "rules_by": by,
                                                                 "rules_at": stamp()}}, upsert=True)

    def member(self, member_id: str) -> dict | None:
        return self.db.members.find_one({"_id": member_id})

    def members_under(self, org_id: str, level: int) -> list[dict]:
        return list(self.db.members.find({f"a{level}": org_id}))

    def ledger_of(self, member_id: str, cycle: str) -> list[dict]:
        entries = [entry for entry in self.db.ledger.find({"member_id": member_id}) if entry["cycle"] == cycle]
        return sorted(entries, key=lambda entry: (entry["at"], entry["_id"]))

    def ledger_entry(self, entry_id: str) -> dict | None:
        return self.db.ledger.find_one({"_id": entry_id})

    def balances_of_cycle(self, tenant_id: str, cycle: str) -> dict[str, dict]:
        return {doc["member_id"]: doc for doc in self.db.balances.find({"cycle_key": f"{tenant_id}:{cycle}"})}

    def balance(self, member_id: str, cycle: str) -> dict | None:
        return self.db.balances.find_one({"_id": f"{member_id}:{cycle}"})

    def record_talk(self, talk: dict) -> bool:
        """Store a talk's record; False (nothing written) when the member's talk of that cycle is recorded
        already. The ``_id`` makes the one-per-cycle rule hold for writers racing each other too."""
        try:
            self.db.talks.insert_one({**talk, "_id": f"{talk['member_id']}:{talk['cycle']}",
                                      "cycle_key": f"{talk['tenant_id']}:{talk['cycle']}"})
        except PyMongoError as error:
            if is_duplicate(error):
                return False
            raise
        return True

    def talks_of_members(self, member_ids: list[str], cycle: str) -> dict[str, dict]:
        """The recorded talks of these members in the cycle, by member id."""
        if not member_ids:
            return {}
        return {doc["member_id"]: doc for doc in self.db.talks.find(
            {"_id": {"$in": [f"{member_id}:{cycle}" for member_id in member_ids]}})}

    def talks_under(self, tenant_id: str, cycle: str, org_id: str, level: int) -> list[dict]:
        """The talks of a cycle recorded for members of a subtree (their place when recorded), newest first."""
        found = [doc for doc in self.db.talks.find({"cycle_key": f"{tenant_id}:{cycle}"})
                 if doc.get(f"a{level}") == org_id]
        return sorted(found, key=lambda doc: (doc["held_on"], doc["recorded_at"], doc["member_id"]), reverse=True)
