"""Volunteer teams, their events and 双报到 through the gateway, over HTTP and gRPC: the community's team takes
members who reported there, an event fills up to its capacity and no further, is checked in and out inside its
fence and credits hours when closed; an order given to the team is claimed by its members only; the community
lists who reported and the branch who did not; other subtrees and tenants are refused as if nothing existed."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import grpc
import pytest

from gateway.client import ApiError, GrpcClient, HttpClient
from tests.support.identity import PASSWORD, City
from tests.support.scoring import wait_for
from tests.support.volunteer import FAR, GOOD_FIX, HOME, VolunteerCity, order_fields, served_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(rpc, operator_scope, volunteer_service, gateway_process) -> VolunteerCity:
    return VolunteerCity(rpc, operator_scope, gateway_process.http_url)


def refusal(call) -> ApiError:
    with pytest.raises(ApiError) as refused:
        call()
    return refused.value


def event_fields(team_id: str, capacity: int) -> dict:
    starts = datetime.now(timezone(timedelta(hours=8))).replace(microsecond=0) + timedelta(minutes=10)
    return {"team_id": team_id, "title": "清扫楼道", "description": "周末一起清扫小区楼道", "address": "幸福小区",
            **HOME, "fence_radius_m": 300, "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(), "capacity": capacity, "hours_cap": 2.0}


def test_a_team_event_from_sign_up_to_credited_hours_over_http(world):
    manager, community_id = world.manager, world.community["id"]
    first, second, third = world.members
    team = manager.call("CreateTeam", {"org_id": community_id, "name": "红色先锋队", "description": "助老助残"})
    team_id = team["team_id"]
    assert (team["org_id"], team["member_count"]) == (community_id, 0)
    for member in (first, second):
        assert member.client.call("JoinTeam", {"team_id": team_id})["joined"] is True
    assert [row["team_id"] for row in first.client.call("ListTeams", {"org_id": community_id})["teams"]] == [team_id]
    seen = manager.call("GetTeam", {"team_id": team_id})
    assert sorted(row["name"] for row in seen["members"]) == sorted([first.name, second.name])

    event = manager.call("CreateTeamEvent", event_fields(team_id, capacity=1))
    event_id = event["event_id"]
    assert (event["status"], event["places_left"]) == ("open", 1)
    outsider = refusal(lambda: third.client.call("SignUpEvent", {"event_id": event_id}))
    assert (outsider.status, outsider.code) == (409, "NOT_IN_TEAM")
    assert first.client.call("SignUpEvent", {"event_id": event_id})["status"] == "signed_up"
    full = refusal(lambda: second.client.call("SignUpEvent", {"event_id": event_id}))
    assert (full.status, full.code) == (409, "EVENT_FULL")
    [mine] = [row for row in first.client.call("ListMyEvents")["events"] if row["event_id"] == event_id]
    assert mine["my_signup"]["status"] == "signed_up"

    outside = refusal(lambda: first.client.call("CheckInEvent", {"event_id": event_id, **FAR, "accuracy_m": 5.0}))
    assert (outside.status, outside.code) == (409, "OUTSIDE_FENCE")
    mock = refusal(lambda: first.client.call("CheckInEvent", {"event_id": event_id, **GOOD_FIX,
                                                               "mock_location": True}))
    assert mock.code == "MOCK_LOCATION"
    assert first.client.call("CheckInEvent", {"event_id": event_id, **GOOD_FIX})["status"] == "checked_in"
    served_for("event", event_id, first.id)
    out = first.client.call("CheckOutEvent", {"event_id": event_id, **GOOD_FIX})
    assert out["status"] == "checked_out" and out["hours"] == 0.5
    not_yours = refusal(lambda: first.client.call("CloseTeamEvent", {"event_id": event_id}))
    assert not_yours.status == 403
    closed = manager.call("CloseTeamEvent", {"event_id": event_id})
    assert closed["status"] == "closed" and [row["status"] for row in closed["signups"]] == ["checked_out"]
    entries = wait_for(lambda: [row for row in first.client.call("GetMyHours")["entries"]
                                if row["source_id"] == event_id])
    assert (entries[0]["source_kind"], entries[0]["entry_id"]) == ("event", f"event:{event_id}:{first.id}")
    assert entries[0]["hours"] == out["hours"]
    late = refusal(lambda: second.client.call("SignUpEvent", {"event_id": event_id}))
    assert (late.status, late.code) == (409, "EVENT_CLOSED")


def test_an_order_given_to_a_team_is_claimed_by_its_members_only_over_grpc(world, gateway_process):
    community_id, (member, outsider, _) = world.community["id"], world.members
    citizen, _ = world.citizen()
    with GrpcClient(gateway_process.grpc_target) as stub:
        manager = world.manager.token
        team_id = stub.call("CreateTeam", {"org_id": community_id, "name": "健康服务队"}, manager)["team_id"]
        stub.call("JoinTeam", {"team_id": team_id}, member.client.token)
        order_id = citizen.call("PlaceOrder", order_fields(community_id))["order_id"]
        stub.call("ReviewOrder", {"order_id": order_id, "decision": "approve"}, manager)
        dispatched = stub.call("DispatchOrder", {"order_id": order_id, "mode": "team", "team_id": team_id,
                                                 "volunteers_needed": 2}, manager)
        assert (dispatched["mode"], dispatched["team_name"]) == ("team", "健康服务队")
        not_in_team = refusal(lambda: stub.call("ClaimOrder", {"order_id": order_id}, outsider.client.token))
        assert (not_in_team.status, not_in_team.code) == (grpc.StatusCode.FAILED_PRECONDITION, "NOT_IN_TEAM")
        claimed = stub.call("ClaimOrder", {"order_id": order_id}, member.client.token)
        assert (claimed["status"], claimed["member_id"]) == ("claimed", member.id)
        withdrawn = stub.call("WithdrawClaim", {"order_id": order_id, "reason": "临时有事"}, member.client.token)
        assert withdrawn["status"] == "withdrawn"
        assert stub.call("GetOrder", {"order_id": order_id}, manager)["places_left"] == 2
        assert stub.call("ClaimOrder", {"order_id": order_id}, member.client.token)["status"] == "claimed"


def test_community_reports_are_listed_by_the_community_and_missed_ones_by_the_branch(world, rpc):
    community_id, member = world.community["id"], world.members[0]
    report = member.client.call("GetMyCommunityReport")
    assert (report["community_id"], report["status"], report["member_name"]) == (community_id, "current", member.name)
    reported = world.manager.call("ListReportedMembers", {"org_id": community_id})["members"]
    assert {row["member_id"] for row in reported} == {m.id for m in world.members}
    late = world.member("未报到党员", report=False)
    missing = world.county_admin.call("ListUnreportedMembers", {"org_id": world.branch["id"]})
    assert [row["member_id"] for row in missing["members"]] == [late.id]

    # a new report ends the one before: the member moves to another community
    other = rpc.identity.create_org(scope=world.city.admin, parent_id=world.city.committees[0]["id"],
                                    name="和平社区", kind="general_branch", field="community")
    world.county_admin.call("SetCommunityProfile", {"org_id": other["id"], "address": "和平路2号", **HOME,
                                                    "open": True})
    moved = member.client.call("ReportToCommunity", {"community_id": other["id"]})
    assert (moved["community_id"], moved["status"]) == (other["id"], "current")
    assert member.client.call("GetMyCommunityReport")["community_name"] == "和平社区"
    still = world.manager.call("ListReportedMembers", {"org_id": community_id})["members"]
    assert member.id not in {row["member_id"] for row in still}


def test_other_subtrees_and_tenants_do_not_see_the_communitys_teams(world, rpc, operator_scope):
    community_id = world.community["id"]
    team_id = world.manager.call("CreateTeam", {"org_id": community_id, "name": "红色先锋队"})["team_id"]
    event_id = world.manager.call("CreateTeamEvent", event_fields(team_id, capacity=5))["event_id"]
    other_city = City(rpc, operator_scope)
    foreign = HttpClient(world.base_url)
    foreign.login(other_city.code, "city-admin", PASSWORD)
    far_member = world.member("外县党员", branch=world.city.branches[1][0], report=False)
    for caller in (world.other_county_admin, foreign, far_member.client):
        team = refusal(lambda caller=caller: caller.call("GetTeam", {"team_id": team_id}))
        assert (team.status, team.code) == (404, "TEAM_NOT_FOUND")
        event = refusal(lambda caller=caller: caller.call("GetTeamEvent", {"event_id": event_id}))
        assert (event.status, event.code) == (404, "EVENT_NOT_FOUND")
    for caller in (world.other_county_admin, foreign):
        listing = refusal(lambda caller=caller: caller.call("ListTeams", {"org_id": community_id}))
        assert (listing.status, listing.code) == (404, "ORG_NOT_FOUND")
        reports = refusal(lambda caller=caller: caller.call("ListReportedMembers", {"org_id": community_id}))
        assert (reports.status, reports.code) == (404, "ORG_NOT_FOUND")
        hours = refusal(lambda caller=caller: caller.call("GetMemberHours", {"member_id": world.members[0].id}))
        assert (hours.status, hours.code) == (404, "MEMBER_NOT_FOUND")
    not_joinable = refusal(lambda: far_member.client.call("JoinTeam", {"team_id": team_id}))
    assert (not_joinable.status, not_joinable.code) == (404, "TEAM_NOT_FOUND")
    assert world.manager.call("GetTeam", {"team_id": team_id})["member_count"] == 0
