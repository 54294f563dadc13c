"""Volunteer teams through the service's entry points: who creates, sees, joins, leaves and removes, and the
refusal of other subtrees and tenants with the not-found code of a missing id."""
from __future__ import annotations

import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from tests.fast.volunteer.team_fakes import (BRANCH, BRANCH_B, CITIZEN, CITY, CITY_ADMIN, COMMUNITY, COMMUNITY_ADMIN,
                                             COUNTY, COUNTY_ADMIN, FOREIGN_ADMIN, FOREIGN_MEMBER, MEMBER, MEMBER_2,
                                             OTHER_COUNTY_ADMIN, OTHER_MEMBER, SECRETARY, clock, identity,  # noqa: F401
                                             service, store)


def create(service, caller=COUNTY_ADMIN, org_id=COUNTY, name="青年志愿服务队"):
    return service.create_team(caller, org_id=org_id, name=name, description="周末清扫、助老")


def refused(error_class, code, call, *args, **kwargs):
    with pytest.raises(error_class) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code
    return caught.value


# --- creating ---------------------------------------------------------------------------------------------
def test_a_manager_creates_a_team_under_its_node(service, store):
    team = create(service)
    assert (team["org_id"], team["org_name"], team["name"], team["member_count"]) == (COUNTY, "一区委", "青年志愿服务队", 0)
    stored = store.teams[team["team_id"]]
    assert (stored["tenant_id"], stored["a0"], stored["a1"], stored["a2"]) == ("ten_1", CITY, COUNTY, None)


def test_a_superior_creates_a_team_for_a_node_below_it(service):
    assert create(service, CITY_ADMIN, COMMUNITY)["org_id"] == COMMUNITY


@pytest.mark.parametrize("caller,org_id,error,code", [
    (MEMBER, BRANCH, PermissionDenied, "NOT_ORG_MANAGER"),             # its own branch: seen, not managed
    (MEMBER, COUNTY, NotFound, "ORG_NOT_FOUND"),
    (OTHER_COUNTY_ADMIN, COUNTY, NotFound, "ORG_NOT_FOUND"),
    (FOREIGN_ADMIN, COUNTY, NotFound, "ORG_NOT_FOUND"),
    (COMMUNITY_ADMIN, COUNTY, NotFound, "ORG_NOT_FOUND"),              # a superior's node
    (COUNTY_ADMIN, "", NotFound, "ORG_NOT_FOUND"),
    (CITIZEN, COUNTY, NotFound, "ORG_NOT_FOUND"),
])
def test_creating_outside_ones_reach_is_refused_and_stores_nothing(service, store, caller, org_id, error, code):
    refused(error, code, create, service, caller, org_id)
    assert store.teams == {}


@pytest.mark.parametrize("name,code", [("", "REQUIRED"), ("  ", "REQUIRED"), ("队" * 41, "TOO_LONG"),
                                       (12, "INVALID_TYPE")])
def test_a_bad_name_is_refused_and_stores_nothing(service, store, name, code):
    error = refused(InvalidArgument, code, create, service, name=name)
    assert error.field == "name" and store.teams == {}


# --- seeing ------------------------------------------------------------------------------------------------
def test_managers_list_the_teams_of_their_subtree(service):
    county, community = create(service), create(service, CITY_ADMIN, COMMUNITY, "社区服务队")
    create(service, OTHER_COUNTY_ADMIN, "org_county_b", "二区队")
    assert {t["team_id"] for t in service.list_teams(COUNTY_ADMIN, org_id=COUNTY)["teams"]} == \
        {county["team_id"], community["team_id"]}
    assert [t["team_id"] for t in service.list_teams(COMMUNITY_ADMIN, org_id=COMMUNITY)["teams"]] == \
        [community["team_id"]]
    assert len(service.list_teams(CITY_ADMIN, org_id=CITY)["teams"]) == 3
    refused(NotFound, "ORG_NOT_FOUND", service.list_teams, OTHER_COUNTY_ADMIN, org_id=COUNTY)
    refused(NotFound, "ORG_NOT_FOUND", service.list_teams, FOREIGN_ADMIN, org_id=COUNTY)


