"""Learning packages over HTTP and gRPC: the city admin creates and publishes a package, a member studies an
item with start, heartbeats and end (the gateway's time; short minimum, real short sleeps), progress shows it;
bad input, a member's staff call and another city's admin are refused with their codes."""
import time

import grpc
import pytest

from gateway.client import ApiError, GrpcClient, HttpClient
from tests.e2e.test_scoring_through_gateway import new_city
from tests.support.identity import PASSWORD, member_fields

pytestmark = pytest.mark.e2e


def refusal(call) -> ApiError:
    with pytest.raises(ApiError) as refused:
        call()
    return refused.value


def this_month() -> str:
    return time.strftime("%Y-%m", time.gmtime(time.time() + 8 * 3600))


def test_a_member_studies_a_package_over_http_and_grpc(gateway_process, operator_password, content_service):
    city = new_city(gateway_process.http_url, operator_password, "学习市")
    admin, branch = city["admin"], city["branches"][0]
    member_id = admin.call("CreateMember", member_fields(branch["id"], "王学习"))["id"]
    admin.call("CreateMember", member_fields(branch["id"], "李同志"))
    admin.call("CreateAccount", {"username": "studier", "password": PASSWORD, "role": "member",
                                 "member_id": member_id})
    member = HttpClient(gateway_process.http_url)
    member.login(city["code"], "studier", PASSWORD)
    month = this_month()
    items = [{"key": "v1", "title": "党章视频", "kind": "video", "url": "https://example.org/v1.mp4",
              "min_seconds": 2, "cap_seconds": 10},
             {"key": "a1", "title": "学习文章", "kind": "article", "url": "https://example.org/a1", "min_seconds": 2}]

    # HTTP: POST /v1/packages, then :publish
    draft = admin.request("POST", "/v1/packages", body={"org_id": city["root"], "month": month,
                                                        "title": "本月学习套餐", "due_on": f"{month}-28",
                                                        "items": items})
    assert draft["status"] == "draft" and [i["key"] for i in draft["items"]] == ["v1", "a1"]
    package = admin.request("POST", f"/v1/packages/{draft['id']}:publish", body={})
    assert package["status"] == "published"
    bad = refusal(lambda: admin.call("CreatePackage", {"org_id": city["root"], "month": "2026-13", "title": "x",
                                                       "due_on": "2026-12-31", "items": items}))
    assert (bad.status, bad.code, bad.field) == (400, "INVALID_MONTH", "month")
    denied = refusal(lambda: member.call("CreatePackage", {"org_id": branch["id"], "month": month, "title": "x",
                                                           "due_on": f"{month}-28", "items": items}))
    assert (denied.status, denied.code) == (403, "NOT_ORG_MANAGER")
    assert len(admin.call("ListPackages", {"org_id": city["root"]})["packages"]) == 1

    # a member: HTTP for one item, gRPC for the other
    mine = member.request("GET", "/v1/me/packages")
    assert [p["id"] for p in mine["packages"]] == [package["id"]]
    session = member.request("POST", f"/v1/packages/{package['id']}/items/v1:start", body={})
    for _ in range(2):
        time.sleep(1.2)
        beat = member.request("POST", f"/v1/study-sessions/{session['session_id']}:heartbeat", body={})
    assert beat["studied"] is True and beat["seconds"] >= 2
    ended = member.request("POST", f"/v1/study-sessions/{session['session_id']}:end", body={})
    assert ended["state"] == "ended"
    closed = refusal(lambda: member.call("StudyHeartbeat", {"session_id": session["session_id"]}))
    assert (closed.status, closed.code) == (409, "SESSION_CLOSED")

    with GrpcClient(gateway_process.grpc_target) as rpc:
        started = rpc.call("StartStudy", {"package_id": package["id"], "item_key": "a1"}, member.token)
        for _ in range(2):
            time.sleep(1.2)
            beat = rpc.call("StudyHeartbeat", {"session_id": started["session_id"]}, member.token)
        assert beat["studied"] is True
        rpc.call("EndStudy", {"session_id": started["session_id"]}, member.token)
        missing = refusal(lambda: rpc.call("StartStudy", {"package_id": package["id"], "item_key": "zz"},
                                           member.token))
        assert (missing.status, missing.code) == (grpc.StatusCode.NOT_FOUND, "PACKAGE_ITEM_NOT_FOUND")
        progress_grpc = rpc.call("GetPackageProgress", {"package_id": package["id"]}, admin.token)

    progress = admin.request("GET", f"/v1/packages/{package['id']}/progress")
    assert progress == progress_grpc
    rows = {row["group_id"]: row for row in progress["rows"]}
    assert (rows[branch["id"]]["members"], rows[branch["id"]]["completed"], rows[branch["id"]]["items_studied"]) \
        == (2, 1, 2)
    assert rows[branch["id"]]["completion_rate"] == 50.0 and rows[branch["id"]]["rank"] == 1
    assert progress["totals"]["completed"] == 1
    members = admin.call("ListPackageMembers", {"package_id": package["id"], "branch_id": branch["id"]})
    assert {m["name"]: m["completed"] for m in members["members"]} == {"王学习": True, "李同志": False}
    assert member.call("GetPackage", {"package_id": package["id"]})["studied_count"] == 2

    # another city's admin: not found, as an id that exists nowhere
    other = new_city(gateway_process.http_url, operator_password, "别的市")["admin"]
    for package_id in (package["id"], "pkg_missing"):
        hidden = refusal(lambda: other.call("GetPackageProgress", {"package_id": package_id}))
        assert (hidden.status, hidden.code) == (404, "PACKAGE_NOT_FOUND")
