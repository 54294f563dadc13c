import logging

import grpc
import pytest
from nameko.exceptions import RemoteError, RpcTimeout, UnknownService, deserialize, serialize

from gateway.client import ApiError
from gateway.errors import ERROR_TABLE, describe
from servicekit.errors import (Conflict, InvalidArgument, NotFound, PermissionDenied, ServiceError,
                               TooManyRequests, Unauthenticated)

S = grpc.StatusCode
IMPORT_ROWS = [{"line": 3, "field": "kind", "reason": "unknown kind 'brunch'"},
               {"line": 7, "field": "name", "reason": "名称不能为空"}]

CASES = [
    # raised by the service                                          HTTP  gRPC                 code
    (InvalidArgument("名称不能为空", code="NAME_REQUIRED", field="name"), 400, S.INVALID_ARGUMENT, "NAME_REQUIRED"),
    (InvalidArgument("bad rows", code="IMPORT_REJECTED", details=IMPORT_ROWS),
     400, S.INVALID_ARGUMENT, "IMPORT_REJECTED"),
    (Unauthenticated("wrong password", code="BAD_CREDENTIALS"), 401, S.UNAUTHENTICATED, "BAD_CREDENTIALS"),
    (PermissionDenied("operator only", code="OPERATOR_ONLY"), 403, S.PERMISSION_DENIED, "OPERATOR_ONLY"),
    (NotFound("no such org", code="ORG_NOT_FOUND"), 404, S.NOT_FOUND, "ORG_NOT_FOUND"),
    (Conflict("taken", code="USERNAME_EXISTS", field="username"), 409, S.ALREADY_EXISTS, "USERNAME_EXISTS"),
    (Conflict("same ID number", code="ID_NUMBER_DUPLICATE"), 409, S.ALREADY_EXISTS, "ID_NUMBER_DUPLICATE"),
    (Conflict("has children", code="ORG_NOT_EMPTY"), 409, S.FAILED_PRECONDITION, "ORG_NOT_EMPTY"),
    (Conflict("wrong step"), 409, S.FAILED_PRECONDITION, "CONFLICT"),
    (TooManyRequests("slow down", code="TOO_MANY_ATTEMPTS", details=[{"retry_after_seconds": 4}]),
     429, S.RESOURCE_EXHAUSTED, "TOO_MANY_ATTEMPTS"),
    (RpcTimeout(30), 504, S.DEADLINE_EXCEEDED, "UPSTREAM_TIMEOUT"),
    (UnknownService("identity"), 503, S.UNAVAILABLE, "SERVICE_UNAVAILABLE"),
    (ServiceError("mongo password is hunter2"), 500, S.INTERNAL, "INTERNAL"),
    (RemoteError("KeyError", "'mongo password is hunter2'"), 500, S.INTERNAL, "INTERNAL"),
    (RuntimeError("mongo password is hunter2"), 500, S.INTERNAL, "INTERNAL"),
]
IDS = [f"{type(case[0]).__name__}-{case[3]}" for case in CASES]


@pytest.mark.parametrize("error, status, grpc_code, code", CASES, ids=IDS)
def test_a_service_error_answers_its_row_of_the_table_over_http(error, status, grpc_code, code, http, backend, token):
    backend.fail_with(error)
    response = http.get("/v1/orgs/org-1", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == status
    body = response.get_json()["error"]
    assert body["code"] == code
    if isinstance(error, ServiceError) and status < 500:
        assert body["message"] == error.message
        assert body.get("field") == error.field
        assert body.get("details", []) == error.details


@pytest.mark.parametrize("error, status, grpc_code, code", CASES, ids=IDS)
def test_a_service_error_answers_the_same_code_over_grpc(error, status, grpc_code, code, grpc_client, backend, token):
    backend.fail_with(error)
    with pytest.raises(ApiError) as raised:
        grpc_client.call("GetOrg", {"org_id": "org-1"}, token)
    assert raised.value.status == grpc_code
    assert raised.value.code == code
    if isinstance(error, ServiceError) and status < 500:
        assert raised.value.message == error.message
        assert raised.value.field == error.field
        assert raised.value.details == error.details


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_an_internal_error_reveals_nothing_of_its_cause(protocol, http, grpc_client, backend, token, caplog):
    backend.fail_with(RuntimeError("mongo password is hunter2"))
    with caplog.at_level(logging.ERROR, logger="gateway.errors"):
        if protocol == "http":
            text = http.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).get_data(as_text=True)
        else:
            with pytest.raises(ApiError) as raised:
                grpc_client.call("GetMe", {}, token)
            text = f"{raised.value.message} {raised.value.details}"
    assert "hunter2" not in text
    assert "hunter2" in caplog.text  # but the operator can see it in the log


def test_an_error_rebuilt_by_nameko_on_the_caller_side_keeps_code_field_and_details():
    original = InvalidArgument("bad rows", code="IMPORT_REJECTED", field="content", details=IMPORT_ROWS)
    rebuilt = deserialize(serialize(original))
    assert type(rebuilt) is InvalidArgument
    assert describe(rebuilt) == describe(original)


def test_the_grpc_error_metadata_carries_the_details_as_json(grpc_client, backend, token):
    backend.fail_with(InvalidArgument("bad rows", code="IMPORT_REJECTED", details=IMPORT_ROWS))
    with pytest.raises(ApiError) as raised:
        grpc_client.call("ImportMembers", {"org_id": "o", "format": "csv", "content": b"x"}, token)
    assert raised.value.details == IMPORT_ROWS


def test_every_row_of_the_table_maps_to_an_error_status():
    for kind, (status, grpc_code) in ERROR_TABLE.items():
        assert 400 <= status < 600 and grpc_code != S.OK, kind
