"""A themed day as its users live it, through the gateway: admins over HTTP, phones over gRPC."""
from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import grpc
import pytest

from gateway.client import ApiError, HttpClient
from gateway.operations import BY_RPC
from protos.partybuilding.v1 import attendance_pb2
from tests.support.attendance import ThemedDay, photo
from tests.support.identity import PASSWORD, City

pytestmark = pytest.mark.e2e


@pytest.fixture
def themed(rpc, operator_scope, attendance_service, gateway_process):
    return ThemedDay(rpc, City(rpc, operator_scope))


def login(client, day, username):
    client.login(day.city.code, username, PASSWORD)
    return client


def test_issue_plan_review_scan_close_and_verify_through_the_gateway(themed, http, grpc_client, rpc):
    day = themed
    admin = login(http, day, "county1")
    issued = admin.call("IssueTheme", {"org_id": day.city.counties[0]["id"], "month": day.month,
                                       "title": "学习党章 重温誓词", "due_from": day.day.isoformat(),
                                       "due_to": day.day.isoformat()})
    assert issued["activities_created"] == 2
    secretary = HttpClient(http.base_url)
    secretary.token = rpc.identity.login(tenant_code=day.city.code, username=day.secretary_username,
                                         password=PASSWORD)["access_token"]
    activity = next(a for a in secretary.call("ListActivities", {"org_id": day.branch["id"]})["activities"]
                    if a["theme_id"] == issued["theme"]["id"])
    planned = secretary.call("SubmitPlan", {"activity_id": activity["id"], "date": day.day.isoformat(),
                                            "start_time": "10:00", "end_time": "11:30", "venue_name": "党员活动室",
                                            "venue_lat": 33.0676, "venue_lng": 107.0238})
    assert planned["status"] == "submitted"
    with pytest.raises(ApiError) as refused:
        secretary.call("ReviewPlan", {"activity_id": activity["id"], "decision": "approved"})
    assert (refused.value.status, refused.value.code) == (403, "NOT_SUPERIOR")
    day.activity = admin.call("ReviewPlan", {"activity_id": activity["id"], "decision": "approved"})
    assert day.activity["status"] == "approved"

    day.at("start_at", -10)
    qr = secretary.call("GetQrCode", {"activity_id": activity["id"], "direction": "in", "mode": "rotating"})
    assert base64.b64decode(qr["png"]).startswith(b"\x89PNG") and qr["svg"].lstrip().startswith("<")
    member_token = rpc.identity.login(tenant_code=day.city.code, username=day.member_usernames[0],
                                      password=PASSWORD)["access_token"]
    far = {"token": qr["token"], "fix": day.fix(400)}
    with pytest.raises(ApiError) as outside:
        grpc_client.call("RecordScan", far, member_token)
    assert outside.value.code == "OUTSIDE_FENCE"
    signed_in = grpc_client.call("RecordScan", {"token": qr["token"], "fix": day.fix(30)}, member_token)
    assert signed_in["record"]["direction"] == "in" and not signed_in.get("repeat")
    late_token = rpc.identity.login(tenant_code=day.city.code, username=day.member_usernames[1],
                                    password=PASSWORD)["access_token"]
    day.at("start_at", 15)
    printed = secretary.call("GetQrCode", {"activity_id": activity["id"], "direction": "in"})["token"]
    with pytest.raises(ApiError) as late:
        http.call("RecordScan", {"token": printed, "fix": day.fix(10)}, token=late_token)
    assert (late.value.status, late.value.code) == (422, "CHECKIN_LATE")

    day.at("end_at", 2)
    out_token = secretary.call("GetQrCode", {"activity_id": activity["id"], "direction": "out"})["token"]
    grpc_client.call("RecordScan", {"token": out_token, "fix": day.fix(15)}, member_token)
    http.call("PostReflection", {"activity_id": activity["id"], "text": "重温誓词，牢记使命。"}, token=member_token)
    jpeg = photo("JPEG", (320, 240))
    uploaded = secretary.call("AddPhoto", {"activity_id": activity["id"], "content_type": "image/jpeg",
                                           "content": jpeg})
    assert uploaded["size"] == len(jpeg)
    day.at("checkout_closes_at", 1)
    closed = admin.call("GetActivity", {"activity_id": activity["id"]})
    assert closed["status"] == "closed"
    totals = closed["totals"]
    assert (totals["present"], totals["absent"], totals["mobile"], totals["photos"]) == (1, 2, 1, 1)
    assert admin.call("VerifyChain", {"activity_id": activity["id"]})["ok"] is True
    stats = admin.call("GetStatistics", {"org_id": day.city.counties[0]["id"], "month_from": day.month,
                                         "by": "member"})
    assert any(row["member_id"] == signed_in["record"]["member_id"] and row["present"] == 1 for row in stats["rows"])


