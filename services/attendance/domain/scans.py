"""The judgement of one sign-in or sign-out scan: pure, given what is already stored.

The phone reports a location fix (``parse_fix``); the server decides (``judge``) by its own
clock, never the phone's: no late sign-in, no early sign-out, nothing beyond the geofence
(不能超时签到，也不能提前签退；超出范围即无法签到或签退). Suspicious but possible scans are
accepted and flagged for the secretary and the superior rather than refused:

* ``MOCK_LOCATION``: the phone says the location comes from a mock provider;
* ``SHARED_DEVICE``: another member already scanned with the same device in this activity (device ids compared
  as ``device_key`` gives them: ``DEV-1``, ``dev-1`` and ``ＤＥＶ－１`` are one device);
* ``IMPOSSIBLE_SPEED``: the member would have moved faster than ~300 km/h since the last fix (or since the
  latest earlier position the phone reported with the scan);
* ``NEW_DEVICE`` (sign-in): the member signed in with other devices on its branch's earlier themed days, never
  with this one (a member with no such history is not flagged: there is nothing to compare with);
* ``NO_MOVEMENT_TODAY`` (sign-in): the phone reported no position of the member from earlier that day
  (``Fix.history``: positions the member page kept on the phone when it was opened earlier that day). A printed
  code relayed as a photo is typically opened straight from a chat, with no such history. The history is what
  the phone says, like the fix itself: a hint for the secretary, never proof (docs/security.md, "Relayed codes").
"""
from __future__ import annotations

import dataclasses
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo

from servicekit.errors import InvalidArgument
from servicekit.geo import check_coordinates, distance_m, finite_number, require_number
from servicekit.timestamps import LOCAL_ZONE

from .lifecycle import CANCELLED, CLOSED, OPEN, State
from .qrtoken import CHECKIN, CHECKOUT, TOKEN_MESSAGES

MAX_ACCURACY_M = 100
MAX_ACCURACY_VALUE_M = 100000
MAX_FIX_AGE_SECONDS = 120
MAX_FIX_AHEAD_SECONDS = 30
IMPOSSIBLE_SPEED_MPS = 85
IMPOSSIBLE_SPEED_MIN_DISTANCE_M = 500
MAX_DEVICE_ID_CHARS = 128
MAX_TIMESTAMP_CHARS = 64
MAX_HISTORY_SAMPLES = 20
MOVEMENT_MIN_AGE_SECONDS = 300      # a position counts as earlier history when taken at least this long before

ACCEPTED = "ACCEPTED"
REPEAT = "REPEAT"
FLAG_MOCK_LOCATION = "MOCK_LOCATION"
FLAG_SHARED_DEVICE = "SHARED_DEVICE"
FLAG_IMPOSSIBLE_SPEED = "IMPOSSIBLE_SPEED"
FLAG_NEW_DEVICE = "NEW_DEVICE"
FLAG_NO_MOVEMENT_TODAY = "NO_MOVEMENT_TODAY"

# Messages for the member, by rejection code. Format every one with ``radius=`` (metres);
# only the fence message uses it. The token codes of ``qrtoken`` are included for one lookup.
REJECTION_MESSAGES: dict[str, str] = {
    "ACTIVITY_NOT_OPEN": "活动尚未开放签到",
    "ACTIVITY_CLOSED": "活动已结束，无法签到/签退",
    "MEETING_CANCELLED": "会议已取消，无需签到/签退",
    "NOT_ON_ROSTER": "您不在本次活动的参加人员名单中",
    "ON_LEAVE": "您已请假获批，无需签到",
    "CHECKIN_NOT_OPEN": "签到尚未开始，活动开始前 30 分钟开放签到",
    "CHECKIN_LATE": "签到时间已过，不能超时签到",
    "CHECKIN_REQUIRED": "您尚未签到，无法签退",
    "CHECKOUT_EARLY": "活动尚未结束，不能提前签退",
    "CHECKOUT_CLOSED": "签退时间已过，无法签退",
    "ACCURACY_TOO_POOR": f"定位精度不足（误差超过 {MAX_ACCURACY_M} 米），请到开阔处重新定位后再扫码",
    "OUTSIDE_FENCE": "不在活动地点 {radius} 米范围内，无法签到/签退",
    **TOKEN_MESSAGES,
}


