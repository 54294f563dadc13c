"""Member development (发展党员): applicant → activist → development target → probationary → full.

Rules for the dated record of a member's steps (``status_dates`` maps a status to the day it was reached):

- A member in a status has the date of that status and of every earlier step, except that a
  probationary or full member may lack the applicant, activist and development-target dates
  (records older than the platform). Any date that is present is checked all the same.
- No date for a step the member has not reached.
- No date after ``today``; dates never go backwards from one step to the next (the same day is allowed).
- At least one year as an activist before becoming a development target, and a probation of at least
  one year before becoming a full member: ``earlier + 1 year <= later``. A year after 29 February is
  1 March of the following year when that year has no 29 February (the full year must have passed).
- Advancing (``check_advance``) goes to the next step only: no skipping, no going back, full is last.

Problems name the import column of the date concerned (``applied_on`` … ``full_on``).
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Mapping

from servicekit.errors import Conflict, InvalidArgument

from .problems import Problem

STATUSES = ("applicant", "activist", "development_target", "probationary", "full")
STATUS_INDEX = {status: index for index, status in enumerate(STATUSES)}
DATE_FIELDS = {
    "applicant": "applied_on",
    "activist": "activist_on",
    "development_target": "development_target_on",
    "probationary": "probationary_on",
    "full": "full_on",
}
STATUS_LABELS = {
    "applicant": "入党申请人",
    "activist": "入党积极分子",
    "development_target": "发展对象",
    "probationary": "预备党员",
    "full": "正式党员",
}
DATE_LABELS = {
    "applicant": "申请入党日期",
    "activist": "确定为入党积极分子日期",
    "development_target": "确定为发展对象日期",
    "probationary": "入党日期",
    "full": "转正日期",
}
OPTIONAL_FOR_OLD_RECORDS = frozenset({"applicant", "activist", "development_target"})
MINIMUM_ONE_YEAR_AFTER = {"development_target": "activist", "full": "probationary"}
INTERVAL_MESSAGES = {
    "development_target": "确定为入党积极分子满一年后才能确定为发展对象",
    "full": "预备期满一年后才能转为正式党员",
}


def add_years(day: date, years: int) -> date:
    """The one calendar rule for "n years after" (lifecycle intervals, age, the demo city generator)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        # 29 Feb + 1 year = 1 March: a minimum must hold on every reading, and on 28 February it is a day short.
        return day.replace(year=day.year + years, day=28) + timedelta(days=1)


def is_date_required(step: str, status: str) -> bool:
    if STATUS_INDEX[step] > STATUS_INDEX[status]:
        return False
    return not (step in OPTIONAL_FOR_OLD_RECORDS and status in ("probationary", "full"))


def history_problems(status: str, status_dates: Mapping[str, date | None], today: date) -> list[Problem]:
    if status not in STATUS_INDEX:
        return [Problem("status", "STATUS_INVALID", f"未知的政治面貌：{status}" if status else "请填写政治面貌")]
    reached = STATUS_INDEX[status]
    problems = []
    previous: date | None = None
    previous_step = ""
    for index, step in enumerate(STATUSES):
        on = status_dates.get(step)
        field = DATE_FIELDS[step]
        if on is None:
            if is_date_required(step, status):
                problems.append(Problem(field, "DATE_MISSING",
                                        f"{STATUS_LABELS[status]}须填写{DATE_LABELS[step]}"))
            continue
        if index > reached:
            problems.append(Problem(field, "DATE_FOR_LATER_STEP",
                                    f"{STATUS_LABELS[status]}不应填写{DATE_LABELS[step]}"))
            continue
        if on > today:
            problems.append(Problem(field, "DATE_IN_FUTURE", f"{DATE_LABELS[step]}不能晚于今天"))
            continue
        if previous is not None and on < previous:
            problems.append(Problem(field, "DATE_BEFORE_PREVIOUS_STEP",
                                    f"{DATE_LABELS[step]}不能早于{DATE_LABELS[previous_step]}"))
            continue
        earlier_step = MINIMUM_ONE_YEAR_AFTER.get(step)
        if earlier_step:
            earlier = status_dates.get(earlier_step)
            if earlier is not None and on < add_years(earlier, 1):
                problems.append(Problem(field, "STATUS_INTERVAL_TOO_SHORT", INTERVAL_MESSAGES[step]))
                continue
        previous, previous_step = on, step
    return problems


def check_advance(current_status: str, status_dates: Mapping[str, date | None], target_status: str,
                  on: date, today: date) -> None:
    if target_status not in STATUS_INDEX:
        raise InvalidArgument(f"未知的政治面貌：{target_status}", code="STATUS_INVALID", field="status")
    if current_status not in STATUS_INDEX or STATUS_INDEX[target_status] != STATUS_INDEX[current_status] + 1:
        current_label = STATUS_LABELS.get(current_status, current_status)
        raise Conflict(f"{current_label}不能变更为{STATUS_LABELS[target_status]}，须按发展程序逐步进行",
                       code="STATUS_STEP_INVALID", field="status")
    if on > today:
        raise InvalidArgument(f"{DATE_LABELS[target_status]}不能晚于今天", code="DATE_IN_FUTURE", field="on")
    for step in reversed(STATUSES[:STATUS_INDEX[target_status]]):
        previous = status_dates.get(step)
        if previous is not None:
            if on < previous:
                raise InvalidArgument(f"{DATE_LABELS[target_status]}不能早于{DATE_LABELS[step]}",
                                      code="DATE_BEFORE_PREVIOUS_STEP", field="on")
            break
    earlier_step = MINIMUM_ONE_YEAR_AFTER.get(target_status)
    earlier = status_dates.get(earlier_step) if earlier_step else None
    if earlier is not None and on < add_years(earlier, 1):
        raise Conflict(INTERVAL_MESSAGES[target_status], code="STATUS_INTERVAL_TOO_SHORT", field="on")


def status_history(status_dates: Mapping[str, date | None]) -> list[dict[str, str]]:
    """The dated steps in lifecycle order, as the Member object's ``status_history``."""
    return [{"status": step, "on": status_dates[step].isoformat()}
            for step in STATUSES if status_dates.get(step) is not None]