def test_other_tenants_and_counties_get_404_through_both_protocols(themed, http, grpc_client, rpc, operator_scope):
    day = themed.prepared()
    outsider = login(http, day, "county2")
    with pytest.raises(ApiError) as other_county:
        outsider.call("GetActivity", {"activity_id": day.activity["id"]})
    assert other_county.value.status == 404
    stranger = City(rpc, operator_scope)
    token = rpc.identity.login(tenant_code=stranger.code, username="city-admin", password=PASSWORD)["access_token"]
    with pytest.raises(ApiError) as other_tenant:
        grpc_client.call("GetActivity", {"activity_id": day.activity["id"]}, token)
    assert other_tenant.value.code == "ACTIVITY_NOT_FOUND"



def post_json(gateway_process, path: str, body: bytes, token: str) -> tuple[int, dict]:
    """A raw HTTP POST (the body exactly as given), its status and JSON answer."""
    request = urllib.request.Request(gateway_process.http_url + path, data=body, method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def field_bytes(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field: key, varint length, payload."""
    length, size = b"", len(payload)
    while True:
        length += bytes([size & 0x7F | (0x80 if size > 0x7F else 0)])
        size >>= 7
        if not size:
            return bytes([number << 3 | 2]) + length + payload


def test_deep_json_and_a_latitude_that_is_not_a_number_are_refused_through_both_protocols(themed, rpc,
                                                                                          gateway_process):
    """Thousands of nested levels answered 500 (RecursionError); "lat": "33.146" signed the member in, null and
    true were judged as positions. Now each is a 400 naming its code and field, and nothing is stored."""
    day = themed.prepared()
    day.at("start_at", -5)
    activity_id = day.activity["id"]
    secretary = rpc.identity.login(tenant_code=day.city.code, username=day.secretary_username,
                                   password=PASSWORD)["access_token"]
    member = rpc.identity.login(tenant_code=day.city.code, username=day.member_usernames[0],
                                password=PASSWORD)["access_token"]
    token = day.token("in")
    deep_text = b'{"text": ' + b"[" * 1000 + b'"x"' + b"]" * 1000 + b"}"
    status, answer = post_json(gateway_process, f"/v1/activities/{activity_id}/text-records", deep_text, secretary)
    assert (status, answer["error"]["code"]) == (400, "JSON_TOO_DEEP")
    # within a scan's 64 KiB body limit (a larger body is refused for its size before it is read)
    deep_scan = json.dumps({"token": token, "fix": "HERE"}).encode().replace(b'"HERE"', b"[" * 20_000 + b"]" * 20_000)
    status, answer = post_json(gateway_process, "/v1/scans", deep_scan, member)
    assert (status, answer["error"]["code"]) == (400, "JSON_TOO_DEEP")
    huge_scan = json.dumps({"token": token, "fix": "HERE"}).encode().replace(b'"HERE"', b"[" * 50_000 + b"]" * 50_000)
    status, answer = post_json(gateway_process, "/v1/scans", huge_scan, member)
    assert (status, answer["error"]["code"]) == (413, "BODY_TOO_LARGE") and answer["request_id"]

    near = day.fix(20)
    for lat in (json.dumps(str(near["lat"])), "true"):
        body = json.dumps({"token": token, "fix": {**near, "lat": "HERE"}}).replace('"HERE"', lat).encode()
        status, answer = post_json(gateway_process, "/v1/scans", body, member)
        assert (status, answer["error"]["code"], answer["error"]["field"]) == (400, "INVALID_TYPE", "fix.lat"), lat
    # a missing or null position is missing, not latitude 0 (which would be judged OUTSIDE_FENCE)
    for fix in ({**near, "lat": None}, {k: v for k, v in near.items() if k != "lat"}):
        status, answer = post_json(gateway_process, "/v1/scans", json.dumps({"token": token, "fix": fix}).encode(),
                                   member)
        assert (status, answer["error"]["code"], answer["error"]["field"]) == (400, "FIX_MISSING_FIELD", "lat")
    with grpc.insecure_channel(gateway_process.grpc_target) as channel:
        call = channel.unary_unary(f"/{BY_RPC['RecordScan'].api}/RecordScan", request_serializer=None,
                                   response_deserializer=None)
        without = attendance_pb2.RecordScanRequest(token=token, fix=attendance_pb2.Fix(
            **{k: v for k, v in near.items() if k != "lat"})).SerializeToString()
        with pytest.raises(grpc.RpcError) as refused:
            call(without, metadata=[("authorization", f"Bearer {member}")], timeout=30)
    assert dict(refused.value.trailing_metadata())["error-code"] == "FIX_MISSING_FIELD"

    without_lat = attendance_pb2.Fix(**{k: v for k, v in near.items() if k != "lat"}).SerializeToString()
    lat_as_text = field_bytes(1, str(near["lat"]).encode())          # as a client built with ``string lat = 1``
    as_a_string = field_bytes(1, token.encode()) + field_bytes(2, without_lat + lat_as_text)
    with grpc.insecure_channel(gateway_process.grpc_target) as channel:
        call = channel.unary_unary(f"/{BY_RPC['RecordScan'].api}/RecordScan", request_serializer=None,
                                   response_deserializer=None)
        with pytest.raises(grpc.RpcError) as refused:
            call(as_a_string, metadata=[("authorization", f"Bearer {member}")], timeout=30)
    trailers = dict(refused.value.trailing_metadata())
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (trailers["error-code"], trailers["error-field"]) == ("INVALID_TYPE", "fix.lat")

    assert rpc.attendance.list_scans(scope=day.secretary, activity_id=activity_id)["scans"] == []
    assert rpc.attendance.list_uploads(scope=day.secretary, activity_id=activity_id)["uploads"] == []


def test_printed_codes_through_the_gateway_only_where_the_superior_allowed_them(themed, http, grpc_client, rpc):
    day = themed.prepared()
    secretary = HttpClient(http.base_url)
    secretary.token = rpc.identity.login(tenant_code=day.city.code, username=day.secretary_username,
                                         password=PASSWORD)["access_token"]
    printed = {"activity_id": day.activity["id"], "direction": "in", "mode": "print"}
    with pytest.raises(ApiError) as not_issued:
        secretary.call("GetQrCode", printed)
    assert (not_issued.value.status, not_issued.value.code) == (409, "PRINTED_CODE_NOT_ALLOWED")
    with pytest.raises(ApiError) as not_superior:
        secretary.call("SetPrintedCode", {"activity_id": day.activity["id"], "allowed": True, "reason": "自己批准"})
    assert (not_superior.value.status, not_superior.value.code) == (403, "NOT_SUPERIOR")
    admin = login(HttpClient(http.base_url), day, "county1")
    allowed = admin.call("SetPrintedCode", {"activity_id": day.activity["id"], "allowed": True, "reason": "无法投屏"})
    assert allowed["printed_code_allowed"] is True and allowed["printed_code_reason"] == "无法投屏"
    token = secretary.call("GetQrCode", printed)["token"]
    admin.call("SetPrintedCode", {"activity_id": day.activity["id"], "allowed": False, "reason": ""})

    day.at("start_at", -5)
    member = rpc.identity.login(tenant_code=day.city.code, username=day.member_usernames[0],
                                password=PASSWORD)["access_token"]
    with pytest.raises(ApiError) as refused:                          # over HTTP: the batched scan path
        http.call("RecordScan", {"token": token, "fix": day.fix(10)}, token=member)
    assert (refused.value.status, refused.value.code) == (422, "PRINTED_CODE_NOT_ALLOWED")
    with pytest.raises(ApiError) as refused_grpc:
        grpc_client.call("RecordScan", {"token": token, "fix": day.fix(10)}, member)
    assert refused_grpc.value.code == "PRINTED_CODE_NOT_ALLOWED"
    scan = http.call("RecordScan", {"token": day.token("in"), "fix": {**day.fix(10), "history": []}}, token=member)
    assert scan["record"]["code_kind"] == "rotating" and scan["record"]["flags"] == ["NO_MOVEMENT_TODAY"]
