"""The branch's study ranking (本支部学习榜) over HTTP and gRPC: refused to a member while the tenant keeps study
private (STUDY_RANKING_OFF), answered once the city admin turns study_points_public on, always to the branch's
managers; bad input and another city's admin are refused with their codes."""
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


def test_the_study_ranking_over_http_and_grpc(gateway_process, operator_password, content_service):
    city = new_city(gateway_process.http_url, operator_password, "学习榜市")
    admin, branch = city["admin"], city["branches"][0]
    member_id = admin.call("CreateMember", member_fields(branch["id"], "王学习"))["id"]
    admin.call("CreateMember", member_fields(branch["id"], "李同志"))
    admin.call("CreateAccount", {"username": "ranked", "password": PASSWORD, "role": "member",
                                 "member_id": member_id})
    member = HttpClient(gateway_process.http_url)
    member.login(city["code"], "ranked", PASSWORD)
    month = time.strftime("%Y-%m", time.gmtime(time.time() + 8 * 3600))
    package = admin.call("CreatePackage", {"org_id": city["root"], "month": month, "title": "本月学习套餐",
                                           "due_on": f"{month}-28", "items": [
                                               {"key": "a1", "title": "学习文章", "kind": "article",
                                                "url": "https://example.org/a1", "min_seconds": 1}]})
    admin.call("PublishPackage", {"package_id": package["id"]})
    session = member.request("POST", f"/v1/packages/{package['id']}/items/a1:start", body={})
    time.sleep(1.2)
    assert member.request("POST", f"/v1/study-sessions/{session['session_id']}:end", body={})["studied"] is True

    path = f"/v1/branches/{branch['id']}/study-ranking"
    off = refusal(lambda: member.request("GET", path))
    assert (off.status, off.code, off.field) == (403, "STUDY_RANKING_OFF", "branch_id")
    staff = admin.request("GET", path)
    assert (staff["public"], staff["members"], staff["month"]) == (False, 2, month)
    assert [(e["rank"], e["name"], e["items_studied"], e["me"]) for e in staff["entries"]] == [(1, "王学习", 1, False)]

    admin.call("SetContentSettings", {"settings": {"study_points_public": True}})
    seen = member.request("GET", path)
    assert seen["public"] is True and [(e["name"], e["me"]) for e in seen["entries"]] == [("王学习", True)]
    with GrpcClient(gateway_process.grpc_target) as rpc:
        by_grpc = rpc.call("GetStudyRanking", {"branch_id": branch["id"], "month": month}, member.token)
        assert by_grpc["entries"] == seen["entries"]
        bad = refusal(lambda: rpc.call("GetStudyRanking", {"branch_id": branch["id"], "month": "2026-13"},
                                       member.token))
        assert (bad.status, bad.code) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_MONTH")

    other = new_city(gateway_process.http_url, operator_password, "别的市")["admin"]
    for branch_id in (branch["id"], "org_missing"):
        hidden = refusal(lambda: other.request("GET", f"/v1/branches/{branch_id}/study-ranking"))
        assert (hidden.status, hidden.code) == (404, "ORG_NOT_FOUND")
