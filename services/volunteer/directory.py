"""What the volunteer service asks identity, cached per process.

- tenants by code: public callers (citizens ordering, guests with a tracking code) name their tenant by its code;
- organisation nodes (path, name, field) for managers' subtree checks and community profiles;
- members (name, branch, branch path) for claims: a claim keeps them, so crediting hours later needs no identity.

An answer is kept ``TTL_SECONDS``: a renamed member or a moved node is seen within that time. Identity answers
with the caller's scope, so what the caller may not see is refused there and a cached answer serves only a caller
identity would have answered too.
"""
from __future__ import annotations

import threading
import time

from nameko.extensions import DependencyProvider

from servicekit.errors import InvalidArgument
from servicekit.security.scope import CallerScope

TTL_SECONDS = 300.0
KEPT = 50_000


class _Cache:
    def __init__(self, ttl: float):
        self.ttl = ttl
        self._kept: dict[tuple, tuple[float, dict]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple) -> dict | None:
        with self._lock:
            hit = self._kept.get(key)
        return hit[1] if hit and time.monotonic() - hit[0] < self.ttl else None

    def put(self, key: tuple, value: dict) -> dict:
        with self._lock:
            if len(self._kept) >= KEPT:
                self._kept.clear()
            self._kept[key] = (time.monotonic(), value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


class Directory:
    def __init__(self, ttl: float = TTL_SECONDS):
        self.tenants, self.orgs, self.members = _Cache(ttl), _Cache(ttl), _Cache(ttl)

    def tenant(self, identity, tenant_code) -> dict:
        """``{tenant_id, code, name, root_org_id}`` of the tenant with this code (NotFound ``TENANT_NOT_FOUND``
        from identity)."""
        if not isinstance(tenant_code, str) or not tenant_code.strip():
            raise InvalidArgument("缺少租户代码", code="REQUIRED", field="tenant_code")
        code = tenant_code.strip()
        return self.tenants.get((code,)) or self.tenants.put((code,), identity.tenant_by_code(tenant_code=code))

    def org(self, identity, caller: CallerScope, org_id: str) -> dict:
        """The org view identity answers (``id``, ``path_ids``, ``name``, ``field``, ...)."""
        key = (caller.tenant_id or "", org_id)
        hit = self.orgs.get(key)
        if hit and (caller.manages_path(hit["path_ids"]) or hit["id"] == caller.branch_id):
            return hit
        return self.orgs.put(key, identity.get_org(scope=caller.to_dict(), org_id=org_id))

    def path(self, identity, caller: CallerScope, org_id: str) -> list[str]:
        return list(self.org(identity, caller, org_id)["path_ids"])

    def member(self, identity, caller: CallerScope, member_id: str) -> dict:
        """``{member_id, name, branch_id, branch_path}`` of a member the caller may read (itself, or one of the
        subtree it manages)."""
        key = (caller.tenant_id or "", member_id)
        hit = self.members.get(key)
        if hit and (hit["member_id"] == caller.member_id or caller.manages_path(hit["branch_path"])):
            return hit
        member = identity.get_member(scope=caller.to_dict(), member_id=member_id)
        branch_path = self.path(identity, caller, member["branch_id"])
        return self.members.put(key, {"member_id": member["id"], "name": member["name"],
                                      "branch_id": member["branch_id"], "branch_path": branch_path})

    def forget(self) -> None:
        for cache in (self.tenants, self.orgs, self.members):
            cache.clear()


class DirectoryProvider(DependencyProvider):
    """One ``Directory`` per process."""

    def setup(self):
        self.directory = Directory()

    def get_dependency(self, worker_ctx):
        return self.directory
