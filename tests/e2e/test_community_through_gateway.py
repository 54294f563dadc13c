"""The mailbox, development publicity and role models through the gateway, over HTTP and gRPC: an anonymous
letter reaches the secretary without its author (no author field at all) and the county with it; a status step's
publicity takes objections from the branch and lists them for the county only; a role model is named; bad input,
members and other counties are refused."""
from __future__ import annotations

import uuid

import grpc
import pytest

from gateway.client import ApiError, GrpcClient, HttpClient
from tests.support.identity import PASSWORD, City
from tests.support.scoring import today, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def city(rpc, operator_scope, content_service, scoring_service, gateway_process):
    return City(rpc, operator_scope)


def client(rpc, gateway_process, city: City, username: str) -> HttpClient:
    token = rpc.identity.login(tenant_code=city.code, username=username, password=PASSWORD)["access_token"]
    return HttpClient(gateway_process.http_url, token)


def refusal(call) -> ApiError:
    with pytest.raises(ApiError) as refused:
        call()
    return refused.value


def test_letters_over_http_and_grpc(rpc, gateway_process, city):
    branch = city.branches[0][0]
    username = f"m{uuid.uuid4().hex[:6]}"
    city.member_login(city.add_member(branch, "冯写信"), username)
    member = client(rpc, gateway_process, city, username)
    rpc.identity.create_account(scope=city.admin, username="sec-mail", password=PASSWORD, role="branch_secretary",
                                org_id=branch["id"])
    secretary = client(rpc, gateway_process, city, "sec-mail")
    county, other_county = (client(rpc, gateway_process, city, name) for name in ("county1", "county2"))

    letter = member.request("POST", "/v1/letters", body={"to_kind": "branch", "subject": "建议",
                                                          "body": "希望增加线上学习。", "anonymous": True})
    assert (letter["state"], letter["author"]["name"]) == ("open", "冯写信")
    seen = secretary.request("GET", f"/v1/letters/{letter['id']}")
    assert "author" not in seen and seen["anonymous"] is True and seen["subject"] == "建议"
    listed = secretary.request("GET", f"/v1/orgs/{branch['id']}/letters")
    assert [row["id"] for row in listed["letters"]] == [letter["id"]] and "author" not in listed["letters"][0]
    assert county.request("GET", f"/v1/letters/{letter['id']}")["author"]["name"] == "冯写信"
    hidden = refusal(lambda: other_county.request("GET", f"/v1/letters/{letter['id']}"))
    assert (hidden.status, hidden.code) == (404, "LETTER_NOT_FOUND")
    bad = refusal(lambda: member.request("POST", "/v1/letters", body={"to_kind": "mayor", "subject": "x",
                                                                       "body": "y"}))
    assert (bad.status, bad.code, bad.field) == (400, "UNKNOWN_VALUE", "to_kind")
    staff = refusal(lambda: member.request("GET", f"/v1/orgs/{branch['id']}/letters"))
    assert staff.status == 403

    with GrpcClient(gateway_process.grpc_target) as stub:
        answered = stub.call("AnswerLetter", {"letter_id": letter["id"], "answer": "已安排。"}, secretary.token)
        assert answered["state"] == "answered" and not answered.get("author")
        mine = stub.call("ListMyLetters", {}, member.token)
        assert [(row["id"], row["answer"]) for row in mine["letters"]] == [(letter["id"], "已安排。")]
        hidden = refusal(lambda: stub.call("GetLetter", {"letter_id": letter["id"]}, other_county.token))
        assert (hidden.status, hidden.code) == (grpc.StatusCode.NOT_FOUND, "LETTER_NOT_FOUND")


def test_publicity_and_role_models_over_http_and_grpc(rpc, gateway_process, city):
    committee, branch = city.committees[0], city.branches[0][1]
    candidate = city.add_member(branch, "陈发展", status="activist",
                                status_dates={"applicant": "2020-03-01", "activist": "2021-03-01"})
    rpc.identity.change_member_status(scope=city.admin, member_id=candidate["id"], status="development_target",
                                      on=today())
    username = f"m{uuid.uuid4().hex[:6]}"
    city.member_login(city.add_member(branch, "卫异议"), username)
    member = client(rpc, gateway_process, city, username)
    county, other_county = (client(rpc, gateway_process, city, name) for name in ("county1", "county2"))

    def opened():
        answer = county.request("GET", f"/v1/orgs/{committee['id']}/publicities")
        return answer["publicities"] if answer["total"] else None
    [publicity] = wait_for(opened)
    assert (publicity["member_name"], publicity["state"], publicity["pending_objections"]) == ("陈发展", "open", 0)
    objection = member.request("POST", f"/v1/publicities/{publicity['id']}/objections",
                               body={"reason": "请核实其学习情况。", "name": "卫异议", "anonymous": False})
    assert objection["state"] == "pending" and objection["account_id"] == ""        # the objector sees no account
    no_name = refusal(lambda: member.request("POST", f"/v1/publicities/{publicity['id']}/objections",
                                             body={"reason": "异议", "anonymous": False}))
    assert (no_name.status, no_name.code, no_name.field) == (400, "REQUIRED", "name")
    other = refusal(lambda: other_county.request("GET", f"/v1/publicities/{publicity['id']}/objections"))
    assert (other.status, other.code) == (404, "PUBLICITY_NOT_FOUND")

    with GrpcClient(gateway_process.grpc_target) as stub:
        [row] = stub.call("ListObjections", {"publicity_id": publicity["id"]}, county.token)["objections"]
        assert (row["name"], row["anonymous"]) == ("卫异议", False)
        handled = stub.call("HandleObjection", {"objection_id": row["id"], "outcome": "sustained",
                                                "note": "经核实属实，暂缓发展。"}, county.token)
        assert handled["outcome"] == "sustained"
        assert stub.call("GetPublicity", {"publicity_id": publicity["id"]}, member.token)["state"] == "suspended"

        star = city.add_member(branch, "褚先锋")
        named = stub.call("NameRoleModel", {"branch_id": branch["id"], "kind": "weekly_pioneer",
                                            "member_id": star["id"], "citation": "主动承担支部宣传工作。"},
                          county.token)
        assert (named["member_name"], named["published"]) == ("褚先锋", True)
    again = refusal(lambda: county.request("POST", f"/v1/branches/{branch['id']}/role-models",
                                           body={"kind": "weekly_pioneer", "member_id": star["id"],
                                                 "citation": "再次确认"}))
    assert (again.status, again.code) == (409, "ROLE_MODEL_EXISTS")
    proposal = county.request("GET", f"/v1/branches/{branch['id']}/role-model-candidates",
                              query={"kind": "weekly_pioneer"})
    assert proposal["named"]["id"] == named["id"]
    denied = refusal(lambda: member.request("GET", f"/v1/branches/{branch['id']}/role-model-candidates",
                                            query={"kind": "weekly_pioneer"}))
    assert denied.status == 403
    future = refusal(lambda: county.request("GET", f"/v1/branches/{branch['id']}/role-model-candidates",
                                            query={"kind": "monthly_star", "period": "2999-01"}))
    assert (future.status, future.code) == (400, "PERIOD_IN_FUTURE")
