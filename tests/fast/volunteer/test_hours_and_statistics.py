"""Hours and statistics through the service's entry points: a member's ledger, a manager's view of a member's,
a subtree's statistics, rankings and export over a period, and who may ask for each."""
from __future__ import annotations

import base64
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from servicekit.errors import InvalidArgument, NotFound, PermissionDenied
from servicekit.storage.subtree import ancestor_fields
from servicekit.timestamps import stamp
from services.volunteer.domain.hours import ledger_entry
from tests.fast.volunteer.team_fakes import (BRANCH, BRANCH2, BRANCH_B, CITIZEN, CITY, CITY_ADMIN, COMMUNITY,
                                             COMMUNITY_ADMIN, COMMUNITY_B, COUNTY, COUNTY_ADMIN, FOREIGN_ADMIN,
                                             MEMBER, MEMBER_2, NOW, OTHER_COUNTY_ADMIN, OTHER_MEMBER, PATHS,
                                             SECRETARY, clock, identity, service, store)  # noqa: F401

MEMBERS = {"m_1": ("张三", BRANCH), "m_3": ("赵六", BRANCH2), "m_4": ("孙七", BRANCH_B)}


def credit(store, member_id, community, hours, days_ago=0, source="o1", kind="order"):
    name, branch = MEMBERS[member_id]
    entry = ledger_entry(tenant_id="ten_1", source_kind=kind, source_id=source, member_id=member_id,
                         member_name=name, branch_id=branch, branch_path=PATHS[branch], community_id=community,
                         community_path=PATHS[community], title=f"服务{source}", hours=hours,
                         credited_at=NOW - timedelta(days=days_ago))
    store.hours[entry["_id"]] = entry
    return entry


def order(store, order_id, community, status, placed_days_ago=1, **fields):
    placed = NOW - timedelta(days=placed_days_ago)
    store.orders[order_id] = {"_id": order_id, "tenant_id": "ten_1", **ancestor_fields(PATHS[community]),
                              "status": status, "category": "skills", "placed_at": stamp(placed),
                              **{key: stamp(placed + value) if isinstance(value, timedelta) else value
                                 for key, value in fields.items()}}


def refused(error_class, code, call, *args, **kwargs):
    with pytest.raises(error_class) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code
    return caught.value


# --- a member's hours --------------------------------------------------------------------------------------------
def test_a_member_pages_through_its_own_ledger_latest_first(service, store):
    credit(store, "m_1", COMMUNITY, 2.0, days_ago=2, source="o1")
    credit(store, "m_1", COMMUNITY, 1.25, days_ago=1, source="e1", kind="event")
    credit(store, "m_3", COMMUNITY, 5.0)
    first = service.get_my_hours(MEMBER, page_size=1, page_token="")
    assert first["total_hours"] == 3.25
    assert [(e["entry_id"], e["source_kind"], e["source_id"], e["title"], e["hours"]) for e in first["entries"]] == \
        [("event:e1:m_1", "event", "e1", "服务e1", 1.25)]
    rest = service.get_my_hours(MEMBER, page_size=1, page_token=first["next_page_token"])
    assert [e["entry_id"] for e in rest["entries"]] == ["order:o1:m_1"] and rest["next_page_token"] == ""
    assert service.get_my_hours(MEMBER_2) == {"member_id": "m_2", "total_hours": 0.0, "entries": [],
                                              "next_page_token": ""}
    refused(PermissionDenied, "MEMBER_ONLY", service.get_my_hours, COUNTY_ADMIN)


def test_the_managers_of_a_member_s_branch_read_its_hours(service, store):
    credit(store, "m_1", COMMUNITY, 2.0)
    for caller in (SECRETARY, COUNTY_ADMIN, CITY_ADMIN, MEMBER):
        seen = service.get_member_hours(caller, member_id="m_1")
        assert (seen["member_id"], seen["total_hours"]) == ("m_1", 2.0)
        assert [e["entry_id"] for e in seen["entries"]] == ["order:o1:m_1"]


@pytest.mark.parametrize("caller", [MEMBER_2, OTHER_COUNTY_ADMIN, COMMUNITY_ADMIN, FOREIGN_ADMIN, CITIZEN])
def test_anyone_else_finds_no_such_member(service, store, caller):
    credit(store, "m_1", COMMUNITY, 2.0)
    refused(NotFound, "MEMBER_NOT_FOUND", service.get_member_hours, caller, member_id="m_1")
    refused(NotFound, "MEMBER_NOT_FOUND", service.get_member_hours, COUNTY_ADMIN, member_id="")


