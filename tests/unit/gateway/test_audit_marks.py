"""Which calls the gateway marks for the services' audit logs (gateway.audit), over both protocols."""
from __future__ import annotations

import pytest

from gateway import audit
from gateway.operations import BY_RPC, OPERATIONS
from tests.unit.gateway.conftest import http_call
from tests.unit.gateway.samples import CALLER, request_for

MEMBER = {"account_id": "acc-m", "tenant_id": "tenant-xa", "roles": [{"role": "member", "org_id": "org-b1"}],
          "member_id": "mem-1", "branch_id": "org-b1"}


def test_every_named_operation_exists():
    assert audit.PERSONAL_DATA_READS <= set(BY_RPC) and audit.NOT_AUDITED <= set(BY_RPC)


def test_batched_and_open_operations_are_never_marked():
    for op in OPERATIONS:
        if op.batch_method or not op.auth:
            assert audit.kind_of(op) == "", op.rpc
    assert audit.marked(BY_RPC["RecordScan"], CALLER, "10.0.0.1") is CALLER


def test_writes_are_marked_for_every_caller_and_personal_reads_for_privileged_ones():
    write = audit.marked(BY_RPC["CreateAccount"], MEMBER, "10.0.0.1")
    assert {k: v for k, v in write["audit"].items() if k != "request_id"} == {
        "kind": "write", "operation": "CreateAccount", "client_address": "10.0.0.1"}
    assert {k: v for k, v in write.items() if k != "audit"} == MEMBER and "audit" not in MEMBER
    assert audit.marked(BY_RPC["GetMember"], CALLER, "10.0.0.1")["audit"]["kind"] == "read"
    assert audit.marked(BY_RPC["GetMember"], MEMBER, "10.0.0.1") is MEMBER       # a member's own record
    assert audit.marked(BY_RPC["ListSubtree"], CALLER, "10.0.0.1") is CALLER     # no personal data
    assert audit.marked(BY_RPC["LikeActivity"], CALLER, "10.0.0.1") is CALLER


@pytest.mark.parametrize("rpc,kind", [("CreateOrg", "write"), ("ListMembers", "read"), ("SearchAuditLog", "read")])
def test_the_mark_carries_the_callers_address_and_request_id_over_http(rpc, kind, http, backend, token):
    response = http_call(http, BY_RPC[rpc], request_for(rpc), token)
    mark = backend.calls[0].kwargs["scope"]["audit"]
    assert mark == {"kind": kind, "operation": rpc, "client_address": "127.0.0.1",
                    "request_id": response.headers["X-Request-Id"]}


def test_the_mark_carries_the_callers_address_over_grpc(grpc_client, backend, token):
    grpc_client.call("DisableAccount", {"account_id": "acc-2", "reason": "离职"}, token)
    mark = backend.calls[0].kwargs["scope"]["audit"]
    assert (mark["kind"], mark["operation"], mark["client_address"]) == ("write", "DisableAccount", "127.0.0.1")
    assert len(mark["request_id"]) == 16
