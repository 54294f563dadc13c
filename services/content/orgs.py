"""Organisation paths as identity knows them, cached per process.

Content needs a node's path (root first, the node last) for visibility and subtree queries, on every feed
request; asking identity each time would double the feed's cost. A path is kept ``TTL_SECONDS``: a node
moved in identity is seen at its new place within that time. Identity answers with the caller's scope, so
a node outside the caller's reach is refused there (``ORG_NOT_FOUND``) and never cached for another caller.
"""
from __future__ import annotations

import threading
import time

from nameko.extensions import DependencyProvider

from servicekit.errors import ServiceError
from servicekit.security.scope import CallerScope

TTL_SECONDS = 300.0
KEPT = 50_000
ASKED_WAIT_SECONDS = 10.0     # how long a batch waits for another's question to identity before asking itself


class OrgPaths:
    """``path(caller, org_id)`` -> the org view identity answers (``path_ids``, ``path_names``, ``kind``,
    ``name``, ``field``, ``category``, ``level``), cached by (tenant, org id)."""

    def __init__(self, ttl: float = TTL_SECONDS):
        self.ttl = ttl
        self._cache: dict[tuple[str, str], tuple[float, dict]] = {}
        self._lock = threading.Lock()
        self._asking: dict[tuple[str, str], threading.Event] = {}     # nodes a batch is asking identity for now

    def org(self, identity, caller, org_id: str) -> dict:
        key = (caller.tenant_id or "", org_id)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit and now - hit[0] < self.ttl and self._reachable(caller, hit[1]):
            return hit[1]
        org = identity.get_org(scope=caller.to_dict(), org_id=org_id)
        with self._lock:
            if len(self._cache) >= KEPT:
                self._cache.clear()
            self._cache[key] = (now, org)
        return org

    def warm(self, identity, callers_and_orgs) -> None:
        """Ask identity at once for every node of ``(caller, org_id)`` not cached: a batch of feeds from branches
        not seen yet waits for one round trip instead of one per branch (a morning starts with a cold cache), and a
        node another batch is asking for already is waited for, not asked again. A refusal is left for the caller's
        own request to meet."""
        ask = getattr(identity.get_org, "call_async", None)      # nameko's proxy; a plain callable cannot
        if ask is None:
            return
        now, wanted, elsewhere = time.monotonic(), {}, []
        with self._lock:
            for caller, org_id in callers_and_orgs:
                key = (caller.tenant_id or "", org_id)
                hit = self._cache.get(key)
                if not org_id or key in wanted or (hit and now - hit[0] < self.ttl):
                    continue
                if key in self._asking:         # another batch (feeds and starts of one branch) asks already
                    elsewhere.append(self._asking[key])
                else:
                    wanted[key] = caller
            for key in wanted:
                self._asking[key] = threading.Event()
        try:
            asked = [(key, ask(scope=caller.to_dict(), org_id=key[1])) for key, caller in wanted.items()]
            for key, reply in asked:
                try:
                    org = reply.result()
                except Exception:  # noqa: BLE001  the request itself asks again and answers the refusal
                    continue
                with self._lock:
                    if len(self._cache) >= KEPT:
                        self._cache.clear()
                    self._cache[key] = (now, org)
        finally:
            with self._lock:
                for key in wanted:
                    self._asking.pop(key).set()
        for answered in elsewhere:
            answered.wait(ASKED_WAIT_SECONDS)

    @staticmethod
    def _reachable(caller, org: dict) -> bool:
        """A cached node serves a caller only if identity would answer it too: the caller manages a node on its
        path or it is the caller's own branch."""
        return caller.manages_path(org["path_ids"]) or org["id"] == caller.branch_id

    def path(self, identity, caller, org_id: str) -> list[str]:
        return list(self.org(identity, caller, org_id)["path_ids"])

    def cached_path(self, caller, org_id: str) -> list[str] | None:
        """The path ``path`` would answer from the cache, or None (not cached, stale, or not the caller's to see):
        identity is never asked."""
        with self._lock:
            hit = self._cache.get((caller.tenant_id or "", org_id))
        if hit and time.monotonic() - hit[0] < self.ttl and self._reachable(caller, hit[1]):
            return list(hit[1]["path_ids"])
        return None

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()


class OrgPathsProvider(DependencyProvider):
    """One ``OrgPaths`` per process."""

    def setup(self):
        self.paths = OrgPaths()

    def get_dependency(self, worker_ctx):
        return self.paths


def members_branches(items) -> list[tuple]:
    """``(caller, branch_id)`` of the members among a batch's callers (``OrgPaths.warm``); others are left out."""
    pairs = []
    for item in items or ():
        try:
            caller = CallerScope.from_dict(item.get("scope"))
        except ServiceError:
            continue
        if caller.member_id and caller.branch_id:
            pairs.append((caller, caller.branch_id))
    return pairs
