"""A member's own fields: validation and normalisation of a new member and of the updatable fields.

Values may be plain strings (from an import file or JSON) or already typed (``date``, ``bool``).
A blank gender or birth date is taken from the ID number; a given one must agree with it.
A blank status means ``applicant``, a blank enrolment ``none``, a blank mobile flag ``False``.
The member must be at least 18 on the earliest dated lifecycle step.
Each ``*_problem`` checker returns ``(normalised value, None)`` or ``(None, Problem)``: no exceptions on the
bulk-import path.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Callable, Mapping

from . import idcard, lifecycle
from .problems import Problem

GENDERS = ("male", "female")
ENROLMENTS = ("none", "enrolled", "graduated")
EDUCATION = ("", "初中及以下", "高中", "中专", "大专", "本科", "硕士", "博士")
EDUCATION_ALIASES = {
    "小学": "初中及以下", "初中": "初中及以下", "职高": "中专", "技校": "中专",
    "专科": "大专", "大学专科": "大专", "大学本科": "本科",
    "研究生": "硕士", "硕士研究生": "硕士", "博士研究生": "博士",
}
MAX_NAME_LENGTH = 30
MINIMUM_AGE = 18
UPDATABLE_FIELDS = ("name", "phone", "education", "enrolment", "mobile")

_PHONE = re.compile(r"1[3-9]\d{9}")
_PHONE_NOISE = str.maketrans("", "", " -")
_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?")
_TRUE = frozenset({"true", "1", "是", "yes", "y"})
_FALSE = frozenset({"false", "0", "否", "no", "n", ""})

Checked = tuple[object, Problem | None]


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _is_blank(value: object) -> bool:
    return value is None or value == ""


def date_problem(value: object, field: str) -> tuple[date | None, Problem | None]:
    if isinstance(value, datetime):
        return value.date(), None
    if isinstance(value, date):
        return value, None
    text = _text(value)
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            return date.fromisoformat(text), None
        except ValueError:
            pass
    match = _DATE.fullmatch(text)
    if match:
        try:
            return date(int(match[1]), int(match[2]), int(match[3])), None
        except ValueError:
            pass
    return None, Problem(field, "DATE_INVALID", f"日期“{text}”无效，请按 YYYY-MM-DD 填写")


def bool_problem(value: object, field: str = "mobile") -> tuple[bool | None, Problem | None]:
    if isinstance(value, bool):
        return value, None
    text = _text(value).lower()
    if text in _TRUE:
        return True, None
    if text in _FALSE:
        return False, None
    return None, Problem(field, "BOOLEAN_INVALID", f"“{text}”无效，请填写“是”或“否”")


def name_problem(value: object) -> tuple[str | None, Problem | None]:
    name = _text(value)
    if not name:
        return None, Problem("name", "NAME_INVALID", "请填写姓名")
    if len(name) > MAX_NAME_LENGTH:
        return None, Problem("name", "NAME_INVALID", f"姓名不能超过{MAX_NAME_LENGTH}个字")
    return name, None


def phone_problem(value: object) -> tuple[str | None, Problem | None]:
    phone = _text(value).translate(_PHONE_NOISE)
    if phone.startswith("+86"):
        phone = phone[3:]
    if _PHONE.fullmatch(phone):
        return phone, None
    message = f"手机号“{phone}”无效，应为11位大陆手机号" if phone else "请填写手机号"
    return None, Problem("phone", "PHONE_INVALID", message)


def education_problem(value: object) -> tuple[str | None, Problem | None]:
    education = _text(value)
    education = EDUCATION_ALIASES.get(education, education)
    if education in EDUCATION:
        return education, None
    return None, Problem("education", "EDUCATION_INVALID",
                         f"未知的学历：{education}，可选：{'、'.join(EDUCATION[1:])}")


def enrolment_problem(value: object) -> tuple[str | None, Problem | None]:
    enrolment = _text(value) or "none"
    if enrolment in ENROLMENTS:
        return enrolment, None
    return None, Problem("enrolment", "ENROLMENT_INVALID", f"未知的在校状态：{enrolment}")


def parse_date(value: object, field: str) -> date:
    day, problem = date_problem(value, field)
    if problem:
        raise problem.to_error()
    return day


def parse_bool(value: object, field: str = "mobile") -> bool:
    flag, problem = bool_problem(value, field)
    if problem:
        raise problem.to_error()
    return flag


_SIMPLE_FIELDS: tuple[tuple[str, Callable[[object], Checked]], ...] = (
    ("phone", phone_problem), ("education", education_problem),
    ("enrolment", enrolment_problem), ("mobile", bool_problem),
)
_UPDATE_CHECKERS: dict[str, Callable[[object], Checked]] = {"name": name_problem, **dict(_SIMPLE_FIELDS)}


def _status_date_values(fields: Mapping[str, object]) -> dict[str, object]:
    """Raw dates by status, from the ``status_dates`` dict and/or the per-step columns (columns win)."""
    given = fields.get("status_dates") or {}
    values = {status: value for status, value in given.items() if not _is_blank(value)}
    for status, column in lifecycle.DATE_FIELDS.items():
        value = fields.get(column)
        if not _is_blank(value):
            values[status] = value
    return values


def _identity_problems(fields: Mapping[str, object], today: date, normalized: dict, problems: list[Problem]
                       ) -> None:
    """ID number, and the gender and birth date that must agree with it."""
    id_number, problem = idcard.id_number_problem(fields.get("id_number"), today)
    if problem:
        problems.append(problem)
    normalized["id_number"] = id_number

    gender = _text(fields.get("gender"))
    if gender and gender not in GENDERS:
        problems.append(Problem("gender", "GENDER_INVALID", f"未知的性别：{gender}"))
    elif id_number:
        gender_in_number = idcard.gender_of(id_number)
        if gender and gender != gender_in_number:
            problems.append(Problem("gender", "GENDER_MISMATCH", "性别与身份证号不一致"))
        gender = gender_in_number
    elif not gender:
        problems.append(Problem("gender", "GENDER_INVALID", "请填写性别"))
    normalized["gender"] = gender

    birth_date = None
    raw_birth_date = fields.get("birth_date")
    if not _is_blank(raw_birth_date):
        birth_date, problem = date_problem(raw_birth_date, "birth_date")
        if problem:
            problems.append(problem)
    if id_number:
        birth_in_number = idcard.birth_date_of(id_number)
        if birth_date is not None and birth_date != birth_in_number:
            problems.append(Problem("birth_date", "BIRTH_DATE_MISMATCH", "出生日期与身份证号不一致"))
        birth_date = birth_in_number
    elif _is_blank(raw_birth_date):
        problems.append(Problem("birth_date", "DATE_INVALID", "请填写出生日期"))
    normalized["birth_date"] = birth_date


def _lifecycle_problems(fields: Mapping[str, object], today: date, normalized: dict, problems: list[Problem]
                        ) -> None:
    status = _text(fields.get("status")) or "applicant"
    status_dates: dict[str, date] = {}
    for status_key, value in _status_date_values(fields).items():
        column = lifecycle.DATE_FIELDS.get(status_key)
        if column is None:
            problems.append(Problem("status_dates", "STATUS_INVALID", f"未知的政治面貌：{status_key}"))
            continue
        on, problem = date_problem(value, column)
        if problem:
            problems.append(problem)
        else:
            status_dates[status_key] = on
    problems.extend(lifecycle.history_problems(status, status_dates, today))
    normalized["status"] = status
    normalized["status_dates"] = status_dates

    birth_date = normalized["birth_date"]
    if birth_date is not None and status_dates:
        earliest_step = min(status_dates, key=lifecycle.STATUS_INDEX.__getitem__)
        if status_dates[earliest_step] < lifecycle.add_years(birth_date, MINIMUM_AGE):
            problems.append(Problem(lifecycle.DATE_FIELDS[earliest_step], "TOO_YOUNG",
                                    f"{lifecycle.DATE_LABELS[earliest_step]}时须年满{MINIMUM_AGE}周岁"))


def member_problems(fields: Mapping[str, object], today: date) -> tuple[dict, list[Problem]]:
    """The normalised member and its problems, the first per field. The dict is complete only without problems."""
    problems: list[Problem] = []
    name, problem = name_problem(fields.get("name"))
    if problem:
        problems.append(problem)
    normalized: dict = {"name": name}
    _identity_problems(fields, today, normalized, problems)
    for field, check in _SIMPLE_FIELDS:
        normalized[field], problem = check(fields.get(field))
        if problem:
            problems.append(problem)
    _lifecycle_problems(fields, today, normalized, problems)
    return normalized, _first_per_field(problems)


def _first_per_field(problems: list[Problem]) -> list[Problem]:
    if len(problems) < 2:
        return problems
    seen: set[str] = set()
    first = []
    for problem in problems:
        if problem.field not in seen:
            seen.add(problem.field)
            first.append(problem)
    return first


def validate_member_update(changes: Mapping[str, object]) -> dict:
    """Normalises the changed fields; keys whose value is None are left out (unchanged)."""
    normalized: dict = {}
    for field, value in changes.items():
        check = _UPDATE_CHECKERS.get(field)
        if check is None:
            raise Problem(field, "FIELD_NOT_UPDATABLE", f"字段 {field} 不能修改").to_error()
        if value is None:
            continue
        normalized[field], problem = check(value)
        if problem:
            raise problem.to_error()
    return normalized
