"""Organisation paths as identity knows them, cached per process.

Content needs a node's path (root first, the node last) for visibility and subtree queries, on every feed
request; asking identity each time would double the feed's cost. A path is kept about ``TTL_SECONDS`` (each
entry its own lifetime within ``TTL_SPREAD`` of it, so the nodes cached in a morning's first minute do not all
expire in the same minute): a node moved in identity is seen at its new place within that time.

A single miss is asked with the caller's scope (``get_org``), so a node outside the caller's reach is refused by
identity (``ORG_NOT_FOUND``). A batch's cold nodes are asked at once, per tenant (``org_nodes``, a peer's call that
checks no caller); either way a cached node serves only a caller identity would answer (``_reachable``).

The whole tree is kept too (``keep_tree``): every node of every tenant is read from identity when the process
starts (``all_org_nodes``, 1,000 nodes a call), so a morning's feeds find their branches cached and ask identity
nothing; a node created since is asked as above. Every ``TREE_REFRESH_SECONDS``, and soon after ``TREE_MISSES``
nodes (or a tenth of the tree, if fewer) had to be asked one batch at a time, identity is asked for the tree's
revision (``org_tree_revision``, moved by every commit that writes a node): the tree is read again only when it
moved, or when the last read is ``TREE_FULL_SECONDS`` old; otherwise the nodes read are kept for another lifetime.
A whole read costs identity and its store about two seconds of CPU, which a city's busiest morning felt in its
feeds when it came every three minutes. The check runs before the nodes it keeps expire, so a check that fails
leaves them served for a minute or more.

Branches' roster sizes (``roster_sizes``, counts only) are kept ``ROSTER_SECONDS`` too: receipts and package progress
over a city ask for 9,000 of them.
"""
from __future__ import annotations

import logging
import random
import threading
import time

import eventlet

from nameko.extensions import DependencyProvider
from prometheus_client import Gauge

from servicekit.errors import ServiceError
from servicekit.security.scope import CallerScope

log = logging.getLogger(__name__)

TTL_SECONDS = 300.0
TTL_SPREAD = 0.2              # each entry lives TTL_SECONDS * (1 ± TTL_SPREAD): 240-360 s
KEPT = 200_000                # nodes; a city is about 9,200
TREE_REFRESH_SECONDS = 30.0   # how often the tree's revision is asked: a node moved is seen within that time
TREE_FULL_SECONDS = 1800.0    # the whole tree read at least this often, its revision moved or not
TREE_CALL_SECONDS = 30.0      # one page of the tree; identity not answering leaves the refresh to the next tick
TREE_MISSES = 200             # nodes asked since the last read (or a tenth of the tree, if fewer): the tree grew

ORG_TREE_NODES = Gauge("org_tree_nodes", "Organisation nodes read in the last full read of the tree")
ASKED_WAIT_SECONDS = 10.0     # how long a batch waits for another's question to identity before asking itself
ASKED_AT_ONCE = 1000          # identity's org_nodes answers at most this many ids a call
# branches per branch_roster_sizes call: identity runs one indexed query a branch, about 2 ms each, and a call
# must be answered within the peer timeout (10 s), where a city's 9,000 branches in one call were not
ROSTER_CHUNK = 500
# a branch's roster size is kept this long: a city-wide notice's receipts ask identity about 9,000 branches (about a
# second per 500), and a member who joined counts within a minute
ROSTER_SECONDS = 60.0


