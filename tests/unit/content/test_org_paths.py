"""The process's cache of organisation paths: a batch's uncached branches asked of identity at once, a refusal
left to the request itself, and a cached node served only to a caller identity would answer."""
from __future__ import annotations

from types import SimpleNamespace

from servicekit.errors import NotFound
from servicekit.security.scope import CallerScope
from services.content.orgs import OrgPaths, members_branches


class AsyncIdentity:
    def __init__(self):
        self.asked = []
        self.get_org = SimpleNamespace(call_async=self._ask)

    def _ask(self, scope, org_id):
        self.asked.append(org_id)

        def result():
            if org_id == "b_gone":
                raise NotFound("组织不存在", code="ORG_NOT_FOUND")
            return {"id": org_id, "tenant_id": "t1", "path_ids": ["c1", org_id]}
        return SimpleNamespace(result=result)


def member(member_id, branch_id, tenant_id="t1"):
    return {"account_id": f"a-{member_id}", "tenant_id": tenant_id, "roles": [{"role": "member", "org_id": None}],
            "member_id": member_id, "branch_id": branch_id}


def test_a_batch_asks_each_uncached_branch_once_and_at_once():
    identity, paths = AsyncIdentity(), OrgPaths()
    items = [{"scope": member("m1", "b1")}, {"scope": member("m2", "b1")}, {"scope": member("m3", "b2")},
             {"scope": member("m4", "b_gone")}, {"scope": {}}, {"scope": {**member("m5", ""), "member_id": None}}]
    pairs = members_branches(items)
    assert [(caller.member_id, branch) for caller, branch in pairs] == [("m1", "b1"), ("m2", "b1"), ("m3", "b2"),
                                                                        ("m4", "b_gone")]
    paths.warm(identity, pairs)
    assert identity.asked == ["b1", "b2", "b_gone"]
    identity.get_org = lambda **kwargs: (_ for _ in ()).throw(AssertionError("cached: not asked again"))
    caller = CallerScope.from_dict(member("m2", "b1"))
    assert paths.path(identity, caller, "b1") == ["c1", "b1"]
    again = AsyncIdentity()
    paths.warm(again, pairs[:3])
    assert again.asked == []                                # all cached: nothing asked
    stranger = CallerScope.from_dict(member("m9", "b9"))    # another branch's member: not served from the cache
    asked = []
    identity.get_org = lambda scope, org_id: asked.append(org_id) or {"id": org_id, "path_ids": ["c1", org_id]}
    paths.path(identity, stranger, "b1")
    assert asked == ["b1"]


def test_a_plain_identity_is_not_warmed():
    plain = SimpleNamespace(get_org=lambda **kwargs: {})
    OrgPaths().warm(plain, members_branches([{"scope": member("m1", "b1")}]))     # nothing to ask with: no error


def test_a_branch_another_batch_is_asking_for_is_waited_for_not_asked_again():
    """Feeds and starts of one branch arrive in two batches at once on a cold morning: identity is asked once."""
    import threading

    b1_asked, b2_asked = threading.Event(), threading.Event()
    identity, paths = AsyncIdentity(), OrgPaths()
    plain = identity._ask

    def ask(scope, org_id):
        reply = plain(scope, org_id)
        if org_id == "b1":                        # the first batch's question stays open until the second asked b2
            b1_asked.set()
            b2_asked.wait(5)
        else:
            b2_asked.set()
        return reply
    identity.get_org = SimpleNamespace(call_async=ask)
    first = threading.Thread(target=paths.warm, args=(identity, members_branches([{"scope": member("m1", "b1")}])))
    first.start()
    assert b1_asked.wait(5)
    paths.warm(identity, members_branches([{"scope": member("m2", "b1")}, {"scope": member("m3", "b2")}]))
    first.join(5)
    assert identity.asked == ["b1", "b2"]
    caller = CallerScope.from_dict(member("m2", "b1"))
    assert paths.cached_path(caller, "b1") == ["c1", "b1"]
    assert paths.cached_path(CallerScope.from_dict(member("m9", "b9")), "b1") is None    # not the stranger's to see
    assert paths.cached_path(caller, "b_never_asked") is None
