"""A planned meeting rescheduled (改期) and cancelled (取消) through the gateway: the secretary moves it over HTTP and the
history answers over gRPC; bad input is refused at the edge or by the service with its code and changes nothing; a
member may not; the member's leave approved for the old time answers lapsed (已失效) with why over HTTP and gRPC,
and is asked again; the secretary cancels it over gRPC with a reason, it lists as cancelled, and the member's scan of a
code shown before is refused with MEETING_CANCELLED; once sign-in may start a meeting is neither moved nor cancelled
(409 MEETING_STARTED)."""
from __future__ import annotations

from datetime import timedelta

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


def refused(call, *args) -> ApiError:
    with pytest.raises(ApiError) as error:
        call(*args)
    return error.value


def test_reschedule_then_cancel_through_the_gateway(branch, http, grpc_client, rpc):
    secretary = client(http, branch, branch.secretary_username)
    meeting = secretary.call("PlanMeeting", {
        "branch_id": branch.branch["id"], "meeting_type": "lesson", "date": branch.day.isoformat(),
        "start_time": "09:00", "end_time": "10:00", "venue_name": "党员活动室", "venue_lat": VENUE[0],
        "venue_lng": VENUE[1]})
    later = (branch.day + timedelta(days=2)).isoformat()
    fields = {"meeting_id": meeting["id"], "date": later, "start_time": "15:00", "end_time": "16:30",
              "venue_name": "村委会会议室", "venue_lat": VENUE[0], "venue_lng": VENUE[1], "reason": "与全县大会冲突"}
    for overrides, status, code in (({"venue_crs": "mars"}, 400, "UNKNOWN_VALUE"),
                                    ({"venue_lat": "33.0"}, 400, "INVALID_TYPE"),
                                    ({"date": "2020-01-01"}, 400, "PLAN_IN_PAST"),
                                    ({"end_time": "14:00"}, 400, "TIME_RANGE_INVALID"),
                                    ({"reason": "长" * 501}, 400, "TOO_LONG")):
        error = refused(secretary.call, "RescheduleMeeting", {**fields, **overrides})
        assert (error.status, error.code) == (status, code), overrides
    assert secretary.call("GetMeeting", {"meeting_id": meeting["id"]})["reschedules"] == []
    member_token = rpc.identity.login(tenant_code=branch.city.code, username=branch.member_usernames[0],
                                      password=PASSWORD)["access_token"]
    member = HttpClient(http.base_url, member_token)
    error = refused(member.call, "RescheduleMeeting", fields)
    assert (error.status, error.code) == (403, "NOT_BRANCH_SECRETARY")
    error = refused(member.call, "CancelMeeting", {"meeting_id": meeting["id"], "reason": "越权"})
    assert (error.status, error.code) == (403, "NOT_BRANCH_SECRETARY")

    leave = member.call("RequestLeave", {"activity_id": meeting["id"], "reason": "出差"})
    secretary.call("DecideLeave", {"leave_id": leave["id"], "decision": "approved", "note": "同意"})

    moved = secretary.call("RescheduleMeeting", fields)
    assert (moved["state"], moved["date"], moved["venue_name"]) == ("planned", later, "村委会会议室")
    [lapsed] = member.call("ListLeaves", {"activity_id": meeting["id"]})["leaves"]
    assert (lapsed["state"], lapsed["lapsed_reason"], lapsed["lapsed_from"], lapsed["decision_note"]) == (
        "lapsed", "会议已改期", "approved", "同意")
    assert lapsed["lapsed_at"] == moved["reschedules"][0]["at"]
    [seen_leave] = grpc_client.call("ListLeaves", {"activity_id": meeting["id"]}, member_token)["leaves"]
    assert (seen_leave["state"], seen_leave["lapsed_reason"]) == ("lapsed", "会议已改期")
    again = member.call("RequestLeave", {"activity_id": meeting["id"], "reason": "新的时间仍在外地"})
    assert (again["id"], again["state"], again["lapsed_at"]) == (leave["id"], "pending", "")
    secretary_token = rpc.identity.login(tenant_code=branch.city.code, username=branch.secretary_username,
                                         password=PASSWORD)["access_token"]
    seen = grpc_client.call("GetMeeting", {"meeting_id": meeting["id"]}, secretary_token)
    [change] = seen["reschedules"]
    assert change["reason"] == "与全县大会冲突"
    assert {"field": "date", "before": branch.day.isoformat(), "after": later} in change["changes"]
    error = refused(secretary.call, "RescheduleMeeting", fields)        # the same plan again
    assert (error.status, error.code) == (400, "NOTHING_CHANGED")

    branch.meeting = moved
    branch.activity = {"id": moved["id"], "plan": {name: moved[name] for name in (
        "start_at", "end_at", "checkin_opens_at", "checkin_closes_at", "checkout_closes_at")}}
    branch.at("checkin_opens_at", -20)
    token = secretary.call("GetQrCode", {"activity_id": meeting["id"], "direction": "in"})["token"]
    error = refused(grpc_client.call, "CancelMeeting", {"meeting_id": meeting["id"], "reason": ""}, secretary_token)
    assert (error.code, error.field) == ("REQUIRED", "reason")
    cancelled = grpc_client.call("CancelMeeting", {"meeting_id": meeting["id"], "reason": "书记外出培训，另行安排"},
                                 secretary_token)
    assert (cancelled["state"], cancelled["cancellation"]["reason"]) == ("cancelled", "书记外出培训，另行安排")
    error = refused(member.call, "RecordScan", {"token": token, "fix": branch.fix(25)})
    assert (error.status, error.code) == (422, "MEETING_CANCELLED")
    listed = member.call("ListMeetings", {"org_id": branch.branch["id"], "state": "cancelled"})["meetings"]
    assert [(m["id"], m["cancellation"]["reason"]) for m in listed] == [(meeting["id"], "书记外出培训，另行安排")]
    error = refused(secretary.call, "CancelMeeting", {"meeting_id": meeting["id"], "reason": "再取消一次"})
    assert (error.status, error.code) == (409, "MEETING_CANCELLED")


def test_once_sign_in_may_start_the_gateway_answers_409_meeting_started(branch, http):
    secretary = client(http, branch, branch.secretary_username)
    meeting = branch.plan("assembly")
    branch.at("checkin_opens_at", -5)            # the roster is frozen
    fields = {"meeting_id": meeting["id"], "date": meeting["date"], "start_time": "16:00", "end_time": "17:00",
              "venue_name": "党员活动室", "venue_lat": VENUE[0], "venue_lng": VENUE[1]}
    error = refused(secretary.call, "RescheduleMeeting", fields)
    assert (error.status, error.code) == (409, "MEETING_STARTED")
    error = refused(secretary.call, "CancelMeeting", {"meeting_id": meeting["id"], "reason": "另行安排"})
    assert (error.status, error.code) == (409, "MEETING_STARTED")
    assert secretary.call("GetMeeting", {"meeting_id": meeting["id"]})["state"] == "planned"
