"""identity's org_nodes in the real process: many nodes of one tenant answered in one call, each with the view
get_org answers; an id that is not the tenant's node (missing, or another tenant's) left out."""
from __future__ import annotations

import pytest

from servicekit.errors import InvalidArgument, PermissionDenied
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
