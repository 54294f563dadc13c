"""Development records (发展党员纪实) through the gateway, over HTTP and gRPC: the secretary records a talk, is refused
the political review before the applicant becomes a development target, then records it with the introducers; the
step's publicity (content's 发展党员公示) shows on the record with its objection for the county; the applicant reads
its own record; bad input and other branches and counties are refused, and a refusal writes nothing."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import grpc
import pytest

from gateway.client import ApiError, GrpcClient, HttpClient
from tests.support.identity import PASSWORD, City
from tests.support.scoring import today, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def city(rpc, operator_scope, content_service, gateway_process):
    return City(rpc, operator_scope)


def client(rpc, gateway_process, city: City, username: str) -> HttpClient:
    token = rpc.identity.login(tenant_code=city.code, username=username, password=PASSWORD)["access_token"]
    return HttpClient(gateway_process.http_url, token)


def refusal(call) -> ApiError:
    with pytest.raises(ApiError) as refused:
        call()
    return refused.value


def test_a_development_record_over_http_and_grpc(rpc, gateway_process, city):
    committee, branch, neighbour = city.committees[0], city.branches[0][0], city.branches[0][1]
    candidate = city.add_member(branch, "程申请", status="activist",
                                status_dates={"applicant": "2020-03-01", "activist": "2021-03-01"})
    first, second = city.add_member(branch, "甲介绍"), city.add_member(branch, "乙介绍")
    probationary = city.add_member(branch, "丙预备", status="probationary",
                                   status_dates={"probationary": "2026-01-10"})
    elsewhere = city.add_member(neighbour, "丁邻支部")
    rpc.identity.create_account(scope=city.admin, username="sec-dev", password=PASSWORD, role="branch_secretary",
                                org_id=branch["id"])
    secretary = client(rpc, gateway_process, city, "sec-dev")
    own_name, peer_name = f"m{uuid.uuid4().hex[:6]}", f"m{uuid.uuid4().hex[:6]}"
    city.member_login(candidate, own_name)
    city.member_login(elsewhere, peer_name)
    applicant, other_branch_member = (client(rpc, gateway_process, city, name) for name in (own_name, peer_name))
    county, other_county = (client(rpc, gateway_process, city, name) for name in ("county1", "county2"))
    entries = f"/v1/members/{candidate['id']}/development-record/entries"

    # an applicant's talk over HTTP; the political review is refused before the development-target step
    talk = secretary.request("POST", entries, body={"kind": "talk", "on": "2020-03-20", "purpose": "application",
                                                    "talker": "周书记", "summary": "了解入党动机"})
    assert (talk["kind"], talk["on"], talk["purpose"], talk["summary"]) == ("talk", "2020-03-20", "application",
                                                                              "了解入党动机")
    assert talk["recorded_by_name"] == "sec-dev" and talk["superseded_by"] == ""
    early = refusal(lambda: secretary.request("POST", entries, body={
        "kind": "political_review", "on": today(), "outcome": "passed", "conclusion": "政治合格"}))
    assert (early.status, early.code, early.field) == (409, "STEP_NOT_REACHED", "kind")

    secretary.call("ChangeMemberStatus", {"member_id": candidate["id"], "status": "development_target",
                                          "on": today()})
    tomorrow = (date.fromisoformat(today()) + timedelta(days=1)).isoformat()
    bad = [({"kind": "party", "on": today()}, 400, "UNKNOWN_VALUE", "kind"),
           ({"kind": "talk", "on": tomorrow, "purpose": "admission", "talker": "周", "summary": "谈"}, 400,
            "DATE_IN_FUTURE", "on"),
           ({"kind": "talk", "on": "2021-01-01", "purpose": "admission", "talker": "周", "summary": "谈"}, 400,
            "DATE_BEFORE_STEP", "on"),
           ({"kind": "training", "on": today(), "stage": "development_target", "course": "集中培训", "hours": 0},
            400, "OUT_OF_RANGE", "hours"),
           ({"kind": "introducers", "on": today(), "introducer_ids": [first["id"], probationary["id"]]}, 400,
            "INTRODUCER_NOT_FULL_MEMBER", "introducer_ids"),
           ({"kind": "introducers", "on": today(), "introducer_ids": [first["id"], elsewhere["id"]]}, 400,
            "INTRODUCER_NOT_IN_BRANCH", "introducer_ids"),
           ({"kind": "introducers", "on": today(), "introducer_ids": [first["id"]]}, 400, "INTRODUCERS_COUNT",
            "introducer_ids")]
    for body, status, code, field in bad:
        refused = refusal(lambda: secretary.request("POST", entries, body=body))
        assert (refused.status, refused.code, refused.field) == (status, code, field), body

    with GrpcClient(gateway_process.grpc_target) as stub:
        review = stub.call("RecordDevelopmentEntry", {"member_id": candidate["id"], "kind": "political_review",
                                                      "on": today(), "outcome": "failed", "conclusion": "材料待补"},
                           secretary.token)
        again = refusal(lambda: stub.call("RecordDevelopmentEntry", {
            "member_id": candidate["id"], "kind": "political_review", "on": today(), "outcome": "passed",
            "conclusion": "政治合格"}, secretary.token))
        assert (again.status, again.code) == (grpc.StatusCode.ALREADY_EXISTS, "ENTRY_EXISTS")
        no_reason = refusal(lambda: stub.call("RecordDevelopmentEntry", {
            "member_id": candidate["id"], "kind": "political_review", "on": today(), "outcome": "passed",
            "conclusion": "政治合格", "corrects": review["id"]}, secretary.token))
        assert (no_reason.status, no_reason.code, no_reason.field) == (grpc.StatusCode.INVALID_ARGUMENT, "REQUIRED",
                                                                       "note")
        fixed = stub.call("RecordDevelopmentEntry", {
            "member_id": candidate["id"], "kind": "political_review", "on": today(), "outcome": "passed",
            "conclusion": "政治合格", "corrects": review["id"], "note": "补齐材料后复核"}, secretary.token)
        introducers = stub.call("RecordDevelopmentEntry", {
            "member_id": candidate["id"], "kind": "introducers", "on": today(),
            "introducer_ids": [first["id"], second["id"]]}, county.token)
        hidden = refusal(lambda: stub.call("GetDevelopmentRecord", {"member_id": candidate["id"]},
                                           other_county.token))
        assert (hidden.status, hidden.code) == (grpc.StatusCode.NOT_FOUND, "MEMBER_NOT_FOUND")
        by_grpc = stub.call("GetDevelopmentRecord", {"member_id": candidate["id"]}, county.token)
    assert [i["name"] for i in introducers["introducers"]] == ["甲介绍", "乙介绍"]

    # the step's publicity opens in the committee's column (content's consumer of member_status_changed)
    def published():
        record = county.request("GET", f"/v1/members/{candidate['id']}/development-record")
        return record if record["publicity"] and record["publicity"][0]["state"] == "open" else None
    record = wait_for(published)
    [row] = record["publicity"]
    assert (row["step"], row["step_on"], row["objections"], row["objections_visible"]) == (
        "development_target", today(), 0, True)
    objector = f"m{uuid.uuid4().hex[:6]}"
    city.member_login(city.add_member(branch, "戊异议"), objector)
    client(rpc, gateway_process, city, objector).request(
        "POST", f"/v1/publicities/{row['publicity_id']}/objections", body={"reason": "请核实", "anonymous": True})
    record = county.request("GET", f"/v1/members/{candidate['id']}/development-record")
    assert (record["publicity"][0]["objections"], record["publicity"][0]["pending_objections"]) == (1, 1)
    assert [(s["status"], s["recorded_by_name"]) for s in record["steps"]] == [
        ("applicant", ""), ("activist", ""), ("development_target", "sec-dev")]
    assert [(e["kind"], e["superseded_by"]) for e in record["entries"]] == [
        ("talk", ""), ("political_review", fixed["id"]), ("political_review", ""), ("introducers", "")]
    assert [o["kind"] for o in record["outstanding"]] == ["training"]
    assert by_grpc["entries"] == record["entries"]

    # the secretary sees the record, the publicity's state, not the objections' numbers
    seen = secretary.request("GET", f"/v1/members/{candidate['id']}/development-record")
    assert (seen["publicity"][0]["state"], seen["publicity"][0]["objections_visible"]) == ("open", False)
    assert seen["publicity"][0]["objections"] == 0
    # the applicant reads its own record, and writes nothing to it
    mine = applicant.request("GET", "/v1/me/development-record")
    assert mine["member_id"] == candidate["id"] and len(mine["entries"]) == 4
    refused = refusal(lambda: applicant.request("POST", entries, body={"kind": "talk", "on": today(),
                                                                       "purpose": "admission", "talker": "我",
                                                                       "summary": "自述"}))
    assert (refused.status, refused.code) == (403, "NOT_MEMBER_MANAGER")
    # a member of another branch and another county's admin do not see it, nor the applicant list
    for caller in (other_branch_member, other_county):
        hidden = refusal(lambda: caller.request("GET", f"/v1/members/{candidate['id']}/development-record"))
        assert (hidden.status, hidden.code) == (404, "MEMBER_NOT_FOUND")
    listed = secretary.request("GET", f"/v1/orgs/{branch['id']}/development-records")
    rows = {row["member_id"]: row for row in listed["applicants"]}
    assert set(rows) == {candidate["id"], probationary["id"]}      # full members are not in development
    assert (rows[candidate["id"]]["status"], rows[candidate["id"]]["entries"]) == ("development_target", 4)
    assert county.request("GET", f"/v1/orgs/{committee['id']}/development-records")["applicants"] == \
        listed["applicants"]
    assert refusal(lambda: applicant.request("GET", f"/v1/orgs/{branch['id']}/development-records")).code == \
        "NOT_ORG_MANAGER"
