"""The OpenAPI document says what the HTTP app answers: every error status an operation can give is among its
documented responses, a string with a fixed set of values (an enum) takes no other (not even ""), and null is
taken exactly where the schema says the field is nullable. Walked over the whole operation table."""
from __future__ import annotations

import json

import pytest
from nameko.exceptions import RpcTimeout, UnknownService
from werkzeug.test import Client

from gateway.http.app import GatewayApp
from gateway.http.descriptions import choices
from gateway.operations import BY_RPC, OPERATIONS, Operation
from servicekit import errors
from tests.unit.gateway.conftest import http_call
from tests.unit.gateway.samples import request_for

JSON_BODY_OPERATIONS = [op for op in OPERATIONS if op.http_method != "GET" and not op.upload]
UPLOADS = [op for op in OPERATIONS if op.upload]
# what a service may raise for any operation, and what the gateway makes of the rest (a bug, a service down, slow)
SERVICE_FAILURES = [errors.InvalidArgument("x", code="X"), errors.PermissionDenied("x", code="X"),
                    errors.NotFound("x", code="X"), errors.Conflict("x", code="X"), errors.Rejected("x", code="X"),
                    errors.TooManyRequests("x", code="X"), RuntimeError("a bug"), UnknownService("identity"),
                    RpcTimeout()]
# the open operations whose service refuses credentials itself (identity's sessions); no other raises it
CREDENTIAL_CHECKS = {"Login", "Refresh"}


@pytest.fixture(scope="module")
def openapi(admin_app) -> dict:
    return json.loads(Client(admin_app).get("/openapi.json").get_data(as_text=True))


@pytest.fixture
def auth(token) -> dict:
    return {"Authorization": f"Bearer {token}"}


def documented(openapi: dict, op: Operation) -> dict:
    return openapi["paths"][op.path][op.http_method.lower()]["responses"]


