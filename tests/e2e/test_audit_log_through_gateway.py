"""The audit log through the real gateway: the client's address (behind a trusted proxy too) and the answer's
request id reach the entry, over HTTP and gRPC; only the tenant's auditor reads it."""
import json
import urllib.request
import uuid

import grpc
import pytest

from gateway.client import ApiError, GrpcClient, HttpClient
from tests.support.identity import PASSWORD

pytestmark = pytest.mark.e2e


@pytest.fixture
def city(gateway_process, operator_password):
    operator = HttpClient(gateway_process.http_url)
    operator.login("", "operator", operator_password)
    code = f"e2e-{uuid.uuid4().hex[:8]}"
    created = operator.call("CreateTenant", {"code": code, "name": "审计市", "admin_username": "admin",
                                             "admin_password": PASSWORD})
    admin = HttpClient(gateway_process.http_url)
    admin.login(code, "admin", PASSWORD)
    admin.call("CreateAccount", {"username": "auditor", "password": PASSWORD, "role": "auditor",
                                 "org_id": created["root_org"]["id"]})
    auditor = HttpClient(gateway_process.http_url)
    auditor.login(code, "auditor", PASSWORD)
    return {"code": code, "root": created["root_org"], "admin": admin, "auditor": auditor}


def post_through_proxy(base_url: str, path: str, body: dict, token: str, forwarded_for: str) -> tuple[dict, str]:
    """A POST as a load balancer at 127.0.0.1 (a trusted proxy here) forwards it: the answer and its request id."""
    request = urllib.request.Request(base_url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                                              "X-Forwarded-For": forwarded_for})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read()), answer.headers["X-Request-Id"]


def test_a_write_and_a_personal_data_read_are_recorded_with_where_they_came_from(gateway_process, city):
    admin, auditor = city["admin"], city["auditor"]
    county, request_id = post_through_proxy(gateway_process.http_url, "/v1/orgs",
                                            {"parent_id": city["root"]["id"], "name": "审计区", "kind": "county"},
                                            admin.token, "198.51.100.23")
    with GrpcClient(gateway_process.grpc_target) as client:
        client.call("ListMembers", {"org_id": county["id"]}, admin.token)

    [created] = auditor.call("SearchAuditLog", {"operation": "CreateOrg"})["entries"]
    assert (created["client_address"], created["request_id"], created["outcome"], created["kind"]) == (
        "198.51.100.23", request_id, "ok", "write")
    assert created["targets"] == {"parent_id": city["root"]["id"], "kind": "county", "result_id": county["id"]}
    with GrpcClient(gateway_process.grpc_target) as client:
        [listed] = client.call("SearchAuditLog", {"operation": "ListMembers"}, auditor.token)["entries"]
    assert (listed["kind"], listed["client_address"], listed["targets"]) == ("read", "127.0.0.1",
                                                                             {"org_id": county["id"]})
    assert listed["account_id"] == created["account_id"]

    verdict = auditor.call("VerifyAuditLog")
    [identity_chain] = [chain for chain in verdict["chains"] if chain["service"] == "identity"]
    assert identity_chain["ok"] and identity_chain["head_seq"] >= 4
    headers, workbook = auditor.download("ExportAuditLog", {"operation": "CreateOrg"})
    assert workbook.startswith(b"PK") and "spreadsheetml" in headers["content-type"]


def test_only_the_tenants_auditor_reads_it_over_both_protocols(gateway_process, city):
    for rpc in ("SearchAuditLog", "VerifyAuditLog", "ExportAuditLog"):
        with pytest.raises(ApiError) as refused:
            city["admin"].call(rpc, {})
        assert (refused.value.status, refused.value.code) == (403, "AUDITOR_ONLY")
        with GrpcClient(gateway_process.grpc_target) as client, pytest.raises(ApiError) as refused:
            client.call(rpc, {}, city["admin"].token)
        assert (refused.value.status, refused.value.code) == (grpc.StatusCode.PERMISSION_DENIED, "AUDITOR_ONLY")
    with pytest.raises(ApiError) as anonymous:
        HttpClient(gateway_process.http_url).call("SearchAuditLog", {})
    assert (anonymous.value.status, anonymous.value.code) == (401, "TOKEN_MISSING")
