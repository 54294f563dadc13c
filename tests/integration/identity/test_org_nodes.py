"""identity's reads of the tree for peers, in the real process: org_nodes (many nodes of one tenant in one call,
each with the view get_org answers; an id that is not the tenant's node, missing or another tenant's, left out),
all_org_nodes (every node, page by page) and org_tree_revision (moved by every change of nodes)."""
from __future__ import annotations

import base64

import pytest

from servicekit.errors import InvalidArgument, PermissionDenied
from tests.support.identity import member_fields
from tests.support.proofs import acting_as

pytestmark = pytest.mark.integration


def test_the_tenants_nodes_are_answered_as_get_org_answers_them(rpc, city, other_city):
    branch, committee, far = city.branches[0][0], city.committees[0], city.branches[1][1]
    theirs = other_city.branches[0][0]
    with acting_as("content"):                  # a peer's operation: it takes no caller scope
        nodes = rpc.identity.org_nodes(tenant_id=city.tenant_id,
                                       org_ids=[branch["id"], committee["id"], far["id"], city.root["id"],
                                                "org-that-never-was", theirs["id"], branch["id"]])
        # the other tenant's node is answered to the other tenant only
        elsewhere = rpc.identity.org_nodes(tenant_id=other_city.tenant_id, org_ids=[theirs["id"], branch["id"]])
        empty = rpc.identity.org_nodes(tenant_id=city.tenant_id, org_ids=[])
        nowhere = rpc.identity.org_nodes(tenant_id="tenant-that-never-was", org_ids=[branch["id"]])
    assert set(nodes) == {branch["id"], committee["id"], far["id"], city.root["id"]}
    for org_id, view in nodes.items():
        assert view == rpc.identity.get_org(scope=city.admin, org_id=org_id)
    assert nodes[branch["id"]]["path_names"] == ["测试市", "第1县", "第1镇党委", "第1镇第1支部"]
    assert nodes[far["id"]]["path_ids"] == [city.root["id"], city.counties[1]["id"], city.committees[1]["id"],
                                           far["id"]]
    assert set(elsewhere) == {theirs["id"]}
    assert empty == {} and nowhere == {}


def test_only_content_and_volunteer_may_ask(rpc, city):
    branch_id = city.branches[0][0]["id"]
    with acting_as("volunteer"):
        assert set(rpc.identity.org_nodes(tenant_id=city.tenant_id, org_ids=[branch_id])) == {branch_id}
    with pytest.raises(PermissionDenied) as refused:         # the test process signs as the gateway
        rpc.identity.org_nodes(tenant_id=city.tenant_id, org_ids=[branch_id])
    assert refused.value.code == "CALLER_NOT_ALLOWED"


TENANT = object()     # the city's tenant id, known once the city is made


@pytest.mark.parametrize("arguments, code, field", [
    ({"org_ids": ["x"]}, "REQUIRED", "tenant_id"),
    ({"tenant_id": 7, "org_ids": ["x"]}, "INVALID_TYPE", "tenant_id"),
    ({"tenant_id": TENANT, "org_ids": "x"}, "INVALID_TYPE", "org_ids"),
    ({"tenant_id": TENANT, "org_ids": ["x", 3]}, "INVALID_TYPE", "org_ids"),
    ({"tenant_id": TENANT, "org_ids": ["x", ""]}, "INVALID_TYPE", "org_ids"),
    ({"tenant_id": TENANT, "org_ids": None}, "INVALID_TYPE", "org_ids"),
    ({"tenant_id": TENANT, "org_ids": [f"org-{i}" for i in range(1001)]}, "TOO_MANY", "org_ids"),
])
def test_bad_arguments_are_refused_with_a_code(rpc, city, arguments, code, field):
    arguments = {key: city.tenant_id if value is TENANT else value for key, value in arguments.items()}
    with acting_as("content"), pytest.raises(InvalidArgument) as refused:
        rpc.identity.org_nodes(**arguments)
    assert (refused.value.code, refused.value.field) == (code, field)


def test_a_thousand_ids_are_answered(rpc, city):
    ids = [city.branches[0][0]["id"]] + [f"org-{i}" for i in range(999)]
    with acting_as("content"):
        assert set(rpc.identity.org_nodes(tenant_id=city.tenant_id, org_ids=ids)) == {city.branches[0][0]["id"]}