def resolve(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        node = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def accepts(document: dict, schema: dict, value) -> bool:
    """Whether ``schema`` takes the scalar or null ``value``: the part of JSON Schema the document uses for them."""
    schema = resolve(document, schema)
    if "allOf" in schema and not all(accepts(document, part, value) for part in schema["allOf"]):
        return False
    if "anyOf" in schema and not any(accepts(document, part, value) for part in schema["anyOf"]):
        return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    kinds = schema.get("type")
    if kinds is None:
        return True
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if value is None:
        return "null" in kinds
    return "string" in kinds if isinstance(value, str) else True


def request_schema(document: dict, op: Operation) -> dict:
    return resolve(document, op_object(document, op)["requestBody"]["content"]["application/json"]["schema"])


def op_object(document: dict, op: Operation) -> dict:
    return document["paths"][op.path][op.http_method.lower()]


def send_json(http: Client, op: Operation, body: dict, headers: dict):
    path, fields = op.path, dict(body)
    for name in op.path_params:
        path = path.replace("{" + name + "}", fields.pop(name, None) or "p-1")
    return http.open(path, method=op.http_method, json=fields, headers=headers)


# ---- statuses -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.rpc)
def test_every_status_a_service_failure_gives_is_documented(op, openapi, http, backend, token):
    statuses = documented(openapi, op)
    failures = SERVICE_FAILURES + ([errors.Unauthenticated("x", code="X")]
                                   if op.auth or op.rpc in CREDENTIAL_CHECKS else [])
    for failure in failures:
        backend.fail_with(failure)
        answer = http_call(http, op, request_for(op.rpc), token)
        assert answer.status_code >= 400, (failure, answer.get_data(as_text=True))
        assert str(answer.status_code) in statuses, (type(failure).__name__, answer.status_code)
        assert statuses[str(answer.status_code)]["$ref"] == "#/components/responses/Error"
        assert set(answer.get_json()) == {"error", "request_id"}


@pytest.mark.parametrize("op", [op for op in OPERATIONS if op.auth], ids=lambda op: op.rpc)
def test_an_operation_needing_a_token_documents_401(op, openapi, http, backend):
    answer = http_call(http, op, request_for(op.rpc))
    assert answer.status_code == 401 and "401" in documented(openapi, op)
    assert op_object(openapi, op)["security"] == [{"bearer": []}]


def test_login_documents_the_401_of_refused_credentials(openapi, http, backend):
    backend.fail_with(errors.Unauthenticated("用户名或密码错误", code="LOGIN_FAILED"))
    answer = http_call(http, BY_RPC["Login"], request_for("Login"))
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "LOGIN_FAILED"
    assert "LOGIN_FAILED" in documented(openapi, BY_RPC["Login"])["401"]["description"]
    assert "401" in openapi["paths"]["/v1/auth/session"]["post"]["responses"]
    open_without_credentials = [op for op in OPERATIONS if not op.auth and op.rpc not in CREDENTIAL_CHECKS]
    assert open_without_credentials and all("401" not in documented(openapi, op) for op in open_without_credentials)


@pytest.mark.parametrize("op", JSON_BODY_OPERATIONS, ids=lambda op: op.rpc)
def test_a_json_operation_given_another_media_type_answers_a_documented_415(op, openapi, http, backend, auth):
    path = op.path.replace("{", "").replace("}", "")
    answer = http.open(path, method=op.http_method, data=b"name=x", content_type="application/x-www-form-urlencoded",
                       headers=auth)
    assert answer.status_code == 415 and answer.get_json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert "415" in documented(openapi, op) and not backend.calls


@pytest.mark.parametrize("op", UPLOADS, ids=lambda op: op.rpc)
def test_an_upload_of_another_media_type_answers_a_documented_415(op, openapi, http, backend, auth):
    path = op.path.replace("{", "").replace("}", "")
    for query in ({}, {op.upload.format_field: ""}):        # "" is not one of the documented formats either
        answer = http.open(path, method=op.http_method, data=b"\x00\x01", content_type="application/x-no-such-type",
                           query_string=query, headers=auth)
        assert answer.status_code == 415, query
    parameter = next(p for p in op_object(openapi, op)["parameters"] if p["name"] == op.upload.format_field)
    assert "" not in parameter["schema"]["enum"]
    assert "415" in documented(openapi, op) and not backend.calls


def test_a_get_documents_no_415_and_every_operation_413(openapi):
    for op in OPERATIONS:
        statuses = documented(openapi, op)
        assert "413" in statuses and {"400", "403", "404", "409", "422", "429", "500", "503", "504"} <= set(statuses)
        assert ("415" in statuses) == (op.http_method != "GET" or op.upload is not None), op.rpc


@pytest.mark.parametrize("op", JSON_BODY_OPERATIONS + UPLOADS, ids=lambda op: op.rpc)
def test_a_body_over_the_limit_answers_a_documented_413(op, openapi, dispatcher, backend, auth):
    small = Client(GatewayApp(dispatcher, max_body=16))
    path = op.path.replace("{", "").replace("}", "")
    content_type = op.upload.media_types[0][0] if op.upload else "application/json"
    answer = small.open(path, method=op.http_method, data=b'{"x": "' + b"y" * 32 + b'"}', content_type=content_type,
                        headers=auth)
    assert answer.status_code == 413 and "413" in documented(openapi, op)


# ---- enums ----------------------------------------------------------------------------------------------------

def choice_fields(op: Operation):
    fields = op.request.DESCRIPTOR.fields_by_name
    for name, field in fields.items():
        allowed = choices(field)
        if allowed is not None and name not in op.path_params and not (op.upload and name == op.upload.format_field):
            yield name, field, allowed


ENUM_CASES = [(op, name) for op in OPERATIONS if not op.upload for name, _, _ in choice_fields(op)]


@pytest.mark.parametrize("op, name", ENUM_CASES, ids=lambda case: getattr(case, "rpc", case))
def test_an_enum_field_takes_what_the_document_lists_and_nothing_else(op, name, openapi, http, backend, token):
    allowed = choices(op.request.DESCRIPTOR.fields_by_name[name])
    if op.http_method == "GET":
        parameter = next(p for p in op_object(openapi, op)["parameters"] if p["name"] == name)
        schema = parameter["schema"]
    else:
        schema = request_schema(openapi, op)["properties"][name]
    for value in ("", "not-a-choice", allowed[-1]):
        listed = accepts(openapi, schema, value)
        assert listed == (value in allowed), (value, schema)
        request = request_for(op.rpc)
        field = op.request.DESCRIPTOR.fields_by_name[name]
        request[name] = [value] if field.is_repeated else value
        backend.reset()
        answer = http_call(http, op, request, token)
        if listed:
            assert answer.status_code == 200, (value, answer.get_data(as_text=True))
        else:
            assert answer.status_code == 400, (value, answer.get_data(as_text=True))
            assert answer.get_json()["error"] | {"message": ""} == {"code": "UNKNOWN_VALUE", "field": name,
                                                                     "message": ""}
            assert not backend.calls


def test_review_decision_refuses_empty_and_the_document_leaves_it_out(openapi, http, backend, auth):
    review = BY_RPC["ReviewItem"]
    assert "" not in resolve(openapi, request_schema(openapi, review)["properties"]["decision"])["enum"]
    answer = http.post("/v1/items/itm-1:review", json={"decision": ""}, headers=auth)
    assert answer.status_code == 400 and answer.get_json()["error"]["field"] == "decision"
    assert "只能是" in answer.get_json()["error"]["message"] and not backend.calls
    assert http.post("/v1/items/itm-1:review", json={"decision": "approve"}, headers=auth).status_code == 200


def test_an_enum_inside_a_list_of_messages_is_held_to_it_and_named(http, backend, auth):
    body = request_for("SetPointsRules")
    body["rules"]["rules"] = [{"category": "attendance", "points": 1}, {"category": "gossip", "points": 1}]
    answer = http.put("/v1/points/rules", json=body, headers=auth)
    assert answer.status_code == 400 and not backend.calls
    assert answer.get_json()["error"]["code"] == "UNKNOWN_VALUE"
    assert answer.get_json()["error"]["field"] == "rules.rules.category"


def test_an_enum_listing_empty_takes_empty(openapi, http, backend, auth):
    schema = resolve(openapi, request_schema(openapi, BY_RPC["CreateOrg"]))["properties"]["category"]
    assert accepts(openapi, schema, "")
    body = {**request_for("CreateOrg"), "category": ""}
    assert send_json(http, BY_RPC["CreateOrg"], body, auth).status_code == 200


# ---- null -----------------------------------------------------------------------------------------------------

NULL_CASES = [(op, name) for op in JSON_BODY_OPERATIONS for name in op.request.DESCRIPTOR.fields_by_name
              if name not in op.path_params]


@pytest.mark.parametrize("op, name", NULL_CASES, ids=lambda case: getattr(case, "rpc", case))
def test_null_is_taken_exactly_where_the_document_says_nullable(op, name, openapi, http, backend, auth):
    nullable = accepts(openapi, request_schema(openapi, op)["properties"][name], None)
    answer = send_json(http, op, {**request_for(op.rpc), name: None}, auth)
    if nullable:
        assert answer.status_code == 200, answer.get_data(as_text=True)
    else:
        assert answer.status_code == 400, answer.get_data(as_text=True)
        assert answer.get_json()["error"]["field"] == name and not backend.calls


def test_a_required_name_and_a_cap_refuse_null(openapi, http, backend, auth):
    answer = send_json(http, BY_RPC["CreateOrg"], {**request_for("CreateOrg"), "name": None}, auth)
    assert answer.status_code == 400
    assert answer.get_json()["error"] | {"message": ""} == {"code": "INVALID_TYPE", "field": "name", "message": ""}
    body = request_for("SetPointsRules")
    body["rules"]["rules"] = [{"category": "attendance", "points": 1, "cycle_cap": None}]
    answer = http.put("/v1/points/rules", json=body, headers=auth)
    assert answer.status_code == 400 and answer.get_json()["error"]["field"] == "rules.rules.cycle_cap"
    rule = resolve(openapi, {"$ref": "#/components/schemas/PointsRule"})["properties"]
    assert not accepts(openapi, rule["cycle_cap"], None) and not accepts(openapi, rule["category"], None)
    answer = http.put("/v1/points/rules", json={"rules": None}, headers=auth)     # a message: null is not "unset"
    assert answer.status_code == 400 and answer.get_json()["error"]["field"] == "rules"
    assert not accepts(openapi, request_schema(openapi, BY_RPC["SetPointsRules"])["properties"]["rules"], None)
    assert not backend.calls


def test_an_optional_field_takes_null_as_not_given_and_says_so(openapi, http, backend, auth):
    update = BY_RPC["UpdateOrg"]
    schema = request_schema(openapi, update)["properties"]["category"]
    assert accepts(openapi, schema, None) and accepts(openapi, schema, "street")
    assert send_json(http, update, {"org_id": "org-1", "category": None, "name": "新名"}, auth).status_code == 200
    assert "category" not in backend.calls[-1].kwargs or backend.calls[-1].kwargs["category"] is None
