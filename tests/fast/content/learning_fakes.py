"""In-memory learning records for the fast tests: the store's learning reads and writes with the same
conditions (a session observed meanwhile, an item's ``rev``), the events each commit carried, and an identity
whose ``branches_under`` answers as the real one does (``org_id`` per branch)."""
from __future__ import annotations

import copy
from unittest.mock import MagicMock

from servicekit.errors import Conflict
from servicekit.storage.subtree import subtree_filter
from services.content.store import ContentStore
from services.content.stores.learning import LearningRecords
from tests.fast.content.fakes import KINDS, PATHS, FakeIdentity, org_view, tenant_of

LEARNING_METHODS = [name for name, value in vars(LearningRecords).items()
                    if callable(value) and not name.startswith("_")]


class LearningIdentity(FakeIdentity):
    def branches_under(self, scope: dict, org_id: str) -> dict:
        root = self.get_org(scope, org_id)
        return {"branches": [{**org_view(o), "org_id": o} for o, path in PATHS.items()
                             if org_id in path and KINDS.get(o, "branch") == "branch"
                             and tenant_of(o) == root["tenant_id"]]}


class MemoryLearning:
    def __init__(self):
        self.packages: dict[str, dict] = {}
        self.sessions: dict[str, dict] = {}
        self.items: dict[str, dict] = {}
        self.members: dict[str, dict] = {}
        self.branches: dict[str, dict] = {}
        self.committed: list[dict] = []        # events, in commit order
        self.before_write = None               # a hook run before a write: simulates another writer

    # packages
    def package(self, package_id):
        return copy.deepcopy(self.packages.get(package_id))

    def packages_owned_by(self, tenant_id, org_ids, month="", statuses=()):
        return [copy.deepcopy(p) for p in self.packages.values() if p["tenant_id"] == tenant_id
                and p["org_id"] in org_ids and (not month or p["month"] == month)
                and (not statuses or p["status"] in statuses)]

    def packages_below(self, path_ids, query, limit):
        (level, org_id), = subtree_filter(path_ids).items()
        found = [copy.deepcopy(p) for p in self.packages.values() if p.get(level) == org_id
                 and all(p.get(k) == v for k, v in query.items())]
        return sorted(found, key=lambda p: (p["month"], p["created_at"]), reverse=True)[:limit]

    def insert_package(self, package):
        self.packages[package["_id"]] = copy.deepcopy(package)
        return package

    def change_package(self, package_id, status, fields, events=()):
        package = self.packages.get(package_id)
        if not package or package["status"] != status:
            raise Conflict("changed", code="PACKAGE_CHANGED")
        package.update(copy.deepcopy(fields))
        self.committed += list(events)
        return copy.deepcopy(package)

    # sessions
    def study_session(self, session_id):
        return copy.deepcopy(self.sessions.get(session_id))

    def open_session(self, session):
        self.sessions[session["_id"]] = copy.deepcopy(session)
        return session

    def expire_session(self, session_id, last_seen_at, at):
        session = self.sessions[session_id]
        if session["state"] == "open" and session["last_seen_at"] == last_seen_at:
            session.update(state="expired", ended_at=at)

    def study_item(self, package_id, item_key, member_id):
        return copy.deepcopy(self.items.get(f"{package_id}:{item_key}:{member_id}"))

    def study_items_of(self, package_id, member_id):
        return [copy.deepcopy(row) for row in self.items.values()
                if row["package_member"] == f"{package_id}:{member_id}"]

    def record_observation(self, session, session_fields, item, studied, events=()):
        if self.before_write:
            hook, self.before_write = self.before_write, None
            hook()
        stored = self.sessions[session["_id"]]
        if stored["state"] != "open" or stored["last_seen_at"] != session["last_seen_at"]:
            raise Conflict("changed", code="STUDY_CHANGED")
        current = self.items.get(item["_id"])
        if (current or {}).get("rev", 0) != item.get("rev", 0):
            raise Conflict("changed", code="STUDY_CHANGED")
        stored.update(copy.deepcopy(session_fields))
        self.items[item["_id"]] = {**copy.deepcopy(item), "rev": item.get("rev", 0) + 1}
        if studied:
            key = f"{studied['package_id']}:{studied['member_id']}"
            member = self.members.setdefault(key, {"_id": key, "studied_count": 0})
            member.update(package_id=studied["package_id"], member_id=studied["member_id"],
                          branch_id=studied["branch_id"],
                          package_branch=f"{studied['package_id']}:{studied['branch_id']}")
            member["studied_count"] += 1
            completed = member["studied_count"] == studied["item_count"]
            if completed:
                member["completed_at"] = studied["at"]
            counters = self.branches.setdefault(f"{studied['package_id']}:{studied['branch_id']}", {
                "package_id": studied["package_id"], "branch_id": studied["branch_id"], "started": 0,
                "completed": 0, "items_studied": 0})
            counters["items_studied"] += 1
            counters["started"] += int(member["studied_count"] == 1)
            counters["completed"] += int(completed)
        self.committed += list(events)

    # progress
    def package_branch_counters(self, package_id):
        return {row["branch_id"]: dict(row) for row in self.branches.values() if row["package_id"] == package_id}

    def package_members_of_branch(self, package_id, branch_id):
        return [dict(row) for row in self.members.values() if row["package_branch"] == f"{package_id}:{branch_id}"]

    def study_rows_of(self, package_ids, member_ids):
        return [copy.deepcopy(row) for row in self.items.values()
                if row["package_id"] in package_ids and row["member_id"] in member_ids]

    def studied_item_keys(self, member_id):
        return {f"{row['package_id']}:{row['item_key']}" for row in self.studied_items_of(member_id)}

    def studied_items_of(self, member_id):
        return [dict(row) for row in self.items.values() if row["member_id"] == member_id and row.get("studied_at")]


def learning_store(memory: MemoryLearning) -> MagicMock:
    """A store shaped like ContentStore whose learning reads and writes are ``memory``'s (and recorded)."""
    store = MagicMock(spec=ContentStore)
    store.settings_of.return_value = None
    for name in LEARNING_METHODS:
        setattr(store, name, MagicMock(side_effect=getattr(memory, name)))
    store.published_items_by_ids = MagicMock(return_value=[])
    return store
