"""三会一课's use cases through the service's entry points with a fake store and identity: who may plan, what a planned
meeting is (an approved activity of its own kind with its schedule, no event), and the ledger computed from the
branches' aggregates alone (never the meetings)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from servicekit.timestamps import parse_stamp, stamp
from services.attendance.domain import plans
from services.attendance.usecases.activities import stored_plan
from services.attendance.usecases.meetings import Meetings
from tests.fast.attendance.fakes import MEMBER, NOW, PATH, SECRETARY, SUPERIOR

BRANCH = {"id": "b1", "tenant_id": "t1", "kind": "branch", "name": "第一支部", "path_ids": PATH, "field": "rural"}
FIELDS = {"branch_id": "b1", "meeting_type": "lesson", "date": "2026-11-20", "start_time": "14:00", "end_time": "15:00",
          "venue_name": "党员活动室", "venue_lat": 33.0676, "venue_lng": 107.0238}


@pytest.fixture
def meetings_world(store, identity):
    identity.get_org.side_effect = lambda scope, org_id: BRANCH if org_id == "b1" else {
        "id": org_id, "tenant_id": "t1", "kind": "county", "path_ids": PATH[:PATH.index(org_id) + 1]}
    identity.branch_meeting_facts.side_effect = lambda tenant_id, branch_ids: {
        b: {"full_members": 3, "groups": 0} for b in branch_ids}
    store.meeting_settings.return_value = None
    store.plan_meeting.side_effect = lambda meeting, events, freeze_at: meeting
    return store


def test_the_secretary_plans_an_approved_activity_of_the_meeting_kind_with_no_event(service, meetings_world):
    meeting = service.plan_meeting(scope=SECRETARY, **FIELDS)
    stored, events, freeze_at = meetings_world.plan_meeting.call_args.args
    assert events == []
    assert (stored["status"], stored["meeting_type"], stored["month"], stored["branch_id"]) == (
        "approved", "lesson", "", "b1")
    assert stored["_id"].startswith("mtg_") and stored["branch_month"] == f"b1:{stored['_id']}"
    assert freeze_at == stamp(NOW.replace(day=20, hour=5, minute=20))     # 14:00 Beijing − 40 min, in UTC
    assert (meeting["state"], meeting["title"], meeting["type_label"]) == ("planned", "党课", "党课")
    kept = meetings_world.keep_branch_facts.call_args.args
    assert kept[1] == {"b1": {"full_members": 3, "groups": 0}}


@pytest.mark.parametrize("scope, error, code", [(MEMBER, PermissionDenied, "NOT_BRANCH_SECRETARY")])
def test_a_member_may_not_plan(service, meetings_world, scope, error, code):
    with pytest.raises(error) as refused:
        service.plan_meeting(scope=scope, **FIELDS)
    assert refused.value.code == code
    meetings_world.plan_meeting.assert_not_called()


def test_a_committee_meeting_needs_a_committee(service, meetings_world):
    with pytest.raises(InvalidArgument) as refused:
        service.plan_meeting(scope=SUPERIOR, **{**FIELDS, "meeting_type": "committee"})
    assert (refused.value.code, refused.value.field) == ("NO_BRANCH_COMMITTEE", "meeting_type")
    meetings_world.plan_meeting.assert_not_called()


def test_the_ledger_reads_the_branches_aggregates_never_the_meetings(service, meetings_world, identity):
    branches = [{"org_id": f"b{i}", "name": f"第{i}支部", "path_ids": ["root", "county", f"b{i}"],
                 "field": "rural" if i % 2 else "school"} for i in range(1, 5)]
    identity.branches_under.return_value = {"branches": branches}
    fresh = stamp(NOW - timedelta(hours=1))
    meetings_world.ledger_entries.return_value = {
        "b1": {"held": {"lesson": {"2026-11": 1}, "assembly": {"2026-10": 1}}, "full_members": 2, "groups": 0,
               "facts_at": fresh},
        "b2": {"held": {}, "full_members": 9, "groups": 1, "facts_at": fresh},
    }
    ledger = service.get_meeting_ledger(scope=SUPERIOR, org_id="county", month="2026-11")
    meetings_world.meetings_in.assert_not_called()
    meetings_world.ledger_entries.assert_called_once_with(["root", "county"])
    # b3 and b4 had no facts: identity is asked for them only, in one call
    identity.branch_meeting_facts.assert_called_once_with(tenant_id="t1", branch_ids=["b3", "b4"])
    rows = {row["branch_id"]: row for row in ledger["rows"]}
    b1 = {item["type"]: item["state"] for item in rows["b1"]["items"]}
    assert b1 == {"assembly": "ok", "lesson": "ok", "life": "yellow"}       # 2026 more than half gone
    assert {item["type"] for item in rows["b2"]["items"]} == {"assembly", "committee", "group", "lesson", "life"}
    # on 1 November 2026 (the fake clock): November's committee and group meetings are pending, Q4 not half gone
    assert {item["type"]: item["state"] for item in rows["b2"]["items"]}["committee"] == "pending"
    assert (ledger["branches"], ledger["behind"]) == (4, 4)
    assert {f["field"]: (f["branches"], f["behind"]) for f in ledger["by_field"]} == {"rural": (2, 2),
                                                                                     "school": (2, 2)}
    behind = service.get_meeting_ledger(scope=SUPERIOR, org_id="county", month="2026-11", state="ok")
    assert behind["rows"] == [] and behind["branches"] == 4


def test_bad_ledger_arguments_are_refused(service, meetings_world, identity):
    identity.branches_under.return_value = {"branches": []}
    for fields, code in (({"month": "2026-13"}, "MONTH_INVALID"), ({"state": "green"}, "UNKNOWN_VALUE"),
                         ({"page_size": -1}, "PAGE_SIZE_INVALID")):
        with pytest.raises(InvalidArgument) as refused:
            service.get_meeting_ledger(scope=SUPERIOR, org_id="county", **fields)
        assert refused.value.code == code


# --- reschedule (改期) and cancel (取消) -----------------------------------------------------------------------------
def planned_meeting(**changes) -> dict:
    """A lesson of b1 planned for 20 November 14:00-15:00 (Beijing), approved, its roster not frozen."""
    fields = {key: FIELDS[key] for key in ("date", "start_time", "end_time", "venue_name", "venue_lat", "venue_lng")}
    plan = stored_plan(plans.validate_plan({**fields, "optional_actions": []}, {}, NOW))
    meeting = Meetings._new_meeting(type("Caller", (), {"account_id": "acc-sec"})(), BRANCH, "lesson", "党课", plan,
                                    stamp(NOW))
    meeting.update(changes)
    return meeting


NEW_TIME = {"date": "2026-11-21", "start_time": "15:00", "end_time": "16:00", "venue_name": "村委会会议室",
            "venue_lat": 33.0676, "venue_lng": 107.0238}


@pytest.fixture
def planned(meetings_world):
    meeting = planned_meeting()
    meetings_world.activity.side_effect = lambda activity_id: meeting if activity_id == meeting["_id"] else None
    meetings_world.reschedule_meeting.side_effect = lambda doc, fields, change, freeze_at, event, lapse=None: {
        **doc, **fields, "reschedules": [change]}
    meetings_world.cancel_meeting.side_effect = lambda doc, cancellation, event: {
        **doc, "status": "cancelled", "cancellation": cancellation}
    return meeting


@pytest.mark.parametrize("scope", [SECRETARY, SUPERIOR])
def test_the_secretary_or_a_superior_reschedules_a_planned_meeting_with_its_history_and_event(service, planned,
                                                                                             meetings_world, scope):
    answer = service.reschedule_meeting(scope=scope, meeting_id=planned["_id"], reason="与全县大会冲突", **NEW_TIME)
    stored, fields, change, freeze_at, event = meetings_world.reschedule_meeting.call_args.args
    assert stored["_id"] == planned["_id"]
    assert fields["plan"]["start_at"] == "2026-11-21T07:00:00.000Z" and fields["meeting_date"] == "2026-11-21"
    assert fields["checkin_opens_at"] == fields["plan"]["checkin_opens_at"] == "2026-11-21T06:30:00.000Z"
    assert fields["plan"]["grace_minutes"] == 10 and fields["title"] == "党课"       # unset: as planned
    assert freeze_at == "2026-11-21T06:20:00.000Z"
    assert (change["by"], change["reason"], change["at"]) == (scope["account_id"], "与全县大会冲突", stamp(NOW))
    assert [c["field"] for c in change["changes"]] == ["date", "start_at", "end_at", "venue_name"]
    assert event["event_type"] == "meeting_rescheduled" and event["changes"] == change["changes"]
    assert (answer["state"], answer["date"], answer["venue_name"]) == ("planned", "2026-11-21", "村委会会议室")
    assert answer["reschedules"][0]["reason"] == "与全县大会冲突"
    # a new time: the meeting's pending and approved leave lapse in the same write
    assert meetings_world.reschedule_meeting.call_args.kwargs["lapse"] == {
        "state": "lapsed", "lapsed_at": stamp(NOW), "lapsed_reason": "会议已改期"}


# the planned meeting's own plan: a reschedule names the whole new plan
AS_PLANNED = {key: FIELDS[key] for key in ("date", "start_time", "end_time", "venue_name", "venue_lat", "venue_lng")}


@pytest.mark.parametrize("overrides", [{"start_time": "14:30"}, {"end_time": "15:30"}, {"date": "2026-11-22"}])
def test_a_reschedule_to_another_date_or_time_makes_the_leave_lapse(service, planned, meetings_world, overrides):
    service.reschedule_meeting(scope=SECRETARY, meeting_id=planned["_id"], **{**AS_PLANNED, **overrides})
    assert meetings_world.reschedule_meeting.call_args.kwargs["lapse"]["state"] == "lapsed"


@pytest.mark.parametrize("overrides", [{"venue_name": "村委会会议室"}, {"title": "学习党章总纲"},
                                       {"venue_lat": 33.07}, {"grace_minutes": 5}, {"checkout_window_minutes": 30}])
def test_a_reschedule_of_the_venue_title_or_windows_only_keeps_the_leave(service, planned, meetings_world, overrides):
    service.reschedule_meeting(scope=SECRETARY, meeting_id=planned["_id"], **{**AS_PLANNED, **overrides})
    assert meetings_world.reschedule_meeting.call_args.kwargs["lapse"] is None


@pytest.mark.parametrize("overrides, code", [
    ({"end_time": "14:00"}, "TIME_RANGE_INVALID"), ({"date": "2026-10-01"}, "PLAN_IN_PAST"),
    ({"end_time": "23:30", "start_time": "08:00"}, "DURATION_TOO_LONG"), ({"venue_lat": "33.1"}, "INVALID_TYPE"),
    ({"venue_name": ""}, "VENUE_NAME_INVALID"), ({"grace_minutes": 61}, "GRACE_MINUTES_INVALID"),
    ({"reason": "长" * 501}, "TOO_LONG"), ({"title": "长" * 101}, "TOO_LONG"),
    ({"date": "2026-11-20", "start_time": "14:00", "end_time": "15:00", "venue_name": "党员活动室"}, "NOTHING_CHANGED"),
])
def test_a_reschedule_checks_the_new_plan_as_planning_does_and_writes_nothing_when_refused(service, planned,
                                                                                          meetings_world, overrides,
                                                                                          code):
    with pytest.raises(InvalidArgument) as refused:
        service.reschedule_meeting(scope=SECRETARY, meeting_id=planned["_id"], **{**NEW_TIME, **overrides})
    assert refused.value.code == code
    meetings_world.reschedule_meeting.assert_not_called()


def test_the_secretary_cancels_a_planned_meeting_with_its_reason_and_event(service, planned, meetings_world):
    answer = service.cancel_meeting(scope=SECRETARY, meeting_id=planned["_id"], reason=" 书记外出培训 ")
    stored, cancellation, event = meetings_world.cancel_meeting.call_args.args
    assert cancellation == {"reason": "书记外出培训", "cancelled_by": "acc-sec", "cancelled_at": stamp(NOW)}
    assert (event["event_type"], event["reason"], event["month"]) == ("meeting_cancelled", "书记外出培训", "2026-11")
    assert (answer["state"], answer["cancellation"]["reason"]) == ("cancelled", "书记外出培训")


@pytest.mark.parametrize("reason, code", [("", "REQUIRED"), ("  ", "REQUIRED"), ("长" * 501, "TOO_LONG")])
def test_a_cancellation_without_a_good_reason_writes_nothing(service, planned, meetings_world, reason, code):
    with pytest.raises(InvalidArgument) as refused:
        service.cancel_meeting(scope=SECRETARY, meeting_id=planned["_id"], reason=reason)
    assert (refused.value.code, refused.value.field) == (code, "reason")
    meetings_world.cancel_meeting.assert_not_called()


@pytest.mark.parametrize("changes, code", [
    ({"roster_frozen_at": stamp(NOW)}, "MEETING_STARTED"),           # the freeze: members may scan
    ({"status": "closed"}, "MEETING_STARTED"),
    ({"status": "cancelled"}, "MEETING_CANCELLED"),
])
def test_a_meeting_that_started_or_was_cancelled_is_neither_rescheduled_nor_cancelled(service, meetings_world,
                                                                                      changes, code):
    meeting = planned_meeting(**changes)
    meetings_world.activity.side_effect = lambda activity_id: meeting
    with pytest.raises(Conflict) as moved:
        service.reschedule_meeting(scope=SECRETARY, meeting_id=meeting["_id"], **NEW_TIME)
    with pytest.raises(Conflict) as called_off:
        service.cancel_meeting(scope=SECRETARY, meeting_id=meeting["_id"], reason="另行安排")
    assert moved.value.code == called_off.value.code == code
    meetings_world.reschedule_meeting.assert_not_called()
    meetings_world.cancel_meeting.assert_not_called()


def test_once_sign_in_opens_by_the_clock_a_meeting_whose_freeze_is_late_is_not_changed(service, meetings_world, clock):
    meeting = planned_meeting()
    meetings_world.activity.side_effect = lambda activity_id: meeting
    clock.moment = parse_stamp(meeting["plan"]["checkin_opens_at"])
    with pytest.raises(Conflict) as refused:
        service.cancel_meeting(scope=SECRETARY, meeting_id=meeting["_id"], reason="另行安排")
    assert refused.value.code == "MEETING_STARTED"


@pytest.mark.parametrize("scope, error, code", [
    (MEMBER, PermissionDenied, "NOT_BRANCH_SECRETARY"),
    ({**SUPERIOR, "tenant_id": "t2"}, NotFound, "MEETING_NOT_FOUND"),
    ({**SECRETARY, "roles": [{"role": "branch_secretary", "org_id": "b2"}]}, NotFound, "MEETING_NOT_FOUND"),
])
def test_only_who_may_plan_may_reschedule_or_cancel(service, planned, meetings_world, scope, error, code):
    with pytest.raises(error) as refused:
        service.reschedule_meeting(scope=scope, meeting_id=planned["_id"], **NEW_TIME)
    assert refused.value.code == code
    with pytest.raises(error) as refused:
        service.cancel_meeting(scope=scope, meeting_id=planned["_id"], reason="另行安排")
    assert refused.value.code == code
    meetings_world.reschedule_meeting.assert_not_called()
    meetings_world.cancel_meeting.assert_not_called()


def test_a_cancelled_meeting_is_listed_by_its_state(service, planned, meetings_world):
    cancelled = {**planned, "status": "cancelled", "cancellation": {"reason": "另行安排", "cancelled_by": "acc-sec",
                                                                    "cancelled_at": stamp(NOW)}}
    meetings_world.meetings_in.return_value = [cancelled, planned_meeting()]
    listed = service.list_meetings(scope=SECRETARY, org_id="b1", state="cancelled")["meetings"]
    assert [(m["state"], m["cancellation"]["reason"]) for m in listed] == [("cancelled", "另行安排")]
