"""Volunteer teams (志愿服务队) and their events (活动): validation, the event's lifecycle, a sign-up's lifecycle
and the judgement of a check-in or check-out fix (pure; time comes in as an argument).

An event::

    open ──close (its managers; credits the checked-out members' hours)──> closed

A sign-up (one per (event, member), ``_id`` "<event_id>:<member_id>")::

    (none) | cancelled ──sign up──> signed_up ──check in──> checked_in ──check out──> checked_out
                                    signed_up ──cancel───> cancelled

The actions on sign-ups are transitions of the event that leave it open (refused once it is closed), each with
its time guard, so what an event's state and clock allow lives in one table, as attendance's activities do.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Callable

from servicekit.errors import Conflict, InvalidArgument
from servicekit.geo import check_coordinates, distance_m, finite_number, require_number
from servicekit.timestamps import parse_stamp, stamp

from services.volunteer.domain.hours import hours_between

TEAM_NAME_MAX = 40
TEAM_DESCRIPTION_MAX = 500
EVENT_TITLE_MAX = 60
EVENT_DESCRIPTION_MAX = 2000
EVENT_ADDRESS_MAX = 200
REASON_MAX = 200
CAPACITY_LIMITS = (1, 1000)
FENCE_LIMITS = (50, 2000)
MAX_HOURS_CAP = 24
MAX_EVENT_DAYS = 7
CHECKIN_OPENS_BEFORE = timedelta(minutes=30)     # as attendance: the venue opens half an hour before the start
MAX_ACCURACY_M = 100                             # a fix less precise than this cannot place the member in a fence
MAX_ACCURACY_VALUE_M = 100_000

# --- team membership ------------------------------------------------------------------------
MEMBER_ACTIVE, MEMBER_LEFT = "active", "left"


def team_fields(name, description) -> dict:
    return {"name": _text(name, "name", TEAM_NAME_MAX, "队伍名称"),
            "description": _text(description, "description", TEAM_DESCRIPTION_MAX, "队伍简介", required=False)}


def removal_reason(reason) -> str:
    return _text(reason, "reason", REASON_MAX, "移出原因")


def may_join(team_org_id: str, branch_path, reported_community_id: str | None) -> bool:
    """A member may join a team of a node on its branch's path (its branch or a superior) or of the community it
    reported to (双报到)."""
    return team_org_id in (branch_path or ()) or bool(reported_community_id) and team_org_id == reported_community_id


# --- events: validation -----------------------------------------------------------------------
def event_fields(*, title, description, address, lat, lng, fence_radius_m, starts_at, ends_at, capacity, hours_cap,
                 now: datetime, default_radius_m: int, default_hours_cap: float) -> dict:
    """The stored fields of a new event (times as stamps); InvalidArgument names the first bad field. A radius or
    an hours cap of 0 (or none) takes the tenant's default."""
    lat, lng = check_coordinates(lat, lng)
    starts, ends = moment(starts_at, "starts_at", "开始时间"), moment(ends_at, "ends_at", "结束时间")
    if ends <= starts:
        raise InvalidArgument("结束时间必须晚于开始时间", code="EVENT_TIMES_INVALID", field="ends_at")
    if ends - starts > timedelta(days=MAX_EVENT_DAYS):
        raise InvalidArgument(f"活动时长不能超过 {MAX_EVENT_DAYS} 天", code="EVENT_TOO_LONG", field="ends_at")
    if ends <= now:
        raise InvalidArgument("活动结束时间已过", code="EVENT_IN_PAST", field="ends_at")
    return {"title": _text(title, "title", EVENT_TITLE_MAX, "活动名称"),
            "description": _text(description, "description", EVENT_DESCRIPTION_MAX, "活动内容", required=False),
            "address": _text(address, "address", EVENT_ADDRESS_MAX, "活动地点"),
            "lat": lat, "lng": lng,
            "fence_radius_m": _whole(fence_radius_m, "fence_radius_m", *FENCE_LIMITS, "签到范围（米）",
                                     default=default_radius_m),
            "starts_at": stamp(starts), "ends_at": stamp(ends),
            "capacity": _whole(capacity, "capacity", *CAPACITY_LIMITS, "招募人数"),
            "hours_cap": _hours_cap(hours_cap, default_hours_cap)}


