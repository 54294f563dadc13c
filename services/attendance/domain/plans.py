"""The month's theme (issued by the superior) and a branch's activity plan: validation.

Dates and times in a plan are the tenant's local time (Asia/Shanghai); the validated plan
carries aware UTC datetimes for the activity and its sign-in/sign-out windows:

* sign-in opens 30 minutes before the start and closes ``grace_minutes`` after it
  (不能超时签到: no late sign-in);
* sign-out opens at the end and closes ``checkout_window_minutes`` after it
  (不能提前签退: no early sign-out).

The geofence radius is not part of the plan: the superior sets it (``validate_radius``).
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from servicekit.errors import InvalidArgument
from servicekit.geo import check_coordinates
from servicekit.timestamps import LOCAL_ZONE

from . import coords


DEFAULT_RADIUS_M = 300
RADIUS_RANGE = (50, 2000)
DEFAULT_GRACE_MINUTES = 10
GRACE_RANGE = (0, 60)
CHECKIN_OPENS_BEFORE_MINUTES = 30
DEFAULT_CHECKOUT_WINDOW_MINUTES = 60
CHECKOUT_WINDOW_RANGE = (10, 240)
MAX_DURATION_HOURS = 8
MAX_DUE_WINDOW_DAYS = 62
MAX_TITLE_CHARS = 100
MAX_VENUE_CHARS = 100
MAX_OPTIONAL_ACTIONS = 10
MAX_OPTIONAL_ACTION_CHARS = 50

# The six required actions (规定动作) of every themed party day, in their customary order.
REQUIRED_ACTIONS = (
    ("recite_constitution", "诵读党章"),
    ("pay_dues", "缴纳党费"),
    ("study_rules_history", "研学党规党情"),
    ("organisational_life", "落实组织生活"),
    ("democratic_deliberation", "开展民主议事"),
    ("democratic_openness", "实行民主公开"),
)
REQUIRED_ACTION_CODES = tuple(code for code, _ in REQUIRED_ACTIONS)
REQUIRED_ACTION_LABELS = dict(REQUIRED_ACTIONS)

_MONTH = re.compile(r"(\d{4})-(\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


def _text(value: object, field: str, max_chars: int, code: str, label: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not 1 <= len(text) <= max_chars:
        raise InvalidArgument(f"{label}不能为空，且不超过 {max_chars} 个字", code=code, field=field)
    return text


def _parse_date(value: object, field: str) -> date:
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InvalidArgument("日期格式应为 YYYY-MM-DD", code="DATE_INVALID", field=field)


def _as_date(value: object) -> date | None:
    """A theme's stored due date, as text or already a date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        return date.fromisoformat(value)
    return None


def _parse_time(value: object, field: str) -> tuple[int, int]:
    match = _TIME.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match:
        raise InvalidArgument("时间格式应为 HH:MM（24 小时制）", code="TIME_INVALID", field=field)
    return int(match.group(1)), int(match.group(2))


def _whole_number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _minutes(fields: dict, field: str, default: int, limits: tuple[int, int], code: str, label: str) -> int:
    value = fields.get(field)
    if value is None:
        return default
    number = _whole_number(value)
    low, high = limits
    if number is None or not low <= number <= high:
        raise InvalidArgument(f"{label}应为 {low} 到 {high} 之间的整数（分钟）", code=code, field=field)
    return number


def validate_grace(value: object) -> int:
    """Minutes after the start a sign-in still counts, within ``GRACE_RANGE`` (GRACE_MINUTES_INVALID)."""
    return _minutes({"grace_minutes": value}, "grace_minutes", DEFAULT_GRACE_MINUTES, GRACE_RANGE,
                    "GRACE_MINUTES_INVALID", "签到宽限时间")


def validate_radius(value: object) -> int:
    """The geofence radius in metres, a whole number within ``RADIUS_RANGE`` (RADIUS_INVALID)."""
    number = _whole_number(value)
    low, high = RADIUS_RANGE
    if number is None or not low <= number <= high:
        raise InvalidArgument(f"签到范围应为 {low} 到 {high} 米之间的整数", code="RADIUS_INVALID",
                              field="radius_m")
    return number


def _required_actions(value: object) -> list[str]:
    if value is None:
        return list(REQUIRED_ACTION_CODES)
    if not isinstance(value, (list, tuple)) or not value:
        raise InvalidArgument("至少选择一项规定动作", code="ACTION_UNKNOWN", field="required_actions")
    unknown = [item for item in value if item not in REQUIRED_ACTION_CODES]
    if unknown:
        raise InvalidArgument(f"未知的规定动作：{unknown[0]}", code="ACTION_UNKNOWN", field="required_actions")
    chosen = set(value)
    return [code for code in REQUIRED_ACTION_CODES if code in chosen]