def device_key(device_id: str) -> str:
    """The form in which device ids are compared: without surrounding blanks, case-folded, full-width forms as
    their ASCII (NFKC), so one phone reporting ``DEV-SHARED-1`` and ``dev-shared-1`` stays one device. ASCII,
    what phones send, takes the quick way."""
    if device_id.isascii():
        return device_id.strip().lower()
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", device_id).casefold()).strip()


@dataclass(frozen=True)
class Fix:
    lat: float
    lng: float
    accuracy_m: float
    mock_location: bool
    device_id: str              # as the phone sent it (stripped), stored and shown
    taken_at: datetime
    # earlier positions the phone reported with the scan: (taken_at, lat, lng), oldest first
    history: tuple[tuple[datetime, float, float], ...] = ()
    device_key: str = dataclasses.field(init=False, repr=False, compare=False)     # what devices are compared by

    def __post_init__(self):
        object.__setattr__(self, "device_key", device_key(self.device_id))


@dataclass(frozen=True)
class ActivityRules:
    activity_id: str
    status: str  # lifecycle state: scans are taken when OPEN
    venue_lat: float
    venue_lng: float
    radius_m: int
    checkin_opens_at: datetime
    checkin_closes_at: datetime
    end_at: datetime
    checkout_closes_at: datetime
    roster: frozenset[str]  # member ids on the frozen roster
    on_leave: frozenset[str]  # member ids with approved leave


@dataclass(frozen=True)
class Prior:
    """What is already stored about the member and the device."""
    same_direction: dict | None  # the member's existing record for this direction (a repeat)
    checkin: dict | None  # the member's check-in record, for a sign-out: keys "lat", "lng", "at"
    device_members: frozenset[str]  # members who used this device in this activity
    last_fix: tuple[datetime, float, float] | None  # the member's previous fix: (time, lat, lng)
    # device keys the member used on its branch's earlier themed days (empty: no history to compare with)
    member_devices: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    code: str
    distance_m: float | None
    flags: tuple[str, ...]
    repeat: bool = False


# why an activity that is not open refuses a scan, by its state (any other: not open yet)
NOT_OPEN_CODES = ((CLOSED, "ACTIVITY_CLOSED"), (CANCELLED, "MEETING_CANCELLED"))


def not_open_code(state: State | str) -> str:
    return next((code for known, code in NOT_OPEN_CODES if state == known), "ACTIVITY_NOT_OPEN")


def rejection_message(code: str, radius_m: int, distance_m: float | None = None) -> str:
    """The member-facing message of a rejection code; a fence refusal names the distance when it is known."""
    if code == "OUTSIDE_FENCE" and distance_m is not None:
        return f"超出{radius_m}米签到范围（距离约 {round(distance_m)} 米）"
    return REJECTION_MESSAGES.get(code, "无法签到/签退").format(radius=radius_m)


def rejection_details(verdict: Verdict, radius_m: int) -> list[dict]:
    """The figures behind a refusal, for the member's page: a fence refusal's distance and the radius (metres)."""
    if verdict.code == "OUTSIDE_FENCE" and verdict.distance_m is not None:
        return [{"distance_m": round(verdict.distance_m), "radius_m": radius_m}]
    return []


def _fix_error(message: str, code: str, field: str) -> InvalidArgument:
    return InvalidArgument(message, code=code, field=field)


def _taken_at(value: object, now: datetime) -> datetime:
    moment = None
    if isinstance(value, str) and len(value) <= MAX_TIMESTAMP_CHARS:
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            moment = None
    if moment is None or moment.tzinfo is None or moment.utcoffset() is None:
        raise _fix_error("定位时间格式无效，应为带时区的 ISO-8601 时间", "FIX_TIME_INVALID", "taken_at")
    try:
        moment = moment.astimezone(timezone.utc)
    except OverflowError:       # year 1 or 9999 moved past the calendar's ends by its offset
        raise _fix_error("定位时间与服务器时间相差过大，请重新定位后再扫码", "FIX_TIME_INVALID", "taken_at") from None
    age = (now - moment).total_seconds()
    if age > MAX_FIX_AGE_SECONDS or -age > MAX_FIX_AHEAD_SECONDS:
        raise _fix_error("定位时间与服务器时间相差过大，请重新定位后再扫码", "FIX_TIME_INVALID", "taken_at")
    return moment


