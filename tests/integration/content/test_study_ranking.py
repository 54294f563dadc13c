"""The branch's study ranking (本支部学习榜) in the real content process: ranked from learning's own records by items
studied then seconds; the branch's members see it only once the tenant turns study_points_public on, its
managers always; another branch, another county and another city get not found."""
from __future__ import annotations

import time
import uuid

import pytest

from servicekit.errors import NotFound, PermissionDenied
from tests.integration.content.test_community import secretary_of

pytestmark = pytest.mark.integration
ITEMS = [{"key": "a1", "title": "学习党章", "kind": "article", "url": "https://example.org/a1", "min_seconds": 1,
          "cap_seconds": 2},
         {"key": "a2", "title": "学习党史", "kind": "article", "url": "https://example.org/a2", "min_seconds": 1,
          "cap_seconds": 2}]


def study(rpc, member: dict, package_id: str, key: str) -> None:
    session = rpc.content.start_study(scope=member, package_id=package_id, item_key=key)
    time.sleep(1.2)
    assert rpc.content.end_study(scope=member, session_id=session["session_id"])["studied"] is True


def test_the_ranking_is_the_managers_and_the_members_once_public(rpc, city, other_city):
    branch, neighbour = city.branches[0][0], city.branches[0][1]
    first = city.member_login(city.add_member(branch, "钱学习"), f"m{uuid.uuid4().hex[:6]}")
    second = city.member_login(city.add_member(branch, "孙学习"), f"m{uuid.uuid4().hex[:6]}")
    city.add_member(branch, "李未学")
    outsider = city.member_login(city.add_member(neighbour, "周邻居"), f"m{uuid.uuid4().hex[:6]}")
    month = time.strftime("%Y-%m", time.gmtime(time.time() + 8 * 3600))
    package = rpc.content.create_package(scope=city.admin, org_id=city.root["id"], month=month, title="本月学习套餐",
                                         due_on=f"{month}-28", items=ITEMS)
    rpc.content.publish_package(scope=city.admin, package_id=package["id"])
    study(rpc, first, package["id"], "a1")
    study(rpc, first, package["id"], "a2")
    study(rpc, second, package["id"], "a1")

    ranking = rpc.content.study_ranking(scope=secretary_of(rpc, city, branch), branch_id=branch["id"])
    assert (ranking["month"], ranking["public"], ranking["members"], ranking["item_count"]) == (month, False, 3, 2)
    assert [(e["rank"], e["name"], e["items_studied"]) for e in ranking["entries"]] == [(1, "钱学习", 2), (2, "孙学习", 1)]
    assert all(1 <= e["seconds"] <= 4 for e in ranking["entries"])
    assert rpc.content.study_ranking(scope=city.county_admins[0], branch_id=branch["id"])["entries"] == \
        ranking["entries"]

    with pytest.raises(PermissionDenied) as refused:            # the tenant has not made it public
        rpc.content.study_ranking(scope=second, branch_id=branch["id"])
    assert refused.value.code == "STUDY_RANKING_OFF"
    rpc.content.set_settings(scope=city.admin, settings={"study_points_public": True})
    seen = rpc.content.study_ranking(scope=second, branch_id=branch["id"])
    assert seen["public"] is True and [(e["name"], e["me"]) for e in seen["entries"]] == [
        ("钱学习", False), ("孙学习", True)]

    for caller in (outsider, city.county_admins[1], other_city.admin):
        with pytest.raises(NotFound) as refused:
            rpc.content.study_ranking(scope=caller, branch_id=branch["id"])
        assert (refused.value.code, refused.value.field) == ("ORG_NOT_FOUND", "branch_id")
