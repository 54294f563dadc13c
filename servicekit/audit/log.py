"""The audit log of one service's database: append-only, hash-chained per tenant, searchable, pruned by age.

Collections ``audit_log`` (one document per entry) and ``audit_checkpoints`` (per tenant: the seq and hash of the
last entry retention removed). Nothing here updates an entry: entries are inserted and, once older than the
retention, deleted as a whole prefix of their chain.

One process appends under a lock and keeps each chain's head in memory; ``chain_key`` (``<tenant>:<seq>``) is
unique, so another process (a second replica) appending at the same position fails its insert, and the loser
re-reads the head from the store and tries again, as attendance's record chain does.
"""
from __future__ import annotations

import logging
import secrets
import threading
from datetime import datetime, timedelta

import pymongo

from servicekit.audit import chain
from servicekit.process.config import mongo_uri
from servicekit.storage.mongo import is_duplicate, shared_client
from servicekit.timestamps import stamp, utc_now

log = logging.getLogger(__name__)

ENTRIES = "audit_log"
CHECKPOINTS = "audit_checkpoints"
APPEND_ATTEMPTS = 8
SEARCH_LIMIT_MAX = 2000


class AuditLog:
    def __init__(self, db: pymongo.database.Database, service: str):
        self.db = db
        self.service = service
        self.lock = threading.Lock()        # green under nameko's runner (threading is monkey-patched first)
        self._heads: dict[str, tuple[int, str]] = {}

    def ensure_schema(self) -> None:
        existing = set(self.db.list_collection_names())
        for name in (ENTRIES, CHECKPOINTS):
            if name not in existing:
                try:
                    self.db.create_collection(name)
                except pymongo.errors.CollectionInvalid:
                    pass        # another process created it first
        entries = self.db[ENTRIES]
        entries.create_index("chain_key", unique=True)
        for field in ("tenant_id", "at"):
            entries.create_index(field)

    # --- writing -------------------------------------------------------------------------------------------------

    def append(self, content: dict) -> dict:
        """Store ``content`` (``tenant_id`` names its chain, "" the installation's) as the next entry of its chain."""
        tenant = content.get("tenant_id") or ""
        with self.lock:
            for _ in range(APPEND_ATTEMPTS):
                seq, prev_hash = self._head(tenant)
                linked = chain.link(prev_hash, seq + 1, content)
                document = {"_id": f"aud_{secrets.token_hex(10)}", "tenant_id": tenant, "at": content["at"],
                            "chain_key": f"{tenant}:{linked['seq']}", **linked}
                try:
                    self.db[ENTRIES].insert_one(document)
                except Exception as error:
                    self._heads.pop(tenant, None)
                    if is_duplicate(error):
                        continue        # another process took this position: re-read the head
                    raise
                self._heads[tenant] = (linked["seq"], linked["hash"])
                return document
        raise RuntimeError(f"audit chain {tenant!r} of {self.service}: no free position after {APPEND_ATTEMPTS} tries")

    def _head(self, tenant: str) -> tuple[int, str]:
        if tenant not in self._heads:
            last = list(self.db[ENTRIES].find({"tenant_id": tenant}, {"seq": 1, "hash": 1})
                        .sort("seq", -1).limit(1))
            if last:
                self._heads[tenant] = (last[0]["seq"], last[0]["hash"])
            else:
                checkpoint = self.checkpoint(tenant)
                self._heads[tenant] = (checkpoint["seq"], checkpoint["hash"]) if checkpoint else (0, chain.GENESIS)
        return self._heads[tenant]

    # --- reading -------------------------------------------------------------------------------------------------

    def search(self, tenant: str, since: str = "", until: str = "", actor: str = "", operation: str = "",
               outcome: str = "", target: str = "", limit: int = 500) -> dict:
        """A tenant's entries with ``since <= at < until`` (stored stamps; "" = open), newest first, at most
        ``limit``; ``actor`` an account or member id, ``target`` any target id. ``truncated`` when more matched."""
        query: dict = {"tenant_id": tenant or ""}
        # ``$lte`` and the strict bound checked here: nx-27017 answered ``$lt`` on this indexed text field with nothing
        window = {**({"$gte": since} if since else {}), **({"$lte": until} if until else {})}
        if window:
            query["at"] = window
        limit = max(1, min(int(limit or 500), SEARCH_LIMIT_MAX))
        found, truncated = [], False
        for document in self.db[ENTRIES].find(query).sort("at", -1):
            if (until and document["at"] >= until) or not matches(document["content"], actor, operation, outcome,
                                                                  target):
                continue
            if len(found) == limit:
                truncated = True
                break
            found.append(entry_view(document, self.service))
        return {"entries": found, "truncated": truncated}

    def checkpoint(self, tenant: str) -> dict | None:
        return self.db[CHECKPOINTS].find_one({"_id": tenant or ""})

    def verify(self, tenant: str) -> dict:
        """The chain of ``tenant`` checked from its checkpoint (``chain.verify``), with the service's name."""
        tenant = tenant or ""
        checkpoint = self.checkpoint(tenant)
        entries = list(self.db[ENTRIES].find({"tenant_id": tenant}, {"seq": 1, "prev_hash": 1, "hash": 1,
                                                                     "content": 1}))
        result = chain.verify(entries, checkpoint)
        return {"service": self.service, **result,
                "checkpoint": {"seq": checkpoint["seq"], "hash": checkpoint["hash"]} if checkpoint else None}

    # --- retention -----------------------------------------------------------------------------------------------

    def prune(self, retention_days: int, now: datetime | None = None) -> dict[str, int]:
        """Delete every chain's oldest entries older than ``retention_days``, as a whole prefix that verifies (a
        broken link is never removed: the evidence stays), after recording the last removed entry as the chain's
        checkpoint. Returns how many entries each tenant lost."""
        cutoff = stamp((now or utc_now()) - timedelta(days=retention_days))
        removed = {}
        for tenant in self.db[ENTRIES].distinct("tenant_id"):
            count = self._prune_chain(tenant, cutoff)
            if count:
                removed[tenant] = count
        return removed

    def _prune_chain(self, tenant: str, cutoff: str) -> int:
        checkpoint = self.checkpoint(tenant)
        seq, previous = (checkpoint["seq"], checkpoint["hash"]) if checkpoint else (0, chain.GENESIS)
        last = None
        old = self.db[ENTRIES].find({"tenant_id": tenant, "at": {"$lte": cutoff}},    # $lte: see ``search``
                                    {"seq": 1, "at": 1, "prev_hash": 1, "hash": 1, "content": 1})
        for entry in sorted((entry for entry in old if entry["at"] < cutoff), key=lambda entry: entry["seq"]):
            if entry["seq"] <= seq:
                continue                # left by a sweep that stopped between its checkpoint and its delete
            if entry["seq"] != seq + 1 or entry["prev_hash"] != previous \
                    or chain.link_hash(entry["prev_hash"], entry["seq"], entry["content"]) != entry["hash"]:
                break                   # a gap (a newer entry between) or a broken link: the prefix ends here
            seq, previous, last = entry["seq"], entry["hash"], entry
        if last is None:
            if checkpoint:              # finish a sweep that recorded its checkpoint and stopped
                return self.db[ENTRIES].delete_many({"tenant_id": tenant, "seq": {"$lte": checkpoint["seq"]}}).deleted_count
            return 0
        self.db[CHECKPOINTS].replace_one({"_id": tenant}, {"_id": tenant, "seq": seq, "hash": previous,
                                                           "at": last["content"].get("at", ""), "pruned_at": stamp()},
                                         upsert=True)
        return self.db[ENTRIES].delete_many({"tenant_id": tenant, "seq": {"$lte": seq}}).deleted_count