def _history_error() -> InvalidArgument:
    return _fix_error(f"位置记录无效（最多 {MAX_HISTORY_SAMPLES} 条，每条含 lat、lng 与带时区的 taken_at）",
                      "HISTORY_INVALID", "history")


def parse_history(raw: object) -> tuple[tuple[datetime, float, float], ...]:
    """The earlier positions sent with a scan: at most MAX_HISTORY_SAMPLES of {lat, lng, taken_at} (other keys,
    such as accuracy_m, are ignored), oldest first. Their age is judged in ``moved_today``, not here."""
    if raw is None:
        return ()
    if not isinstance(raw, (list, tuple)) or len(raw) > MAX_HISTORY_SAMPLES:
        raise _history_error()
    samples = []
    for sample in raw:
        if not isinstance(sample, dict):
            raise _history_error()
        lat, lng = finite_number(sample.get("lat")), finite_number(sample.get("lng"))
        text = sample.get("taken_at")
        if lat is None or lng is None or not -90 <= lat <= 90 or not -180 <= lng <= 180 \
                or not isinstance(text, str) or len(text) > MAX_TIMESTAMP_CHARS:
            raise _history_error()
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            raise _history_error() from None
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise _history_error()
        samples.append((moment.astimezone(timezone.utc), lat, lng))
    return tuple(sorted(samples, key=lambda sample: sample[0]))


def parse_fix(raw: dict, now: datetime) -> Fix:
    """Validate the location fix the phone sent with a scan.

    Keys: lat, lng, accuracy_m (metres), mock_location (bool, default False), device_id
    (1..128 characters), taken_at (ISO-8601 with a timezone, within 120 s before and
    30 s after the server's ``now``) and, optionally, history (``parse_history``).
    """
    if not isinstance(raw, dict):
        raise _fix_error("缺少定位信息", "FIX_MISSING_FIELD", "fix")
    for key in ("lat", "lng", "accuracy_m", "device_id", "taken_at"):
        if raw.get(key) is None:
            raise _fix_error(f"定位信息缺少字段：{key}", "FIX_MISSING_FIELD", key)
    lat, lng = check_coordinates(raw["lat"], raw["lng"])
    accuracy = finite_number(raw["accuracy_m"])
    if accuracy is None:
        require_number(raw["accuracy_m"], "accuracy_m", "定位精度")
    if accuracy is None or not 0 < accuracy <= MAX_ACCURACY_VALUE_M:
        raise _fix_error("定位精度数值无效", "ACCURACY_INVALID", "accuracy_m")
    mock = raw.get("mock_location", False)
    if mock is None:
        mock = False
    if not isinstance(mock, bool):
        raise _fix_error("模拟定位标记应为 true 或 false", "MOCK_LOCATION_INVALID", "mock_location")
    device_id = raw["device_id"]
    if not isinstance(device_id, str) or not 1 <= len(device_id.strip()) <= MAX_DEVICE_ID_CHARS:
        raise _fix_error(f"设备标识无效（1 到 {MAX_DEVICE_ID_CHARS} 个字符）", "DEVICE_ID_INVALID", "device_id")
    return Fix(lat=lat, lng=lng, accuracy_m=accuracy, mock_location=mock, device_id=device_id.strip(),
               taken_at=_taken_at(raw["taken_at"], now), history=parse_history(raw.get("history")))


def _rejected(code: str, distance: float | None = None) -> Verdict:
    return Verdict(accepted=False, code=code, distance_m=distance, flags=())


def _window_problem(rules: ActivityRules, direction: str, now: datetime, prior: Prior) -> str | None:
    if direction == CHECKIN:
        if now < rules.checkin_opens_at:
            return "CHECKIN_NOT_OPEN"
        if now > rules.checkin_closes_at:
            return "CHECKIN_LATE"
        return None
    if prior.checkin is None:
        return "CHECKIN_REQUIRED"
    if now < rules.end_at:
        return "CHECKOUT_EARLY"
    if now > rules.checkout_closes_at:
        return "CHECKOUT_CLOSED"
    return None


