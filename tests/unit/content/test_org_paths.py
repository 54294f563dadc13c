"""The process's cache of organisation paths: a batch's uncached nodes asked of identity in one call per tenant, a
node identity does not answer left to the request itself, a cached node served only to a caller identity would
answer, and each entry's lifetime its own."""
from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from servicekit.security.scope import CallerScope
from services.content.orgs import ASKED_AT_ONCE, OrgPaths, members_branches


class AsyncIdentity:
    """identity's ``org_nodes`` as nameko's proxy offers it (``call_async``), and a plain ``get_org``."""

    def __init__(self, fail: bool = False):
        self.asked: list[tuple[str, list[str]]] = []     # (tenant_id, org_ids) of each org_nodes call
        self.single: list[str] = []                      # org ids asked with get_org
        self.fail = fail
        self.org_nodes = SimpleNamespace(call_async=self._ask)

    def _ask(self, tenant_id, org_ids):
        self.asked.append((tenant_id, list(org_ids)))

        def result():
            if self.fail:
                raise TimeoutError("identity did not answer")
            return {org_id: node(org_id, tenant_id) for org_id in org_ids if org_id != "b_gone"}
        return SimpleNamespace(result=result)

    def get_org(self, scope, org_id):
        self.single.append(org_id)
        return node(org_id, scope["tenant_id"])


def node(org_id, tenant_id="t1"):
    return {"id": org_id, "tenant_id": tenant_id, "path_ids": ["c1", org_id]}


def member(member_id, branch_id, tenant_id="t1"):
    return {"account_id": f"a-{member_id}", "tenant_id": tenant_id, "roles": [{"role": "member", "org_id": None}],
            "member_id": member_id, "branch_id": branch_id}


def caller(member_id, branch_id, tenant_id="t1"):
    return CallerScope.from_dict(member(member_id, branch_id, tenant_id))


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_batch_asks_its_uncached_nodes_in_one_call():
    identity, paths = AsyncIdentity(), OrgPaths()
    items = [{"scope": member("m1", "b1")}, {"scope": member("m2", "b1")}, {"scope": member("m3", "b2")},
             {"scope": member("m4", "b_gone")}, {"scope": {}}, {"scope": {**member("m5", ""), "member_id": None}}]
    pairs = members_branches(items)
    assert [(c.member_id, branch) for c, branch in pairs] == [("m1", "b1"), ("m2", "b1"), ("m3", "b2"),
                                                              ("m4", "b_gone")]
    paths.warm(identity, pairs)
    assert identity.asked == [("t1", ["b1", "b2", "b_gone"])]
    assert paths.path(identity, caller("m2", "b1"), "b1") == ["c1", "b1"]
    assert identity.single == []                            # cached: get_org not asked
    paths.warm(identity, pairs[:3])
    assert len(identity.asked) == 1                         # all cached: nothing asked
    # a node identity did not answer is left to the request, asked with the member's own scope
    assert paths.cached_path(caller("m4", "b_gone"), "b_gone") is None
    paths.path(identity, caller("m4", "b_gone"), "b_gone")
    assert identity.single == ["b_gone"]


def test_a_cached_node_serves_only_a_caller_identity_would_answer():
    identity, paths = AsyncIdentity(), OrgPaths()
    paths.warm(identity, [(caller("m1", "b1"), "b1")])
    stranger = caller("m9", "b9")                           # another branch's member
    assert paths.cached_path(stranger, "b1") is None
    paths.path(identity, stranger, "b1")
    assert identity.single == ["b1"]                        # asked with the stranger's scope: identity decides
    manager = CallerScope.from_dict({"account_id": "a-sec", "tenant_id": "t1",
                                     "roles": [{"role": "org_admin", "org_id": "c1"}]})
    assert paths.cached_path(manager, "b1") == ["c1", "b1"]  # manages a node on its path


def test_each_tenant_is_asked_for_its_own_nodes_and_kept_apart():
    identity, paths = AsyncIdentity(), OrgPaths()
    paths.warm(identity, [(caller("m1", "b1"), "b1"), (caller("n1", "b1", "t2"), "b1"),
                          (caller("n2", "b7", "t2"), "b7"), (caller("m2", "b2"), "b2")])
    assert sorted(identity.asked) == [("t1", ["b1", "b2"]), ("t2", ["b1", "b7"])]
    assert paths.org(identity, caller("n1", "b1", "t2"), "b1")["tenant_id"] == "t2"
    assert paths.org(identity, caller("m1", "b1"), "b1")["tenant_id"] == "t1"
    assert identity.single == []


