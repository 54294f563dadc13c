"""双报到 through the service's entry points: a member reports to a community with a volunteer profile, a new
report ends the current one, the community lists who reported with the hours served there, a branch lists who has
not reported against the deadline; other subtrees and tenants are not found."""
from __future__ import annotations

import pytest

from servicekit.errors import InvalidArgument, NotFound, PermissionDenied
from tests.fast.volunteer.team_fakes import (BRANCH, BRANCH2, CITIZEN, CITY_ADMIN, COMMUNITY, COMMUNITY_ADMIN,
                                             COMMUNITY_B, COUNTY, COUNTY_ADMIN, FOREIGN_ADMIN, FOREIGN_COMMUNITY,
                                             FOREIGN_MEMBER, MEMBER, MEMBER_2, MEMBER_3, OTHER_COUNTY_ADMIN,
                                             OTHER_MEMBER, SECRETARY, clock, identity, service, store)  # noqa: F401
from services.volunteer.domain.hours import ledger_entry
from tests.fast.volunteer.team_fakes import NOW, PATHS


def refused(error_class, code, call, *args, **kwargs):
    with pytest.raises(error_class) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code
    return caught.value


def test_a_member_reports_to_a_community_and_the_event_says_so(service, store):
    assert service.get_my_community_report(MEMBER) == {}
    report = service.report_to_community(MEMBER, community_id=COMMUNITY, reported_on="2026-12-01")
    assert (report["report_id"], report["community_name"], report["branch_name"], report["status"],
            report["reported_on"]) == ("m_1:1", "东关社区", "一支部", "current", "2026-12-01")
    assert service.get_my_community_report(MEMBER) == report and report["member_name"] == "张三"
    stored = store.reports["m_1:1"]
    assert (stored["a2"], stored["b2"], stored["name"]) == (COMMUNITY, BRANCH, "张三")
    [event] = store.events
    assert (event["event_type"], event["report_id"], event["member_id"], event["branch_id"], event["community_id"],
            event["reported_on"]) == ("member_reported", "m_1:1", "m_1", BRANCH, COMMUNITY, "2026-12-01")


def test_a_new_report_ends_the_current_one(service, store):
    service.report_to_community(MEMBER, community_id=COMMUNITY, reported_on="2026-12-01")
    second = service.report_to_community(MEMBER, community_id=COMMUNITY_B, reported_on="")
    assert (second["report_id"], second["community_id"], second["reported_on"]) == ("m_1:2", COMMUNITY_B, "2026-12-06")
    assert (store.reports["m_1:1"]["status"], store.reports["m_1:1"]["ended_by"]) == ("ended", "m_1:2")
    assert store.reports["m_1:1"]["ended_at"] == "2026-12-06T02:00:00.000Z"
    assert [r["report_id"] for r in [service.get_my_community_report(MEMBER)]] == ["m_1:2"]
    refused(InvalidArgument, "REPORTED_ON_BEFORE_CURRENT", service.report_to_community, MEMBER,
            community_id=COMMUNITY, reported_on="2026-12-05")


@pytest.mark.parametrize("community_id", [FOREIGN_COMMUNITY, COUNTY, "org_nope", ""])
def test_a_community_without_a_profile_or_of_another_tenant_is_not_found(service, store, community_id):
    refused(NotFound, "ORG_NOT_FOUND", service.report_to_community, MEMBER, community_id=community_id, reported_on="")
    assert store.reports == {} and store.events == []


@pytest.mark.parametrize("reported_on,code", [("2026-12-07", "REPORTED_ON_IN_FUTURE"), ("12/01", "DATE_INVALID")])
def test_a_bad_day_stores_nothing(service, store, reported_on, code):
    refused(InvalidArgument, code, service.report_to_community, MEMBER, community_id=COMMUNITY, reported_on=reported_on)
    assert store.reports == {} and store.events == []


@pytest.mark.parametrize("caller", [COUNTY_ADMIN, CITIZEN])
def test_only_members_report(service, store, caller):
    refused(PermissionDenied, "MEMBER_ONLY", service.report_to_community, caller, community_id=COMMUNITY,
            reported_on="")
    refused(PermissionDenied, "MEMBER_ONLY", service.get_my_community_report, caller)
    assert store.reports == {}


