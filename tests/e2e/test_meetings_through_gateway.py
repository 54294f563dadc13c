"""三会一课 through the gateway: the secretary plans over HTTP, a member signs in over gRPC with the meeting's QR code
(the themed day's GetQrCode and RecordScan), the secretary records it, the county admin reads the ledger over gRPC;
bad input is refused at the edge or by the service with its code, and a branch's member may not read the ledger."""
from __future__ import annotations

import pytest

from gateway.client import ApiError, HttpClient
from tests.support.attendance import VENUE
from tests.support.identity import PASSWORD, City
from tests.support.meetings import meeting_branch

pytestmark = pytest.mark.e2e


@pytest.fixture
def branch(rpc, operator_scope, attendance_service, gateway_process):
    yield from meeting_branch(rpc, City(rpc, operator_scope), members=2)


def client(http, branch, username) -> HttpClient:
    logged = HttpClient(http.base_url)
    logged.login(branch.city.code, username, PASSWORD)
    return logged


def test_plan_sign_in_record_and_ledger_through_the_gateway(branch, http, grpc_client, rpc):
    secretary = client(http, branch, branch.secretary_username)
    fields = {"branch_id": branch.branch["id"], "meeting_type": "assembly", "title": "", "date": branch.day.isoformat(),
              "start_time": "09:00", "end_time": "10:00", "venue_name": "党员活动室", "venue_lat": VENUE[0],
              "venue_lng": VENUE[1]}
    for overrides, status, code in (({"meeting_type": "lecture"}, 400, "UNKNOWN_VALUE"),
                                    ({"venue_lat": "33.0"}, 400, "INVALID_TYPE"),
                                    ({"date": "2020-01-01"}, 400, "PLAN_IN_PAST")):
        with pytest.raises(ApiError) as refused:
            secretary.call("PlanMeeting", {**fields, **overrides})
        assert (refused.value.status, refused.value.code) == (status, code), overrides
    assert secretary.call("ListMeetings", {"org_id": branch.branch["id"]})["meetings"] == []
    meeting = secretary.call("PlanMeeting", fields)
    assert (meeting["title"], meeting["state"]) == ("支部党员大会", "planned")
    branch.meeting = meeting
    branch.activity = {"id": meeting["id"], "plan": {name: meeting[name] for name in (
        "start_at", "end_at", "checkin_opens_at", "checkin_closes_at", "checkout_closes_at")}}

    branch.at("start_at", -5)
    code = secretary.call("GetQrCode", {"activity_id": meeting["id"], "direction": "in"})
    assert code["url"].endswith(f"/m/scan#{code['token']}")
    member_token = rpc.identity.login(tenant_code=branch.city.code, username=branch.member_usernames[0],
                                      password=PASSWORD)["access_token"]
    signed = grpc_client.call("RecordScan", {"token": code["token"], "fix": branch.fix(25)}, member_token)
    assert signed["record"]["direction"] == "in"
    branch.at("end_at", 1)
    out = secretary.call("GetQrCode", {"activity_id": meeting["id"], "direction": "out"})
    grpc_client.call("RecordScan", {"token": out["token"], "fix": branch.fix(25)}, member_token)
    branch.at("checkout_closes_at", 1)

    member = HttpClient(http.base_url, member_token)
    seen = member.call("GetMeeting", {"meeting_id": meeting["id"]})
    assert (seen["state"], seen["my_status"]) == ("held", "present")
    with pytest.raises(ApiError) as not_secretary:
        member.call("RecordMeeting", {"meeting_id": meeting["id"], "host": "党员", "recorder": "党员",
                                      "topics": ["越权"]})
    assert (not_secretary.value.status, not_secretary.value.code) == (403, "NOT_BRANCH_SECRETARY")
    with pytest.raises(ApiError) as no_topics:
        secretary.call("RecordMeeting", {"meeting_id": meeting["id"], "host": "王书记", "recorder": "李委员"})
    assert (no_topics.value.status, no_topics.value.code, no_topics.value.field) == (400, "REQUIRED", "topics")
    recorded = secretary.call("RecordMeeting", {"meeting_id": meeting["id"], "host": "王书记", "recorder": "李委员",
                                                "topics": ["选举支部委员"], "resolutions": ["通过选举结果"]})
    assert recorded["state"] == "recorded" and recorded["attendance"] == {"expected": 2, "present": 1, "excused": 0,
                                                                          "absent": 1}

    admin_token = rpc.identity.login(tenant_code=branch.city.code, username="county1",
                                     password=PASSWORD)["access_token"]
    ledger = grpc_client.call("GetMeetingLedger", {"org_id": branch.county["id"], "month": branch.month},
                              admin_token)
    row = next(r for r in ledger["rows"] if r["branch_id"] == branch.branch["id"])
    assembly = next(item for item in row["items"] if item["type"] == "assembly")
    assert (assembly["held"], assembly["state"], assembly["label"]) == (1, "ok", "支部党员大会")
    with pytest.raises(ApiError) as member_ledger:
        member.call("GetMeetingLedger", {"org_id": branch.branch["id"]})
    assert (member_ledger.value.status, member_ledger.value.code) == (403, "NOT_ORG_MANAGER")
    with pytest.raises(ApiError) as bad_state:
        HttpClient(http.base_url, admin_token).call("GetMeetingLedger", {"org_id": branch.county["id"],
                                                                         "state": "green"})
    assert (bad_state.value.status, bad_state.value.code) == (400, "UNKNOWN_VALUE")
    settings = HttpClient(http.base_url, admin_token).call("GetMeetingSettings", {})
    assert settings["frequencies"]["assembly"] == "quarterly" and settings["committee_min_full_members"] == 7
