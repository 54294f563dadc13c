"""Identity storage: tenants, the organisation tree, members, accounts, transfers, imports.

Subtrees are found through per-depth ancestor fields ``a0``..``a5`` (each a
single-field index): the subtree of a node at level L is ``{"aL": node_id}``.
nx-27017 answers array (multikey) index queries wrongly and ignores compound
indexes, so neither is used.
"""
from __future__ import annotations

from pymongo import ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from servicekit.errors import Conflict
from servicekit.events import stamp
from servicekit.mongo import Store
from servicekit.outbox import add_events

from services.identity.domain.tree import MAX_DEPTH
from services.identity.events import SOURCE

LEVEL_FIELDS = [f"a{level}" for level in range(MAX_DEPTH)]


def ancestor_fields(path_ids: list[str]) -> dict:
    fields = {name: None for name in LEVEL_FIELDS}
    fields.update({f"a{level}": org_id for level, org_id in enumerate(path_ids)})
    return fields


def path_of(doc: dict) -> list[str]:
    return [doc[name] for name in LEVEL_FIELDS if doc.get(name)]


def subtree_filter(org: dict) -> dict:
    return {f"a{org['level']}": org["_id"]}


def is_duplicate(error: Exception) -> bool:
    if isinstance(error, DuplicateKeyError):
        return True
    if isinstance(error, BulkWriteError):
        return any(item.get("code") == 11000 for item in error.details.get("writeErrors", []))
    return "duplicate key" in str(error).lower() or "unique constraint" in str(error).lower()


