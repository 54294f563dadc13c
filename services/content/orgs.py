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


class OrgPaths:
    """``path(caller, org_id)`` -> the org view identity answers (``path_ids``, ``path_names``, ``kind``,
    ``name``, ``field``, ``category``, ``level``), cached by (tenant, org id)."""

    def __init__(self, ttl: float = TTL_SECONDS):
        self.ttl = ttl
        self._cache: dict[tuple[str, str], tuple[float, dict]] = {}
        self._lock = threading.Lock()

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
        not seen yet waits for one round trip instead of one per branch (a morning starts with a cold cache).
        A refusal is left for the caller's own request to meet."""
        now, wanted = time.monotonic(), {}
        with self._lock:
            for caller, org_id in callers_and_orgs:
                key = (caller.tenant_id or "", org_id)
                hit = self._cache.get(key)
                if org_id and key not in wanted and not (hit and now - hit[0] < self.ttl):
                    wanted[key] = caller
        ask = getattr(identity.get_org, "call_async", None)      # nameko's proxy; a plain callable cannot
        if ask is None or not wanted:
            return
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

    @staticmethod
    def _reachable(caller, org: dict) -> bool:
        """A cached node serves a caller only if identity would answer it too: the caller manages a node on its
        path or it is the caller's own branch."""
        return caller.manages_path(org["path_ids"]) or org["id"] == caller.branch_id

    def path(self, identity, caller, org_id: str) -> list[str]:
        return list(self.org(identity, caller, org_id)["path_ids"])

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