def test_more_nodes_than_identity_answers_at_once_are_asked_in_several_calls():
    identity, paths = AsyncIdentity(), OrgPaths()
    count = ASKED_AT_ONCE * 2 + 5
    paths.warm(identity, [(caller(f"m{i}", f"b{i}"), f"b{i}") for i in range(count)])
    assert [len(org_ids) for _tenant, org_ids in identity.asked] == [ASKED_AT_ONCE, ASKED_AT_ONCE, 5]
    assert paths.cached_path(caller(f"m{count - 1}", f"b{count - 1}"), f"b{count - 1}") == ["c1", f"b{count - 1}"]


def test_a_failed_call_caches_nothing_and_leaves_each_request_to_ask():
    identity, paths = AsyncIdentity(fail=True), OrgPaths()
    paths.warm(identity, [(caller("m1", "b1"), "b1")])
    assert identity.asked == [("t1", ["b1"])]
    assert paths.cached_path(caller("m1", "b1"), "b1") is None
    paths.warm(identity, [(caller("m1", "b1"), "b1")])      # nobody is left waiting for the failed question
    assert len(identity.asked) == 2


def test_a_plain_identity_is_not_warmed():
    plain = SimpleNamespace(get_org=lambda **kwargs: {}, org_nodes=lambda **kwargs: {})
    OrgPaths().warm(plain, members_branches([{"scope": member("m1", "b1")}]))     # nothing to ask with: no error


def test_entries_cached_together_expire_at_different_times_within_the_spread():
    clock, identity = Clock(), AsyncIdentity()
    paths = OrgPaths(ttl=300.0, spread=0.2, clock=clock)
    count = 400
    paths.warm(identity, [(caller(f"m{i}", f"b{i}"), f"b{i}") for i in range(count)])
    expiries = [paths._cache[("t1", f"b{i}")][0] - clock.now for i in range(count)]
    assert all(240.0 <= lifetime <= 360.0 for lifetime in expiries)
    assert max(expiries) - min(expiries) > 60.0              # spread over the window, not one instant
    clock.now += 300.0
    live = [i for i in range(count) if paths.cached_path(caller(f"m{i}", f"b{i}"), f"b{i}")]
    assert 0 < len(live) < count                             # at the mean lifetime, some have expired, not all
    paths.warm(identity, [(caller(f"m{i}", f"b{i}"), f"b{i}") for i in range(count)])
    assert sorted(identity.asked[-1][1], key=lambda b: int(b[1:])) == [
        f"b{i}" for i in range(count) if i not in live]     # only the expired ones are asked again
    clock.now += 361.0
    assert all(paths.cached_path(caller(f"m{i}", f"b{i}"), f"b{i}") is None for i in live)


def test_an_expired_single_node_is_asked_again():
    clock, identity = Clock(), AsyncIdentity()
    paths = OrgPaths(ttl=300.0, spread=0.2, clock=clock)
    me = caller("m1", "b1")
    paths.org(identity, me, "b1")
    clock.now += 239.0
    paths.org(identity, me, "b1")
    assert identity.single == ["b1"]
    clock.now += 122.0
    paths.org(identity, me, "b1")
    assert identity.single == ["b1", "b1"]


@pytest.mark.timeout(20)
def test_a_node_another_batch_is_asking_for_is_waited_for_not_asked_again():
    """Feeds and starts of one branch arrive in two batches at once on a cold morning: identity is asked once."""
    first_asked, second_asked = threading.Event(), threading.Event()
    identity, paths = AsyncIdentity(), OrgPaths()
    plain = identity._ask

    def ask(tenant_id, org_ids):
        reply = plain(tenant_id, org_ids)
        if "b1" in org_ids:                       # the first batch's question stays open until the second asked
            first_asked.set()
            second_asked.wait(5)
        else:
            second_asked.set()
        return reply
    identity.org_nodes = SimpleNamespace(call_async=ask)
    first = threading.Thread(target=paths.warm, args=(identity, members_branches([{"scope": member("m1", "b1")}])))
    first.start()
    assert first_asked.wait(5)
    paths.warm(identity, members_branches([{"scope": member("m2", "b1")}, {"scope": member("m3", "b2")}]))
    first.join(5)
    assert identity.asked == [("t1", ["b1"]), ("t1", ["b2"])]
    assert paths.cached_path(caller("m2", "b1"), "b1") == ["c1", "b1"]
    assert paths.cached_path(caller("m3", "b2"), "b2") == ["c1", "b2"]
    assert paths.cached_path(caller("m2", "b1"), "b_never_asked") is None


