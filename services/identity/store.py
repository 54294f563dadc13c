"""Identity storage: tenants, the organisation tree, members, accounts, transfers, imports.

Subtrees are found through per-depth ancestor fields ``a0``..``a5`` (each a
single-field index): the subtree of a node at level L is ``{"aL": node_id}``.
nx-27017 answers array (multikey) index queries wrongly and ignores compound
indexes, so neither is used.
"""
from __future__ import annotations

import queue
import threading
import time
from typing import Callable, Iterable

from bson.binary import UUID_SUBTYPE, Binary
from pymongo import ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from servicekit import subtree
from servicekit.errors import Conflict
from servicekit.events import stamp
from servicekit.mongo import Store, is_duplicate
from servicekit.outbox import add_events
from servicekit.subtree import LEVEL_FIELDS, ancestor_fields, path_of  # noqa: F401  (ancestor_fields re-exported)

from services.identity.domain import throttle
from services.identity.events import SOURCE


def subtree_filter(org: dict) -> dict:
    return subtree.subtree_filter(path_of(org))


class IdentityStore(Store):
    collections = {
        "tenants": [("code", {"unique": True})],
        "orgs": ["tenant_id", "parent_id", *LEVEL_FIELDS],
        "members": ["branch_id", ("id_number_index", {"unique": True}), "import_id", *LEVEL_FIELDS],
        "accounts": [("login_key", {"unique": True}), "member_id"],
        "login_attempts": ["expires_at"],
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

    def party_members_of(self, tenant_id: str, branch_ids: list[str]):
        """Probationary and full members of these branches (the statuses that make a party member).

        One indexed equality query per branch: nx-27017 answers ``$in`` on a secondary index by scanning."""
        projection = {"_id": 1, "branch_id": 1, "name": 1, "mobile": 1, "status": 1, "tenant_id": 1}
        for branch_id in branch_ids:
            for member in self.db.members.find({"branch_id": branch_id}, projection):
                if member.get("tenant_id") == tenant_id and member.get("status") in ("probationary", "full"):
                    yield member

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

    def replace_password(self, session, account_id: str, password_hash: str) -> None:
        self.db.accounts.update_one({"_id": account_id}, {"$set": {
            "password_hash": password_hash, "password_reset_at": stamp()}}, session=session)

    def record_login_success(self, account_id: str, new_hash: str | None) -> None:
        changes = {"last_login_at": stamp()}
        if new_hash:
            changes["password_hash"] = new_hash
        self.db.accounts.update_one({"_id": account_id}, {"$set": changes})

    # --- login throttling (services.identity.domain.throttle) -------------------
    def take_login_attempt(self, counter: throttle.Counter, now: float, tries: int = 8) -> float:
        """Count one attempt on ``counter`` unless its rule makes the client wait: 0.0 when counted, else the
        seconds to wait (nothing written). A compare-and-set on the counter's version: parallel attempts are
        each counted once, each judged on the count of those before it."""
        rule, attempts = counter.rule, self.db.login_attempts
        for _ in range(tries):
            held = attempts.find_one({"_id": counter.id})
            counted = throttle.attempts(rule, held["counted"], held["last_at"], now) if held else 0
            waiting = throttle.wait(rule, counted, held and held["last_at"], now)
            if waiting > 0:
                return waiting
            fields = {"counted": counted + 1, "last_at": now, "expires_at": now + rule.forget}
            if held is None:
                try:
                    attempts.insert_one({"_id": counter.id, **fields, "version": 1})
                    return 0.0
                except PyMongoError as error:
                    if not is_duplicate(error):
                        raise
                    continue            # a parallel attempt created it first: judge again on its count
            if attempts.update_one({"_id": counter.id, "version": held["version"]},
                                   {"$set": fields, "$inc": {"version": 1}}).modified_count:
                return 0.0
        return rule.base                # this many parallel attempts on one counter: a flood, refused unhashed

    def give_back_login_attempt(self, counter: throttle.Counter) -> None:
        """Uncount an attempt ``take_login_attempt`` counted (it succeeded, or another counter refused it)."""
        self.db.login_attempts.update_one({"_id": counter.id, "counted": {"$gt": 0}},
                                          {"$inc": {"counted": -1, "version": 1}})

    def clear_login_attempts(self, counter: throttle.Counter) -> None:
        self.db.login_attempts.delete_one({"_id": counter.id})

    def forget_login_attempts(self, now: float) -> int:
        """Delete the counters whose attempts are all forgotten; returns how many."""
        return self.db.login_attempts.delete_many({"expires_at": {"$lte": now}}).deleted_count

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
        """Remove what an import interrupted by a crash had written: all of it or nothing stays.

        An import writes each batch in a transaction of its own session; if the process died with one
        open, nx-27017 keeps that transaction open on the database's connection (it does not abort on
        disconnect), so the session is ended first: that aborts it."""
        rolled_back = 0
        for record in self.db.imports.find({"status": "writing"}):
            if record.get("session_id"):
                self.end_session(record["session_id"])
            collection = self.db.orgs if record["kind"] == "orgs" else self.db.members
            collection.delete_many({"import_id": record["_id"]})
            self.db.imports.update_one({"_id": record["_id"]}, {"$set": {"status": "rolled_back"}})
            rolled_back += 1
        return rolled_back

    def end_session(self, session_id: str) -> None:
        """End the server session whose id (a UUID) is given in hex, aborting its open transaction."""
        try:
            self.client.admin.command({"endSessions": [{"id": Binary(bytes.fromhex(session_id), UUID_SUBTYPE)}]})
        except PyMongoError:
            pass  # an unknown or already ended session: nothing is open

    def write_import(self, import_id: str, collection_name: str, batches: Iterable[list[dict]],
                     events: list[dict] | Callable[[], list[dict]]) -> None:
        """Insert ``batches`` (a list of documents is cut into batches), then mark the import done and store
        its events in one transaction; on any failure remove everything the import wrote.

        Each batch is one transaction (nx-27017 commits every statement otherwise: a commit per document
        is what made imports slow) and is inserted by a writer thread while the caller prepares the next
        batch (``batches`` may be a generator). ``events`` may be a callable, called once all batches are
        written."""
        if isinstance(batches, list) and (not batches or isinstance(batches[0], dict)):
            batches = [batches[start:start + WRITE_BATCH] for start in range(0, len(batches), WRITE_BATCH)]
        collection = self.db[collection_name]
        try:
            with self.client.start_session() as session:
                self.db.imports.update_one({"_id": import_id},
                                           {"$set": {"session_id": bytes(session.session_id["id"]).hex()}})
                writer = _BatchWriter(lambda batch: self._insert_batch(collection, batch, session))
                try:
                    for batch in batches:
                        writer.put(batch)
                finally:
                    writer.close()
        except (DuplicateKeyError, BulkWriteError) as error:
            collection.delete_many({"import_id": import_id})
            if not is_duplicate(error):
                raise
            self.db.imports.update_one({"_id": import_id}, {"$set": {"status": "rolled_back"}})
            raise Conflict("导入的数据与已有记录重复，未导入任何数据", code="IMPORT_CONFLICT") from error
        except BaseException:
            collection.delete_many({"import_id": import_id})
            self.db.imports.update_one({"_id": import_id}, {"$set": {"status": "rolled_back"}})
            raise

        def finish(session):
            self.db.imports.update_one({"_id": import_id}, {"$set": {"status": "done", "finished_at": stamp()}},
                                       session=session)
        self.commit(finish, events() if callable(events) else events)

    def _insert_batch(self, collection, batch: list[dict], session) -> None:
        with self.transaction(session):
            collection.insert_many(batch, ordered=False, session=session)


WRITE_BATCH = 2000


class _BatchWriter:
    """Runs ``write(batch)`` for each batch put, in order, on a thread of its own (a green thread under
    eventlet), at most ``depth`` batches ahead of the caller. ``close()`` waits for the last one and
    raises the first error; ``put()`` raises it as soon as it is known."""

    def __init__(self, write: Callable[[list[dict]], None], depth: int = 2):
        self._write = write
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="import-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is None:
                return
            if self._error is None:
                try:
                    self._write(batch)
                except BaseException as error:  # reported to the caller by put() / close()
                    self._error = error

    def put(self, batch: list[dict]) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(batch)
        time.sleep(0)  # under eventlet: let the writer send what is queued

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
