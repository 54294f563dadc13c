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