class TreeIdentity:
    """identity's ``all_org_nodes`` as nameko's proxy offers it, over a fixed tree, ``page`` nodes a call; with
    ``revision``, ``org_tree_revision`` too (answering ``self.revision``, or raising it if it is an exception)."""

    def __init__(self, nodes: list[tuple[str, dict]], page: int = 2, revision=None):
        self.nodes, self.page, self.calls, self.fail_after = sorted(nodes, key=lambda n: n[1]["id"]), page, [], None
        self.all_org_nodes = SimpleNamespace(call_async=self._ask)
        self.revision, self.revision_calls = revision, 0
        if revision is not None:
            self.org_tree_revision = SimpleNamespace(call_async=self._revision)

    def _revision(self):
        self.revision_calls += 1

        def result():
            if isinstance(self.revision, Exception):
                raise self.revision
            return self.revision
        return SimpleNamespace(result=result)

    def _ask(self, after, limit):
        self.calls.append(after)

        def result():
            if self.fail_after is not None and len(self.calls) > self.fail_after:
                raise TimeoutError("identity did not answer")
            rest = [n for n in self.nodes if n[1]["id"] > after]
            size = min(limit, self.page)
            return {"nodes": [list(n) for n in rest[:size]], "next": rest[size - 1][1]["id"] if len(rest) > size else ""}
        return SimpleNamespace(result=result)


def test_the_whole_tree_is_kept_page_by_page_and_refreshed_only_when_due():
    clock = Clock()
    tree = [("t1", node("b1")), ("t1", node("b2")), ("t2", node("b3", "t2")), ("t1", node("c1"))]
    identity, paths = TreeIdentity(tree, page=3), OrgPaths(clock=clock, tree_refresh=180)
    assert paths.keep_tree(identity) == 4
    assert identity.calls == ["", "b3"]                       # two pages: b1 b2 b3, then c1
    assert paths.cached_path(caller("m1", "b1"), "b1") == ["c1", "b1"]
    assert paths.cached_path(caller("m3", "b3", "t2"), "b3") == ["c1", "b3"]
    assert paths.cached_path(caller("m3", "b1", "t2"), "b1") is None      # another tenant's node: not served
    clock.now += 100
    assert paths.keep_tree(identity) is None and len(identity.calls) == 2  # not due yet
    clock.now += 100
    assert paths.keep_tree(identity) == 4 and len(identity.calls) == 4
    # a batch of members of kept branches asks identity nothing
    asking = AsyncIdentity()
    paths.warm(asking, [(caller("m1", "b1"), "b1"), (caller("m2", "b2"), "b2")])
    assert asking.asked == []


def test_a_failed_tree_read_keeps_what_it_read_and_is_tried_again_at_the_next_tick():
    clock = Clock()
    identity = TreeIdentity([("t1", node(f"b{n}")) for n in range(5)], page=2)
    identity.fail_after = 1
    paths = OrgPaths(clock=clock)
    with pytest.raises(TimeoutError):
        paths.keep_tree(identity)
    assert paths.cached_path(caller("m0", "b0"), "b0") == ["c1", "b0"]   # the first page stays
    assert paths.cached_path(caller("m4", "b4"), "b4") is None
    identity.fail_after, identity.calls = None, []
    assert paths.keep_tree(identity) == 5                                   # not marked read: asked again at once
    assert paths.cached_path(caller("m4", "b4"), "b4") == ["c1", "b4"]


def test_an_identity_without_the_tree_operation_is_not_read():
    assert OrgPaths().keep_tree(SimpleNamespace(get_org=lambda **kwargs: {})) is None


def test_many_nodes_asked_one_batch_at_a_time_make_the_tree_due_before_its_time():
    clock = Clock()
    identity = TreeIdentity([("t1", node(f"k{n:04d}")) for n in range(3000)], page=1000)
    paths = OrgPaths(clock=clock, tree_refresh=180)
    assert paths.keep_tree(identity) == 3000 and len(identity.calls) == 3
    asking = AsyncIdentity()
    paths.warm(asking, [(caller(f"m{n}", f"n{n}"), f"n{n}") for n in range(150)])   # a city imported since
    assert paths.keep_tree(identity) is None                                    # 150 asked: not yet
    paths.warm(asking, [(caller(f"m{n}", f"n{n}"), f"n{n}") for n in range(150, 260)])
    assert paths.keep_tree(identity) == 3000 and len(identity.calls) == 6        # 260 asked: read again now
    assert paths.keep_tree(identity) is None                                    # and the count starts over


