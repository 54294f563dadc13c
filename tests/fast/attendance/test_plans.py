"""Themes and plans through the service with a fake store: the lifecycle refuses what a state does not allow
before anything is written, and each allowed step calls the store's write for it."""
from __future__ import annotations

from datetime import timedelta

import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from servicekit.timestamps import stamp
from tests.fast.attendance.fakes import ACTIVITY_ID, NOW, SECRETARY, SUPERIOR, MEMBER, OTHER_TENANT, activity, plan

PLAN = dict(date="2026-11-20", start_time="09:00", end_time="11:00", venue_name="党员活动室", venue_lat=33.0676,
            venue_lng=107.0238)


@pytest.mark.parametrize("status", ["planning", "submitted"])
def test_a_plan_is_submitted_while_planning_or_waiting_for_review(service, store, status):
    store.activity.return_value = activity(status)
    answer = service.submit_plan(scope=SECRETARY, activity_id=ACTIVITY_ID, **PLAN)
    (current, stored, by, now, event), _ = store.submit_plan.call_args
    assert current["status"] == status and by == "acc-sec" and now == stamp(NOW)
    assert stored["start_at"] == "2026-11-20T01:00:00.000Z" and stored["venue"]["name"] == "党员活动室"
    assert event["event_type"] == "plan_submitted" and event["start_at"] == stored["start_at"]
    assert answer["status"] == "submitted"


@pytest.mark.parametrize("status, frozen", [("approved", False), ("approved", True), ("closed", True)])
def test_a_plan_approved_or_closed_is_locked(service, store, status, frozen):
    store.activity.return_value = activity(status, frozen=frozen)
    with pytest.raises(Conflict) as refused:
        service.submit_plan(scope=SECRETARY, activity_id=ACTIVITY_ID, **PLAN)
    assert refused.value.code == "PLAN_LOCKED"
    store.submit_plan.assert_not_called()


def test_only_the_branch_or_its_superiors_plan(service, store):
    store.activity.return_value = activity("planning")
    with pytest.raises(PermissionDenied):
        service.submit_plan(scope=MEMBER, activity_id=ACTIVITY_ID, **PLAN)
    with pytest.raises(NotFound):
        service.submit_plan(scope=OTHER_TENANT, activity_id=ACTIVITY_ID, **PLAN)
    store.submit_plan.assert_not_called()


def test_a_plan_starting_in_the_past_is_refused(service, store, clock):
    store.activity.return_value = activity("planning")
    clock.advance(days=30)
    with pytest.raises(InvalidArgument) as refused:
        service.submit_plan(scope=SECRETARY, activity_id=ACTIVITY_ID, **PLAN)
    assert refused.value.code == "PLAN_IN_PAST"
    store.submit_plan.assert_not_called()


@pytest.mark.parametrize("status, frozen", [("planning", False), ("approved", False), ("approved", True),
                                            ("closed", True)])
@pytest.mark.parametrize("decision", ["approved", "rejected"])
def test_only_a_submitted_plan_is_reviewed(service, store, status, frozen, decision):
    store.activity.return_value = activity(status, frozen=frozen)
    with pytest.raises(Conflict) as refused:
        service.review_plan(scope=SUPERIOR, activity_id=ACTIVITY_ID, decision=decision, reason="地点不清")
    assert refused.value.code == "PLAN_NOT_SUBMITTED"
    store.approve_plan.assert_not_called()
    store.reject_plan.assert_not_called()


def test_approving_schedules_the_freeze_ten_minutes_before_sign_in_opens(service, store):
    store.activity.return_value = activity("submitted")
    answer = service.review_plan(scope=SUPERIOR, activity_id=ACTIVITY_ID, decision="approved", radius_m=500,
                                 grace_minutes=20)
    (activity_id, approved, radius, review, now, events, freeze_at), _ = store.approve_plan.call_args
    assert activity_id == ACTIVITY_ID and radius == 500 and review["decision"] == "approved"
    assert approved["checkin_closes_at"] == "2026-11-20T01:20:00.000Z" and approved["grace_minutes"] == 20
    assert freeze_at == "2026-11-20T00:20:00.000Z"          # sign-in opens at 00:30
    assert [e["event_type"] for e in events] == ["plan_reviewed", "activity_opened"]
    assert answer["status"] == "approved"