def moment(value, field: str, label: str) -> datetime:
    """An ISO 8601 time with its zone (``2026-12-10T09:00:00+08:00`` or ``...Z``), as UTC."""
    if value is None or value == "" or isinstance(value, str) and not value.strip():
        raise InvalidArgument(f"{label}不能为空", code="REQUIRED", field=field)
    if not isinstance(value, str):
        raise InvalidArgument(f"{label}必须是文字", code="INVALID_TYPE", field=field)
    try:
        parsed = datetime.fromisoformat(value.strip()) if len(value) <= 40 else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None or parsed.utcoffset() is None:
        raise InvalidArgument(f"{label}格式无效，应为带时区的 ISO 8601 时间", code="TIME_INVALID", field=field)
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:       # year 1 or 9999 moved past the calendar's ends by its offset
        raise InvalidArgument(f"{label}格式无效，应为带时区的 ISO 8601 时间", code="TIME_INVALID", field=field) from None


# --- events: lifecycle --------------------------------------------------------------------------
class EventState(str, Enum):
    OPEN = "open"          # members sign up, check in and out
    CLOSED = "closed"      # its managers closed it: hours credited, nothing changes any more


OPEN, CLOSED = EventState
STATUS_LABELS = {OPEN: "报名中", CLOSED: "已结束"}


def _before_end(event: dict, now: datetime) -> bool:
    return now < parse_stamp(event["ends_at"])


def _check_in_window(event: dict, now: datetime) -> bool:
    return parse_stamp(event["starts_at"]) - CHECKIN_OPENS_BEFORE <= now <= parse_stamp(event["ends_at"])


@dataclass(frozen=True)
class Transition:
    """From ``sources`` to ``target`` (None: the state stays); Conflict ``code`` from any other state, and
    ``guard(event, now)`` must hold too, else ``guard_code(event, now)``."""
    name: str
    sources: frozenset[EventState]
    target: EventState | None
    code: str
    message: str
    guard: Callable[[dict, datetime], bool] | None = None
    guard_code: Callable[[dict, datetime], tuple[str, str]] | None = None


def _ended(event: dict, now: datetime) -> tuple[str, str]:
    return "EVENT_ENDED", "活动时间已过"


def _outside_check_in(event: dict, now: datetime) -> tuple[str, str]:
    if now < parse_stamp(event["starts_at"]) - CHECKIN_OPENS_BEFORE:
        return "TOO_EARLY", "签到尚未开始，活动开始前 30 分钟开放签到"
    return _ended(event, now)


_CLOSED = ("EVENT_CLOSED", "活动已结束")
SIGN_UP = Transition("sign_up", frozenset({OPEN}), None, *_CLOSED, guard=_before_end, guard_code=_ended)
CANCEL_SIGN_UP = Transition("cancel_sign_up", frozenset({OPEN}), None, *_CLOSED)
CHECK_IN = Transition("check_in", frozenset({OPEN}), None, *_CLOSED, guard=_check_in_window,
                      guard_code=_outside_check_in)
CHECK_OUT = Transition("check_out", frozenset({OPEN}), None, *_CLOSED)
CLOSE = Transition("close", frozenset({OPEN}), CLOSED, *_CLOSED)
TRANSITIONS = (SIGN_UP, CANCEL_SIGN_UP, CHECK_IN, CHECK_OUT, CLOSE)


def state_of(event: dict) -> EventState:
    return EventState(event["status"])


