"""Team events through the service's entry points: creating, sign-up up to capacity, cancelling, check-in and
check-out inside the fence, closing with the hours credited once, and who may do each."""
from __future__ import annotations

from datetime import timedelta

import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from tests.fast.volunteer.team_fakes import (BRANCH, CITIZEN, COUNTY, COUNTY_ADMIN, FOREIGN_ADMIN, FOREIGN_MEMBER,
                                             MEMBER, MEMBER_2, MEMBER_3, NOW, OTHER_COUNTY_ADMIN, OTHER_MEMBER,
                                             SECRETARY, VENUE, clock, identity, service, store)  # noqa: F401

STARTS, ENDS = "2026-12-06T14:00:00+08:00", "2026-12-06T17:00:00+08:00"     # NOW is 10:00 in China
AT_START = NOW + timedelta(hours=4)
NEAR = {"lat": VENUE[0] + 0.001, "lng": VENUE[1], "accuracy_m": 15, "mock_location": False}


def refused(error_class, code, call, *args, **kwargs):
    with pytest.raises(error_class) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code
    return caught.value


@pytest.fixture
def team(service):
    team = service.create_team(COUNTY_ADMIN, org_id=COUNTY, name="青年志愿服务队", description="")
    for caller in (MEMBER, MEMBER_2, MEMBER_3):
        service.join_team(caller, team_id=team["team_id"])
    return team


def new_event(service, team, caller=COUNTY_ADMIN, **changes):
    given = {"title": "清扫河堤", "description": "带手套", "address": "汉江河堤东段", "lat": VENUE[0], "lng": VENUE[1],
             "fence_radius_m": 0, "starts_at": STARTS, "ends_at": ENDS, "capacity": 2, "hours_cap": 2, **changes}
    return service.create_team_event(caller, team_id=team["team_id"], **given)


# --- creating -------------------------------------------------------------------------------------------------
def test_a_manager_creates_an_event_with_the_tenant_s_default_radius(service, store, team):
    event = new_event(service, team)
    assert (event["status"], event["status_label"], event["fence_radius_m"], event["capacity"], event["places_left"],
            event["hours_cap"]) == ("open", "报名中", 300, 2, 2, 2.0)
    assert (event["starts_at"], event["team_name"], event["org_id"]) == ("2026-12-06T06:00:00.000Z", "青年志愿服务队", COUNTY)
    assert store.team_events[event["event_id"]]["a1"] == COUNTY


@pytest.mark.parametrize("caller,error,code", [
    (MEMBER, PermissionDenied, "NOT_ORG_MANAGER"),
    (SECRETARY, PermissionDenied, "NOT_ORG_MANAGER"),     # a branch's secretary, member of the county's team
    (OTHER_COUNTY_ADMIN, NotFound, "TEAM_NOT_FOUND"),
    (FOREIGN_ADMIN, NotFound, "TEAM_NOT_FOUND"),
])
def test_creating_an_event_needs_the_team_s_managers(service, store, team, caller, error, code):
    service.join_team(SECRETARY, team_id=team["team_id"])
    refused(error, code, new_event, service, team, caller)
    assert store.team_events == {}


@pytest.mark.parametrize("changes,code", [({"capacity": 0}, "OUT_OF_RANGE"), ({"lat": None}, "COORDINATES_INVALID"),
                                          ({"ends_at": "2026-12-06T13:00:00+08:00"}, "EVENT_TIMES_INVALID"),
                                          ({"title": ""}, "REQUIRED")])
def test_bad_event_input_stores_nothing(service, store, team, changes, code):
    refused(InvalidArgument, code, new_event, service, team, **changes)
    assert store.team_events == {}


# --- seeing -----------------------------------------------------------------------------------------------------
def test_members_see_the_events_of_their_teams_with_their_sign_up(service, team, clock):
    later = new_event(service, team, title="敬老院探访", starts_at="2026-12-07T09:00:00+08:00",
                      ends_at="2026-12-07T11:00:00+08:00")
    sooner = new_event(service, team)
    service.sign_up_event(MEMBER, event_id=later["event_id"])
    mine = service.list_my_events(MEMBER)["events"]
    assert [e["event_id"] for e in mine] == [sooner["event_id"], later["event_id"]]
    assert mine[0]["my_signup"] is None and mine[1]["my_signup"]["status"] == "signed_up"
    assert mine[1]["signups"] == []
    assert [e["event_id"] for e in service.list_team_events(MEMBER_2, team_id=team["team_id"])["events"]] == \
        [sooner["event_id"], later["event_id"]]
    managed = service.get_team_event(COUNTY_ADMIN, event_id=later["event_id"])
    assert [(s["member_id"], s["name"]) for s in managed["signups"]] == [("m_1", "张三")]
    assert service.list_my_events(OTHER_MEMBER)["events"] == []