class IdentityStore(Store):
    collections = {
        "tenants": [("code", {"unique": True})],
        "orgs": ["tenant_id", "parent_id", *LEVEL_FIELDS],
        "members": ["branch_id", ("id_number_index", {"unique": True}), "import_id", *LEVEL_FIELDS],
        "accounts": [("login_key", {"unique": True}), "member_id"],
        "transfers": ["tenant_id", "member_id"],
        "imports": ["status"],
    }

    # --- writing with events -------------------------------------------------
    def commit(self, writes, events: list[dict]) -> None:
        """Run ``writes(session)`` and store ``events`` in the outbox, all in one transaction."""
        try:
            with self.transaction() as session:
                writes(session)
                add_events(self.db, events, SOURCE, session=session)
        except (DuplicateKeyError, BulkWriteError) as error:
            if is_duplicate(error):
                raise Conflict("已存在相同的记录", code="ALREADY_EXISTS") from error
            raise

    # --- tenants ---------------------------------------------------------------
    def tenant_by_code(self, code: str) -> dict | None:
        return self.db.tenants.find_one({"code": code})

    def tenant(self, tenant_id: str) -> dict | None:
        return self.db.tenants.find_one({"_id": tenant_id})

    # --- organisations ---------------------------------------------------------
    def org(self, org_id: str) -> dict | None:
        return self.db.orgs.find_one({"_id": org_id})

    def orgs_by_ids(self, org_ids) -> dict[str, dict]:
        return {org["_id"]: org for org in self.db.orgs.find({"_id": {"$in": list(org_ids)}})}

    def children(self, org_id: str, limit: int = 0) -> list[dict]:
        return list(self.db.orgs.find({"parent_id": org_id}).limit(limit))

    def subtree(self, org: dict, query: dict | None = None, skip: int = 0, limit: int = 0) -> list[dict]:
        cursor = self.db.orgs.find({**subtree_filter(org), **(query or {})}).sort([("level", 1), ("_id", 1)])
        return list(cursor.skip(skip).limit(limit))

    def subtree_height(self, org: dict) -> int:
        deepest = list(self.db.orgs.find(subtree_filter(org), {"level": 1}).sort("level", -1).limit(1))
        return deepest[0]["level"] - org["level"] if deepest else 0

    def has_members(self, org: dict) -> bool:
        return self.db.members.find_one(subtree_filter(org), {"_id": 1}) is not None

    def move_subtree(self, session, org: dict, new_path_ids: list[str]) -> None:
        """Rewrite the ancestor fields of the node, every descendant and every member below it."""
        old_level, new_level = org["level"], len(new_path_ids) - 1
        if old_level == new_level:
            prefix = ancestor_fields(new_path_ids)
            prefix = {name: prefix[name] for name in LEVEL_FIELDS[:new_level + 1]}
            prefix["updated_at"] = stamp()
            self.db.orgs.update_one({"_id": org["_id"]}, {"$set": {"parent_id": new_path_ids[-2]}}, session=session)
            for collection in (self.db.orgs, self.db.members):
                collection.update_many(subtree_filter(org), {"$set": prefix}, session=session)
            return
        for collection in (self.db.orgs, self.db.members):
            updates = []
            for doc in collection.find(subtree_filter(org), session=session):
                path_ids = new_path_ids + path_of(doc)[old_level + 1:]
                update = {**ancestor_fields(path_ids), "updated_at": stamp()}
                if collection is self.db.orgs:
                    update["level"] = len(path_ids) - 1
                    update["parent_id"] = path_ids[-2]
                updates.append(UpdateOne({"_id": doc["_id"]}, {"$set": update}))
            for start in range(0, len(updates), 1000):
                collection.bulk_write(updates[start:start + 1000], ordered=False, session=session)

    # --- members ---------------------------------------------------------------
    def member(self, member_id: str) -> dict | None:
        return self.db.members.find_one({"_id": member_id})

    def members_in(self, org: dict, query: dict, skip: int, limit: int) -> list[dict]:
        cursor = self.db.members.find({**subtree_filter(org), **query}).sort("_id", 1)
        return list(cursor.skip(skip).limit(limit))

    def existing_id_indexes(self, index_values: list[str]) -> set[str]:
        found = set()
        for start in range(0, len(index_values), 1000):
            chunk = index_values[start:start + 1000]
            found.update(doc["id_number_index"] for doc in
                         self.db.members.find({"id_number_index": {"$in": chunk}}, {"id_number_index": 1}))
        return found

    # --- accounts --------------------------------------------------------------
    def account_by_login(self, login_key: str) -> dict | None:
        return self.db.accounts.find_one({"login_key": login_key})

    def account(self, account_id: str) -> dict | None:
        return self.db.accounts.find_one({"_id": account_id})

    def record_login_failure(self, account_id: str, locked_until, lock_count: int, failed: int) -> None:
        self.db.accounts.update_one({"_id": account_id}, {"$set": {
            "failed_logins": failed, "locked_until": locked_until, "lock_count": lock_count}})

    def record_login_success(self, account_id: str, new_hash: str | None) -> None:
        changes = {"failed_logins": 0, "locked_until": None, "last_login_at": stamp()}
        if new_hash:
            changes["password_hash"] = new_hash
        self.db.accounts.update_one({"_id": account_id}, {"$set": changes})

    # --- transfers -------------------------------------------------------------
    def transfer(self, transfer_id: str) -> dict | None:
        return self.db.transfers.find_one({"_id": transfer_id})

    def pending_transfer_of(self, member_id: str) -> dict | None:
        return self.db.transfers.find_one({"member_id": member_id, "state": "pending"})

    def transfers(self, query: dict, skip: int, limit: int) -> list[dict]:
        return list(self.db.transfers.find(query).sort("requested_at", -1).skip(skip).limit(limit))

    def decide_transfer(self, session, transfer_id: str, changes: dict) -> dict | None:
        return self.db.transfers.find_one_and_update(
            {"_id": transfer_id, "state": "pending"}, {"$set": changes},
            return_document=ReturnDocument.AFTER, session=session)

    # --- imports ---------------------------------------------------------------
    def begin_import(self, import_id: str, tenant_id: str, kind: str, by: str, rows: int) -> None:
        self.db.imports.insert_one({"_id": import_id, "tenant_id": tenant_id, "kind": kind, "by": by,
                                    "rows": rows, "status": "writing", "started_at": stamp()})

    def roll_back_unfinished_imports(self) -> int:
        """Remove what an import interrupted by a crash had written: all of it or nothing stays."""
        rolled_back = 0
        for record in self.db.imports.find({"status": "writing"}):
            collection = self.db.orgs if record["kind"] == "orgs" else self.db.members
            collection.delete_many({"import_id": record["_id"]})
            self.db.imports.update_one({"_id": record["_id"]}, {"$set": {"status": "rolled_back"}})
            rolled_back += 1
        return rolled_back

    def write_import(self, import_id: str, collection_name: str, documents: list[dict], events: list[dict],
                     batch: int = 2000) -> None:
        collection = self.db[collection_name]
        try:
            for start in range(0, len(documents), batch):
                collection.insert_many(documents[start:start + batch], ordered=False)
        except (DuplicateKeyError, BulkWriteError) as error:
            collection.delete_many({"import_id": import_id})
            if not is_duplicate(error):
                raise
            self.db.imports.update_one({"_id": import_id}, {"$set": {"status": "rolled_back"}})
            raise Conflict("导入的数据与已有记录重复，未导入任何数据", code="IMPORT_CONFLICT") from error
        except Exception:
            collection.delete_many({"import_id": import_id})
            self.db.imports.update_one({"_id": import_id}, {"$set": {"status": "rolled_back"}})
            raise

        def finish(session):
            self.db.imports.update_one({"_id": import_id}, {"$set": {"status": "done", "finished_at": stamp()}},
                                       session=session)
        self.commit(finish, events)