def apply(transition: Transition, event: dict, now: datetime) -> EventState:
    """The state ``transition`` takes ``event`` to (its own for an action); Conflict when refused."""
    state = state_of(event)
    if state not in transition.sources:
        raise Conflict(transition.message, code=transition.code)
    if transition.guard is not None and not transition.guard(event, now):
        code, message = transition.guard_code(event, now)
        raise Conflict(message, code=code)
    return transition.target or state


# --- sign-ups: lifecycle --------------------------------------------------------------------------
class SignupState(str, Enum):
    SIGNED_UP = "signed_up"
    CANCELLED = "cancelled"
    CHECKED_IN = "checked_in"
    CHECKED_OUT = "checked_out"


SIGNED_UP, CANCELLED, CHECKED_IN, CHECKED_OUT = SignupState
SIGNUP_LABELS = {SIGNED_UP: "已报名", CANCELLED: "已取消", CHECKED_IN: "已签到", CHECKED_OUT: "已签退"}
HOLDS_PLACE = frozenset({SIGNED_UP, CHECKED_IN, CHECKED_OUT})      # counted against the event's capacity

_NOT_SIGNED_UP = ("NOT_SIGNED_UP", "您尚未报名该活动")
_ALREADY_IN = ("ALREADY_CHECKED_IN", "您已签到")
# (action, state or None for no row) -> the state it leads to, or the refusal (code, message)
SIGNUP_TABLE: dict[tuple[str, SignupState | None], SignupState | tuple[str, str]] = {
    ("sign_up", None): SIGNED_UP,
    ("sign_up", CANCELLED): SIGNED_UP,
    ("sign_up", SIGNED_UP): ("ALREADY_SIGNED_UP", "您已报名该活动"),
    ("sign_up", CHECKED_IN): ("ALREADY_SIGNED_UP", "您已报名该活动"),
    ("sign_up", CHECKED_OUT): ("ALREADY_SIGNED_UP", "您已报名该活动"),
    ("cancel_sign_up", None): _NOT_SIGNED_UP,
    ("cancel_sign_up", CANCELLED): _NOT_SIGNED_UP,
    ("cancel_sign_up", SIGNED_UP): CANCELLED,
    ("cancel_sign_up", CHECKED_IN): ("ALREADY_CHECKED_IN", "已签到，不能取消报名"),
    ("cancel_sign_up", CHECKED_OUT): ("ALREADY_CHECKED_IN", "已签到，不能取消报名"),
    ("check_in", None): _NOT_SIGNED_UP,
    ("check_in", CANCELLED): _NOT_SIGNED_UP,
    ("check_in", SIGNED_UP): CHECKED_IN,
    ("check_in", CHECKED_IN): _ALREADY_IN,
    ("check_in", CHECKED_OUT): _ALREADY_IN,
    ("check_out", None): _NOT_SIGNED_UP,
    ("check_out", CANCELLED): _NOT_SIGNED_UP,
    ("check_out", SIGNED_UP): ("NOT_CHECKED_IN", "您尚未签到，无法签退"),
    ("check_out", CHECKED_IN): CHECKED_OUT,
    ("check_out", CHECKED_OUT): ("ALREADY_CHECKED_OUT", "您已签退"),
}


def signup_state(signup: dict | None) -> SignupState | None:
    return SignupState(signup["status"]) if signup else None


def next_signup_state(action: str, signup: dict | None) -> SignupState:
    """The state ``action`` takes the member's sign-up to; Conflict when its state refuses it."""
    outcome = SIGNUP_TABLE[(action, signup_state(signup))]
    if isinstance(outcome, tuple):
        raise Conflict(outcome[1], code=outcome[0])
    return outcome


def signup_id(event_id: str, member_id: str) -> str:
    return f"{event_id}:{member_id}"


def event_hours(signup: dict, hours_cap: float) -> float:
    """A checked-out sign-up's hours: check-out minus check-in, capped at the event's ``hours_cap``."""
    return hours_between(signup["checked_in_at"], signup["checked_out_at"], hours_cap)


