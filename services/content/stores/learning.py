"""Learning packages (学习套餐), study sessions with server-observed time, progress per member and branch.

A mixin of ``services.content.store.ContentStore``: it declares its collections (single-field indexes
only) and its intention-named reads and writes; writes with consequences go through ``self.commit``.

- ``packages``: a package with its items (``a0``..``a5`` of its node: the subtree it is pushed to);
- ``study_sessions``: one per start, with the last moment the service observed it;
- ``study_items``: one per (package, item, member), ``_id`` ``<package>:<item key>:<member>``: the credited
  seconds, the recent credited intervals (``domain.learning``), when it counted as studied; ``rev`` guards
  against two observations of the same item written at once;
- ``package_members``: one per (package, member) that studied an item: how many it studied, when all;
- ``package_branches``: counters per (package, branch), so that a city's progress reads one row per branch
  rather than one per member.
Array fields (``items``, ``recent``) are never indexed nor queried (nx-27017 answers such queries wrongly).
"""
from __future__ import annotations

import uuid

from pymongo import ReturnDocument

from servicekit.errors import Conflict
from servicekit.storage.subtree import LEVEL_FIELDS, subtree_filter

_CHANGED = ("STUDY_CHANGED", "学习记录已被同时更新，请重试")


def new_package_id() -> str:
    return f"pkg_{uuid.uuid4().hex}"


def new_session_id() -> str:
    return f"ses_{uuid.uuid4().hex}"


def study_item_id(package_id: str, item_key: str, member_id: str) -> str:
    return f"{package_id}:{item_key}:{member_id}"