@pytest.mark.parametrize("caller", [OTHER_MEMBER, FOREIGN_MEMBER])
def test_an_event_out_of_a_member_s_reach_is_not_found_for_every_operation(service, store, team, caller):
    event = new_event(service, team)
    for call in (service.get_team_event, service.sign_up_event, service.cancel_sign_up, service.close_team_event):
        refused(NotFound, "EVENT_NOT_FOUND", call, caller, event_id=event["event_id"])
    for call in (service.check_in_event, service.check_out_event):
        refused(NotFound, "EVENT_NOT_FOUND", call, caller, event_id=event["event_id"], **NEAR)
    assert store.signups == {} and store.team_events[event["event_id"]]["status"] == "open"


@pytest.mark.parametrize("caller", [OTHER_COUNTY_ADMIN, FOREIGN_ADMIN, CITIZEN])
def test_an_event_out_of_a_manager_s_reach_is_not_found_and_members_operations_need_a_member(service, store, team,
                                                                                             caller):
    event = new_event(service, team)
    for call in (service.get_team_event, service.close_team_event):
        refused(NotFound, "EVENT_NOT_FOUND", call, caller, event_id=event["event_id"])
    refused(NotFound, "EVENT_NOT_FOUND", service.get_team_event, COUNTY_ADMIN, event_id="evt_nope")
    for call in (service.sign_up_event, service.cancel_sign_up):
        refused(PermissionDenied, "MEMBER_ONLY", call, caller, event_id=event["event_id"])
    refused(PermissionDenied, "MEMBER_ONLY", service.check_in_event, caller, event_id=event["event_id"], **NEAR)
    assert store.signups == {} and store.team_events[event["event_id"]]["status"] == "open"


# --- signing up ---------------------------------------------------------------------------------------------------
def test_sign_ups_stop_at_capacity_and_a_cancelled_place_opens_again(service, store, team):
    event = new_event(service, team)
    first = service.sign_up_event(MEMBER, event_id=event["event_id"])
    assert (first["signup_id"], first["status"], first["name"]) == (f"{event['event_id']}:m_1", "signed_up", "张三")
    refused(Conflict, "ALREADY_SIGNED_UP", service.sign_up_event, MEMBER, event_id=event["event_id"])
    service.sign_up_event(MEMBER_2, event_id=event["event_id"])
    refused(Conflict, "EVENT_FULL", service.sign_up_event, MEMBER_3, event_id=event["event_id"])
    assert service.cancel_sign_up(MEMBER, event_id=event["event_id"])["status"] == "cancelled"
    assert service.sign_up_event(MEMBER_3, event_id=event["event_id"])["status"] == "signed_up"
    refused(Conflict, "EVENT_FULL", service.sign_up_event, MEMBER, event_id=event["event_id"])
    service.cancel_sign_up(MEMBER_2, event_id=event["event_id"])
    assert service.sign_up_event(MEMBER, event_id=event["event_id"])["status"] == "signed_up"     # again
    assert store.team_events[event["event_id"]]["signed_up"] == 2


def test_only_team_members_sign_up(service, team):
    event = new_event(service, team)
    service.leave_team(MEMBER_3, team_id=team["team_id"])
    refused(Conflict, "NOT_IN_TEAM", service.sign_up_event, MEMBER_3, event_id=event["event_id"])
    refused(PermissionDenied, "MEMBER_ONLY", service.sign_up_event, COUNTY_ADMIN, event_id=event["event_id"])


def test_no_sign_up_once_the_event_ended_or_closed(service, team, clock):
    event = new_event(service, team)
    clock.advance(hours=7, seconds=1)
    refused(Conflict, "EVENT_ENDED", service.sign_up_event, MEMBER, event_id=event["event_id"])
    service.close_team_event(COUNTY_ADMIN, event_id=event["event_id"])
    refused(Conflict, "EVENT_CLOSED", service.sign_up_event, MEMBER, event_id=event["event_id"])


def test_cancelling_needs_a_sign_up_not_checked_in(service, team, clock):
    event = new_event(service, team)
    refused(Conflict, "NOT_SIGNED_UP", service.cancel_sign_up, MEMBER, event_id=event["event_id"])
    service.sign_up_event(MEMBER, event_id=event["event_id"])
    clock.moment = AT_START
    service.check_in_event(MEMBER, event_id=event["event_id"], **NEAR)
    refused(Conflict, "ALREADY_CHECKED_IN", service.cancel_sign_up, MEMBER, event_id=event["event_id"])