def test_a_plan_whose_start_has_passed_is_not_approved(service, store):
    store.activity.return_value = activity("submitted", plan=plan(start=NOW - timedelta(minutes=1)))
    with pytest.raises(Conflict) as refused:
        service.review_plan(scope=SUPERIOR, activity_id=ACTIVITY_ID, decision="approved")
    assert refused.value.code == "PLAN_IN_PAST"
    store.approve_plan.assert_not_called()


def test_a_rejection_needs_a_reason_and_returns_the_plan_to_planning(service, store):
    store.activity.return_value = activity("submitted")
    with pytest.raises(InvalidArgument):
        service.review_plan(scope=SUPERIOR, activity_id=ACTIVITY_ID, decision="rejected")
    answer = service.review_plan(scope=SUPERIOR, activity_id=ACTIVITY_ID, decision="rejected", reason="地点不清")
    (activity_id, review, _, event), _ = store.reject_plan.call_args
    assert review["reason"] == "地点不清" and event["decision"] == "rejected" and answer["status"] == "planning"
    store.approve_plan.assert_not_called()


def test_only_a_superior_reviews(service, store):
    store.activity.return_value = activity("submitted")
    with pytest.raises(PermissionDenied) as refused:
        service.review_plan(scope=SECRETARY, activity_id=ACTIVITY_ID, decision="approved")
    assert refused.value.code == "NOT_SUPERIOR"


def test_a_theme_issues_one_planning_activity_per_branch_without_one(service, store, identity):
    identity.branches_under.return_value = {"branches": [
        {"org_id": "b1", "name": "第一支部", "path_ids": ["root", "county", "b1"]},
        {"org_id": "b2", "name": "第二支部", "path_ids": ["root", "county", "b2"]}]}
    store.existing_ids.return_value = {"act_b2_2026-12"}
    answer = service.issue_theme(scope=SUPERIOR, org_id="county", month="2026-12", title="学习党章",
                                 due_from="2026-12-01", due_to="2026-12-20")
    theme, activities, events = store.issue_theme.call_args.args
    assert [a["_id"] for a in activities] == ["act_b1_2026-12"] and activities[0]["status"] == "planning"
    assert [e["event_type"] for e in events] == ["activity_issued"] and answer["activities_created"] == 1
    assert theme["issued_at"] == stamp(NOW)


def test_a_theme_is_issued_by_an_admin_of_the_node_or_above(service, store, identity):
    with pytest.raises(PermissionDenied) as refused:
        service.issue_theme(scope=SECRETARY, org_id="county", month="2026-12", title="学习党章",
                            due_from="2026-12-01", due_to="2026-12-20")
    assert refused.value.code == "NOT_ORG_ADMIN"
    store.issue_theme.assert_not_called()


def test_a_theme_every_branch_already_has_is_refused(service, store, identity):
    identity.branches_under.return_value = {"branches": [
        {"org_id": "b1", "name": "第一支部", "path_ids": ["root", "county", "b1"]}]}
    store.existing_ids.return_value = {"act_b1_2026-12"}
    with pytest.raises(Conflict) as refused:
        service.issue_theme(scope=SUPERIOR, org_id="county", month="2026-12", title="学习党章",
                            due_from="2026-12-01", due_to="2026-12-20")
    assert refused.value.code == "THEME_ALREADY_ISSUED"
    store.issue_theme.assert_not_called()


def test_activities_are_listed_by_a_stored_status_only(service, store):
    store.activities_in.return_value = []
    with pytest.raises(InvalidArgument):
        service.list_activities(scope=SUPERIOR, org_id="county", status="open")
    service.list_activities(scope=SUPERIOR, org_id="county", status="closed")
    # without a month, the meetings (三会一课: activities of their own kind) are left out
    assert store.activities_in.call_args.args[1] == {"status": "closed", "meeting_type": {"$exists": False}}
