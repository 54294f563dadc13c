"""Leave through the service with a fake store: asked and decided only before the start (the lifecycle), once
per member unless refused or lapsed (its meeting rescheduled to another time), and never for a member already
signed in."""
from __future__ import annotations

from datetime import timedelta

import pytest

from servicekit.errors import Conflict, NotFound
from tests.fast.attendance.fakes import ACTIVITY_ID, MEMBER, SECRETARY, START, activity

LEAVE = {"_id": "lv_1", "tenant_id": "t1", "activity_id": ACTIVITY_ID, "member_id": "m1",
         "leave_key": f"{ACTIVITY_ID}:m1", "member_name": "张三", "reason": "出差", "state": "pending",
         "requested_at": "2026-11-01T02:00:00.000Z"}


@pytest.mark.parametrize("status, frozen", [("planning", False), ("submitted", False), ("approved", False),
                                            ("approved", True)])
def test_a_member_asks_leave_before_the_start(service, store, status, frozen):
    store.activity.return_value = activity(status, frozen=frozen)
    answer = service.request_leave(scope=MEMBER, activity_id=ACTIVITY_ID, reason="出差")
    leave = store.request_leave.call_args.args[0]
    assert leave["state"] == "pending" and leave["leave_key"] == f"{ACTIVITY_ID}:m1" and answer["state"] == "pending"


def test_no_leave_is_asked_once_the_activity_started_or_closed(service, store, clock):
    store.activity.return_value = activity("closed", frozen=True)
    with pytest.raises(Conflict) as refused:
        service.request_leave(scope=MEMBER, activity_id=ACTIVITY_ID, reason="出差")
    assert refused.value.code == "ACTIVITY_STARTED"
    store.activity.return_value = activity("approved", frozen=True)
    clock.moment = START
    with pytest.raises(Conflict) as refused:
        service.request_leave(scope=MEMBER, activity_id=ACTIVITY_ID, reason="出差")
    assert refused.value.code == "ACTIVITY_STARTED" and refused.value.message == "请假须在活动开始前提出"
    store.request_leave.assert_not_called()


def test_a_pending_request_is_not_asked_twice_but_a_refused_one_is_asked_again(service, store):
    store.activity.return_value = activity("approved", frozen=True)
    store.leave_of.return_value = LEAVE
    with pytest.raises(Conflict) as refused:
        service.request_leave(scope=MEMBER, activity_id=ACTIVITY_ID, reason="出差")
    assert refused.value.code == "LEAVE_EXISTS"
    store.leave_of.return_value = {**LEAVE, "state": "refused"}
    service.request_leave(scope=MEMBER, activity_id=ACTIVITY_ID, reason="出差")
    assert store.request_leave.call_args.args[0]["_id"] == "lv_1"


def test_a_lapsed_request_is_asked_again_under_its_id_written_only_as_it_was_read(service, store):
    read = activity("approved", frozen=False)
    store.activity.return_value = read
    lapsed = {**LEAVE, "state": "lapsed", "decided_by": "acc-sec", "lapsed_at": "2026-11-02T00:00:00.000Z",
              "lapsed_reason": "会议已改期", "lapsed_from": "approved"}
    store.leave_of.return_value = lapsed
    answer = service.request_leave(scope=MEMBER, activity_id=ACTIVITY_ID, reason="周四仍在外地")
    leave, seen, existing = store.request_leave.call_args.args
    assert (leave["_id"], leave["state"], leave["reason"]) == ("lv_1", "pending", "周四仍在外地")
    assert "lapsed_at" not in leave and "decided_by" not in leave       # the new request replaces the lapsed one
    assert seen["_id"] == read["_id"] and existing == lapsed
    assert (answer["state"], answer["lapsed_at"], answer["lapsed_reason"]) == ("pending", "", "")


