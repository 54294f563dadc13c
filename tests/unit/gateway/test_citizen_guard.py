"""A citizen's token (role ``citizen`` only) reaches the operations marked for citizens and nothing else: every
other operation of the table answers 403 CITIZEN_NOT_ALLOWED over HTTP and gRPC before any service call."""
from __future__ import annotations

import grpc
import pytest

from gateway.client import ApiError
from gateway.operations import BY_RPC, OPERATIONS
from servicekit.security import tokens
from servicekit.security.scope import CallerScope
from tests.unit.gateway.audit_samples import unmarked
from tests.unit.gateway.conftest import http_call
from tests.unit.gateway.samples import request_for

CITIZEN = {"account_id": "acc-citizen", "tenant_id": "tenant-xa", "roles": [{"role": "citizen", "org_id": None}],
           "member_id": None, "branch_id": None}
# what a citizen may do with its own account: who it is, its sessions and password, and its own orders (the
# service checks they are its own)
CITIZEN_OPERATIONS = {"GetMe", "Logout", "ListSessions", "RevokeSession", "ChangePassword", "PlaceOrder",
                      "ListMyOrders", "GetOrder", "CancelOrder", "ConfirmOrder", "DisputeOrder", "GetCompletionPhoto"}
AUTHENTICATED = [op.rpc for op in OPERATIONS if op.auth]
REFUSED = [rpc for rpc in AUTHENTICATED if rpc not in CITIZEN_OPERATIONS]


@pytest.fixture(scope="session")
def citizen_token(keys) -> str:
    return tokens.TokenSigner(keys.private_pem, lifetime_seconds=600).issue(CITIZEN)


def test_the_table_marks_exactly_the_citizens_operations():
    assert {op.rpc for op in OPERATIONS if op.citizens} == CITIZEN_OPERATIONS
    assert all(op.auth for op in OPERATIONS if op.citizens)
    assert len(REFUSED) > 100          # the whole table but a handful


@pytest.mark.parametrize("rpc", REFUSED)
def test_every_other_operation_refuses_a_citizen_over_http(rpc, http, backend, citizen_token):
    response = http_call(http, BY_RPC[rpc], request_for(rpc), citizen_token)
    assert response.status_code == 403, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "CITIZEN_NOT_ALLOWED"
    assert backend.calls == []


@pytest.mark.parametrize("rpc", REFUSED)
def test_every_other_operation_refuses_a_citizen_over_grpc(rpc, grpc_client, backend, citizen_token):
    with pytest.raises(ApiError) as refused:
        grpc_client.call(rpc, request_for(rpc), citizen_token)
    assert (refused.value.status, refused.value.code) == (grpc.StatusCode.PERMISSION_DENIED, "CITIZEN_NOT_ALLOWED")
    assert backend.calls == []


@pytest.mark.parametrize("rpc", sorted(CITIZEN_OPERATIONS))
def test_the_citizens_operations_reach_the_service_with_the_citizens_scope(rpc, http, grpc_client, backend,
                                                                          citizen_token):
    response = http_call(http, BY_RPC[rpc], request_for(rpc), citizen_token)
    assert response.status_code == 200, response.get_data(as_text=True)
    grpc_client.call(rpc, request_for(rpc), citizen_token)
    assert [(call.method, unmarked(call.kwargs["scope"])) for call in backend.calls] == [(BY_RPC[rpc].method, CITIZEN)] * 2


def test_a_citizen_without_a_token_still_reaches_the_open_operations(http, backend):
    response = http_call(http, BY_RPC["PlaceGuestOrder"], request_for("PlaceGuestOrder"))
    assert response.status_code == 200
    [call] = backend.calls
    assert "scope" not in call.kwargs and call.kwargs["client_address"] == "127.0.0.1"


def test_staff_and_members_are_not_citizens():
    assert CallerScope.from_dict(CITIZEN).is_citizen
    for roles in ([{"role": "member", "org_id": "org-b"}], [{"role": "org_admin", "org_id": "org-city"}],
                  [{"role": "operator", "org_id": None}], []):
        assert not CallerScope.from_dict({**CITIZEN, "roles": roles}).is_citizen