def matches(content: dict, actor: str, operation: str, outcome: str, target: str) -> bool:
    if actor and actor not in (content.get("actor", {}).get("account_id"), content.get("actor", {}).get("member_id")):
        return False
    if operation and operation not in (content.get("operation"), content.get("method")):
        return False
    if outcome and content.get("outcome") != outcome:
        return False
    if target:
        values = content.get("targets", {}).values()
        if not any(target == value or (isinstance(value, list) and target in value) for value in values):
            return False
    return True


def entry_view(document: dict, service: str) -> dict:
    content = document["content"]
    return {"id": document["_id"], "service": service, "seq": document["seq"], "hash": document["hash"],
            "at": content.get("at", ""), "tenant_id": content.get("tenant_id") or "",
            "account_id": content.get("actor", {}).get("account_id") or "",
            "member_id": content.get("actor", {}).get("member_id") or "",
            "roles": [f"{grant.get('role')}:{grant.get('org_id') or ''}" for grant in content.get("roles", [])],
            "operation": content.get("operation", ""), "kind": content.get("kind", ""),
            "targets": {key: value if isinstance(value, str) else ",".join(value)
                        for key, value in content.get("targets", {}).items()},
            "client_address": content.get("client_address", ""), "request_id": content.get("request_id", ""),
            "outcome": content.get("outcome", "")}


_logs: dict[tuple[str, str], AuditLog] = {}
_logs_lock = threading.Lock()


def audit_log_for(service: str, database: str, uri: str | None = None) -> AuditLog:
    """The process's one ``AuditLog`` of ``database`` (one lock and one head cache per chain in a process)."""
    uri = uri or mongo_uri()
    key = (uri, database)
    with _logs_lock:
        if key not in _logs:
            audit_log = AuditLog(shared_client(uri)[database], service)
            audit_log.ensure_schema()
            _logs[key] = audit_log
        return _logs[key]

