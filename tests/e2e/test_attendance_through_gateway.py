"""A themed day as its users live it, through the gateway: admins over HTTP, phones over gRPC."""
from __future__ import annotations

import base64

import pytest

from gateway.client import ApiError, HttpClient
from tests.support.attendance import ThemedDay
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
    photo = b"\xff\xd8\xff\xe0" + b"1" * 64
    uploaded = secretary.call("AddPhoto", {"activity_id": activity["id"], "content_type": "image/jpeg",
                                           "content": photo})
    assert uploaded["size"] == len(photo)
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