def validate_theme(title: object, month: object, due_from: object, due_to: object,
                   required_actions: object = None) -> dict:
    """The month's theme, normalised: {title, month, due_from, due_to, required_actions}.

    ``month`` is ``YYYY-MM``; the due window ``due_from``..``due_to`` (``YYYY-MM-DD``, inclusive)
    spans at most 62 days; ``required_actions`` defaults to all six and is returned in the
    customary order.
    """
    title = _text(title, "title", MAX_TITLE_CHARS, "THEME_TITLE_INVALID", "主题名称")
    match = _MONTH.fullmatch(month.strip()) if isinstance(month, str) else None
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise InvalidArgument("月份格式应为 YYYY-MM", code="MONTH_INVALID", field="month")
    start = _parse_date(due_from, "due_from")
    end = _parse_date(due_to, "due_to")
    if end < start:
        raise InvalidArgument("截止日期不能早于开始日期", code="DUE_WINDOW_INVALID", field="due_to")
    if (end - start).days + 1 > MAX_DUE_WINDOW_DAYS:
        raise InvalidArgument(f"开展时间段不能超过 {MAX_DUE_WINDOW_DAYS} 天", code="DUE_WINDOW_INVALID",
                              field="due_to")
    return {
        "title": title,
        "month": match.group(0),
        "due_from": start.isoformat(),
        "due_to": end.isoformat(),
        "required_actions": _required_actions(required_actions),
    }


def validate_crs(value: object) -> str:
    """The coordinate system a venue is entered in: one of ``coords.SYSTEMS``, WGS-84 when empty
    (VENUE_CRS_INVALID otherwise)."""
    if value is None or value == "":
        return coords.WGS84
    if not isinstance(value, str) or value.strip().lower() not in coords.SYSTEMS:
        raise InvalidArgument("坐标系应为 wgs84（GPS）、gcj02（高德/腾讯地图）或 bd09（百度地图）",
                              code="VENUE_CRS_INVALID", field="venue_crs")
    return value.strip().lower()


def _optional_actions(value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or len(value) > MAX_OPTIONAL_ACTIONS:
        raise InvalidArgument(f"自选动作最多 {MAX_OPTIONAL_ACTIONS} 项", code="OPTIONAL_ACTIONS_INVALID",
                              field="optional_actions")
    actions: list[str] = []
    for item in value:
        text = _text(item, "optional_actions", MAX_OPTIONAL_ACTION_CHARS, "OPTIONAL_ACTIONS_INVALID",
                     "每项自选动作")
        if text not in actions:
            actions.append(text)
    return actions


def _local(day: date, hour_minute: tuple[int, int]) -> datetime:
    hour, minute = hour_minute
    try:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL_ZONE).astimezone(timezone.utc)
    except OverflowError:       # 0001-01-01 in China's time is before the calendar's first day in UTC
        raise InvalidArgument("日期格式应为 YYYY-MM-DD", code="DATE_INVALID", field="date") from None


def validate_plan(fields: dict, theme: dict, now: datetime) -> dict:
    """A branch's plan for the theme, normalised; times become aware UTC datetimes.

    ``fields``: date (YYYY-MM-DD), start_time and end_time (HH:MM, local time), venue_name,
    venue_lat, venue_lng, venue_crs, optional_actions, grace_minutes, checkout_window_minutes.
    The venue's coordinates come in ``venue_crs`` (``coords.SYSTEMS``, WGS-84 when empty) and are stored in
    WGS-84, the system phones report, with what was entered beside them (``venue_entered``).
    A date outside the theme's due window is allowed but reported as ``outside_due_window``
    for the reviewer.
    """
    day = _parse_date(fields.get("date"), "date")
    start_at = _local(day, _parse_time(fields.get("start_time"), "start_time"))
    end_at = _local(day, _parse_time(fields.get("end_time"), "end_time"))
    if end_at <= start_at:
        raise InvalidArgument("结束时间必须晚于开始时间", code="TIME_RANGE_INVALID", field="end_time")
    if end_at - start_at > timedelta(hours=MAX_DURATION_HOURS):
        raise InvalidArgument(f"活动时长不能超过 {MAX_DURATION_HOURS} 小时", code="DURATION_TOO_LONG",
                              field="end_time")
    if start_at <= now:
        raise InvalidArgument("活动开始时间已过，请选择将来的时间", code="PLAN_IN_PAST", field="start_time")
    venue_name = _text(fields.get("venue_name"), "venue_name", MAX_VENUE_CHARS, "VENUE_NAME_INVALID", "活动地点")
    lat, lng = check_coordinates(fields.get("venue_lat"), fields.get("venue_lng"), field_prefix="venue_")
    crs = validate_crs(fields.get("venue_crs"))
    wgs_lat, wgs_lng = coords.to_wgs84(lat, lng, crs)
    grace = validate_grace(fields.get("grace_minutes"))
    checkout_window = _minutes(fields, "checkout_window_minutes", DEFAULT_CHECKOUT_WINDOW_MINUTES,
                               CHECKOUT_WINDOW_RANGE, "CHECKOUT_WINDOW_INVALID", "签退时限")
    due_from, due_to = _as_date(theme.get("due_from")), _as_date(theme.get("due_to"))
    outside = bool((due_from and day < due_from) or (due_to and day > due_to))
    return {
        "date": day.isoformat(),
        "start_at": start_at,
        "end_at": end_at,
        "checkin_opens_at": start_at - timedelta(minutes=CHECKIN_OPENS_BEFORE_MINUTES),
        "checkin_closes_at": start_at + timedelta(minutes=grace),
        "checkout_closes_at": end_at + timedelta(minutes=checkout_window),
        "venue": {"name": venue_name, "lat": wgs_lat, "lng": wgs_lng},
        "venue_entered": {"lat": lat, "lng": lng, "crs": crs},
        "grace_minutes": grace,
        "checkout_window_minutes": checkout_window,
        "optional_actions": _optional_actions(fields.get("optional_actions")),
        "outside_due_window": outside,
    }