def test_the_community_lists_who_reported_there_with_the_hours_served_there(service, store):
    service.report_to_community(MEMBER, community_id=COMMUNITY, reported_on="2026-12-01")
    service.report_to_community(MEMBER_3, community_id=COMMUNITY, reported_on="2026-12-03")
    service.report_to_community(OTHER_MEMBER, community_id=COMMUNITY_B, reported_on="")
    for source, community, hours in (("o1", COMMUNITY, 2.0), ("o2", COMMUNITY, 1.5), ("o3", COMMUNITY_B, 4.0)):
        entry = ledger_entry(tenant_id="ten_1", source_kind="order", source_id=source, member_id="m_1",
                             member_name="张三", branch_id=BRANCH, branch_path=PATHS[BRANCH], community_id=community,
                             community_path=PATHS[community], title="服务", hours=hours, credited_at=NOW)
        store.hours[entry["_id"]] = entry
    listed = service.list_reported_members(COMMUNITY_ADMIN, org_id=COMMUNITY, page_size=0, page_token="")
    assert [(m["member_id"], m["name"], m["branch_name"], m["reported_on"], m["hours"]) for m in listed["members"]] == \
        [("m_3", "赵六", "二支部", "2026-12-03", 0.0), ("m_1", "张三", "一支部", "2026-12-01", 3.5)]
    first = service.list_reported_members(COUNTY_ADMIN, org_id=COUNTY, page_size=1, page_token="")
    assert [m["member_id"] for m in first["members"]] == ["m_3"] and first["next_page_token"]
    second = service.list_reported_members(COUNTY_ADMIN, org_id=COUNTY, page_size=1,
                                           page_token=first["next_page_token"])
    assert [m["member_id"] for m in second["members"]] == ["m_1"] and second["next_page_token"] == ""
    assert len(service.list_reported_members(CITY_ADMIN, org_id="org_city", page_size=0,
                                             page_token="")["members"]) == 3


@pytest.mark.parametrize("caller,error,code", [
    (MEMBER, NotFound, "ORG_NOT_FOUND"),
    (SECRETARY, NotFound, "ORG_NOT_FOUND"),
    (OTHER_COUNTY_ADMIN, NotFound, "ORG_NOT_FOUND"),
    (FOREIGN_ADMIN, NotFound, "ORG_NOT_FOUND"),
    (CITIZEN, NotFound, "ORG_NOT_FOUND"),
])
def test_reported_members_are_for_the_community_s_managers(service, caller, error, code):
    refused(error, code, service.list_reported_members, caller, org_id=COMMUNITY, page_size=0, page_token="")


def test_a_branch_lists_its_party_members_who_have_not_reported(service, store):
    service.report_to_community(MEMBER, community_id=COMMUNITY, reported_on="")
    unreported = service.list_unreported_members(SECRETARY, org_id=BRANCH)
    assert unreported["deadline"] == ""
    assert [(m["member_id"], m["branch_name"], m["overdue"]) for m in unreported["members"]] == \
        [("m_2", "一支部", False), ("m_secretary", "一支部", False)]
    store.settings["ten_1"] = {"report_deadline": "2026-12-01"}
    county = service.list_unreported_members(COUNTY_ADMIN, org_id=COUNTY)
    assert county["deadline"] == "2026-12-01"
    assert [(m["member_id"], m["overdue"]) for m in county["members"]] == \
        [("m_2", True), ("m_secretary", True), ("m_3", True)]
    service.report_to_community(MEMBER_2, community_id=COMMUNITY_B, reported_on="")
    assert "m_2" not in [m["member_id"] for m in service.list_unreported_members(SECRETARY, org_id=BRANCH)["members"]]


@pytest.mark.parametrize("caller,error,code", [
    (MEMBER, PermissionDenied, "NOT_ORG_MANAGER"),
    (OTHER_COUNTY_ADMIN, NotFound, "ORG_NOT_FOUND"),
    (FOREIGN_ADMIN, NotFound, "ORG_NOT_FOUND"),
    (FOREIGN_MEMBER, NotFound, "ORG_NOT_FOUND"),
])
def test_unreported_members_are_for_the_branch_s_managers(service, caller, error, code):
    refused(error, code, service.list_unreported_members, caller, org_id=BRANCH)
    refused(NotFound, "ORG_NOT_FOUND", service.list_unreported_members, SECRETARY, org_id=BRANCH2)
