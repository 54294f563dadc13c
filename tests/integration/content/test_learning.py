"""Learning packages and study sessions with the real service, broker and store: time observed by the service's
own clock (short minimums and real short sleeps; no tight timing), progress per branch and county, refusals
for other tenants and other counties."""
from __future__ import annotations

import time

import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied

ITEM = {"key": "v1", "title": "党章学习视频", "kind": "video", "url": "https://example.org/v1.mp4", "min_seconds": 2,
        "cap_seconds": 3}


def new_package(rpc, caller, org_id, **overrides):
    fields = {"org_id": org_id, "month": "2026-12", "title": "十二月学习套餐", "due_on": "2026-12-31",
              "items": [ITEM], **overrides}
    return rpc.content.create_package(scope=caller, **fields)


def this_month_package(rpc, city, org_id, caller=None):
    """A package of the current month (members see this month's by default), published."""
    month = time.strftime("%Y-%m", time.gmtime(time.time() + 8 * 3600))
    package = new_package(rpc, caller or city.admin, org_id, month=month, due_on=f"{month}-28")
    return rpc.content.publish_package(scope=caller or city.admin, package_id=package["id"])


def test_a_member_studies_and_the_service_counts_the_time(rpc, city, other_city):
    branch, other_branch = city.branches[0][0], city.branches[1][0]
    member = city.member_login(city.add_member(branch, "王学习"), "studier")
    city.add_member(branch, "李未学")
    city.add_member(other_branch, "赵外县")
    package = this_month_package(rpc, city, city.root["id"])
    mine = rpc.content.list_my_packages(scope=member)
    assert [p["id"] for p in mine["packages"]] == [package["id"]]
    assert mine["packages"][0]["items"][0]["studied"] is False

    session = rpc.content.start_study(scope=member, package_id=package["id"], item_key="v1")
    for _ in range(3):
        time.sleep(1.1)
        beat = rpc.content.study_heartbeat(scope=member, session_id=session["session_id"])
    assert beat["studied"] is True and 2 <= beat["seconds"] <= 3       # capped at 3
    ended = rpc.content.end_study(scope=member, session_id=session["session_id"])
    assert ended["state"] == "ended" and ended["seconds"] <= 3
    with pytest.raises(Conflict) as refused:
        rpc.content.study_heartbeat(scope=member, session_id=session["session_id"])
    assert refused.value.code == "SESSION_CLOSED"
    assert rpc.content.get_package(scope=member, package_id=package["id"])["studied_count"] == 1

    by_branch = rpc.content.package_progress(scope=city.admin, package_id=package["id"])
    rows = {row["group_id"]: row for row in by_branch["rows"]}
    assert (rows[branch["id"]]["members"], rows[branch["id"]]["completed"]) == (2, 1)
    assert rows[branch["id"]]["completion_rate"] == 50.0 and rows[branch["id"]]["rank"] == 1
    assert rows[other_branch["id"]]["completion_rate"] == 0.0
    by_county = rpc.content.package_progress(scope=city.admin, package_id=package["id"], by="county")
    assert [(r["group_id"], r["members"], r["completed"]) for r in by_county["rows"]] == [
        (city.counties[0]["id"], 2, 1), (city.counties[1]["id"], 1, 0)]
    # the second county's admin sees its own county only; another city sees nothing
    own = rpc.content.package_progress(scope=city.county_admins[1], package_id=package["id"])
    assert {r["group_id"] for r in own["rows"]} == {b["id"] for b in city.branches[1]}
    for caller in (other_city.admin,):
        with pytest.raises(NotFound) as refused:
            rpc.content.package_progress(scope=caller, package_id=package["id"])
        assert refused.value.code == "PACKAGE_NOT_FOUND"
    members = rpc.content.package_branch_members(scope=city.county_admins[0], package_id=package["id"],
                                                 branch_id=branch["id"])
    assert [(m["name"], m["completed"]) for m in members["members"]] == [("李未学", False), ("王学习", True)]


def test_packages_are_refused_outside_the_callers_reach_and_bad_input_stores_nothing(rpc, city, other_city):
    county_one, county_two = city.counties
    package = new_package(rpc, city.county_admins[0], county_one["id"])
    for caller in (city.county_admins[1], other_city.admin):
        with pytest.raises(NotFound) as refused:
            rpc.content.get_package(scope=caller, package_id=package["id"])
        assert refused.value.code == "PACKAGE_NOT_FOUND"
        with pytest.raises(NotFound) as refused:
            rpc.content.publish_package(scope=caller, package_id=package["id"])
        assert refused.value.code == "PACKAGE_NOT_FOUND"
    with pytest.raises(NotFound):
        new_package(rpc, city.county_admins[1], county_one["id"])
    member = city.member_login(city.add_member(city.branches[0][0]), "plain-member")
    with pytest.raises(PermissionDenied):
        new_package(rpc, member, city.branches[0][0]["id"])
    with pytest.raises(InvalidArgument) as refused:
        new_package(rpc, city.county_admins[0], county_one["id"], items=[{**ITEM, "url": "ftp://x"}])
    assert (refused.value.code, refused.value.field) == ("INVALID_URL", "items[0].url")
    listed = rpc.content.list_packages(scope=city.county_admins[0], org_id=county_one["id"])
    assert [p["id"] for p in listed["packages"]] == [package["id"]]
    assert rpc.content.list_packages(scope=city.county_admins[1], org_id=county_two["id"])["packages"] == []
    # a draft is not studied; a published then closed one no longer counts
    with pytest.raises(NotFound):
        rpc.content.start_study(scope=member, package_id=package["id"], item_key="v1")
    rpc.content.publish_package(scope=city.county_admins[0], package_id=package["id"])
    rpc.content.close_package(scope=city.county_admins[0], package_id=package["id"])
    with pytest.raises(Conflict) as refused:
        rpc.content.start_study(scope=member, package_id=package["id"], item_key="v1")
    assert refused.value.code == "PACKAGE_NOT_OPEN"