def test_a_member_lists_the_teams_of_its_branch_path_and_of_its_community(service):
    county, community = create(service), create(service, CITY_ADMIN, COMMUNITY, "社区服务队")
    create(service, OTHER_COUNTY_ADMIN, "org_county_b", "二区队")
    assert [t["team_id"] for t in service.list_teams(MEMBER, org_id=BRANCH)["teams"]] == [county["team_id"]]
    service.report_to_community(MEMBER, community_id=COMMUNITY, reported_on="")
    listed = service.list_teams(MEMBER, org_id=BRANCH)["teams"]
    assert {t["team_id"] for t in listed} == {county["team_id"], community["team_id"]}
    assert listed[0]["members"] == [] and listed[0]["joined"] is False
    assert len(service.list_teams(MEMBER, org_id=COMMUNITY)["teams"]) == 2       # its community is in reach too
    refused(NotFound, "ORG_NOT_FOUND", service.list_teams, MEMBER, org_id="org_county_b")
    refused(NotFound, "ORG_NOT_FOUND", service.list_teams, OTHER_MEMBER, org_id=BRANCH)


def test_a_secretary_lists_as_a_manager_in_its_branch_and_as_a_member_above_it(service):
    county = create(service)
    branch_team = create(service, SECRETARY, BRANCH, "支部队")
    assert [t["team_id"] for t in service.list_teams(SECRETARY, org_id=BRANCH)["teams"]] == [branch_team["team_id"]]
    assert {t["team_id"] for t in service.list_teams(SECRETARY, org_id=COUNTY)["teams"]} == \
        {county["team_id"], branch_team["team_id"]}


def test_get_team_shows_managers_the_members_and_members_whether_they_joined(service):
    team = create(service)
    service.join_team(MEMBER, team_id=team["team_id"])
    seen = service.get_team(COUNTY_ADMIN, team_id=team["team_id"])
    assert [(m["member_id"], m["name"], m["branch_id"]) for m in seen["members"]] == [("m_1", "张三", BRANCH)]
    mine = service.get_team(MEMBER, team_id=team["team_id"])
    assert mine["joined"] is True and mine["members"] == []
    assert service.get_team(MEMBER_2, team_id=team["team_id"])["joined"] is False


@pytest.mark.parametrize("caller", [OTHER_COUNTY_ADMIN, OTHER_MEMBER, FOREIGN_ADMIN, FOREIGN_MEMBER, CITIZEN])
def test_a_team_out_of_reach_is_not_found(service, caller):
    team = create(service)
    refused(NotFound, "TEAM_NOT_FOUND", service.get_team, caller, team_id=team["team_id"])
    refused(NotFound, "TEAM_NOT_FOUND", service.list_team_events, caller, team_id=team["team_id"])


def test_an_unknown_team_is_not_found(service):
    refused(NotFound, "TEAM_NOT_FOUND", service.get_team, COUNTY_ADMIN, team_id="team_nope")
    refused(NotFound, "TEAM_NOT_FOUND", service.get_team, COUNTY_ADMIN, team_id=None)


# --- joining and leaving -------------------------------------------------------------------------------------------
def test_a_member_joins_leaves_and_joins_again(service, store):
    team = create(service)
    joined = service.join_team(MEMBER, team_id=team["team_id"])
    assert joined["joined"] is True and joined["member_count"] == 1
    row = store.team_members[f"{team['team_id']}:m_1"]
    assert (row["team_id"], row["member_id"], row["name"], row["branch_id"], row["status"]) == \
        (team["team_id"], "m_1", "张三", BRANCH, "active")
    refused(Conflict, "ALREADY_IN_TEAM", service.join_team, MEMBER, team_id=team["team_id"])
    left = service.leave_team(MEMBER, team_id=team["team_id"])
    assert left["joined"] is False and left["member_count"] == 0
    assert store.team_members[f"{team['team_id']}:m_1"]["status"] == "left"
    refused(Conflict, "NOT_IN_TEAM", service.leave_team, MEMBER, team_id=team["team_id"])
    assert service.join_team(MEMBER, team_id=team["team_id"])["member_count"] == 1


