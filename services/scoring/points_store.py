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

from pymongo import ReplaceOne, UpdateOne
from pymongo.errors import PyMongoError

from servicekit.messaging.outbox import OutboxStore
from servicekit.storage.mongo import is_duplicate
from servicekit.storage.subtree import LEVEL_FIELDS

from services.scoring.domain import ledger
from services.scoring.domain import points as points_rules
from services.scoring.store import StaleWrite, retried

POINTS_SUFFIX = "points"


def points_database(service_name: str) -> str:
    """The service name whose database holds a scoring service's points."""
    return f"{service_name}_{POINTS_SUFFIX}"


class StaleBalance(StaleWrite):
    """Another writer changed a balance between this write's read and its replacement."""


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

    # --- tenants and their rules -------------------------------------------------
    def tenant(self, tenant_id: str) -> dict | None:
        return self.db.tenants.find_one({"_id": tenant_id})

    def rules_of(self, tenant_id: str, known: dict | None = None) -> dict:
        """A tenant's points rules (the default table until its city admin sets one, completed with categories
        added since, ``points.completed``); ``known``: the tables read so far by a batch, which reads each
        tenant's once."""
        if known is not None and tenant_id in known:
            return known[tenant_id]
        table = points_rules.completed((self.tenant(tenant_id) or {}).get("rules"))
        if known is not None:
            known[tenant_id] = table
        return table

    def save_rules(self, tenant_id: str, rules: dict, by: str, at: str) -> None:
        self.db.tenants.update_one({"_id": tenant_id}, {"$set": {"rules": rules, "rules_by": by,
                                                                 "rules_at": at}}, upsert=True)

    def set_tenant_root(self, tenant_id: str, root_org_id: str, session) -> None:
        self.db.tenants.update_one({"_id": tenant_id}, {"$set": {"root_org_id": root_org_id}}, upsert=True,
                                   session=session)

    def note_tenant_root(self, tenant_id: str, root_org_id: str, session) -> None:
        """The tenant's root, from an issued themed day, unless it is known already."""
        self.db.tenants.update_one({"_id": tenant_id}, {"$setOnInsert": {"root_org_id": root_org_id}}, upsert=True,
                                   session=session)

    # --- branches and members ----------------------------------------------------
    def place_branches(self, places: dict[str, dict], session) -> None:
        """Each branch's ancestor fields (branch id -> a0..a5), replaced whole."""
        self.db.branches.bulk_write([ReplaceOne({"_id": branch_id}, {"_id": branch_id, **fields}, upsert=True)
                                     for branch_id, fields in places.items()], ordered=False, session=session)

    def branch_places(self, branch_ids, session) -> dict[str, dict]:
        """Branch id -> its ancestor fields, for the branches whose place is known."""
        return {doc.pop("_id"): doc for doc in self.db.branches.find({"_id": {"$in": list(branch_ids)}},
                                                                     session=session)}

    def place_members(self, tenant_id: str, branch_id: str, member_ids, fields: dict, session) -> None:
        """Members of a branch's roster, with the branch's ancestor fields."""
        writes = [UpdateOne({"_id": member_id}, {"$set": {"tenant_id": tenant_id, "branch_id": branch_id, **fields}},
                            upsert=True) for member_id in member_ids]
        if writes:
            self.db.members.bulk_write(writes, ordered=False, session=session)

    def note_members(self, tenant_id: str, branch_id: str, member_ids, fields: dict, session) -> None:
        """Members learned from another source than a roster (content's study and quiz events): placed under
        their branch only if never placed before, so an old event replayed never moves a member back."""
        writes = [UpdateOne({"_id": member_id}, {"$setOnInsert": {"tenant_id": tenant_id, "branch_id": branch_id,
                                                                  **fields}}, upsert=True)
                  for member_id in member_ids]
        if writes:
            self.db.members.bulk_write(writes, ordered=False, session=session)

    def move_branch_members(self, branch_id: str, fields: dict, session) -> None:
        """A branch's members follow it to its place in the tree."""
        self.db.members.update_many({"branch_id": branch_id}, {"$set": fields}, session=session)

    def member(self, member_id: str) -> dict | None:
        return self.db.members.find_one({"_id": member_id})

    def members_under(self, org_id: str, level: int) -> list[dict]:
        return list(self.db.members.find({f"a{level}": org_id}))

    def ledger_of(self, member_id: str, cycle: str) -> list[dict]:
        entries = [entry for entry in self.db.ledger.find({"member_id": member_id}) if entry["cycle"] == cycle]
        return sorted(entries, key=lambda entry: (entry["at"], entry["_id"]))

    def points_of_members(self, member_ids: list[str], since: str, until: str) -> dict[str, dict]:
        """{member_id: {"total", "by_category"}} of the entries whose day lies in [since, until], for members with
        any (one indexed query per thousand members; the day is filtered here)."""
        totals: dict[str, dict] = {}
        for start in range(0, len(member_ids), 1000):
            for entry in self.db.ledger.find({"member_id": {"$in": member_ids[start:start + 1000]}},
                                             {"member_id": 1, "day": 1, "category": 1, "points": 1}):
                if since <= entry["day"] <= until:
                    row = totals.setdefault(entry["member_id"], {"total": 0, "by_category": {}})
                    row["total"] += entry["points"]
                    row["by_category"][entry["category"]] = row["by_category"].get(entry["category"], 0) \
                        + entry["points"]
        return totals

    def ledger_entry(self, entry_id: str) -> dict | None:
        return self.db.ledger.find_one({"_id": entry_id})

    def add_entry(self, candidate: dict, at: str) -> dict | None:
        """Write one entry (a deduction, a correction) in a transaction of its own; None when an entry of its
        ``_id`` is written already."""
        def attempt():
            with self.transaction() as session:
                return self.write_entries(session, [candidate], at=at)
        written = retried(attempt)
        return written[0] if written else None

    def write_entries(self, session, candidates: list[dict], rules_by_tenant: dict | None = None,
                      at: str = "") -> list[dict]:
        """Cap, then insert the entries not written before and add them to the balances (stamped ``at``).
        Returns those written."""
        if not candidates:
            return []
        ids = [candidate["_id"] for candidate in candidates]
        existing = {doc["_id"] for doc in self.db.ledger.find({"_id": {"$in": ids}}, {"_id": 1}, session=session)}
        members = {doc["_id"]: doc for doc in self.db.members.find(
            {"_id": {"$in": list({c["member_id"] for c in candidates})}}, session=session)}
        fresh = ledger.new_candidates(candidates, existing)
        rules_by_tenant = rules_by_tenant if rules_by_tenant is not None else {}
        tables = {tenant_id: self.rules_of(tenant_id, rules_by_tenant)
                  for tenant_id in dict.fromkeys(candidate["tenant_id"] for candidate in fresh)}
        todo = ledger.postings(fresh, tables)
        keys = list({key for *_, key in todo})
        found = {doc["_id"]: doc for start in range(0, len(keys), 1000) for doc in self.db.balances.find(
            {"_id": {"$in": keys[start:start + 1000]}}, session=session)}
        balances = {key: found.get(key) or {} for key in keys}
        written = ledger.post(todo, balances, members, at)
        if not written:
            return []
        self.db.ledger.insert_many(written, ordered=True, session=session)
        self.write_balances(session, {key: balances[key] for key in {f"{w['member_id']}:{w['cycle']}"
                                                                      for w in written}}, found)
        return written

    def write_balances(self, session, changed: dict[str, dict], found: dict[str, dict]) -> None:
        """Insert the new balances and replace the changed ones whole, each guarded by the version read (a
        replacement costs nx-27017 less than half of the same change as $inc operators)."""
        inserts = [{**balance, "_id": key, "v": 1} for key, balance in changed.items() if key not in found]
        replacements = [ReplaceOne({"_id": key, "v": found[key].get("v", 0)},
                                   {**balance, "_id": key, "v": found[key].get("v", 0) + 1})
                        for key, balance in changed.items() if key in found]
        if inserts:
            self.db.balances.insert_many(inserts, ordered=True, session=session)
        if replacements:
            result = self.db.balances.bulk_write(replacements, ordered=False, session=session)
            if result.matched_count != len(replacements):
                raise StaleBalance(f"{len(replacements) - result.matched_count} balances changed meanwhile")

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
