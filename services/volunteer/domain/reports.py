"""双报到: a member reports to its residential community (pure rules).

A member has one current report; a new one ends it (the community may be the same one: a periodic report).
Reports form one chain per member, ``_id`` "<member_id>:<n>" with ``n`` one more than the current report's, so two
reports racing for the same place collide on the id instead of leaving two current ones.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

from servicekit.errors import InvalidArgument

CURRENT, ENDED = "current", "ended"
MAX_BACKDATE_DAYS = 30          # a report is entered soon after the visit; older dates would dodge the deadline
_DATE = re.compile(r"\d{4}-\d\d-\d\d")


def report_id(member_id: str, sequence: int) -> str:
    return f"{member_id}:{sequence}"


def next_sequence(current: dict | None) -> int:
    return int(current.get("sequence", 0)) + 1 if current else 1


def reported_on(value, today: date, current: dict | None) -> str:
    """The day of the report (``YYYY-MM-DD``, China's date; "" is today): not in the future, at most
    ``MAX_BACKDATE_DAYS`` back, and not before the day of the report it replaces."""
    if value is None or value == "":
        return today.isoformat()
    if not isinstance(value, str):
        raise InvalidArgument("报到日期必须是文字", code="INVALID_TYPE", field="reported_on")
    value = value.strip()
    try:
        if not _DATE.fullmatch(value):
            raise ValueError(value)
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidArgument("报到日期格式应为 YYYY-MM-DD", code="DATE_INVALID", field="reported_on") from None
    if day > today:
        raise InvalidArgument("报到日期不能晚于今天", code="REPORTED_ON_IN_FUTURE", field="reported_on")
    if day < today - timedelta(days=MAX_BACKDATE_DAYS):
        raise InvalidArgument(f"报到日期不能早于 {MAX_BACKDATE_DAYS} 天前", code="REPORTED_ON_TOO_OLD",
                              field="reported_on")
    if current and value < current["reported_on"]:
        raise InvalidArgument("报到日期不能早于当前报到的日期", code="REPORTED_ON_BEFORE_CURRENT",
                              field="reported_on")
    return value


def overdue(deadline: str, today: date) -> bool:
    """Whether a member with no report is past the tenant's deadline ("" is no deadline)."""
    return bool(deadline) and today.isoformat() > deadline


def unreported(rosters: dict[str, list[dict]], reported_ids: set[str], deadline: str, today: date,
               branch_names: dict[str, str]) -> list[dict]:
    """The members on the branches' rosters (identity's party members: probationary and full, who owe a report)
    with no current report, by branch then name."""
    late = overdue(deadline, today)
    rows = [{"member_id": member["member_id"], "name": member["name"], "branch_id": branch_id,
             "branch_name": branch_names.get(branch_id, ""), "overdue": late}
            for branch_id, roster in rosters.items() for member in roster if member["member_id"] not in reported_ids]
    return sorted(rows, key=lambda row: (row["branch_name"], row["branch_id"], row["name"], row["member_id"]))