def every_node(rpc, limit: int) -> tuple[list[list], int]:
    """All pages of ``all_org_nodes`` at ``limit`` a page: ``([tenant_id, view], ...)`` and the number of calls."""
    nodes, after, calls = [], "", 0
    with acting_as("content"):
        while True:
            page = rpc.identity.all_org_nodes(after=after, limit=limit)
            nodes += page["nodes"]
            calls += 1
            after = page["next"]
            if not after:
                return nodes, calls


def test_the_whole_tree_is_answered_page_by_page_with_each_nodes_tenant(rpc, city, other_city):
    nodes, calls = every_node(rpc, limit=50)
    ids = [view["id"] for _, view in nodes]
    assert ids == sorted(ids) and len(ids) == len(set(ids))      # id order, none twice across pages
    assert calls == -(-len(ids) // 50)                           # no empty page at the end
    tenants = {view["id"]: tenant_id for tenant_id, view in nodes}
    for org in (city.root, city.counties[1], city.committees[0], city.branches[0][0], city.branches[1][1]):
        assert tenants[org["id"]] == city.tenant_id
    assert tenants[other_city.branches[0][0]["id"]] == other_city.tenant_id
    views = {view["id"]: view for _, view in nodes}
    branch = city.branches[0][0]
    assert views[branch["id"]] == rpc.identity.get_org(scope=city.admin, org_id=branch["id"])
    larger, _ = every_node(rpc, limit=1000)
    assert [view["id"] for _, view in larger] == ids


def test_only_content_may_read_the_whole_tree(rpc, city):
    for principal in ("volunteer", "attendance"):
        with acting_as(principal), pytest.raises(PermissionDenied) as refused:
            rpc.identity.all_org_nodes(after="", limit=10)
        assert refused.value.code == "CALLER_NOT_ALLOWED"
    with pytest.raises(PermissionDenied) as refused:         # the test process signs as the gateway
        rpc.identity.all_org_nodes(after="", limit=10)
    assert refused.value.code == "CALLER_NOT_ALLOWED"


@pytest.mark.parametrize("arguments, code, field", [
    ({"after": 7, "limit": 10}, "INVALID_TYPE", "after"),
    ({"after": "", "limit": 0}, "INVALID_TYPE", "limit"),
    ({"after": "", "limit": 1001}, "INVALID_TYPE", "limit"),
    ({"after": "", "limit": "10"}, "INVALID_TYPE", "limit"),
    ({"after": "", "limit": True}, "INVALID_TYPE", "limit"),
])
def test_bad_tree_pages_are_refused_with_a_code(rpc, city, arguments, code, field):
    with acting_as("content"), pytest.raises(InvalidArgument) as refused:
        rpc.identity.all_org_nodes(**arguments)
    assert (refused.value.code, refused.value.field) == (code, field)


def tree_revision(rpc) -> int:
    with acting_as("content"):
        return rpc.identity.org_tree_revision()


def test_the_tree_revision_moves_with_every_change_of_nodes_and_only_then(rpc, city):
    seen = [tree_revision(rpc)]

    def moved() -> bool:
        seen.append(tree_revision(rpc))
        return seen[-1] != seen[-2]

    county, committee = city.counties[0], city.committees[0]
    created = rpc.identity.create_org(scope=city.admin, parent_id=committee["id"], name="修订支部", kind="branch")
    assert moved()
    assert not moved()                                               # reading changes nothing
    rpc.identity.update_org(scope=city.admin, org_id=created["id"], name="修订后支部")
    assert moved()
    rpc.identity.move_org(scope=city.admin, org_id=created["id"], new_parent_id=city.committees[1]["id"])
    assert moved()
    rpc.identity.dissolve_org(scope=city.admin, org_id=created["id"])
    assert moved()
    content = "ref,parent_ref,name,kind,category,field\nb1,,修订导入支部,branch,,community\n"
    rpc.identity.import_orgs(scope=city.admin, parent_id=county["id"], format="csv",
                             content=base64.b64encode(content.encode()).decode())
    assert moved()
    rpc.identity.create_member(scope=city.admin, **member_fields(city.branches[0][0]["id"], "修订党员"))
    assert not moved()                                               # a member is not a node
    with pytest.raises(InvalidArgument):                              # a refused change moves nothing
        rpc.identity.create_org(scope=city.admin, parent_id=city.branches[0][0]["id"], name="错误", kind="county")
    assert not moved()


def test_only_content_may_ask_the_tree_revision(rpc, city):
    with acting_as("volunteer"), pytest.raises(PermissionDenied) as refused:
        rpc.identity.org_tree_revision()
    assert refused.value.code == "CALLER_NOT_ALLOWED"
