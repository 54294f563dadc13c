"""Recommendations and the gap report over HTTP and gRPC: a member's wrong quiz answers make a gap that comes
first with its rate as reason, its quiz moves its points, the secretary's report shows the gap, and refusals for a
member, another city and bad input."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import grpc
import pytest

from gateway.client import ApiError, GrpcClient, HttpClient
from tests.e2e.test_scoring_through_gateway import new_city
from tests.support.identity import PASSWORD, member_fields
from tests.support.scoring import wait_for

pytestmark = pytest.mark.e2e


def refusal(call) -> ApiError:
    with pytest.raises(ApiError) as refused:
        call()
    return refused.value


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def login(url: str, city: dict, **account) -> HttpClient:
    username = f"u{uuid.uuid4().hex[:8]}"
    city["admin"].call("CreateAccount", {"username": username, "password": PASSWORD, **account})
    client = HttpClient(url)
    client.login(city["code"], username, PASSWORD)
    return client


def publish(admin: HttpClient, root: str, title: str, tags: list[str]) -> dict:
    column = next(c["id"] for c in admin.call("ListColumns", {"org_id": root})["columns"] if c["key"] == "learning")
    item = admin.call("CreateItem", {"column_id": column, "kind": "article", "title": title, "body": "正文", "tags": tags})
    return admin.call("SubmitItem", {"item_id": item["id"]})


def test_recommendations_and_the_gap_report_through_the_gateway(gateway_process, operator_password, content_service,
                                                                  scoring_service):
    url = gateway_process.http_url
    city = new_city(url, operator_password, "推荐市")
    admin, root, branch = city["admin"], city["root"], city["branches"][0]
    member_record = admin.call("CreateMember", member_fields(branch["id"], "推荐党员"))
    member = login(url, city, role="member", member_id=member_record["id"])
    secretary = login(url, city, role="branch_secretary", org_id=branch["id"])
    charter = publish(admin, root, "学习党章心得", ["党章"])
    village = publish(admin, root, "乡村振兴经验", ["乡村振兴"])

    fresh = member.request("GET", "/v1/recommendations")
    assert {p["item_id"]: p["reason_kind"] for p in fresh["recommendations"]} == {charter["id"]: "new",
                                                                                   village["id"]: "new"}
    assert fresh["gaps"] == [] and fresh["min_answers"] == 5

    for n in range(5):
        admin.call("CreateBankQuestion", {"org_id": root, "kind": "single", "stem": f"第{n}题：党的根本宗旨是？",
                                          "options": ["全心全意为人民服务", "发展经济", "改革开放"], "correct": ["A"],
                                          "category": "党章", "difficulty": 2})
    now = datetime.now(timezone.utc)
    quiz = admin.call("CreateQuiz", {"org_id": root, "kind": "quiz", "title": "党章测试", "review": "after_submit",
                                     "open_at": iso(now - timedelta(minutes=1)), "close_at": iso(now + timedelta(hours=1)),
                                     "time_limit_seconds": 300, "draw": [{"category": "党章", "count": 5, "points": 1}]})
    attempt = member.request("POST", f"/v1/quizzes/{quiz['id']}/attempts", body={})
    assert member.call("SubmitQuizAttempt", {"attempt_id": attempt["id"]})["band"] == "fail"     # nothing answered

    picks = member.request("GET", "/v1/recommendations", query={"limit": 5})
    assert picks["recommendations"][0]["item_id"] == charter["id"]
    assert picks["recommendations"][0]["reason"] == "党章 类题目正确率 0%"
    assert picks["gaps"] == [{"category": "党章", "answered": 5, "correct": 0, "rate": 0.0, "percent": 0}]
    bad = refusal(lambda: member.call("ListRecommendations", {"limit": 99}))
    assert (bad.status, bad.code, bad.field) == (400, "OUT_OF_RANGE", "limit")
    denied = refusal(lambda: admin.call("ListRecommendations", {}))
    assert (denied.status, denied.code) == (403, "MEMBER_ONLY")

    # the finished quiz moves the member's points (taking part: one level of the quiz points)
    def quiz_points():
        ledger = member.call("GetLedger", {"member_id": member_record["id"]})
        return ledger if ledger["by_category"].get("quiz") else None
    assert wait_for(quiz_points)["by_category"]["quiz"] == 1

    report = secretary.request("GET", f"/v1/branches/{branch['id']}/gap-report")
    assert [(row["category"], row["percent"], row["gap"]) for row in report["weakest"]] == [("党章", 0, True)]
    assert report["packages"] == [] and report["branch_name"] == branch["name"]
    other = new_city(url, operator_password, "外市")
    with GrpcClient(gateway_process.grpc_target) as rpc:
        assert rpc.call("GetGapReport", {"branch_id": branch["id"]}, secretary.token) == report
        assert rpc.call("ListRecommendations", {"limit": 5}, member.token) == picks
        outside = refusal(lambda: rpc.call("GetGapReport", {"branch_id": branch["id"]}, other["admin"].token))
        assert (outside.status, outside.code) == (grpc.StatusCode.NOT_FOUND, "ORG_NOT_FOUND")
    outside = refusal(lambda: other["admin"].call("GetGapReport", {"branch_id": branch["id"]}))
    assert (outside.status, outside.code) == (404, "ORG_NOT_FOUND")
    denied = refusal(lambda: member.call("GetGapReport", {"branch_id": branch["id"]}))
    assert (denied.status, denied.code) == (403, "NOT_ORG_MANAGER")
    bad = refusal(lambda: secretary.call("GetGapReport", {"branch_id": branch["id"], "month": "2026/12"}))
    assert (bad.status, bad.code, bad.field) == (400, "INVALID_MONTH", "month")