def test_a_community_team_needs_a_report_to_that_community(service):
    team = create(service, COMMUNITY_ADMIN, COMMUNITY, "社区服务队")
    refused(NotFound, "TEAM_NOT_FOUND", service.join_team, MEMBER, team_id=team["team_id"])
    service.report_to_community(MEMBER, community_id=COMMUNITY, reported_on="")
    assert service.join_team(MEMBER, team_id=team["team_id"])["joined"] is True


def test_a_team_one_sees_as_its_manager_but_not_on_its_path_cannot_be_joined(service):
    team = create(service, SECRETARY, BRANCH, "支部队")
    branch2_team = create(service, COUNTY_ADMIN, "org_branch2", "二支部队")
    assert service.join_team(SECRETARY, team_id=team["team_id"])["joined"] is True
    refused(NotFound, "TEAM_NOT_FOUND", service.join_team, SECRETARY, team_id=branch2_team["team_id"])


@pytest.mark.parametrize("caller,code", [(OTHER_MEMBER, "TEAM_NOT_FOUND"), (FOREIGN_MEMBER, "TEAM_NOT_FOUND")])
def test_joining_or_leaving_a_team_out_of_reach_is_not_found(service, store, caller, code):
    team = create(service)
    refused(NotFound, code, service.join_team, caller, team_id=team["team_id"])
    refused(NotFound, code, service.leave_team, caller, team_id=team["team_id"])
    assert store.team_members == {}


def test_only_members_join(service):
    team = create(service)
    refused(PermissionDenied, "MEMBER_ONLY", service.join_team, COUNTY_ADMIN, team_id=team["team_id"])
    refused(PermissionDenied, "MEMBER_ONLY", service.join_team, CITIZEN, team_id=team["team_id"])


def test_a_manager_removes_a_member_with_a_reason(service, store):
    team = create(service)
    service.join_team(MEMBER, team_id=team["team_id"])
    service.join_team(MEMBER_2, team_id=team["team_id"])
    refused(InvalidArgument, "REQUIRED", service.remove_team_member, COUNTY_ADMIN, team_id=team["team_id"],
            member_id="m_1", reason=" ")
    assert store.team_members[f"{team['team_id']}:m_1"]["status"] == "active"
    after = service.remove_team_member(COUNTY_ADMIN, team_id=team["team_id"], member_id="m_1", reason="长期未参加活动")
    assert [m["member_id"] for m in after["members"]] == ["m_2"] and after["member_count"] == 1
    row = store.team_members[f"{team['team_id']}:m_1"]
    assert (row["status"], row["left_reason"], row["removed_by"]) == ("left", "长期未参加活动", COUNTY_ADMIN["account_id"])
    refused(NotFound, "TEAM_MEMBER_NOT_FOUND", service.remove_team_member, COUNTY_ADMIN, team_id=team["team_id"],
            member_id="m_1", reason="重复")


@pytest.mark.parametrize("caller,error,code", [
    (MEMBER_2, PermissionDenied, "NOT_ORG_MANAGER"),
    (OTHER_COUNTY_ADMIN, NotFound, "TEAM_NOT_FOUND"),
    (FOREIGN_ADMIN, NotFound, "TEAM_NOT_FOUND"),
])
def test_removing_needs_the_team_s_managers(service, store, caller, error, code):
    team = create(service)
    service.join_team(MEMBER, team_id=team["team_id"])
    refused(error, code, service.remove_team_member, caller, team_id=team["team_id"], member_id="m_1", reason="原因")
    assert store.team_members[f"{team['team_id']}:m_1"]["status"] == "active"