class LearningRecords:
    collections: dict[str, list] = {
        "packages": ["tenant_id", "org_id", "month", *LEVEL_FIELDS],
        "study_sessions": [],
        "study_items": ["member_id", "package_member"],
        "package_members": ["package_branch"],
        "package_branches": ["package_id"],
    }

    # --- packages -------------------------------------------------------------------------------------
    def package(self, package_id: str) -> dict | None:
        return self.db.packages.find_one({"_id": package_id})

    def packages_owned_by(self, tenant_id: str, org_ids: list[str], month: str = "",
                          statuses: tuple[str, ...] = ()) -> list[dict]:
        """Packages owned by any of these nodes (a member's branch path: its own and its ancestors')."""
        query: dict = {"org_id": {"$in": list(org_ids)}, "tenant_id": tenant_id}
        if month:
            query["month"] = month
        found = self.db.packages.find(query)
        return [p for p in found if not statuses or p["status"] in statuses]

    def packages_below(self, path_ids: list[str], query: dict, limit: int) -> list[dict]:
        """Packages owned at or below the node whose path is ``path_ids``, newest month first."""
        cursor = self.db.packages.find({**subtree_filter(path_ids), **query})
        return list(cursor.sort([("month", -1), ("created_at", -1)]).limit(limit))

    def insert_package(self, package: dict) -> dict:
        self.db.packages.insert_one(package)
        return package

    def change_package(self, package_id: str, status: str, fields: dict, events=()) -> dict:
        """Set ``fields`` if the package still has ``status``; the package after. Conflict when it changed."""
        def writes(session):
            changed = self.db.packages.find_one_and_update(
                {"_id": package_id, "status": status}, {"$set": fields}, return_document=ReturnDocument.AFTER,
                session=session)
            if changed is None:
                raise Conflict("学习套餐状态已变化，请刷新后重试", code="PACKAGE_CHANGED")
            return changed
        return self.commit(writes, list(events))

    # --- study sessions and time ------------------------------------------------------------------------
    def study_session(self, session_id: str) -> dict | None:
        return self.db.study_sessions.find_one({"_id": session_id})

    def open_session(self, session: dict) -> dict:
        self.db.study_sessions.insert_one(session)
        return session

    def expire_session(self, session_id: str, last_seen_at: str, at: str) -> None:
        """Mark a session silent too long as expired (if nothing observed it meanwhile)."""
        self.db.study_sessions.update_one({"_id": session_id, "state": "open", "last_seen_at": last_seen_at},
                                          {"$set": {"state": "expired", "ended_at": at}})

    def study_item(self, package_id: str, item_key: str, member_id: str) -> dict | None:
        return self.db.study_items.find_one({"_id": study_item_id(package_id, item_key, member_id)})

    def study_items_of(self, package_id: str, member_id: str) -> list[dict]:
        return list(self.db.study_items.find({"package_member": f"{package_id}:{member_id}"}))

    def record_observation(self, session: dict, session_fields: dict, item: dict, studied: dict | None,
                           events=()) -> None:
        """One observation of a session, in one transaction: the session's new state (if no other observation
        of it was written since it was read), the item's credited time (if its ``rev`` is still the one read;
        ``rev`` 0: the first), and when the item has just counted as studied (``studied``: package_id,
        member_id, branch_id, tenant_id, item_count, seconds, at) the member's and the branch's counters, with
        the ``item_studied`` event. Conflict ``STUDY_CHANGED`` when something changed meanwhile."""
        def writes(db_session):
            updated = self.db.study_sessions.update_one(
                {"_id": session["_id"], "state": "open", "last_seen_at": session["last_seen_at"]},
                {"$set": session_fields}, session=db_session)
            if updated.matched_count != 1:
                raise Conflict(_CHANGED[1], code=_CHANGED[0])
            rev = item.get("rev", 0)
            fields = {key: value for key, value in item.items() if key not in ("_id", "rev")}
            if rev == 0:
                self.db.study_items.insert_one({**item, "rev": 1}, session=db_session)
            elif self.db.study_items.update_one({"_id": item["_id"], "rev": rev},
                                                {"$set": fields, "$inc": {"rev": 1}},
                                                session=db_session).matched_count != 1:
                raise Conflict(_CHANGED[1], code=_CHANGED[0])
            if studied:
                self._count_studied(studied, db_session)
        self.commit(writes, list(events), duplicate=_CHANGED)

    def _count_studied(self, studied: dict, db_session) -> None:
        package_id, member_id, branch_id = studied["package_id"], studied["member_id"], studied["branch_id"]
        member = self.db.package_members.find_one_and_update(
            {"_id": f"{package_id}:{member_id}"},
            {"$inc": {"studied_count": 1},
             "$set": {"package_id": package_id, "member_id": member_id, "branch_id": branch_id,
                      "tenant_id": studied["tenant_id"], "package_branch": f"{package_id}:{branch_id}",
                      "updated_at": studied["at"]}},
            upsert=True, return_document=ReturnDocument.AFTER, session=db_session)
        completed = member["studied_count"] == studied["item_count"]
        if completed:
            self.db.package_members.update_one({"_id": member["_id"]}, {"$set": {"completed_at": studied["at"]}},
                                               session=db_session)
        self.db.package_branches.update_one(
            {"_id": f"{package_id}:{branch_id}"},
            {"$inc": {"items_studied": 1, "started": int(member["studied_count"] == 1), "completed": int(completed)},
             "$set": {"package_id": package_id, "branch_id": branch_id}},
            upsert=True, session=db_session)

    # --- progress -------------------------------------------------------------------------------------
    def package_branch_counters(self, package_id: str) -> dict[str, dict]:
        """``{branch_id: {started, completed, items_studied}}`` of the branches where someone studied."""
        return {row["branch_id"]: row for row in self.db.package_branches.find({"package_id": package_id})}

    def package_members_of_branch(self, package_id: str, branch_id: str) -> list[dict]:
        return list(self.db.package_members.find({"package_branch": f"{package_id}:{branch_id}"}))

    def study_rows_of(self, package_ids: list[str], member_ids: list[str]) -> list[dict]:
        """The study items (member_id, package_id, seconds, studied_at) of these members in these packages: one
        indexed ``package_member`` query per pair, a branch's roster times a month's few packages."""
        projection = {"member_id": 1, "package_id": 1, "seconds": 1, "studied_at": 1}
        return [row for package_id in package_ids for member_id in member_ids
                for row in self.db.study_items.find({"package_member": f"{package_id}:{member_id}"}, projection)]

    def studied_item_keys(self, member_id: str) -> set[str]:
        """``<package_id>:<item key>`` of every package item the member has studied (for recommendations)."""
        return {f"{row['package_id']}:{row['item_key']}" for row in self.studied_items_of(member_id)}

    def studied_items_of(self, member_id: str) -> list[dict]:
        """The member's studied package items: package_id, item_key, item_id (a content item's, or ""), tags."""
        return [row for row in self.db.study_items.find({"member_id": member_id}) if row.get("studied_at")]
