"""Volunteer statistics (services/volunteer/domain/statistics.py): periods, order figures, rankings, the export."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from servicekit.errors import InvalidArgument
from services.volunteer.domain import statistics as rules

CATEGORIES = [{"code": "skills", "label": "技能服务"}, {"code": "health", "label": "健康服务"}]


def test_a_period_is_two_china_dates_both_included():
    when = rules.period("2026-12-01", "2026-12-31")
    assert (when.since_stamp, when.until_stamp) == ("2026-11-30T16:00:00.000Z", "2026-12-31T16:00:00.000Z")
    assert when.label == "2026-12-01 至 2026-12-31"


def test_an_open_period_has_no_bounds():
    when = rules.period("", None)
    assert (when.since, when.until, when.since_stamp, when.until_stamp, when.label) == ("", "", "", "", "全部")


@pytest.mark.parametrize("since,until,code,field", [
    ("2026-12-31", "2026-12-01", "PERIOD_INVALID", "until"),
    ("2026-13-01", "", "DATE_INVALID", "since"),
    ("", "12/01/2026", "DATE_INVALID", "until"),
    (20261201, "", "INVALID_TYPE", "since"),
])
def test_a_bad_period_is_refused(since, until, code, field):
    with pytest.raises(InvalidArgument) as refused:
        rules.period(since, until)
    assert (refused.value.code, refused.value.field) == (code, field)


def test_distribution_gives_median_and_nearest_rank_p90():
    assert rules.distribution([]) == {"count": 0, "median": 0.0, "p90": 0.0}
    assert rules.distribution([30.0]) == {"count": 1, "median": 30.0, "p90": 30.0}
    assert rules.distribution([10.0, 40.0, 20.0, 30.0]) == {"count": 4, "median": 25.0, "p90": 40.0}
    assert rules.distribution([float(n) for n in range(1, 101)])["p90"] == 90.0


def order(status, category="skills", placed="2026-12-01T00:00:00.000Z", **times) -> dict:
    return {"status": status, "category": category, "placed_at": placed, **times}


def test_order_statistics_count_status_category_waits_ratings_and_overdue():
    orders = [
        order("placed"),
        order("placed", category="health"),
        order("confirmed", dispatched_at="2026-12-01T01:00:00.000Z", first_claimed_at="2026-12-01T01:30:00.000Z",
              completed_at="2026-12-01T05:00:00.000Z", rating=5),
        order("confirmed", category="own_kind", dispatched_at="2026-12-01T03:00:00.000Z", rating=4),
        order("closed", rating=True),
    ]
    stats = rules.order_statistics(orders, CATEGORIES, lambda o: o["status"] == "placed" and o["category"] == "health")
    assert stats["orders_by_status"]["placed"] == 2 and stats["orders_by_status"]["confirmed"] == 2
    assert stats["orders_by_status"]["open"] == 0 and len(stats["orders_by_status"]) == 11
    assert stats["orders_by_category"] == {"skills": 3, "health": 1, "own_kind": 1}
    assert stats["minutes_to_dispatch"] == {"count": 2, "median": 120.0, "p90": 180.0}
    assert stats["minutes_to_claim"] == {"count": 1, "median": 90.0, "p90": 90.0}
    assert stats["minutes_to_completion"] == {"count": 1, "median": 300.0, "p90": 300.0}
    assert stats["ratings"] == {"count": 2, "average": 4.5, "by_stars": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1}}
    assert stats["overdue"] == 1


def test_status_labels_are_the_order_lifecycle_s():
    assert (rules.status_label("placed"), rules.status_label("confirmed"), rules.status_label("odd")) == \
        ("待审核", "已完成", "odd")


def test_ranking_shares_ranks_on_equal_hours_and_honours_the_limit():
    rows = rules.ranked({"a": 3.0, "b": 5.0, "c": 3.0, "d": 1.004}, {"a": "甲", "b": "乙", "c": "丙"})
    assert [(row["rank"], row["id"], row["hours"]) for row in rows] == [
        (1, "b", 5.0), (2, "c", 3.0), (2, "a", 3.0), (4, "d", 1.0)]
    assert len(rules.ranked({"a": 1.0, "b": 2.0}, {}, 1)) == 1


@pytest.mark.parametrize("value,expected", [("", "member"), (None, "member"), ("branch", "branch")])
def test_ranking_kind(value, expected):
    assert rules.ranking_kind(value) == expected


def test_bad_ranking_arguments_are_refused():
    with pytest.raises(InvalidArgument):
        rules.ranking_kind("team")
    with pytest.raises(InvalidArgument):
        rules.ranking_limit(501)
    assert rules.ranking_limit(0) == 20


def test_the_export_has_chinese_sheets_and_keeps_formula_like_names_as_text():
    stats = {**rules.order_statistics([order("placed")], CATEGORIES, lambda o: False), "hours_total": 12.5}
    rankings = {"member": [{"rank": 1, "id": "m1", "name": "=HYPERLINK(\"x\")", "hours": 12.5}],
                "branch": [{"rank": 1, "id": "b1", "name": "", "hours": 12.5}], "community": []}
    content = rules.workbook("一区委", rules.period("2026-12-01", ""), stats, CATEGORIES, rankings)
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["概况", "订单状态", "服务类别", "群众评分", "党员时长排名", "支部时长排名", "社区时长排名"]
    overview = {row[0]: row[1] for row in book["概况"].iter_rows(min_row=2, values_only=True)}
    assert overview["组织"] == "一区委" and overview["统计时段"] == "2026-12-01 至 今"
    assert overview["订单总数"] == 1 and overview["志愿服务时长（小时）"] == 12.5
    member_rows = list(book["党员时长排名"].iter_rows(values_only=True))
    assert member_rows[0] == ("名次", "党员", "时长（小时）")
    assert member_rows[1] == (1, "=HYPERLINK(\"x\")", 12.5)
    assert book["党员时长排名"].cell(row=2, column=2).data_type == "s"
    assert list(book["支部时长排名"].iter_rows(values_only=True))[1] == (1, "b1", 12.5)
    assert list(book["订单状态"].iter_rows(values_only=True))[1] == ("待审核", 1)
    assert list(book["服务类别"].iter_rows(values_only=True))[1:] == [("技能服务", 1), ("健康服务", 0)]
