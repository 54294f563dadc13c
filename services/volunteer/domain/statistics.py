"""Volunteer statistics of a subtree over a period (pure): orders by status and category, the minutes from an
order's placing to its dispatch, first claim and completion, citizens' ratings, hours rankings, and the XLSX export.

A period is two China dates, both included ("" leaves its end open). Orders count by the day they were placed;
hours by the day they were credited (the ledger's ``day``).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from openpyxl import Workbook

from servicekit.errors import InvalidArgument
from servicekit.spreadsheets import append_row, workbook_bytes
from servicekit.timestamps import LOCAL_ZONE, parse_stamp, stamp

from services.volunteer.domain.orders import STATUS_LABELS, OrderState

RANKING_KINDS = ("member", "branch", "community")
RANKING_LIMITS = (1, 500)
DEFAULT_RANKING_LIMIT = 20
STARS = (1, 2, 3, 4, 5)
_DATE = re.compile(r"\d{4}-\d\d-\d\d")


@dataclass(frozen=True)
class Period:
    since: str              # first day (YYYY-MM-DD), "" for no start
    until: str              # last day, "" for no end
    since_stamp: str        # the first day's start in China, as a stored stamp ("" for none)
    until_stamp: str        # the day after the last one, in China: excluded ("" for none)

    @property
    def label(self) -> str:
        if not self.since and not self.until:
            return "全部"
        return f"{self.since or '最早'} 至 {self.until or '今'}"


def _day(value, field: str) -> date | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidArgument(f"{field} 必须是字符串", code="INVALID_TYPE", field=field)
    try:
        if not _DATE.fullmatch(value.strip()):
            raise ValueError(value)
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidArgument("日期格式应为 YYYY-MM-DD", code="DATE_INVALID", field=field) from None


def _start_of(day: date) -> str:
    return stamp(datetime.combine(day, time(0), tzinfo=LOCAL_ZONE))


def period(since, until) -> Period:
    first, last = _day(since, "since"), _day(until, "until")
    if first and last and last < first:
        raise InvalidArgument("结束日期不能早于开始日期", code="PERIOD_INVALID", field="until")
    return Period(first.isoformat() if first else "", last.isoformat() if last else "",
                  _start_of(first) if first else "", _start_of(last + timedelta(days=1)) if last else "")


# --- orders -------------------------------------------------------------------------------------------
def minutes_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return max((parse_stamp(end) - parse_stamp(start)).total_seconds(), 0.0) / 60.0


def distribution(values: list[float]) -> dict:
    """The median and the 90th percentile (nearest rank) in minutes, to one decimal; 0 for none."""
    ordered = sorted(values)
    if not ordered:
        return {"count": 0, "median": 0.0, "p90": 0.0}
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    p90 = ordered[max(math.ceil(0.9 * len(ordered)) - 1, 0)]
    return {"count": len(ordered), "median": round(median, 1), "p90": round(p90, 1)}


def order_statistics(orders: list[dict], categories: list[dict], is_overdue) -> dict:
    """What the orders of a period show: counts by status (every state, zero included) and by category code (the
    tenant's categories, zero included, and any other found), the minutes from placing to dispatch, first claim and
    completion, the ratings (stars "1".."5"), and how many are overdue now (``is_overdue(order)``)."""
    by_status = {state.value: 0 for state in OrderState}
    by_category = {category["code"]: 0 for category in categories}
    waits = {"dispatch": [], "claim": [], "completion": []}
    stars = {str(star): 0 for star in STARS}
    overdue = 0
    for order in orders:
        by_status[order["status"]] = by_status.get(order["status"], 0) + 1
        by_category[order.get("category", "")] = by_category.get(order.get("category", ""), 0) + 1
        for key, field in (("dispatch", "dispatched_at"), ("claim", "first_claimed_at"),
                           ("completion", "completed_at")):
            minutes = minutes_between(order.get("placed_at"), order.get(field))
            if minutes is not None:
                waits[key].append(minutes)
        rating = order.get("rating")
        if isinstance(rating, int) and not isinstance(rating, bool) and str(rating) in stars:
            stars[str(rating)] += 1
        if is_overdue(order):
            overdue += 1
    rated = sum(stars.values())
    return {
        "orders_by_status": by_status,
        "orders_by_category": by_category,
        "minutes_to_dispatch": distribution(waits["dispatch"]),
        "minutes_to_claim": distribution(waits["claim"]),
        "minutes_to_completion": distribution(waits["completion"]),
        "ratings": {"count": rated,
                    "average": round(sum(int(star) * count for star, count in stars.items()) / rated, 2)
                    if rated else 0.0,
                    "by_stars": stars},
        "overdue": overdue,
    }


def status_label(key: str) -> str:
    try:
        return STATUS_LABELS[OrderState(key)]
    except ValueError:
        return key


# --- hours ----------------------------------------------------------------------------------------------
def ranking_kind(value) -> str:
    if value in (None, ""):
        return "member"
    if value not in RANKING_KINDS:
        raise InvalidArgument("by 只能是 member、branch 或 community", code="UNKNOWN_VALUE", field="by")
    return value


def ranking_limit(value) -> int:
    if value in (None, 0):
        return DEFAULT_RANKING_LIMIT
    low, high = RANKING_LIMITS
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidArgument(f"limit 必须是 {low} 到 {high} 之间的整数", code="OUT_OF_RANGE", field="limit")
    return value


def ranked(totals: dict[str, float], names: dict[str, str], limit: int | None = None) -> list[dict]:
    """Rows ``{rank, id, name, hours}``, most hours first; equal hours share a rank (1, 2, 2, 4)."""
    ordered = sorted(totals.items(), key=lambda item: (-round(item[1], 2), names.get(item[0], ""), item[0]))
    rows, rank, previous = [], 0, None
    for position, (key, hours) in enumerate(ordered[:limit] if limit else ordered, start=1):
        hours = round(hours, 2)
        if hours != previous:
            rank, previous = position, hours
        rows.append({"rank": rank, "id": key, "name": names.get(key, ""), "hours": hours})
    return rows


# --- the export ---------------------------------------------------------------------------------------------
def workbook(org_name: str, when: Period, stats: dict, categories: list[dict],
             rankings: dict[str, list[dict]]) -> bytes:
    """The statistics as an XLSX workbook with Chinese headers: an overview, orders by status and by category
    (named by the tenant's ``categories``), the ratings, and the hours rankings by member, branch and community."""
    labels = {category["code"]: category["label"] for category in categories}
    book = Workbook()
    overview = book.active
    overview.title = "概况"
    append_row(overview, ["项目", "数值"])
    for label, value in (
            ("组织", org_name), ("统计时段", when.label), ("订单总数", sum(stats["orders_by_status"].values())),
            ("志愿服务时长（小时）", stats["hours_total"]), ("超时未审核订单", stats["overdue"]),
            ("评价数", stats["ratings"]["count"]), ("平均评分", stats["ratings"]["average"]),
            ("点单到派单中位数（分钟）", stats["minutes_to_dispatch"]["median"]),
            ("点单到派单 90% 分位（分钟）", stats["minutes_to_dispatch"]["p90"]),
            ("点单到接单中位数（分钟）", stats["minutes_to_claim"]["median"]),
            ("点单到接单 90% 分位（分钟）", stats["minutes_to_claim"]["p90"]),
            ("点单到完成中位数（分钟）", stats["minutes_to_completion"]["median"]),
            ("点单到完成 90% 分位（分钟）", stats["minutes_to_completion"]["p90"])):
        append_row(overview, [label, value])
    _sheet(book, "订单状态", ["状态", "订单数"],
           [[status_label(key), count] for key, count in stats["orders_by_status"].items()])
    _sheet(book, "服务类别", ["服务类别", "订单数"],
           [[labels.get(key, key), count] for key, count in stats["orders_by_category"].items()])
    _sheet(book, "群众评分", ["星级", "评价数"],
           [[f"{stars} 星", count] for stars, count in stats["ratings"]["by_stars"].items()])
    for title, header, kind in (("党员时长排名", "党员", "member"), ("支部时长排名", "支部", "branch"),
                                ("社区时长排名", "社区/组织", "community")):
        _sheet(book, title, ["名次", header, "时长（小时）"],
               [[row["rank"], row["name"] or row["id"], row["hours"]] for row in rankings.get(kind, [])])
    return workbook_bytes(book)


def _sheet(book, title: str, headers: list[str], rows: list[list]) -> None:
    sheet = book.create_sheet(title)
    append_row(sheet, headers)
    for row in rows:
        append_row(sheet, row)
