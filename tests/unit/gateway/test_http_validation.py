import io
import re
import struct

import grpc
import pytest
from werkzeug.test import Client, EnvironBuilder
from werkzeug.wrappers import Request

from gateway.client import ApiError
from gateway.http.app import MAX_JSON_DEPTH, GatewayApp, json_depth
from gateway.operations import BY_RPC, OPERATIONS


@pytest.fixture
def auth(token) -> dict:
    return {"Authorization": f"Bearer {token}"}


def error_of(response) -> dict:
    return response.get_json()["error"]


@pytest.mark.parametrize("body, code", [
    ("{not json", "MALFORMED_JSON"),
    ('{"name": NaN}', "MALFORMED_JSON"),
    (b'{"name": "\xff"}', "MALFORMED_JSON"),
    ('["a list"]', "BODY_NOT_OBJECT"),
    ('"a string"', "BODY_NOT_OBJECT"),
    ("null", "BODY_NOT_OBJECT"),
])
def test_a_body_that_is_not_a_json_object_is_refused(body, code, http, backend, auth):
    response = http.post("/v1/orgs", data=body, content_type="application/json", headers=auth)
    assert response.status_code == 400 and error_of(response)["code"] == code
    assert backend.calls == []


def test_an_unknown_field_is_refused_and_named(http, backend, auth):
    response = http.post("/v1/orgs", json={"parent_id": "p", "name": "n", "nickname": "x"}, headers=auth)
    assert response.status_code == 400
    assert error_of(response)["code"] == "UNKNOWN_FIELD" and error_of(response)["field"] == "nickname"
    assert backend.calls == []


@pytest.mark.parametrize("path, body, field", [
    ("/v1/orgs", {"parent_id": "p", "name": 5}, "name"),
    ("/v1/orgs", {"parent_id": ["p"]}, "parent_id"),
    ("/v1/members/m-1", {"mobile": "yes"}, "mobile"),
    ("/v1/members", {"status_dates": {"applicant": 20240102}}, "status_dates"),
    ("/v1/members", {"status_dates": ["2024-01-02"]}, "status_dates"),
    ("/v1/activities/act-1:submit-plan", {"venue_lat": "33.0676"}, "venue_lat"),     # json_format reads these
    ("/v1/activities/act-1:submit-plan", {"venue_lng": True}, "venue_lng"),           # as numbers, null as 0
    ("/v1/activities/act-1:submit-plan", {"venue_lat": None}, "venue_lat"),
    ("/v1/activities/act-1:submit-plan", {"grace_minutes": "10"}, "grace_minutes"),
])
def test_a_field_of_the_wrong_type_is_refused_and_named(path, body, field, http, backend, auth):
    method = "PATCH" if path.startswith("/v1/members/") else "POST"
    response = http.open(path, method=method, json=body, headers=auth)
    assert response.status_code == 400
    assert error_of(response)["code"] == "INVALID_TYPE" and error_of(response)["field"] == field
    assert backend.calls == []


@pytest.mark.parametrize("query, code, field", [
    ("page_size=abc", "INVALID_TYPE", "page_size"),
    ("page_size=1.5", "INVALID_TYPE", "page_size"),
    ("mobile=maybe", "INVALID_TYPE", "mobile"),
    ("colour=red", "UNKNOWN_FIELD", "colour"),
    ("org_id=other", "UNKNOWN_FIELD", "org_id"),
    ("status=full&status=probationary", "REPEATED_PARAMETER", "status"),
])
def test_a_bad_query_parameter_is_refused_and_named(query, code, field, http, backend, auth):
    response = http.get(f"/v1/orgs/org-city/members?{query}", headers=auth)
    assert response.status_code == 400
    assert error_of(response)["code"] == code and error_of(response)["field"] == field
    assert backend.calls == []


def test_a_query_parameter_on_a_body_operation_is_refused(http, backend, auth):
    response = http.post("/v1/orgs?name=x", json={"parent_id": "p"}, headers=auth)
    assert response.status_code == 400 and error_of(response)["code"] == "UNKNOWN_FIELD"
    assert backend.calls == []


def test_a_page_larger_than_500_is_refused_over_http(http, backend, auth):
    response = http.get("/v1/orgs/org-city/subtree?page_size=501", headers=auth)
    assert response.status_code == 400
    assert error_of(response) == {"code": "PAGE_SIZE_TOO_LARGE", "message": "page_size may be at most 500",
                                  "field": "page_size"}
    assert backend.calls == []


def test_a_page_larger_than_500_is_refused_over_grpc(grpc_client, backend, token):
    with pytest.raises(ApiError) as refused:
        grpc_client.call("ListTransfers", {"org_id": "o", "side": "incoming", "state": "pending",
                                           "page_size": 1000}, token)
    assert refused.value.status == grpc.StatusCode.INVALID_ARGUMENT
    assert (refused.value.code, refused.value.field) == ("PAGE_SIZE_TOO_LARGE", "page_size")
    assert backend.calls == []