def test_a_lapsed_request_is_not_decided(service, store):
    store.activity.return_value = activity("approved", frozen=False)
    store.leave.return_value = {**LEAVE, "state": "lapsed", "lapsed_reason": "会议已改期"}
    with pytest.raises(Conflict) as refused:
        service.decide_leave(scope=SECRETARY, leave_id="lv_1", decision="approved")
    assert refused.value.code == "LEAVE_ALREADY_DECIDED" and "已失效" in refused.value.message
    store.decide_leave.assert_not_called()


def test_a_member_signed_in_or_off_the_roster_asks_no_leave(service, store):
    store.activity.return_value = activity("approved", frozen=True)
    store.records_by_ids.return_value = {f"{ACTIVITY_ID}:in:m1": {}}
    with pytest.raises(Conflict) as refused:
        service.request_leave(scope=MEMBER, activity_id=ACTIVITY_ID, reason="出差")
    assert refused.value.code == "ALREADY_CHECKED_IN"
    store.activity.return_value = activity("approved", frozen=True, roster={"m9": {"name": "王五"}})
    with pytest.raises(Conflict) as refused:
        service.request_leave(scope=MEMBER, activity_id=ACTIVITY_ID, reason="出差")
    assert refused.value.code == "NOT_ON_ROSTER"
    store.request_leave.assert_not_called()


def test_the_secretary_decides_a_pending_request(service, store):
    store.activity.return_value = activity("approved", frozen=True)
    store.leave.return_value = LEAVE
    answer = service.decide_leave(scope=SECRETARY, leave_id="lv_1", decision="approved", note="同意")
    leave, changes, event = store.decide_leave.call_args.args
    assert leave == LEAVE and changes["state"] == "approved" and changes["decided_by"] == "acc-sec"
    assert event["event_type"] == "leave_decided" and event["decision"] == "approved"
    assert answer["state"] == "approved" and answer["decision_note"] == "同意"


def test_a_decided_request_or_a_started_activity_is_not_decided(service, store, clock):
    store.activity.return_value = activity("approved", frozen=True)
    store.leave.return_value = {**LEAVE, "state": "refused"}
    with pytest.raises(Conflict) as refused:
        service.decide_leave(scope=SECRETARY, leave_id="lv_1", decision="approved")
    assert refused.value.code == "LEAVE_ALREADY_DECIDED"
    store.leave.return_value = LEAVE
    clock.moment = START + timedelta(minutes=1)
    with pytest.raises(Conflict) as refused:
        service.decide_leave(scope=SECRETARY, leave_id="lv_1", decision="refused")
    assert refused.value.code == "ACTIVITY_STARTED" and refused.value.message == "活动已开始，不能再审批请假"
    store.decide_leave.assert_not_called()


def test_a_member_signed_in_is_not_excused_but_may_be_refused(service, store):
    store.activity.return_value = activity("approved", frozen=True)
    store.leave.return_value = LEAVE
    store.records_by_ids.return_value = {f"{ACTIVITY_ID}:in:m1": {}}
    with pytest.raises(Conflict) as refused:
        service.decide_leave(scope=SECRETARY, leave_id="lv_1", decision="approved")
    assert refused.value.code == "ALREADY_CHECKED_IN"
    service.decide_leave(scope=SECRETARY, leave_id="lv_1", decision="refused")
    assert store.decide_leave.call_args.args[1]["state"] == "refused"


def test_a_request_outside_the_callers_reach_is_not_found(service, store):
    store.activity.return_value = activity("approved", frozen=True)
    store.leave.return_value = LEAVE
    with pytest.raises(NotFound) as refused:
        service.decide_leave(scope={**SECRETARY, "tenant_id": "t2"}, leave_id="lv_1", decision="approved")
    assert refused.value.code == "LEAVE_NOT_FOUND"
    store.leave.return_value = None
    with pytest.raises(NotFound):
        service.decide_leave(scope=SECRETARY, leave_id="lv_x", decision="approved")
    store.decide_leave.assert_not_called()