def _as_moment(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _too_fast(fix: Fix, then: datetime | None, lat: object, lng: object) -> bool:
    lat, lng = finite_number(lat), finite_number(lng)
    if then is None or then.tzinfo is None or lat is None or lng is None:
        return False
    metres = distance_m(lat, lng, fix.lat, fix.lng)
    seconds = max(abs((fix.taken_at - then).total_seconds()), 1.0)
    return metres > IMPOSSIBLE_SPEED_MIN_DISTANCE_M and metres / seconds > IMPOSSIBLE_SPEED_MPS


def _earlier(fix: Fix) -> list[tuple[datetime, float, float]]:
    """The history's positions taken before the fix itself."""
    return [sample for sample in fix.history if sample[0] < fix.taken_at]


def moved_today(fix: Fix, zone: tzinfo = LOCAL_ZONE) -> bool:
    """Whether the phone reported a position of that day (in ``zone``, the tenants' local time) taken at least
    MOVEMENT_MIN_AGE_SECONDS before the fix: the member page was open on the phone earlier that day."""
    day = fix.taken_at.astimezone(zone).date()
    return any(taken.astimezone(zone).date() == day
               and (fix.taken_at - taken).total_seconds() >= MOVEMENT_MIN_AGE_SECONDS
               for taken, _, _ in fix.history)


def _flags(member_id: str, direction: str, fix: Fix, prior: Prior) -> tuple[str, ...]:
    flags = []
    if fix.mock_location:
        flags.append(FLAG_MOCK_LOCATION)
    if set(prior.device_members) - {member_id}:
        flags.append(FLAG_SHARED_DEVICE)
    references = []
    if prior.last_fix is not None:
        references.append(prior.last_fix)
    earlier = _earlier(fix)
    if earlier:
        references.append(earlier[-1])
    if direction == CHECKOUT and prior.checkin is not None:
        checkin = prior.checkin
        references.append((_as_moment(checkin.get("at")), checkin.get("lat"), checkin.get("lng")))
    if any(_too_fast(fix, then, lat, lng) for then, lat, lng in references):
        flags.append(FLAG_IMPOSSIBLE_SPEED)
    if direction == CHECKIN:
        if prior.member_devices and fix.device_key not in prior.member_devices:
            flags.append(FLAG_NEW_DEVICE)
        if not moved_today(fix):
            flags.append(FLAG_NO_MOVEMENT_TODAY)
    return tuple(flags)


def judge(rules: ActivityRules, member_id: str, direction: str, fix: Fix, now: datetime,
          prior: Prior) -> Verdict:
    """Accept or reject one scan. ``now`` is the server's time; ``direction`` is "in" or "out".

    Checked in order: a repeat (accepted again, nothing new recorded), the activity's state,
    the roster, approved leave, the time window, the fix's accuracy, the geofence.
    """
    if direction not in (CHECKIN, CHECKOUT):
        raise ValueError(f"unknown direction: {direction!r}")
    if prior.same_direction is not None:
        return Verdict(accepted=True, code=REPEAT, distance_m=None, flags=(), repeat=True)
    if rules.status != OPEN:
        return _rejected(not_open_code(rules.status))
    if member_id not in rules.roster:
        return _rejected("NOT_ON_ROSTER")
    if member_id in rules.on_leave:
        return _rejected("ON_LEAVE")
    problem = _window_problem(rules, direction, now, prior)
    if problem:
        return _rejected(problem)
    if fix.accuracy_m > MAX_ACCURACY_M:
        return _rejected("ACCURACY_TOO_POOR")
    distance = distance_m(rules.venue_lat, rules.venue_lng, fix.lat, fix.lng)
    if distance > rules.radius_m:
        return _rejected("OUTSIDE_FENCE", distance)
    return Verdict(accepted=True, code=ACCEPTED, distance_m=distance, flags=_flags(member_id, direction, fix, prior))