def test_a_negative_page_size_is_refused(http, backend, auth):
    response = http.get("/v1/orgs/org-city/members?page_size=-1", headers=auth)
    assert response.status_code == 400 and error_of(response)["code"] == "PAGE_SIZE_INVALID"
    assert backend.calls == []


def test_a_body_larger_than_the_cap_is_refused(dispatcher, backend, auth):
    small = Client(GatewayApp(dispatcher, max_body=100))
    response = small.post("/v1/orgs", json={"parent_id": "p", "name": "x" * 200}, headers=auth)
    assert response.status_code == 413 and error_of(response)["code"] == "BODY_TOO_LARGE"
    upload = small.post("/v1/orgs/o/org-imports", data=b"x" * 101, content_type="text/csv", headers=auth)
    assert upload.status_code == 413 and error_of(upload)["code"] == "BODY_TOO_LARGE"
    assert backend.calls == []


def test_a_body_without_a_length_is_still_capped(dispatcher, backend, auth):
    environ = EnvironBuilder("/v1/orgs/o/org-imports", method="POST", content_type="text/csv",
                             headers=auth).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"wsgi.input": io.BytesIO(b"x" * 300), "wsgi.input_terminated": True})
    response = GatewayApp(dispatcher, max_body=100).handle(Request(environ))
    assert response.status_code == 413
    assert backend.calls == []


def test_the_body_cap_comes_from_the_environment(dispatcher, monkeypatch):
    monkeypatch.setenv("GATEWAY_MAX_BODY_BYTES", "1234")
    assert GatewayApp(dispatcher).max_body == 1234


def test_the_body_cap_defaults_to_64_mib(dispatcher, monkeypatch):
    monkeypatch.delenv("GATEWAY_MAX_BODY_BYTES", raising=False)
    assert GatewayApp(dispatcher).max_body == 64 * 1024 * 1024


