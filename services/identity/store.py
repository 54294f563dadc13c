"""Identity storage: tenants, the organisation tree, members, accounts, transfers, imports.

Subtrees are found through per-depth ancestor fields ``a0``..``a5`` (each a
single-field index): the subtree of a node at level L is ``{"aL": node_id}``.
nx-27017 answers array (multikey) index queries wrongly and ignores compound
indexes, so neither is used.
"""
from __future__ import annotations

import heapq
import queue
import threading
import time
from operator import itemgetter
from typing import Callable, Iterable

from bson.binary import UUID_SUBTYPE, Binary
from pymongo import ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from servicekit.storage import subtree
from servicekit.errors import Conflict
from servicekit.timestamps import stamp
from servicekit.storage.mongo import is_duplicate
from servicekit.messaging.outbox import OutboxStore
from servicekit.security.scope import ROLE_AUDITOR, ROLE_BRANCH_SECRETARY, ROLE_MEMBER, ROLE_ORG_ADMIN
from servicekit.storage.subtree import LEVEL_FIELDS, ancestor_fields, path_of  # noqa: F401  (ancestor_fields re-exported)

from services.identity.domain import search as member_search, throttle
from services.identity.events import SOURCE, TREE_EVENTS
from services.identity.second_factor_store import SecondFactorStore
from services.identity.dues_store import DuesRecords
from services.identity.development_store import DEVELOPMENT_COLLECTIONS, DevelopmentStore


def subtree_filter(org: dict) -> dict:
    return subtree.subtree_filter(path_of(org))


# An account is placed in the tree by its role grant (a tenant account holds one: create_account and
# create_tenant grant one role): a0..a5 are the path of the grant's organisation, ra0..ra5 the same ids
# prefixed with the role ("member:<org id>"), so that a subtree's accounts of one role are one equality on one
# single-field index. With an indexed role condition beside aL, SQLite may walk the role's index instead
# (every member login of the city, to find a branch's few).
ROLE_LEVEL_FIELDS = [f"r{name}" for name in LEVEL_FIELDS]
PLACED_ROLES = (ROLE_ORG_ADMIN, ROLE_BRANCH_SECRETARY, ROLE_MEMBER, ROLE_AUDITOR)   # the roles a tenant account is granted


def account_place(role: str, path_ids) -> dict:
    """The placement fields of an account whose grant is ``role`` over the organisation at ``path_ids``."""
    fields = ancestor_fields(path_ids)
    fields.update({f"r{name}": f"{role}:{org_id}" if org_id else None for name, org_id in fields.items()})
    return fields


def accounts_filter(org: dict, role: str = "") -> dict:
    """Accounts whose grant lies at or below ``org`` (of ``role`` only, if given)."""
    level = len(path_of(org)) - 1
    return {f"ra{level}": f"{role}:{org['_id']}"} if role else {f"a{level}": org["_id"]}


# Member search (services.identity.domain.search): one single-field index per key of a member's ``search``.
SEARCH_KEY_FIELDS = [f"search.{field}" for field in (*member_search.NAME_FIELDS, "phone_tail")]

# What a list of accounts reads: never the password hash, the login key or the login times.
PARTY_STATUSES = ("probationary", "full")      # the statuses that make a party member: a branch's roster
ACCOUNT_LISTING = {"_id": 1, "tenant_id": 1, "username": 1, "roles": 1, "member_id": 1, "created_at": 1,
                   "disabled": 1}


class Abandoned(Exception):
    """Raised inside a commit's writes to undo them: what they were to change was changed meanwhile."""