# --- a subtree's statistics ---------------------------------------------------------------------------------------
def test_statistics_of_a_subtree_over_a_period(service, store):
    order(store, "o1", COMMUNITY, "confirmed", dispatched_at=timedelta(minutes=30),
          first_claimed_at=timedelta(minutes=50), completed_at=timedelta(hours=5), rating=5)
    order(store, "o2", COMMUNITY, "placed", placed_days_ago=3)                       # past review_hours: overdue
    order(store, "o3", COMMUNITY, "placed", placed_days_ago=0)
    order(store, "o4", COMMUNITY_B, "confirmed", rating=1)                           # another county
    order(store, "o5", COMMUNITY, "confirmed", placed_days_ago=40, rating=2)         # before the period
    credit(store, "m_1", COMMUNITY, 2.0, source="o1")
    credit(store, "m_4", COMMUNITY, 1.0, source="o1")                                # from another county, served here
    credit(store, "m_1", COMMUNITY_B, 4.0, source="o4")                              # served elsewhere
    stats = service.get_volunteer_statistics(COUNTY_ADMIN, org_id=COUNTY, since="2026-11-06", until="2026-12-06")
    statuses = stats["orders_by_status"]
    assert (statuses["placed"], statuses["confirmed"], statuses["open"], sum(statuses.values())) == (2, 1, 0, 3)
    assert stats["orders_by_category"] == {"skills": 3, "services": 0, "health": 0}
    assert stats["minutes_to_dispatch"] == {"count": 1, "median": 30.0, "p90": 30.0}
    assert stats["minutes_to_claim"]["median"] == 50.0 and stats["minutes_to_completion"]["median"] == 300.0
    assert stats["ratings"] == {"count": 1, "average": 5.0, "by_stars": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}}
    assert stats["overdue"] == 1 and stats["hours_total"] == 3.0
    whole = service.get_volunteer_statistics(CITY_ADMIN, org_id=CITY, since="", until="")
    assert sum(whole["orders_by_status"].values()) == 5 and whole["hours_total"] == 7.0
    assert sum(service.get_volunteer_statistics(COMMUNITY_ADMIN, org_id=COMMUNITY)["orders_by_status"].values()) == 4


@pytest.mark.parametrize("caller,error,code", [
    (MEMBER, PermissionDenied, "NOT_ORG_MANAGER"),
    (SECRETARY, NotFound, "ORG_NOT_FOUND"),
    (OTHER_COUNTY_ADMIN, NotFound, "ORG_NOT_FOUND"),
    (FOREIGN_ADMIN, NotFound, "ORG_NOT_FOUND"),
    (CITIZEN, NotFound, "ORG_NOT_FOUND"),
])
def test_statistics_rankings_and_exports_are_for_the_subtree_s_managers(service, caller, error, code):
    org_id = BRANCH if caller is MEMBER else COUNTY
    refused(error, code, service.get_volunteer_statistics, caller, org_id=org_id)
    refused(error, code, service.list_hours_ranking, caller, org_id=org_id)
    refused(error, code, service.export_volunteer_statistics, caller, org_id=org_id)


def test_a_bad_period_or_ranking_is_invalid(service):
    refused(InvalidArgument, "PERIOD_INVALID", service.get_volunteer_statistics, COUNTY_ADMIN, org_id=COUNTY,
            since="2026-12-06", until="2026-12-01")
    refused(InvalidArgument, "UNKNOWN_VALUE", service.list_hours_ranking, COUNTY_ADMIN, org_id=COUNTY, by="team")
    refused(InvalidArgument, "OUT_OF_RANGE", service.list_hours_ranking, COUNTY_ADMIN, org_id=COUNTY, limit=-1)


def test_rankings_by_member_branch_and_community(service, store):
    credit(store, "m_1", COMMUNITY, 2.0, source="o1")
    credit(store, "m_1", COMMUNITY_B, 4.0, source="o2")
    credit(store, "m_3", COMMUNITY, 3.0, source="o1")
    credit(store, "m_4", COMMUNITY, 1.0, source="o1")
    credit(store, "m_3", COMMUNITY, 9.0, source="o9", days_ago=60)
    members = service.list_hours_ranking(COUNTY_ADMIN, org_id=COUNTY, by="member", since="2026-11-01", until="")
    assert [(r["rank"], r["id"], r["name"], r["hours"]) for r in members["rows"]] == \
        [(1, "m_1", "张三", 6.0), (2, "m_3", "赵六", 3.0)]                         # m_4 is of another county
    branches = service.list_hours_ranking(COUNTY_ADMIN, org_id=COUNTY, by="branch", since="2026-11-01")
    assert [(r["rank"], r["id"], r["name"], r["hours"]) for r in branches["rows"]] == \
        [(1, BRANCH, "一支部", 6.0), (2, BRANCH2, "二支部", 3.0)]
    communities = service.list_hours_ranking(CITY_ADMIN, org_id=CITY, by="community", since="2026-11-01", limit=1)
    assert [(r["rank"], r["id"], r["name"], r["hours"]) for r in communities["rows"]] == [(1, COMMUNITY, "东关社区", 6.0)]


def test_the_export_is_an_xlsx_of_the_statistics_and_rankings(service, store):
    order(store, "o1", COMMUNITY, "confirmed", rating=4)
    credit(store, "m_1", COMMUNITY, 2.5, source="o1")
    exported = service.export_volunteer_statistics(COUNTY_ADMIN, org_id=COUNTY, since="2026-12-01", until="")
    assert exported["filename"] == "志愿服务统计-一区委-2026-12-01至今.xlsx"
    assert exported["content_type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = load_workbook(io.BytesIO(base64.b64decode(exported["content"])))
    overview = {row[0]: row[1] for row in book["概况"].iter_rows(min_row=2, values_only=True)}
    assert (overview["订单总数"], overview["志愿服务时长（小时）"], overview["平均评分"]) == (1, 2.5, 4.0)
    assert list(book["党员时长排名"].iter_rows(values_only=True))[1] == (1, "张三", 2.5)
    assert list(book["社区时长排名"].iter_rows(values_only=True))[1] == (1, "东关社区", 2.5)
