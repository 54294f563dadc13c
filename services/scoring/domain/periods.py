"""Periods: a month "2026-05", a quarter "2026-Q2" or a year "2026"; their months and predecessors."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from servicekit.errors import InvalidArgument

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
MONTH, QUARTER, YEAR = "month", "quarter", "year"


@dataclass(frozen=True)
class Period:
    kind: str
    year: int
    number: int = 0     # month 1-12 or quarter 1-4; 0 for a year

    @property
    def key(self) -> str:
        if self.kind == MONTH:
            return f"{self.year:04d}-{self.number:02d}"
        if self.kind == QUARTER:
            return f"{self.year:04d}-Q{self.number}"
        return f"{self.year:04d}"

    @property
    def months(self) -> list[str]:
        if self.kind == MONTH:
            return [self.key]
        first, count = ((self.number - 1) * 3 + 1, 3) if self.kind == QUARTER else (1, 12)
        return [f"{self.year:04d}-{month:02d}" for month in range(first, first + count)]

    def previous(self) -> "Period":
        if self.kind == YEAR:
            return Period(YEAR, self.year - 1)
        last = 12 if self.kind == MONTH else 4
        if self.number == 1:
            return Period(self.kind, self.year - 1, last)
        return Period(self.kind, self.year, self.number - 1)


def parse_period(text, field: str = "period") -> Period:
    if not isinstance(text, str):
        raise InvalidArgument("时段必须是字符串", code="INVALID_TYPE", field=field)
    text = text.strip()
    for pattern, kind in ((_MONTH, MONTH), (_QUARTER, QUARTER), (_YEAR, YEAR)):
        found = pattern.match(text)
        if found:
            year = int(found.group(1))
            if not 2000 <= year <= 2100:
                break
            return Period(kind, year, int(found.group(2)) if kind != YEAR else 0)
    raise InvalidArgument("时段格式应为 YYYY-MM、YYYY-Qn 或 YYYY", code="PERIOD_INVALID", field=field)


def parse_month(text, field: str = "month") -> str:
    period = parse_period(text, field)
    if period.kind != MONTH:
        raise InvalidArgument("月份格式应为 YYYY-MM", code="MONTH_INVALID", field=field)
    return period.key


def enclosing(month: str) -> list[str]:
    """The quarter and year a month belongs to."""
    year, number = int(month[:4]), int(month[5:7])
    return [f"{year:04d}-Q{(number - 1) // 3 + 1}", f"{year:04d}"]


def month_range(first: str, last: str) -> list[str]:
    start, end = parse_month(first, "month_from"), parse_month(last, "month_to")
    if start > end:
        raise InvalidArgument("起始月份晚于结束月份", code="RANGE_INVALID", field="month_from")
    months, year, number = [], int(start[:4]), int(start[5:])
    while f"{year:04d}-{number:02d}" <= end:
        months.append(f"{year:04d}-{number:02d}")
        year, number = (year + 1, 1) if number == 12 else (year, number + 1)
        if len(months) > 120:
            raise InvalidArgument("时间跨度不能超过 120 个月", code="RANGE_TOO_LONG", field="month_to")
    return months


def cycle_of(day: str, cycle_kind: str) -> str:
    """The points cycle a date (YYYY-MM-DD) falls in: "2026" (calendar) or "2026-2027" (academic, from September)."""
    year, month = int(day[:4]), int(day[5:7])
    if cycle_kind == "academic":
        start = year if month >= 9 else year - 1
        return f"{start}-{start + 1}"
    return f"{year}"


_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MOST_DAYS = 366


def day_range(since, until) -> tuple[str, str]:
    """Two days YYYY-MM-DD, first to last inclusive, at most ``MOST_DAYS`` days apart (a week, a month)."""
    days = []
    for value, field in ((since, "since"), (until, "until")):
        if not isinstance(value, str) or not _DAY.match(value):
            raise InvalidArgument(f"{field} 格式应为 YYYY-MM-DD", code="DATE_INVALID", field=field)
        try:
            days.append(date.fromisoformat(value))
        except ValueError:
            raise InvalidArgument(f"{field} 格式应为 YYYY-MM-DD", code="DATE_INVALID", field=field) from None
    if days[1] < days[0]:
        raise InvalidArgument("until 不能早于 since", code="RANGE_INVALID", field="until")
    if (days[1] - days[0]).days >= MOST_DAYS:
        raise InvalidArgument(f"时间范围不能超过 {MOST_DAYS} 天", code="RANGE_TOO_LONG", field="until")
    return since, until
