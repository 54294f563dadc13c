"""The secretary's talk (诫勉谈话) over HTTP and gRPC: recorded by the branch secretary, shown on the talk list,
listed, refused once recorded, for a member off the list, for bad input and for another city's admin."""
import json
import urllib.request
from datetime import date, timedelta

import grpc
import pytest

from gateway.client import ApiError, GrpcClient, HttpClient
from tests.e2e.test_scoring_through_gateway import held_day, new_city, publisher  # noqa: F401 - publisher: a fixture
from tests.support.identity import PASSWORD
from tests.support.scoring import today, wait_for

pytestmark = pytest.mark.e2e
CYCLE = "2026"      # test_scoring_through_gateway.MONTH is 2026-09
NOTE = "谈话指出其连续缺席主题党日，本人表示认识到问题，今后按时参加。"


def refusal(call) -> ApiError:
    with pytest.raises(ApiError) as refused:
        call()
    return refused.value


def test_a_secretary_records_talks_over_http_and_grpc(gateway_process, operator_password, publisher):  # noqa: F811
    city = new_city(gateway_process.http_url, operator_password, "谈话市")
    admin, branch = city["admin"], city["branches"][0]
    day = held_day(admin, publisher, city, branch, 0)              # three members absent: -5 each, all listed
    admin.call("CreateAccount", {"username": "sec1", "password": PASSWORD, "role": "branch_secretary",
                                 "org_id": branch["id"]})
    secretary = HttpClient(gateway_process.http_url)
    secretary.login(city["code"], "sec1", PASSWORD)

    def listed():
        try:
            answer = secretary.call("ListTalkCandidates", {"org_id": branch["id"], "cycle": CYCLE})
        except ApiError:
            return None
        return answer if answer["total"] == 3 else None
    wait_for(listed)
    first, second, third = day.members

    # HTTP: POST /v1/members/{member_id}/talks
    talk = secretary.request("POST", f"/v1/members/{first}/talks",
                             body={"cycle": CYCLE, "held_on": "2026-09-20", "note": NOTE})
    assert {key: talk[key] for key in ("member_id", "branch_id", "cycle", "held_on", "note", "recorded_by")} == {
        "member_id": first, "branch_id": branch["id"], "cycle": CYCLE, "held_on": "2026-09-20", "note": NOTE,
        "recorded_by": secretary.call("GetMe", {})["account"]["id"]}
    assert talk["total"] == -5 and talk["threshold"] == 10
    repeat = refusal(lambda: secretary.call("RecordTalk", {"member_id": first, "cycle": CYCLE,
                                                           "held_on": "2026-09-21", "note": "再谈"}))
    assert (repeat.status, repeat.code) == (409, "TALK_EXISTS")

    with GrpcClient(gateway_process.grpc_target) as rpc:
        by_grpc = rpc.call("RecordTalk", {"member_id": second, "cycle": CYCLE, "held_on": "2026-09-22",
                                          "note": "第二次谈话"}, secretary.token)
        assert by_grpc["member_id"] == second and by_grpc["recorded_by"] == talk["recorded_by"]
        repeat = refusal(lambda: rpc.call("RecordTalk", {"member_id": second, "cycle": CYCLE,
                                                         "held_on": "2026-09-22", "note": "x"}, secretary.token))
        assert (repeat.status, repeat.code) == (grpc.StatusCode.ALREADY_EXISTS, "TALK_EXISTS")
        bad = refusal(lambda: rpc.call("RecordTalk", {"member_id": third, "cycle": CYCLE, "held_on": "2026-09-22",
                                                      "note": "含\x07控制字符"}, secretary.token))
        assert (bad.status, bad.code, bad.field) == (grpc.StatusCode.INVALID_ARGUMENT, "CONTROL_CHARACTERS", "note")
        over_grpc = rpc.call("ListTalks", {"org_id": city["county"]["id"], "cycle": CYCLE}, admin.token)
        candidates_grpc = rpc.call("ListTalkCandidates", {"org_id": branch["id"], "cycle": CYCLE}, secretary.token)

    over_http = admin.call("ListTalks", {"org_id": city["county"]["id"], "cycle": CYCLE})
    assert over_http == over_grpc
    assert over_http["total"] == 2 and [t["member_id"] for t in over_http["talks"]] == [second, first]
    assert over_http["talks"][1] == talk
    candidates = secretary.call("ListTalkCandidates", {"org_id": branch["id"], "cycle": CYCLE})
    assert candidates == candidates_grpc
    rows = {row["member_id"]: row for row in candidates["members"]}
    assert rows[first]["talked"] and rows[first]["talk"] == {"held_on": "2026-09-20", "recorded_by": talk["recorded_by"]}
    assert rows[second]["talk"]["held_on"] == "2026-09-22"
    assert rows[third]["talked"] is False and "talk" not in rows[third]

    # bad input over HTTP: refused with its code, and nothing written for the third member
    tomorrow = (date.fromisoformat(today()) + timedelta(days=1)).isoformat()
    for body, status, code in (({"held_on": tomorrow, "note": NOTE}, 400, "DATE_IN_FUTURE"),
                               ({"held_on": "2025-12-31", "note": NOTE}, 400, "DATE_BEFORE_CYCLE"),
                               ({"held_on": "2026-09-22", "note": "谈" * 2001}, 400, "TOO_LONG"),
                               ({"held_on": "2026-09-22"}, 400, "REQUIRED"),
                               ({"held_on": "2026-09-22", "note": NOTE, "mood": "好"}, 400, "UNKNOWN_FIELD"),
                               ({"held_on": "2026-09-22", "note": 5}, 400, "INVALID_TYPE")):
        error = refusal(lambda: secretary.request("POST", f"/v1/members/{third}/talks", body={"cycle": CYCLE, **body}))
        assert (error.status, error.code) == (status, code), body
    assert admin.call("ListTalks", {"org_id": branch["id"], "cycle": CYCLE})["total"] == 2

    # another city's admin: as if the member did not exist
    stranger = new_city(gateway_process.http_url, operator_password, "他市")["admin"]
    error = refusal(lambda: stranger.call("RecordTalk", {"member_id": third, "cycle": CYCLE, "held_on": "2026-09-22",
                                                         "note": NOTE}))
    assert (error.status, error.code) == (404, "MEMBER_NOT_FOUND")
    error = refusal(lambda: stranger.call("ListTalks", {"org_id": branch["id"], "cycle": CYCLE}))
    assert (error.status, error.code) == (404, "ORG_NOT_FOUND")

    # the threshold lowered under -5: the third member is off the list, and its talk is refused
    rules = admin.call("GetPointsRules", {})
    admin.call("SetPointsRules", {"rules": {**rules, "threshold": -6}})
    error = refusal(lambda: secretary.call("RecordTalk", {"member_id": third, "cycle": CYCLE,
                                                          "held_on": "2026-09-22", "note": NOTE}))
    assert (error.status, error.code, error.field) == (422, "NOT_ON_TALK_LIST", "member_id")


def test_the_openapi_document_describes_the_talk_operations(gateway_process):
    spec = json.loads(urllib.request.urlopen(gateway_process.admin_url + "/openapi.json", timeout=5).read())
    record = spec["paths"]["/v1/members/{member_id}/talks"]["post"]
    assert record["operationId"] == "RecordTalk"
    assert record["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RecordTalkRequest"}
    assert set(spec["components"]["schemas"]["RecordTalkRequest"]["properties"]) == {
        "member_id", "cycle", "held_on", "note"}
    assert spec["paths"]["/v1/orgs/{org_id}/talks"]["get"]["operationId"] == "ListTalks"
    candidate = spec["components"]["schemas"]["TalkCandidate"]["properties"]
    assert candidate["talked"]["type"] == "boolean"
    assert candidate["talk"]["allOf"] == [{"$ref": "#/components/schemas/TalkSummary"}]