class IdentityStore(SecondFactorStore, DevelopmentStore, DuesRecords, OutboxStore):
    source = SOURCE
    duplicate = ("ALREADY_EXISTS", "已存在相同的记录")
    collections = {
        "tenants": [("code", {"unique": True})],
        "orgs": ["tenant_id", "parent_id", *LEVEL_FIELDS],
        "members": ["branch_id", ("id_number_index", {"unique": True}), "import_id", *LEVEL_FIELDS,
                    *SEARCH_KEY_FIELDS],
        "accounts": [("login_key", {"unique": True}), "member_id", *LEVEL_FIELDS, *ROLE_LEVEL_FIELDS],
        "login_attempts": ["expires_at"],
        "login_challenges": ["expires_at"],            # a right password waiting for its TOTP code
        "sessions": ["account_id", "expires_at"],      # one per login: its refresh token, revoked or not
        "revocations": ["at", "until"],                # what the gateways poll (revocations_since)
        "transfers": ["tenant_id", "member_id"],
        "imports": ["status"],
        "migrations": [],       # _id: a one-time step done (with when)
        "revisions": [],        # _id "org_tree": moved by every commit that writes nodes (commit_also)
        **DEVELOPMENT_COLLECTIONS,
    }

    def commit_also(self, session, events) -> None:
        """A commit that writes organisation nodes moves the tree's revision in the same transaction."""
        if any(event.get("event_type") in TREE_EVENTS for event in events):
            self._move_tree_revision(session)

    def _move_tree_revision(self, session=None) -> None:
        self.db.revisions.update_one({"_id": "org_tree"}, {"$inc": {"n": 1}}, upsert=True, session=session)

    def org_tree_revision(self) -> int:
        """How many commits have written organisation nodes (0: none yet); equal revisions, equal trees."""
        doc = self.db.revisions.find_one({"_id": "org_tree"})
        return int(doc["n"]) if doc else 0

    def migrate(self) -> None:
        self.place_accounts()
        self.key_member_search()

    def place_accounts(self) -> int:
        """Give every tenant account stored before accounts were placed in the tree its placement fields, once.
        Only accounts without them are written (an account created or moved meanwhile keeps its own), and the
        step is marked done only when all are written, so a start cut off half way is finished by the next.
        Returns how many were written."""
        if self.db.migrations.find_one({"_id": "account_places"}) is not None:
            return 0
        pending = [account for account in self.db.accounts.find({}, {"roles": 1, "a0": 1, "tenant_id": 1})
                   if account.get("tenant_id") and not account.get("a0") and account.get("roles")
                   and account["roles"][0].get("org_id")]
        written = 0
        for start in range(0, len(pending), 1000):
            chunk = pending[start:start + 1000]
            orgs = self.orgs_by_ids({account["roles"][0]["org_id"] for account in chunk})
            updates = [UpdateOne({"_id": account["_id"], "a0": None}, {"$set": account_place(
                grant["role"], path_of(orgs[grant["org_id"]]))})
                for account in chunk for grant in account["roles"][:1] if grant["org_id"] in orgs]
            if updates:     # in a transaction: nx-27017 otherwise commits each update on its own
                written += self.run_transaction(
                    lambda session: self.db.accounts.bulk_write(updates, ordered=False, session=session).modified_count)
        self.db.migrations.update_one({"_id": "account_places"}, {"$set": {"done_at": stamp(), "written": written}},
                                      upsert=True)
        return written

    # --- tenants ---------------------------------------------------------------
    def tenant_by_code(self, code: str) -> dict | None:
        return self.db.tenants.find_one({"code": code})

    def tenant(self, tenant_id: str) -> dict | None:
        return self.db.tenants.find_one({"_id": tenant_id})

    def create_tenant(self, tenant: dict, root: dict, admin: dict, events: list[dict]) -> None:
        def writes(session):
            self.db.tenants.insert_one(tenant, session=session)
            self.db.orgs.insert_one(root, session=session)
            self.db.accounts.insert_one(admin, session=session)
        self.commit(writes, events)

    # --- organisations ---------------------------------------------------------
    def org(self, org_id: str) -> dict | None:
        return self.db.orgs.find_one({"_id": org_id})

    def orgs_by_ids(self, org_ids) -> dict[str, dict]:
        return {org["_id"]: org for org in self.db.orgs.find({"_id": {"$in": list(org_ids)}})}

    def tenant_orgs(self, tenant_id: str, org_ids) -> list[dict]:
        """The tenant's nodes among ``org_ids`` (another tenant's id finds nothing)."""
        return list(self.db.orgs.find({"_id": {"$in": list(org_ids)}, "tenant_id": tenant_id}))

    def orgs_after(self, after: str, limit: int) -> list[dict]:
        """Every tenant's nodes with an id after ``after``, in id order, at most ``limit``."""
        return list(self.db.orgs.find({"_id": {"$gt": after}} if after else {}).sort("_id", 1).limit(limit))

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

    def create_org(self, org: dict, events: list[dict]) -> None:
        self.commit(lambda session: self.db.orgs.insert_one(org, session=session), events)

    def update_org(self, org_id: str, changes: dict, events: list[dict]) -> None:
        self.commit(lambda session: self.db.orgs.update_one({"_id": org_id}, {"$set": changes}, session=session),
                    events)

    def move_org(self, org: dict, new_path_ids: list[str], now: str, events: list[dict]) -> None:
        self.commit(lambda session: self._move_subtree(session, org, new_path_ids, now), events)

    def dissolve_org(self, org_id: str, events: list[dict]) -> None:
        self.commit(lambda session: self.db.orgs.delete_one({"_id": org_id}, session=session), events)

    def _move_subtree(self, session, org: dict, new_path_ids: list[str], now: str) -> None:
        """Rewrite the ancestor fields of the node, every descendant and every member and account below it, and move
        the node's dues standards total to its new ancestors."""
        self.move_dues_standards_of_org(session, org, new_path_ids)
        old_level, new_level = org["level"], len(new_path_ids) - 1
        if old_level == new_level:
            prefix = ancestor_fields(new_path_ids)
            prefix = {name: prefix[name] for name in LEVEL_FIELDS[:new_level + 1]}
            prefix["updated_at"] = now
            self.db.orgs.update_one({"_id": org["_id"]}, {"$set": {"parent_id": new_path_ids[-2]}}, session=session)
            for collection in (self.db.orgs, self.db.members):
                collection.update_many(subtree_filter(org), {"$set": prefix}, session=session)
            moved = [*LEVEL_FIELDS[:new_level + 1], *ROLE_LEVEL_FIELDS[:new_level + 1]]
            for role in PLACED_ROLES:        # accounts: their role-prefixed fields too, one role at a time
                place = account_place(role, new_path_ids)
                self.db.accounts.update_many(accounts_filter(org, role),
                                             {"$set": {name: place[name] for name in moved}}, session=session)
            return
        # by name: ``self.db.orgs`` is a new Collection object at every access, never ``is`` another
        for name in ("orgs", "members", "accounts"):
            collection, updates = self.db[name], []
            for doc in collection.find(subtree_filter(org), session=session):
                path_ids = new_path_ids + path_of(doc)[old_level + 1:]
                if name == "accounts":
                    update = account_place(doc["roles"][0]["role"], path_ids)
                else:
                    update = {**ancestor_fields(path_ids), "updated_at": now}
                if name == "orgs":
                    update["level"] = len(path_ids) - 1
                    update["parent_id"] = path_ids[-2]
                updates.append(UpdateOne({"_id": doc["_id"]}, {"$set": update}))
            for start in range(0, len(updates), 1000):
                collection.bulk_write(updates[start:start + 1000], ordered=False, session=session)

    # --- members ---------------------------------------------------------------
    def member(self, member_id: str) -> dict | None:
        return self.db.members.find_one({"_id": member_id})

    def create_member(self, member: dict, events: list[dict]) -> None:
        self.commit(lambda session: self.db.members.insert_one(member, session=session), events)

    def update_member(self, member: dict, changes: dict, now: str, events: list[dict]) -> dict:
        """Write ``changes``; a new name or phone rewrites the search keys from the member as this transaction
        reads it, so a parallel change of the other field counts. Returns what was set."""
        stored = {**changes, "updated_at": now}

        def writes(session):
            if "name" in changes or "phone" in changes:
                current = self.db.members.find_one({"_id": member["_id"]}, {"name": 1, "phone": 1},
                                                   session=session) or member
                current = {**current, **changes}
                stored["search"] = member_search.member_keys(current["name"], current.get("phone", ""))
            self.db.members.update_one({"_id": member["_id"]}, {"$set": stored}, session=session)
        self.commit(writes, events)
        return stored

    def change_member_status(self, member: dict, changes: dict, events: list[dict]) -> None:
        """Only from the status the caller saw: a parallel change of status is not overwritten."""
        self.commit(lambda session: self.db.members.update_one(
            {"_id": member["_id"], "status": member["status"]}, {"$set": changes}, session=session), events)

    def remove_member(self, member_id: str, events: list[dict], revoke: dict | None = None) -> None:
        """The member and its logins, its dues standard out of the totals; ``revoke`` (``revocation_writes``'
        arguments but the account) cuts each login off."""
        def writes(session):
            member = self.db.members.find_one_and_delete({"_id": member_id}, session=session)
            if member is not None:
                self.move_dues_standard(session, member, None)
            if revoke:
                for account in self.db.accounts.find({"member_id": member_id}, {"_id": 1}, session=session):
                    self.revocation_writes(session, **{**revoke, "account_id": account["_id"]})
            self.db.accounts.delete_many({"member_id": member_id}, session=session)
        self.commit(writes, events)

    def members_in(self, org: dict, query: dict, skip: int, limit: int) -> list[dict]:
        cursor = self.db.members.find({**subtree_filter(org), **query}).sort("_id", 1)
        return list(cursor.skip(skip).limit(limit))

    def search_members(self, org: dict, conditions: list[dict], query: dict, skip: int, limit: int) -> list[dict]:
        """The members of ``org``'s subtree that meet any of ``conditions`` (``MemberSearch.conditions``: each
        served by one search-key index) and all of ``query`` (unindexed fields), in ``members_in``'s order."""
        level = len(path_of(org)) - 1
        # $in rather than an equality on the ancestor field: SQLite then reads only the search key's index and
        # checks the subtree on each hit; given an equality it walks the subtree's index (the whole city at the
        # root) instead. Nothing else here may be an indexed field either.
        where = {f"a{level}": {"$in": [org["_id"]]}, "tenant_id": org["tenant_id"], **query}
        wanted = skip + limit       # the first ``wanted`` of the union are among the first ``wanted`` of each
        streams = [list(self.db.members.find({**condition, **where}).sort("_id", 1).limit(wanted))
                   for condition in conditions]
        found, last = [], None
        for member in heapq.merge(*streams, key=itemgetter("_id")):
            if member["_id"] != last:       # a member may match in several keys ("明明" by "明")
                found.append(member)
                last = member["_id"]
        return found[skip:wanted]

    def key_member_search(self, batch: int = 1000) -> int:
        """Give every member stored before member search its search keys, once (marked done in ``migrations``
        only when all are written, so a start cut off half way is finished by the next). One pass over the
        members (nx-27017 answers a range on ``_id`` by reading every document); a member whose name or phone
        changed meanwhile is left to the write that changed it. Returns how many were written."""
        if self.db.migrations.find_one({"_id": "member_search_keys"}) is not None:
            return 0
        written, updates = 0, []
        for member in self.db.members.find({}, {"name": 1, "phone": 1, "search": 1}).batch_size(batch):
            if "search" in member:
                continue
            as_read = {field: member[field] for field in ("name", "phone") if field in member}
            keys = member_search.member_keys(as_read.get("name", ""), as_read.get("phone", ""))
            updates.append(UpdateOne({"_id": member["_id"], **as_read}, {"$set": {"search": keys}}))
            if len(updates) == batch:
                written, updates = written + self._write_keys(updates), []
        written += self._write_keys(updates)
        self.db.migrations.update_one({"_id": "member_search_keys"},
                                      {"$set": {"done_at": stamp(), "written": written}}, upsert=True)
        return written

    def _write_keys(self, updates: list[UpdateOne]) -> int:
        if not updates:
            return 0
        # one commit per batch: nx-27017 commits every statement otherwise
        return self.run_transaction(
            lambda session: self.db.members.bulk_write(updates, ordered=False, session=session).modified_count)

    def party_members_of(self, tenant_id: str, branch_ids: list[str]):
        """Probationary and full members of these branches (the statuses that make a party member).

        One indexed equality query per branch: nx-27017 answers ``$in`` on a secondary index by scanning."""
        projection = {"_id": 1, "branch_id": 1, "name": 1, "mobile": 1, "status": 1, "tenant_id": 1}
        for branch_id in branch_ids:
            for member in self.db.members.find({"branch_id": branch_id}, projection):
                if member.get("tenant_id") == tenant_id and member.get("status") in PARTY_STATUSES:
                    yield member

    def party_member_counts(self, tenant_id: str, branch_ids: list[str]) -> dict[str, int]:
        """{branch_id: how many members ``party_members_of`` yields for it}, reading only their ids.

        One indexed equality query per branch with the tenant and statuses in the filter: ``count_documents``
        scans the collection on nx-27017 (~9 s a branch at 208,000 members), this ~2 ms a branch."""
        counts: dict[str, int] = {}
        for branch_id in branch_ids:
            found = self.db.members.find({"branch_id": branch_id, "tenant_id": tenant_id,
                                          "status": {"$in": list(PARTY_STATUSES)}}, {"_id": 1})
            counts[branch_id] = sum(1 for _ in found)
        return counts

    def branch_meeting_facts(self, tenant_id: str, branch_ids: list[str]) -> dict[str, dict]:
        """{branch_id: {full_members, groups}} for attendance's 三会一课 ledger: a committee needs enough full
        members, group meetings need party groups (``group`` organisations under the branch). One indexed query per
        branch for the members (as ``party_member_counts``), one over the tenant's organisations for the groups."""
        facts = {branch_id: {"full_members": 0, "groups": 0} for branch_id in branch_ids}
        for branch_id in facts:
            found = self.db.members.find({"branch_id": branch_id, "tenant_id": tenant_id, "status": "full"},
                                         {"_id": 1})
            facts[branch_id]["full_members"] = sum(1 for _ in found)
        for group in self.db.orgs.find({"tenant_id": tenant_id, "kind": "group"}, {"parent_id": 1}):
            if group.get("parent_id") in facts:
                facts[group["parent_id"]]["groups"] += 1
        return facts

    def existing_id_indexes(self, index_values: list[str]) -> set[str]:
        found = set()
        for start in range(0, len(index_values), 1000):
            chunk = index_values[start:start + 1000]
            found.update(doc["id_number_index"] for doc in
                         self.db.members.find({"id_number_index": {"$in": chunk}}, {"id_number_index": 1}))
        return found

    def member_id_numbers(self, tenant_id: str | None = None, batch: int = 1000):
        """Every member's (or one tenant's) stored ID number fields, for re-encryption (services.identity.rekey)."""
        query = {"tenant_id": tenant_id} if tenant_id else {}
        projection = {"tenant_id": 1, "id_number_enc": 1, "id_number_index": 1}
        return self.db.members.find(query, projection).batch_size(batch)

    def rewrite_id_numbers(self, updates: list[tuple[str, str, dict]]) -> int:
        """(member id, ciphertext as read, fields to set): each set unless its ciphertext changed since it was read,
        all in one commit; returns how many were written."""
        if not updates:
            return 0
        writes = [UpdateOne({"_id": member_id, "id_number_enc": as_read}, {"$set": fields})
                  for member_id, as_read, fields in updates]
        return self.run_transaction(
            lambda session: self.db.members.bulk_write(writes, ordered=False, session=session).modified_count)

    def migration(self, step: str) -> dict | None:
        return self.db.migrations.find_one({"_id": step})

    def mark_migration(self, step: str, fields: dict) -> None:
        self.db.migrations.update_one({"_id": step}, {"$set": {**fields, "done_at": stamp()}}, upsert=True)

    # --- accounts --------------------------------------------------------------
    def account_by_login(self, login_key: str) -> dict | None:
        return self.db.accounts.find_one({"login_key": login_key})

    def account(self, account_id: str) -> dict | None:
        return self.db.accounts.find_one({"_id": account_id})

    def accounts_in(self, org: dict, role: str, skip: int, limit: int) -> list[dict]:
        """The accounts whose grant lies in ``org``'s subtree (of ``role`` only, if given), without secrets,
        in a stable order for paging.

        Organisation ids are unique across tenants, so the tenant is checked on the page found rather than in
        the query, where it would be read from every candidate document."""
        cursor = self.db.accounts.find(accounts_filter(org, role), ACCOUNT_LISTING).sort("_id", 1)
        return [account for account in cursor.skip(skip).limit(limit) if account.get("tenant_id") == org["tenant_id"]]

    def member_names(self, member_ids) -> dict[str, str]:
        return {member["_id"]: member["name"]
                for member in self.db.members.find({"_id": {"$in": list(member_ids)}}, {"name": 1})}

    def create_account(self, account: dict, events: list[dict]) -> None:
        self.commit(lambda session: self.db.accounts.insert_one(account, session=session), events)

    def register_citizen(self, account: dict, events: list[dict]) -> None:
        """A citizen's new account; its phone already taken in the tenant (a registration racing this one) is
        ``PHONE_TAKEN`` by the login key's unique index."""
        self.commit(lambda session: self.db.accounts.insert_one(account, session=session), events,
                    duplicate=("PHONE_TAKEN", "该手机号已注册，请直接登录"))

    def create_operator(self, account: dict) -> bool:
        """The installation operator's account, unless one exists; True if created."""
        try:
            self.db.accounts.insert_one(account)
        except DuplicateKeyError:
            return False
        return True

    def reset_password(self, account_id: str, password_hash: str, now: str, events: list[dict],
                       revoke: dict | None = None) -> None:
        def writes(session):
            self.db.accounts.update_one({"_id": account_id}, {"$set": {
                "password_hash": password_hash, "password_reset_at": now}}, session=session)
            if revoke:
                self.revocation_writes(session, **revoke)
        self.commit(writes, events)

    def record_login_success(self, account_id: str, new_hash: str | None, now: str) -> None:
        changes = {"last_login_at": now}
        if new_hash:
            changes["password_hash"] = new_hash
        self.db.accounts.update_one({"_id": account_id}, {"$set": changes})

    def member_accounts(self, member_id: str) -> list[dict]:
        return list(self.db.accounts.find({"member_id": member_id}, ACCOUNT_LISTING))

    def root_admins(self, tenant_id: str, root_id: str) -> list[dict]:
        """The tenant's accounts granted org_admin over its root organisation (the city admins)."""
        return [account for account in self.db.accounts.find({"ra0": f"{ROLE_ORG_ADMIN}:{root_id}"})
                if account.get("tenant_id") == tenant_id and account["roles"][0]["org_id"] == root_id]

    def change_password(self, account_id: str, password_hash: str, now: str, events: list[dict],
                        revoke: dict | None = None) -> int:
        """A new password hash; ``revoke`` (``revocation_writes``' arguments) cuts sessions off in the same
        transaction. Returns how many sessions it revoked."""
        def writes(session):
            self.db.accounts.update_one({"_id": account_id}, {"$set": {
                "password_hash": password_hash, "password_changed_at": now}}, session=session)
            return self.revocation_writes(session, **revoke) if revoke else 0
        return self.commit(writes, events)

    def update_account(self, account_id: str, changes: dict, events: list[dict], revoke: dict | None = None) -> int:
        """Set ``changes`` on the account (disabled or enabled); sessions revoked as ``change_password``'s."""
        def writes(session):
            self.db.accounts.update_one({"_id": account_id}, {"$set": changes}, session=session)
            return self.revocation_writes(session, **revoke) if revoke else 0
        return self.commit(writes, events)

    def remove_account(self, account_id: str, events: list[dict], revoke: dict) -> int:
        def writes(session):
            self.db.accounts.delete_one({"_id": account_id}, session=session)
            return self.revocation_writes(session, **revoke)
        return self.commit(writes, events)

    # --- sessions and revocations (services.identity.usecases.sessions) ----------
    def create_session(self, session: dict) -> None:
        self.db.sessions.insert_one(session)

    def session(self, session_id: str) -> dict | None:
        return self.db.sessions.find_one({"_id": session_id})

    def live_sessions(self, account_id: str, now: float) -> list[dict]:
        """The account's sessions neither revoked nor expired, the newest first."""
        found = self.db.sessions.find({"account_id": account_id})
        return sorted((session for session in found if not session.get("revoked_at") and session["expires_at"] > now),
                      key=itemgetter("created_at"), reverse=True)

    def rotate_refresh(self, session: dict, new_hash: str, changes: dict) -> bool:
        """Replace the session's refresh token, only from the one it was read with (a parallel refresh with the
        same token loses); False, nothing written, if it lost or the session was revoked meanwhile."""
        retired = [*session.get("retired_hashes", []), session["refresh_hash"]][-RETIRED_KEPT:]
        return self.db.sessions.update_one(
            {"_id": session["_id"], "refresh_hash": session["refresh_hash"], "revoked_at": None},
            {"$set": {**changes, "refresh_hash": new_hash, "retired_hashes": retired}}).modified_count == 1

    def revoke(self, events: list[dict] = (), **revoke) -> int:
        """``revocation_writes`` in a transaction of its own; how many sessions it revoked."""
        return self.commit(lambda session: self.revocation_writes(session, **revoke), events)

    def revocation_writes(self, session, session_ids=(), account_id: str | None = None, reason: str = "",
                          now: str = "", at: float = 0.0, until: float = 0.0, cut_account: bool = False,
                          all_of_account: bool = False, keep_session_id: str | None = None) -> int:
        """Mark sessions revoked and record them, and the account if ``cut_account``, for the gateways.
        ``all_of_account``: every live session of ``account_id`` but ``keep_session_id``. Returns how many
        sessions it revoked (those revoked already are left as they were)."""
        ids = list(session_ids)
        if all_of_account:
            ids += [doc["_id"] for doc in self.db.sessions.find({"account_id": account_id}, {"revoked_at": 1},
                                                                 session=session)
                    if not doc.get("revoked_at") and doc["_id"] != keep_session_id]
        revoked = 0
        for session_id in dict.fromkeys(ids):
            if self.db.sessions.update_one({"_id": session_id, "revoked_at": None}, {"$set": {
                    "revoked_at": now, "revoked_reason": reason}}, session=session).modified_count:
                revoked += 1
                self.db.revocations.insert_one({"_id": f"session:{session_id}", "kind": "session",
                                                "target": session_id, "at": at, "until": until}, session=session)
        if cut_account:
            self.db.revocations.update_one({"_id": f"account:{account_id}"}, {"$set": {
                "kind": "account", "target": account_id, "at": at, "cut_at": int(at), "until": until}},
                upsert=True, session=session)
        return revoked

    def revocations_since(self, since: float | None, now: float) -> list[dict]:
        """Revocations recorded at or after ``since`` (every one still in force for None) whose tokens have
        not all expired by ``now``."""
        found = self.db.revocations.find({"at": {"$gte": since}} if since is not None else {"until": {"$gt": now}})
        return [entry for entry in found if entry["until"] > now]

    def forget_sessions(self, now: float) -> int:
        """Delete expired sessions and the revocations no token is left for; how many sessions."""
        self.db.revocations.delete_many({"until": {"$lte": now}})
        return self.db.sessions.delete_many({"expires_at": {"$lte": now}}).deleted_count

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
            fields = {"counted": counted + 1, "last_at": now, "expires_at": now + rule.forget, "rule": rule.name}
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

    def request_transfer(self, transfer: dict, events: list[dict]) -> None:
        self.commit(lambda session: self.db.transfers.insert_one(transfer, session=session), events)

    def accept_transfer(self, transfer: dict, decision: dict, branch_path: list[str], now: str,
                        events: list[dict]) -> bool:
        """Decide the pending transfer and move its member (and the member's own role and dues standard) to the
        branch at ``branch_path``; False, with nothing written, if it was decided meanwhile."""
        member_id = transfer["member_id"]

        def writes(session):
            self._decide_transfer(session, transfer["_id"], decision)
            member = self.db.members.find_one_and_update({"_id": member_id}, {"$set": {
                "branch_id": branch_path[-1], **ancestor_fields(branch_path), "updated_at": now}}, session=session)
            self._move_member_role(session, member_id, branch_path)
            if member is not None:
                self.move_dues_standard(session, member, branch_path)
        return self._commit_unless_abandoned(writes, events)

    def reject_transfer(self, transfer: dict, decision: dict, events: list[dict]) -> bool:
        """Decide the pending transfer; False, with nothing written, if it was decided meanwhile."""
        return self._commit_unless_abandoned(
            lambda session: self._decide_transfer(session, transfer["_id"], decision), events)

    def _commit_unless_abandoned(self, writes, events: list[dict]) -> bool:
        try:
            self.commit(writes, events)
        except Abandoned:
            return False
        return True

    def _decide_transfer(self, session, transfer_id: str, decision: dict) -> None:
        if self.db.transfers.find_one_and_update({"_id": transfer_id, "state": "pending"}, {"$set": decision},
                                                 return_document=ReturnDocument.AFTER, session=session) is None:
            raise Abandoned

    def _move_member_role(self, session, member_id: str, branch_path: list[str]) -> None:
        """The member's own role follows it, and with it where its account is listed; offices it held
        (secretary, admin) stay with the old branch."""
        for account in self.db.accounts.find({"member_id": member_id}, session=session):
            roles = [{**grant, "org_id": branch_path[-1]} if grant["role"] == ROLE_MEMBER else grant
                     for grant in account.get("roles", [])]
            changes = {"roles": roles}
            if roles and roles[0]["role"] == ROLE_MEMBER:
                changes.update(account_place(ROLE_MEMBER, branch_path))
            self.db.accounts.update_one({"_id": account["_id"]}, {"$set": changes}, session=session)

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
            if record["kind"] == "orgs":    # a peer may have read some of its nodes while they were written
                self._move_tree_revision()
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

        Each batch is one transaction (nx-27017 commits every statement otherwise), inserted by a writer thread
        while the caller prepares the next (``batches`` may be a generator). ``events`` may be a callable,
        called once all batches are written."""
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
            if collection_name == "orgs":     # a peer may have read some of its nodes while they were written
                self._move_tree_revision()
            if not is_duplicate(error):
                raise
            self.db.imports.update_one({"_id": import_id}, {"$set": {"status": "rolled_back"}})
            raise Conflict("导入的数据与已有记录重复，未导入任何数据", code="IMPORT_CONFLICT") from error
        except BaseException:
            collection.delete_many({"import_id": import_id})
            if collection_name == "orgs":
                self._move_tree_revision()
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
RETIRED_KEPT = 20       # a session's refresh tokens remembered after rotation: a reuse of one revokes the session


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
