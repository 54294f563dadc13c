"""Attendance statistics (考勤统计) over activity summaries, and their export to XLSX.

An activity summary is {activity_id, branch_id, branch_name, month, status, totals, statuses, printed_scans,
names} (``printed_scans``: member_id -> scans made with the printed code, kept at closing):
``totals`` as ``closing.totals`` (None until the activity is closed), ``statuses``
member_id -> present|incomplete|excused|absent|mobile ({} until closed) and ``names``
member_id -> name as frozen on the roster (only needed for rows by member).

The attendance rate is present / expected, where expected counts the members who had to
come and were not excused: ``servicekit.roster.expected_to_sign_in`` (on_site_expected - excused,
i.e. present + incomplete + absent), the same denominator as the branch score's sign-in component.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime

from openpyxl import Workbook

from servicekit import roster
from servicekit.spreadsheets import append_row, workbook_bytes
from servicekit.timestamps import LOCAL_ZONE

from .closing import ABSENT, EXCUSED, INCOMPLETE, MOBILE, PRESENT, STATUSES

FIGURES = ("roster", "on_site_expected", PRESENT, INCOMPLETE, EXCUSED, ABSENT, MOBILE)
RATE_FIELDS = {"attendance_rate"}

STAT_HEADERS = {
    "activity_id": "活动编号",
    "branch_id": "支部编号",
    "branch_name": "支部名称",
    "month": "月份",
    "status": "活动状态",
    "member_id": "党员编号",
    "member_name": "党员姓名",
    "activities": "活动次数",
    "closed": "已结束活动数",
    "roster": "应参加人数",
    "on_site_expected": "应到现场人数",
    "present": "出席",
    "incomplete": "未签退",
    "excused": "请假",
    "absent": "缺勤",
    "mobile": "流动党员（线上参与）",
    "mobile_liked": "流动党员点赞数",
    "reflections": "心得体会数",
    "photos": "照片数",
    "text_chars": "文字记录字数",
    "attendance_rate": "出勤率",
    "printed_code_scans": "打印码扫码次数",
}
PRINTED = "printed_code_scans"


def rate(numerator: float, denominator: float) -> float | None:
    """numerator / denominator rounded to 4 places; None when the denominator is 0."""
    if not denominator:
        return None
    return round(numerator / denominator, 4)


def _attendance_rate(figures: dict) -> float | None:
    if "on_site_expected" not in figures:      # a member's row: its statuses over the activities
        figures = {**figures, "on_site_expected": sum(figures[status] for status in STATUSES) - figures[MOBILE]}
    return rate(figures[PRESENT], roster.expected_to_sign_in(figures))


def by_activity(activities: list[dict]) -> list[dict]:
    """One row per activity, in the given order; figures are None until it is closed."""
    rows = []
    for activity in activities:
        totals = activity.get("totals")
        row = {key: activity.get(key) for key in ("activity_id", "branch_id", "branch_name", "month", "status")}
        if totals:
            row.update({figure: totals.get(figure, 0) for figure in FIGURES})
            row["attendance_rate"] = _attendance_rate(row)
            row[PRINTED] = sum((activity.get("printed_scans") or {}).values())
        else:
            row.update({figure: None for figure in FIGURES})
            row["attendance_rate"] = None
            row[PRINTED] = None
        rows.append(row)
    return rows


def by_branch(activities: list[dict]) -> list[dict]:
    """One row per branch (in order of first appearance) summing its closed activities."""
    branches: dict[str, dict] = {}
    for activity in activities:
        branch_id = activity.get("branch_id")
        row = branches.setdefault(branch_id, {
            "branch_id": branch_id, "branch_name": activity.get("branch_name"), "activities": 0, "closed": 0,
            **{figure: 0 for figure in FIGURES}, PRINTED: 0,
        })
        row["activities"] += 1
        totals = activity.get("totals")
        if totals:
            row["closed"] += 1
            for figure in FIGURES:
                row[figure] += totals.get(figure, 0)
            row[PRINTED] += sum((activity.get("printed_scans") or {}).values())
    for row in branches.values():
        printed = row.pop(PRINTED)
        row["attendance_rate"] = _attendance_rate(row)
        row[PRINTED] = printed
    return list(branches.values())


def _member_row(member_id: str) -> dict:
    return {"member_id": member_id, "member_name": "", "branch_id": "", "branch_name": "", "activities": 0,
            **{status: 0 for status in STATUSES}, PRINTED: 0}


def by_member(activities: list[dict], member_id: str | None = None) -> list[dict]:
    """One row per member (sorted by id) counting their statuses over closed activities.

    The member's name and branch are those of their latest activity (by month) in the range: the name as
    frozen on its roster, so a member who moved branch shows the branch they attend now. With
    ``member_id``, only that member's row, with zeros (and no name) when they took part in none.
    """
    members: dict[str, dict] = {}
    latest: dict[str, str] = {}
    if member_id is not None:
        members[member_id] = _member_row(member_id)
    for activity in activities:
        names = activity.get("names") or {}
        month = activity.get("month") or ""
        for someone, status in (activity.get("statuses") or {}).items():
            if member_id is not None and someone != member_id:
                continue
            row = members.setdefault(someone, _member_row(someone))
            row["activities"] += 1
            if status in STATUSES:
                row[status] += 1
            row[PRINTED] += (activity.get("printed_scans") or {}).get(someone, 0)
            if month >= latest.get(someone, ""):
                latest[someone] = month
                row.update(member_name=names.get(someone) or row["member_name"],
                           branch_id=activity.get("branch_id") or "", branch_name=activity.get("branch_name") or "")
    rows = [members[key] for key in sorted(members)]
    for row in rows:
        printed = row.pop(PRINTED)
        row["attendance_rate"] = _attendance_rate(row)
        row[PRINTED] = printed
    return rows


def _sheet_title(name: str, used: set[str]) -> str:
    title = re.sub(r"[\[\]:*?/\\]", "_", str(name)).strip("'")[:31] or "Sheet"
    candidate, number = title, 2
    while candidate.lower() in used:
        suffix = f" ({number})"
        candidate, number = title[:31 - len(suffix)] + suffix, number + 1
    used.add(candidate.lower())
    return candidate


def _cell(value: object) -> object:
    if isinstance(value, datetime):
        # Excel has no time zones: aware times are written as the tenant's local time.
        return value.astimezone(LOCAL_ZONE).replace(tzinfo=None) if value.tzinfo else value
    if value is None or isinstance(value, (bool, int, float, str, date)):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def to_xlsx(sheets: dict[str, list[dict]], headers: dict[str, str]) -> bytes:
    """An XLSX workbook, one sheet per key, with a header row of ``headers[field]`` (the field
    name when not given). Numbers stay numbers; rates are shown as percentages."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    used: set[str] = set()
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(_sheet_title(name, used))
        fields: list[str] = []
        for row in rows:
            fields += [field for field in row if field not in fields]
        if fields:
            append_row(sheet, [headers.get(field, field) for field in fields])
        for row in rows:
            append_row(sheet, [_cell(row.get(field)) for field in fields])
        for index, field in enumerate(fields, start=1):
            if field in RATE_FIELDS:
                for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                    cell.number_format = "0.00%"
    if not workbook.worksheets:
        workbook.create_sheet("统计")
    return workbook_bytes(workbook)