# --- check-in and check-out -------------------------------------------------------------------------------------------
def test_check_in_and_out_inside_the_fence_gives_capped_hours(service, store, team, clock):
    event = new_event(service, team)
    service.sign_up_event(MEMBER, event_id=event["event_id"])
    clock.moment = AT_START - timedelta(minutes=31)
    refused(Conflict, "TOO_EARLY", service.check_in_event, MEMBER, event_id=event["event_id"], **NEAR)
    clock.moment = AT_START - timedelta(minutes=10)
    checked_in = service.check_in_event(MEMBER, event_id=event["event_id"], **NEAR)
    assert (checked_in["status"], checked_in["checked_in_at"]) == ("checked_in", "2026-12-06T05:50:00.000Z")
    refused(Conflict, "ALREADY_CHECKED_IN", service.check_in_event, MEMBER, event_id=event["event_id"], **NEAR)
    clock.advance(hours=3)
    out = service.check_out_event(MEMBER, event_id=event["event_id"], **NEAR)
    assert (out["status"], out["hours"]) == ("checked_out", 2.0)           # 3 h served, capped at the event's 2
    assert store.signups[out["signup_id"]]["check_out"]["accuracy_m"] == 15
    refused(Conflict, "ALREADY_CHECKED_OUT", service.check_out_event, MEMBER, event_id=event["event_id"], **NEAR)


@pytest.mark.parametrize("fix,code", [
    ({**NEAR, "lat": VENUE[0] + 0.005}, "OUTSIDE_FENCE"),
    ({**NEAR, "mock_location": True}, "MOCK_LOCATION"),
    ({**NEAR, "accuracy_m": 150}, "ACCURACY_TOO_LOW"),
])
def test_a_fix_off_the_venue_is_refused_and_changes_nothing(service, store, team, clock, fix, code):
    event = new_event(service, team)
    service.sign_up_event(MEMBER, event_id=event["event_id"])
    clock.moment = AT_START
    error = refused(Conflict, code, service.check_in_event, MEMBER, event_id=event["event_id"], **fix)
    if code == "OUTSIDE_FENCE":
        assert error.details == [{"distance_m": 556, "radius_m": 300}]
    assert store.signups[f"{event['event_id']}:m_1"]["status"] == "signed_up"


@pytest.mark.parametrize("fix,code", [({**NEAR, "lat": "33"}, "INVALID_TYPE"), ({**NEAR, "accuracy_m": -1},
                                                                                 "ACCURACY_INVALID")])
def test_a_malformed_fix_is_invalid(service, team, clock, fix, code):
    event = new_event(service, team)
    service.sign_up_event(MEMBER, event_id=event["event_id"])
    clock.moment = AT_START
    refused(InvalidArgument, code, service.check_in_event, MEMBER, event_id=event["event_id"], **fix)


def test_check_out_needs_a_check_in(service, team, clock):
    event = new_event(service, team)
    clock.moment = AT_START
    refused(Conflict, "NOT_SIGNED_UP", service.check_in_event, MEMBER, event_id=event["event_id"], **NEAR)
    service.sign_up_event(MEMBER, event_id=event["event_id"])
    refused(Conflict, "NOT_CHECKED_IN", service.check_out_event, MEMBER, event_id=event["event_id"], **NEAR)


# --- closing --------------------------------------------------------------------------------------------------------
def test_closing_credits_the_checked_out_members_once(service, store, team, clock):
    event = new_event(service, team)
    for caller in (MEMBER, MEMBER_2):
        service.sign_up_event(caller, event_id=event["event_id"])
    clock.moment = AT_START
    service.check_in_event(MEMBER, event_id=event["event_id"], **NEAR)
    service.check_in_event(MEMBER_2, event_id=event["event_id"], **NEAR)
    clock.advance(minutes=90)
    service.check_out_event(MEMBER, event_id=event["event_id"], **NEAR)
    refused(PermissionDenied, "NOT_ORG_MANAGER", service.close_team_event, MEMBER, event_id=event["event_id"])
    closed = service.close_team_event(COUNTY_ADMIN, event_id=event["event_id"])
    assert (closed["status"], closed["status_label"]) == ("closed", "已结束")
    entry = store.hours[f"event:{event['event_id']}:m_1"]
    assert (entry["hours"], entry["member_name"], entry["branch_id"], entry["b2"], entry["community_id"],
            entry["a1"], entry["source_kind"], entry["title"], entry["day"]) == \
        (1.5, "张三", BRANCH, BRANCH, COUNTY, COUNTY, "event", "清扫河堤", "2026-12-06")
    assert list(store.hours) == [f"event:{event['event_id']}:m_1"]       # checked in, never out: nothing
    [credited] = store.events
    assert (credited["event_type"], credited["entry_id"], credited["hours"], credited["source_id"]) == \
        ("hours_credited", entry["_id"], 1.5, event["event_id"])
    refused(Conflict, "EVENT_CLOSED", service.close_team_event, COUNTY_ADMIN, event_id=event["event_id"])
    refused(Conflict, "EVENT_CLOSED", service.check_out_event, MEMBER_2, event_id=event["event_id"], **NEAR)
    assert len(store.events) == 1
    assert service.get_my_hours(MEMBER)["total_hours"] == 1.5