def hours_owed(signups, hours_cap: float) -> list[tuple[dict, float]]:
    """What closing an event credits: each checked-out sign-up with its hours (above zero). A member who checked
    in but never out served no hours the platform saw, so nothing is credited."""
    owed = []
    for signup in signups:
        if signup.get("status") == CHECKED_OUT:
            hours = event_hours(signup, hours_cap)
            if hours > 0:
                owed.append((signup, hours))
    return owed


# --- check-in and check-out fixes -----------------------------------------------------------------
@dataclass(frozen=True)
class Fix:
    lat: float
    lng: float
    accuracy_m: float
    mock_location: bool


def parse_fix(lat, lng, accuracy_m, mock_location) -> Fix:
    """The phone's position for a check-in or out; InvalidArgument for a malformed one."""
    lat, lng = check_coordinates(lat, lng)
    accuracy = finite_number(accuracy_m)
    if accuracy is None:
        require_number(accuracy_m, "accuracy_m", "定位精度")
    if accuracy is None or not 0 < accuracy <= MAX_ACCURACY_VALUE_M:
        raise InvalidArgument("定位精度数值无效", code="ACCURACY_INVALID", field="accuracy_m")
    if mock_location is None:
        mock_location = False
    if not isinstance(mock_location, bool):
        raise InvalidArgument("模拟定位标记应为 true 或 false", code="MOCK_LOCATION_INVALID", field="mock_location")
    return Fix(lat, lng, accuracy, mock_location)


@dataclass(frozen=True)
class FenceRefusal:
    code: str
    message: str
    distance_m: float | None = None


def fence_refusal(fix: Fix, lat: float, lng: float, radius_m: int) -> FenceRefusal | None:
    """Why a fix cannot count as being at the place (lat, lng): a mock location, a fix too imprecise, or a position
    beyond ``radius_m``; None when it is inside the fence."""
    if fix.mock_location:
        return FenceRefusal("MOCK_LOCATION", "检测到模拟定位，无法签到/签退")
    if fix.accuracy_m > MAX_ACCURACY_M:
        return FenceRefusal("ACCURACY_TOO_LOW",
                            f"定位精度不足（误差超过 {MAX_ACCURACY_M} 米），请到开阔处重新定位")
    distance = distance_m(lat, lng, fix.lat, fix.lng)
    if distance > radius_m:
        return FenceRefusal("OUTSIDE_FENCE", f"超出{radius_m}米签到范围（距离约 {round(distance)} 米）", distance)
    return None


# --- helpers ------------------------------------------------------------------------------------------
def _text(value, field: str, max_length: int, label: str, required: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidArgument(f"{label}必须是文字", code="INVALID_TYPE", field=field)
    value = value.strip()
    if required and not value:
        raise InvalidArgument(f"{label}不能为空", code="REQUIRED", field=field)
    if len(value) > max_length:
        raise InvalidArgument(f"{label}不能超过 {max_length} 个字", code="TOO_LONG", field=field)
    return value


def _whole(value, field: str, low: int, high: int, label: str, default: int | None = None) -> int:
    if (value is None or value == 0 and not isinstance(value, bool)) and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{label}必须是整数", code="INVALID_TYPE", field=field)
    if not low <= value <= high:
        raise InvalidArgument(f"{label}必须在 {low} 到 {high} 之间", code="OUT_OF_RANGE", field=field)
    return value


def _hours_cap(value, default: float) -> float:
    if value is None or value == 0 and not isinstance(value, bool):
        return float(default)
    number = finite_number(value)
    if number is None:
        require_number(value, "hours_cap", "时长上限")
    if number is None or not 0 < number <= MAX_HOURS_CAP:
        raise InvalidArgument(f"时长上限必须大于 0 且不超过 {MAX_HOURS_CAP} 小时", code="OUT_OF_RANGE",
                              field="hours_cap")
    return float(number)


