"""Recommendations and the branch gap report through the entry points, with the fake store and identity: what
is recommended and why, what is left out, who may read a branch's report, and bad input refused."""
from __future__ import annotations

import pytest

from servicekit.errors import InvalidArgument, NotFound, PermissionDenied
from tests.fast.content.fakes import (BRANCH, BRANCH_B, CITY, CITY_ADMIN, COUNTY, COUNTY_ADMIN, FOREIGN_ADMIN,
                                      MEMBER, OTHER_COUNTY_ADMIN, SECRETARY, scope)
from tests.fast.content.recommend_fakes import stock


@pytest.fixture
def stocked(service, store):
    stock(store)
    return service


def by_id(answer: dict) -> dict[str, dict]:
    return {pick["item_id"]: pick for pick in answer["recommendations"]}


# ----------------------------------------------------------------------------- a member's recommendations
def test_a_member_gets_items_of_its_path_with_their_reasons(stocked, store):
    answer = stocked.list_recommendations(MEMBER)
    picks = by_id(answer)
    store.published_heads.assert_called_once_with([CITY, COUNTY, BRANCH])
    assert answer["recommendations"][0]["item_id"] == "itm_city_dz"          # its weakest category first
    assert picks["itm_city_dz"]["reason"] == "党章 类题目正确率 45%"
    assert picks["itm_branch_xc"]["reason"] == "您搜索过「乡村振兴」"
    assert picks["itm_county_ds"]["reason"] == "您常阅读「党史」相关内容"
    assert answer["gaps"] == [{"category": "党章", "answered": 20, "correct": 9, "rate": 0.45, "percent": 45}]
    store.recent_reads_of.assert_called_once_with("m_1", 200)
    store.category_stats_of.assert_called_once_with("m_1")


def test_what_it_read_or_studied_and_notices_are_left_out(stocked):
    assert set(by_id(stocked.list_recommendations(MEMBER))) == {"itm_city_dz", "itm_county_ds", "itm_branch_xc"}


def test_another_tenants_answers_never_make_a_gap(stocked):
    # the sample has a 0 % row of another tenant in 时事政策
    assert [gap["category"] for gap in stocked.list_recommendations(MEMBER)["gaps"]] == ["党章"]


def test_the_limit_is_honoured_and_checked(stocked, store):
    assert len(stocked.list_recommendations(MEMBER, limit=1)["recommendations"]) == 1
    for limit, code in ((-1, "OUT_OF_RANGE"), (51, "OUT_OF_RANGE"), ("3", "INVALID_TYPE"), (True, "INVALID_TYPE")):
        with pytest.raises(InvalidArgument) as refused:
            stocked.list_recommendations(MEMBER, limit=limit)
        assert (refused.value.code, refused.value.field) == (code, "limit")


@pytest.mark.parametrize("caller", [CITY_ADMIN, COUNTY_ADMIN])
def test_only_members_get_recommendations(stocked, store, caller):
    with pytest.raises(PermissionDenied) as refused:
        stocked.list_recommendations(caller)
    assert refused.value.code == "MEMBER_ONLY"
    store.published_heads.assert_not_called()


# ----------------------------------------------------------------------------- a branch's gap report
@pytest.mark.parametrize("caller", [SECRETARY, COUNTY_ADMIN, CITY_ADMIN])
def test_the_branch_report_lists_weakest_categories_and_members_behind(stocked, caller):
    report = stocked.branch_gap_report(caller, branch_id=BRANCH)
    assert (report["branch_id"], report["branch_name"], report["month"]) == (BRANCH, "一支部", "2026-12")
    assert [(row["category"], row["percent"], row["gap"], row["members"], row["members_with_gap"])
            for row in report["categories"]] == [("党章", 57, True, 2, 1), ("党史", 90, False, 1, 0)]
    assert [row["category"] for row in report["weakest"]] == ["党章"]
    [package] = report["packages"]
    assert (package["package_id"], package["item_count"], package["behind_count"]) == ("pkg_1", 2, 2)
    # m_1 studied both items; m_2 one; m_secretary none (the roster is identity's)
    assert [(m["member_id"], m["studied_count"]) for m in package["members_behind"]] == [
        ("m_2", 1), ("m_secretary", 0)]


def test_another_month_has_no_package(stocked):
    assert stocked.branch_gap_report(SECRETARY, branch_id=BRANCH, month="2026-11")["packages"] == []


@pytest.mark.parametrize("caller", [OTHER_COUNTY_ADMIN, FOREIGN_ADMIN,
                                    scope("branch_secretary", BRANCH_B, member_id="m_4", branch_id=BRANCH_B)])
def test_outside_the_subtree_the_branch_is_not_found_as_if_it_did_not_exist(stocked, store, caller):
    codes = set()
    for branch_id in (BRANCH, "org_nowhere"):
        with pytest.raises(NotFound) as refused:
            stocked.branch_gap_report(caller, branch_id=branch_id)
        codes.add((refused.value.code, refused.value.field))
    assert codes == {("ORG_NOT_FOUND", "org_id")}
    store.category_stats_of_branch.assert_not_called()


def test_a_member_cannot_read_its_branch_report(stocked, store):
    with pytest.raises(PermissionDenied) as refused:
        stocked.branch_gap_report(MEMBER, branch_id=BRANCH)
    assert refused.value.code == "NOT_ORG_MANAGER"
    store.category_stats_of_branch.assert_not_called()


@pytest.mark.parametrize("arguments, code, field", [
    ({"branch_id": ""}, "REQUIRED", "branch_id"), ({"branch_id": 7}, "INVALID_TYPE", "branch_id"),
    ({"branch_id": BRANCH, "month": "2026-1"}, "INVALID_MONTH", "month"),
    ({"branch_id": BRANCH, "month": "12/2026"}, "INVALID_MONTH", "month"),
    ({"branch_id": COUNTY}, "NOT_A_BRANCH", "branch_id"),
])
def test_bad_input_is_refused(stocked, store, arguments, code, field):
    with pytest.raises(InvalidArgument) as refused:
        stocked.branch_gap_report(COUNTY_ADMIN, **arguments)
    assert (refused.value.code, refused.value.field) == (code, field)
    store.category_stats_of_branch.assert_not_called()