@pytest.mark.parametrize("content_type, query", [
    ("application/pdf", ""),
    ("application/json", ""),
    ("text/csv", "?format=pdf"),
    (None, ""),
])
def test_an_import_of_an_unsupported_type_is_refused(content_type, query, http, backend, auth):
    response = http.post(f"/v1/orgs/o/member-imports{query}", data=b"a,b\n", content_type=content_type,
                         headers=auth)
    assert response.status_code == 415 and error_of(response)["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert backend.calls == []


def test_a_json_operation_refuses_a_body_that_is_not_json(http, backend, auth):
    response = http.post("/v1/orgs", data="parent_id=p", content_type="application/x-www-form-urlencoded",
                         headers=auth)
    assert response.status_code == 415 and error_of(response)["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert backend.calls == []


def test_an_empty_body_is_an_empty_request(http, backend, auth):
    assert http.post("/v1/transfers/tr-1:accept", headers=auth).status_code == 200
    assert backend.calls[0].kwargs["transfer_id"] == "tr-1"


def test_an_unknown_route_is_404_route_not_found(http, backend):
    for path in ("/v1/nothing", "/v1/orgs/o:explode", "/v1/orgs/", "//v1/me"):
        response = http.get(path)
        assert response.status_code == 404 and error_of(response)["code"] == "ROUTE_NOT_FOUND", path


def test_a_wrong_method_is_405_with_the_allowed_ones(http, backend):
    response = http.put("/v1/orgs/o-1")
    assert response.status_code == 405 and error_of(response)["code"] == "METHOD_NOT_ALLOWED"
    assert {"GET", "PATCH", "DELETE"} <= set(response.headers["Allow"].split(", "))


BODY_OPERATIONS = [op for op in OPERATIONS if op.http_method != "GET" and not op.upload]


def nested(levels: int, inner: str = "1") -> str:
    return '{"a": ' * levels + inner + "}" * levels


@pytest.mark.parametrize("op", BODY_OPERATIONS, ids=lambda op: op.rpc)
@pytest.mark.parametrize("body", [
    nested(1000), "[" * 20_000 + "]" * 20_000, '{"text": ' + "[" * 20_000 + "1" + "]" * 20_000 + "}",
    "[" * 50_000, '{"a": "x", "b": [' + "{" * 5000,
], ids=["objects-1000", "arrays-20000", "in-a-field-20000", "unclosed-50000", "unclosed-objects"])
def test_json_nested_too_deep_is_refused_on_every_operation(op, body, http, backend, auth):
    """json.loads recurses per level: thousands of levels raised RecursionError, answered 500. (Within the
    smallest body limit, 64 KiB: a larger body is refused for its size first.)"""
    path = re.sub(r"\{(\w+)\}", "x", op.path)
    response = http.open(path, method=op.http_method, data=body, content_type="application/json", headers=auth)
    assert response.status_code == 400 and error_of(response)["code"] == "JSON_TOO_DEEP"
    assert backend.calls == []


def test_nesting_up_to_the_limit_is_judged_as_any_body_and_brackets_in_strings_do_not_count(http, backend, auth):
    deepest = http.post("/v1/orgs", data=nested(MAX_JSON_DEPTH), content_type="application/json", headers=auth)
    assert deepest.status_code == 400 and error_of(deepest)["code"] == "UNKNOWN_FIELD"
    deeper = http.post("/v1/orgs", data=nested(MAX_JSON_DEPTH + 1), content_type="application/json", headers=auth)
    assert deeper.status_code == 400 and error_of(deeper)["code"] == "JSON_TOO_DEEP"
    text = '[{"\\\\"}]\\"' + "[" * 5000 + "{" * 5000
    response = http.post("/v1/activities/act-1/text-records", json={"text": text}, headers=auth)
    assert response.status_code == 200 and backend.calls[0].kwargs["text"] == text


@pytest.mark.parametrize("text, depth", [
    (b"", 0), (b"{}", 1), (b'{"a": [1, {"b": []}]}', 4), (b'{"a": "[[[{{{"}', 1), (b'{"a\\"[[": "\\\\", "b": [[]]}', 3),
    (b'["\\\\\\"[[["]', 1), (("[" * 40 + "]" * 40).encode(), 40),
])
def test_json_depth_counts_brackets_outside_strings(text, depth):
    assert json_depth(text) == depth


def wire(number: int, payload: bytes) -> bytes:
    """One length-delimited field (wire type 2) of a protobuf message."""
    return bytes([number << 3 | 2, len(payload)]) + payload


def mistyped_scan(lat_payload: bytes = b"33.146") -> bytes:
    """A RecordScanRequest as a client built from a proto with ``string lat = 1`` sends it: the parser keeps the
    latitude as an unknown field, and the fix read as if it had none (lat 0)."""
    fix = wire(1, lat_payload) + bytes([2 << 3 | 1]) + struct.pack("<d", 107.02) + wire(5, b"d1")
    return wire(1, b"v1.act-1.in.p.sig") + wire(2, fix)


@pytest.mark.parametrize("rpc, body, field", [
    ("RecordScan", mistyped_scan(), "fix.lat"),
    ("RecordScan", wire(1, b"t") + bytes([2 << 3 | 0, 5]), "fix"),                       # the fix as a number
    ("SubmitPlan", wire(1, b"act-1") + wire(6, b"33.0676"), "venue_lat"),
])
def test_a_grpc_field_sent_with_another_wire_type_is_refused_and_named(rpc, body, field, channel, backend, token):
    op = BY_RPC[rpc]
    call = channel.unary_unary(f"/{op.api}/{rpc}", request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as refused:
        call(body, metadata=[("authorization", f"Bearer {token}")], timeout=10)
    trailers = dict(refused.value.trailing_metadata())
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (trailers["error-code"], trailers["error-field"]) == ("INVALID_TYPE", field)
    assert backend.calls == []


def test_an_unknown_grpc_field_number_is_still_ignored(channel, backend, token):
    """Only a known field's number with another wire type is a type error; a field the proto lacks (a newer
    client's) is ignored, as protobuf ignores it."""
    op = BY_RPC["RecordScan"]
    call = channel.unary_unary(f"/{op.api}/RecordScan", request_serializer=None, response_deserializer=None)
    fix = bytes([1 << 3 | 1]) + struct.pack("<d", 33.07) + wire(5, b"d1") + wire(15, b"later field")
    call(wire(1, b"v1.act-1.in.p.sig") + wire(2, fix) + wire(9, b"x"),
         metadata=[("authorization", f"Bearer {token}")], timeout=10)
    assert backend.calls[0].kwargs["fix"]["lat"] == 33.07


@pytest.mark.parametrize("body", [bytes([15 << 3 | 3]) * 5000 + bytes([15 << 3 | 4]) * 5000, b"\x0a\xff\xff"],
                         ids=["groups nested 5000 deep", "cut short"])
def test_a_grpc_message_protobuf_cannot_parse_is_an_invalid_argument(body, channel, backend, token):
    """Beyond protobuf's nesting limit, or corrupt: grpc answered UNKNOWN with the parser's own words."""
    op = BY_RPC["RecordScan"]
    call = channel.unary_unary(f"/{op.api}/RecordScan", request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as refused:
        call(body, metadata=[("authorization", f"Bearer {token}")], timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert dict(refused.value.trailing_metadata())["error-code"] == "MALFORMED_MESSAGE"
    assert backend.calls == []