def test_a_small_tree_is_read_again_once_a_tenth_of_its_size_was_asked():
    clock = Clock()
    identity = TreeIdentity([("t1", node(f"k{n:02d}")) for n in range(30)], page=1000)
    paths = OrgPaths(clock=clock, tree_refresh=180)
    assert paths.keep_tree(identity) == 30
    paths.warm(AsyncIdentity(), [(caller(f"m{n}", f"n{n}"), f"n{n}") for n in range(2)])
    assert paths.keep_tree(identity) is None                                    # 2 of 30: not yet
    paths.warm(AsyncIdentity(), [(caller("m9", "n9"), "n9")])
    assert paths.keep_tree(identity) == 30                                      # 3 of 30: read again


def test_the_tree_is_read_again_only_when_its_revision_moved():
    clock = Clock()
    tree = [("t1", node("b1")), ("t1", node("b2")), ("t1", node("c1"))]
    identity, paths = TreeIdentity(tree, page=1000, revision=7), OrgPaths(clock=clock, tree_refresh=30)
    assert paths.keep_tree(identity) == 3 and len(identity.calls) == 1
    for _ in range(20):                               # 10 minutes, longer than any node's lifetime (240-360 s)
        clock.now += 30
        assert paths.keep_tree(identity) == 0           # asked, unchanged: nothing read
    assert len(identity.calls) == 1 and identity.revision_calls == 21
    assert paths.cached_path(caller("m1", "b1"), "b1") == ["c1", "b1"]   # and every node still served
    identity.nodes = [("t1", node("b1")), ("t1", {**node("b2"), "path_ids": ["c2", "b2"]}), ("t1", node("c1"))]
    identity.revision = 8                              # b2 moved under c2
    clock.now += 10
    assert paths.keep_tree(identity) is None           # not due: within 30 s of the last check
    clock.now += 20
    assert paths.keep_tree(identity) == 3 and len(identity.calls) == 2
    assert paths.cached_path(caller("m2", "b2"), "b2") == ["c2", "b2"]


def test_the_tree_is_read_whole_when_its_revision_is_not_known_or_the_last_read_is_old():
    clock = Clock()
    identity = TreeIdentity([("t1", node("b1"))], page=1000, revision=RuntimeError("no such method"))
    paths = OrgPaths(clock=clock, tree_refresh=30)
    assert paths.keep_tree(identity) == 1
    clock.now += 30
    assert paths.keep_tree(identity) == 1 and len(identity.calls) == 2        # no revision: read whole each time
    identity.revision = 3
    clock.now += 30
    assert paths.keep_tree(identity) == 1 and len(identity.calls) == 3        # a revision not seen before
    clock.now += 30
    assert paths.keep_tree(identity) == 0 and len(identity.calls) == 3
    clock.now += 1800
    assert paths.keep_tree(identity) == 1 and len(identity.calls) == 4        # unchanged, but half an hour old
    paths.forget()                                                             # the cache emptied
    clock.now += 30
    assert paths.keep_tree(identity) == 1 and len(identity.calls) == 5
    assert paths.cached_path(caller("m1", "b1"), "b1") == ["c1", "b1"]


class Rosters:
    """identity's ``branch_roster_sizes`` over fixed sizes, recording each call's branches."""

    def __init__(self, sizes: dict[tuple[str, str], int]):
        self.sizes, self.asked = sizes, []

    def branch_roster_sizes(self, tenant_id, branch_ids):
        self.asked.append((tenant_id, list(branch_ids)))
        return {b: self.sizes.get((tenant_id, b), 0) for b in branch_ids}


def test_roster_sizes_are_kept_a_minute_and_only_the_missing_asked():
    clock = Clock()
    identity, paths = Rosters({("t1", "b1"): 23, ("t1", "b2"): 5, ("t2", "b1"): 9}), OrgPaths(clock=clock)
    assert paths.roster_sizes(identity, "t1", ["b1", "b1"]) == {"b1": 23}
    identity.sizes[("t1", "b1")] = 24                                  # a member joined
    clock.now += 30
    assert paths.roster_sizes(identity, "t1", ["b1", "b2"]) == {"b1": 23, "b2": 5}
    assert paths.roster_sizes(identity, "t2", ["b1"]) == {"b1": 9}     # another tenant's branch of the same id
    assert identity.asked == [("t1", ["b1"]), ("t1", ["b2"]), ("t2", ["b1"])]
    clock.now += 31
    assert paths.roster_sizes(identity, "t1", ["b1", "b2"]) == {"b1": 24, "b2": 5}
    assert identity.asked[-1] == ("t1", ["b1"])                       # b2 was asked 31 s ago: still kept