class OrgPaths:
    """``path(caller, org_id)`` -> the org view identity answers (``path_ids``, ``path_names``, ``kind``,
    ``name``, ``field``, ``category``, ``level``), cached by (tenant, org id)."""

    def __init__(self, ttl: float = TTL_SECONDS, spread: float = TTL_SPREAD, clock=time.monotonic,
                 tree_refresh: float = TREE_REFRESH_SECONDS):
        self.ttl, self.spread, self.clock, self.tree_refresh = ttl, spread, clock, tree_refresh
        self._tree_read_at: float | None = None     # the last check of the tree (a whole read or its revision)
        self._tree_full_at: float | None = None     # the last whole read
        self._tree_revision = None                  # identity's revision of the tree at the last whole read
        self._tree_keys: list[tuple[str, str]] = []  # the nodes the last whole read kept
        self._asked_since_tree = 0      # nodes asked of identity outside a tree read since the last one
        self._tree_size = 0             # nodes the last read found
        self._cache: dict[tuple[str, str], tuple[float, dict]] = {}      # key -> (expires at, org view)
        self._lock = threading.Lock()
        self._asking: dict[tuple[str, str], threading.Event] = {}     # nodes a batch is asking identity for now
        self._sizes: dict[tuple[str, str], tuple[float, int]] = {}    # (tenant, branch) -> (expires at, roster size)

    def _fresh(self, key: tuple[str, str], now: float) -> dict | None:
        """The cached view of ``key`` if it has not expired (caller holds the lock)."""
        hit = self._cache.get(key)
        return hit[1] if hit and now < hit[0] else None

    def _keep(self, key: tuple[str, str], org: dict, now: float) -> None:
        """Cache ``org`` for a lifetime of its own (caller holds the lock)."""
        if len(self._cache) >= KEPT:
            self._cache.clear()
        lifetime = self.ttl * random.uniform(1 - self.spread, 1 + self.spread)
        self._cache[key] = (now + lifetime, org)

    def keep_tree(self, identity) -> int | None:
        """Keep every tenant's nodes: when a check is due (``TREE_REFRESH_SECONDS`` since the last, or many nodes
        asked one batch at a time), read the whole tree from identity if its revision moved since the last whole
        read (or is not known), or that read is ``TREE_FULL_SECONDS`` old; otherwise keep the nodes read for
        another lifetime. Returns the number of nodes read (0: the tree had not changed), or None when no check
        was due. Identity's errors and a page not answered within ``TREE_CALL_SECONDS`` propagate: the nodes
        read so far stay cached."""
        now = self.clock()
        if self._tree_read_at is not None and now - self._tree_read_at < self.tree_refresh \
                and self._asked_since_tree < min(TREE_MISSES, max(1, self._tree_size // 10)):
            return None
        ask = getattr(getattr(identity, "all_org_nodes", None), "call_async", None)
        if ask is None:
            return None
        revision = self._revision(identity)
        if revision is not None and revision == self._tree_revision and now - self._tree_full_at < TREE_FULL_SECONDS \
                and self._keep_tree_nodes(now):
            self._tree_read_at, self._asked_since_tree = now, 0
            return 0
        after, count, keys = "", 0, []
        while True:
            page = self._tree_call(ask, after=after, limit=ASKED_AT_ONCE)
            read_at = self.clock()
            with self._lock:
                for tenant_id, org in page["nodes"]:
                    self._keep((tenant_id, org["id"]), org, read_at)
                    keys.append((tenant_id, org["id"]))
            count += len(page["nodes"])
            after = page.get("next") or ""
            if not after:
                break
        self._tree_read_at = self._tree_full_at = now
        self._asked_since_tree, self._tree_size, self._tree_keys, self._tree_revision = 0, count, keys, revision
        ORG_TREE_NODES.set(count)
        return count

    @staticmethod
    def _tree_call(ask, **arguments):
        try:
            with eventlet.Timeout(TREE_CALL_SECONDS):
                return ask(**arguments).result()
        except eventlet.Timeout:        # a BaseException: it must not end the worker's container
            raise TimeoutError(f"identity did not answer within {TREE_CALL_SECONDS:.0f} s") from None

    def _revision(self, identity):
        """Identity's revision of the tree, or None when it does not tell (then the tree is read whole)."""
        ask = getattr(getattr(identity, "org_tree_revision", None), "call_async", None)
        if ask is None:
            return None
        try:
            return self._tree_call(ask)
        except Exception as error:  # noqa: BLE001  an identity without it, or busy: the whole read decides
            log.warning("tree revision not read: %s", error)
            return None

    def _keep_tree_nodes(self, now: float) -> bool:
        """Give every node of the last whole read another lifetime; False when one is no longer cached (the
        cache was emptied): the tree must be read."""
        with self._lock:
            kept = [(key, self._cache.get(key)) for key in self._tree_keys]
            if any(hit is None for _, hit in kept):
                return False
            for key, (_, org) in kept:
                self._keep(key, org, now)
        return True

    def org(self, identity, caller, org_id: str) -> dict:
        key = (caller.tenant_id or "", org_id)
        with self._lock:
            hit = self._fresh(key, self.clock())
        if hit and self._reachable(caller, hit):
            return hit
        org = identity.get_org(scope=caller.to_dict(), org_id=org_id)
        with self._lock:
            self._keep(key, org, self.clock())
            self._asked_since_tree += 1
        return org

    def warm(self, identity, callers_and_orgs) -> None:
        """Ask identity at once for every node of ``(caller, org_id)`` not cached, one ``org_nodes`` call per tenant:
        a batch of feeds from branches not seen yet waits for one round trip, and identity reads them in one query,
        instead of one ``get_org`` per branch (a morning starts with a cold cache and 9,000 branches). A node another
        batch is asking for already is waited for, not asked again. A node identity does not answer, or a failed
        call, is left for the caller's own request to meet (``org``, with the caller's scope)."""
        ask = getattr(getattr(identity, "org_nodes", None), "call_async", None)     # nameko's proxy; a fake may lack it
        if ask is None:
            return
        now, wanted, elsewhere = self.clock(), {}, []
        with self._lock:
            for caller, org_id in callers_and_orgs:
                key = (caller.tenant_id or "", org_id)
                if not org_id or not key[0] or key in wanted or self._fresh(key, now):
                    continue
                if key in self._asking:         # another batch (feeds and starts of one branch) asks already
                    elsewhere.append(self._asking[key])
                else:
                    wanted[key] = None
            for key in wanted:
                self._asking[key] = threading.Event()
            self._asked_since_tree += len(wanted)
        try:
            tenants: dict[str, list[str]] = {}
            for tenant_id, org_id in wanted:
                tenants.setdefault(tenant_id, []).append(org_id)
            asked = [(tenant_id, ask(tenant_id=tenant_id, org_ids=org_ids[start:start + ASKED_AT_ONCE]))
                     for tenant_id, org_ids in tenants.items() for start in range(0, len(org_ids), ASKED_AT_ONCE)]
            for tenant_id, reply in asked:
                try:
                    nodes = reply.result()
                except Exception:  # noqa: BLE001  each request asks again on its own and meets the error there
                    continue
                with self._lock:
                    for org_id, org in nodes.items():
                        self._keep((tenant_id, org_id), org, now)
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
            hit = self._fresh((caller.tenant_id or "", org_id), self.clock())
        return list(hit["path_ids"]) if hit and self._reachable(caller, hit) else None

    def roster_sizes(self, identity, tenant_id: str, branch_ids) -> dict[str, int]:
        """{branch_id: roster size} (``roster_sizes``), each kept ``ROSTER_SECONDS``: only the branches not kept
        are asked. For counts the caller may see: the callers are checked before."""
        now, sizes, wanted = self.clock(), {}, []
        with self._lock:
            for branch_id in dict.fromkeys(branch_ids):
                hit = self._sizes.get((tenant_id, branch_id))
                if hit and now < hit[0]:
                    sizes[branch_id] = hit[1]
                else:
                    wanted.append(branch_id)
        if wanted:
            answered = roster_sizes(identity, tenant_id, wanted)
            with self._lock:
                if len(self._sizes) >= KEPT:
                    self._sizes.clear()
                for branch_id, size in answered.items():
                    self._sizes[(tenant_id, branch_id)] = (now + ROSTER_SECONDS, size)
            sizes.update(answered)
        return sizes

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()
            self._sizes.clear()


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


def roster_sizes(identity, tenant_id: str, branch_ids: list[str]) -> dict[str, int]:
    """{branch_id: roster size} from identity's ``branch_roster_sizes`` (counts only, no names), ``ROSTER_CHUNK``
    branches a call."""
    sizes: dict[str, int] = {}
    for start in range(0, len(branch_ids), ROSTER_CHUNK):
        chunk = list(branch_ids[start:start + ROSTER_CHUNK])
        sizes.update(identity.branch_roster_sizes(tenant_id=tenant_id, branch_ids=chunk))
    return sizes
