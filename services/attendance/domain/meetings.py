"""三会一课 and the organisational-life meeting: types, the tenant's settings, periods, what a branch owes, the
compliance state of a branch's period, a meeting's own state and the checks of its record. Pure rules: dates come
in as arguments (the tenant's local dates, Asia/Shanghai).

A meeting is an activity document of its own kind (``meeting_type`` set, ``month`` empty so that no themed-day
listing or statistic counts it): its sign-in is the themed day's, scan for scan. Its own state is derived:

planned (approved, sign-in not over) --closing--> held (someone signed in) | not_held (no one did)
held --record--> recorded
planned --reschedule--> planned (a new plan, kept in its history); planned --cancel--> cancelled (with its reason)

Rescheduling and cancelling are allowed only before sign-in can start (``lifecycle.RESCHEDULE`` and ``CANCEL``). A
cancelled meeting is the lifecycle's ``cancelled`` state: never frozen, opened, closed or counted in the ledger.
"""
from __future__ import annotations

from datetime import date, timedelta

from servicekit.arguments import text
from servicekit.errors import Conflict, InvalidArgument

ASSEMBLY, COMMITTEE, GROUP, LESSON, LIFE = "assembly", "committee", "group", "lesson", "life"
TYPES = (ASSEMBLY, COMMITTEE, GROUP, LESSON, LIFE)
TYPE_LABELS = {ASSEMBLY: "支部党员大会", COMMITTEE: "支委会", GROUP: "党小组会", LESSON: "党课", LIFE: "组织生活会"}
MONTHLY, QUARTERLY, YEARLY = "monthly", "quarterly", "yearly"
FREQUENCIES = (MONTHLY, QUARTERLY, YEARLY)
DEFAULT_FREQUENCIES = {ASSEMBLY: QUARTERLY, COMMITTEE: MONTHLY, GROUP: MONTHLY, LESSON: QUARTERLY, LIFE: YEARLY}
DEFAULT_COMMITTEE_MIN_FULL_MEMBERS = 7
DEFAULT_BACKFILL_AFTER_DAYS = 3
DEFAULTS = {"frequencies": dict(DEFAULT_FREQUENCIES), "committee_min_full_members": DEFAULT_COMMITTEE_MIN_FULL_MEMBERS,
            "backfill_after_days": DEFAULT_BACKFILL_AFTER_DAYS}

# compliance states of one type in one period, worst last
OK, PENDING, YELLOW, RED = "ok", "pending", "yellow", "red"
STATE_ORDER = {OK: 0, PENDING: 1, YELLOW: 2, RED: 3}
# a meeting's derived state
PLANNED, HELD, NOT_HELD, RECORDED, CANCELLED = "planned", "held", "not_held", "recorded", "cancelled"
MEETING_STATES = (PLANNED, HELD, NOT_HELD, RECORDED, CANCELLED)

MAX_NAME_CHARS = 50
MAX_ITEMS = 20
MAX_ITEM_CHARS = 500
MAX_MINUTES_CHARS = 20_000
MAX_REASON_CHARS = 500


# --- settings -------------------------------------------------------------------------------------------------
def settings_of(stored: dict | None) -> dict:
    """The tenant's settings over the defaults (a tenant that never set them owes the defaults)."""
    stored = stored or {}
    return {"frequencies": {**DEFAULT_FREQUENCIES, **(stored.get("frequencies") or {})},
            "committee_min_full_members": stored.get("committee_min_full_members",
                                                     DEFAULT_COMMITTEE_MIN_FULL_MEMBERS),
            "backfill_after_days": stored.get("backfill_after_days", DEFAULT_BACKFILL_AFTER_DAYS)}


def _whole(value, field: str, low: int, high: int, label: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{label}必须是整数", code="INVALID_TYPE", field=field)
    if not low <= value <= high:
        raise InvalidArgument(f"{label}必须在 {low} 到 {high} 之间", code="OUT_OF_RANGE", field=field)
    return value


def validate_settings(frequencies, committee_min_full_members, backfill_after_days, current: dict) -> dict:
    """New settings: only what is given changes (an empty map, 0 or None keep the current value)."""
    changed = settings_of(current)
    if frequencies:
        if not isinstance(frequencies, dict):
            raise InvalidArgument("frequencies 必须是会议类型到频次的映射", code="INVALID_TYPE", field="frequencies")
        for kind, frequency in frequencies.items():
            if kind not in TYPES:
                raise InvalidArgument(f"未知的会议类型：{kind}", code="MEETING_TYPE_INVALID", field="frequencies")
            if frequency not in FREQUENCIES:
                raise InvalidArgument("频次只能是 monthly、quarterly 或 yearly", code="FREQUENCY_INVALID",
                                      field="frequencies")
            changed["frequencies"][kind] = frequency
    if committee_min_full_members not in (None, 0):
        changed["committee_min_full_members"] = _whole(committee_min_full_members, "committee_min_full_members",
                                                       3, 100, "设立支委会的正式党员人数")
    if backfill_after_days not in (None, 0):
        changed["backfill_after_days"] = _whole(backfill_after_days, "backfill_after_days", 1, 60, "补录期限天数")
    return changed


def meeting_type(value) -> str:
    if value not in TYPES:
        raise InvalidArgument("会议类型只能是支部党员大会、支委会、党小组会、党课或组织生活会",
                              code="MEETING_TYPE_INVALID", field="meeting_type")
    return value


# --- periods ----------------------------------------------------------------------------------------------------
def period_of(frequency: str, day: date) -> str:
    """The key of the period containing ``day``: 2026-12, 2026-Q4 or 2026."""
    if frequency == MONTHLY:
        return f"{day.year:04d}-{day.month:02d}"
    if frequency == QUARTERLY:
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year:04d}"


def period_bounds(frequency: str, day: date) -> tuple[date, date]:
    """The first day of the period containing ``day`` and the first day after it."""
    if frequency == MONTHLY:
        first, months = date(day.year, day.month, 1), 1
    elif frequency == QUARTERLY:
        first, months = date(day.year, (day.month - 1) // 3 * 3 + 1, 1), 3
    else:
        first, months = date(day.year, 1, 1), 12
    month = first.month - 1 + months
    return first, date(first.year + month // 12, month % 12 + 1, 1)


def months_of(start: date, end: date) -> list[str]:
    """The YYYY-MM keys of the months from ``start`` up to (not including) ``end``."""
    found, current = [], start
    while current < end:
        found.append(f"{current.year:04d}-{current.month:02d}")
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return found


def parse_month(value: str) -> date:
    return date(int(value[:4]), int(value[5:7]), 1)


# --- what a branch owes and where it stands ----------------------------------------------------------------------
def owed_types(settings: dict, full_members: int, groups: int) -> list[str]:
    """The types a branch owes: a committee meeting only with a committee (enough full members), a group meeting
    only with party groups."""
    owed = []
    for kind in TYPES:
        if kind == COMMITTEE and full_members < settings["committee_min_full_members"]:
            continue
        if kind == GROUP and groups <= 0:
            continue
        owed.append(kind)
    return owed


def compliance(required: int, held: int, start: date, end: date, today: date) -> str:
    """ok when held meets required; red once the period ended short; yellow once half of it passed short."""
    if held >= required:
        return OK
    if today >= end:
        return RED
    if (today - start) * 2 >= (end - start):
        return YELLOW
    return PENDING


def worst(states) -> str:
    return max(states, key=STATE_ORDER.__getitem__, default=OK)


def branch_ledger(settings: dict, facts: dict, held: dict, month: date, today: date) -> list[dict]:
    """Per owed type, the period containing ``month``: required against held and the state. ``held``:
    {type: {YYYY-MM: count}} (counted by the month of each held meeting, so a changed frequency still adds up)."""
    items = []
    for kind in owed_types(settings, facts.get("full_members", 0), facts.get("groups", 0)):
        frequency = settings["frequencies"][kind]
        start, end = period_bounds(frequency, month)
        counts = held.get(kind) or {}
        done = sum(int(counts.get(key, 0)) for key in months_of(start, end))
        items.append({"type": kind, "period": period_of(frequency, month), "period_start": start.isoformat(),
                      "period_end": (end - timedelta(days=1)).isoformat(), "required": 1, "held": done,
                      "state": compliance(1, done, start, end, today)})
    return items


# --- a meeting ----------------------------------------------------------------------------------------------------
def meeting_state(activity: dict) -> str:
    if activity.get("status") == CANCELLED:
        return CANCELLED
    if activity.get("meeting_record"):
        return RECORDED
    if activity.get("status") != "closed":
        return PLANNED
    return HELD if activity.get("meeting_held") else NOT_HELD


def was_held(totals: dict) -> bool:
    """Held: someone signed in on site (present, or in and never out)."""
    return bool((totals or {}).get("present", 0) + (totals or {}).get("incomplete", 0))


def attendance_of(totals: dict) -> dict:
    totals = totals or {}
    return {"expected": int(totals.get("on_site_expected", 0)),
            "present": int(totals.get("present", 0)) + int(totals.get("incomplete", 0)),
            "excused": int(totals.get("excused", 0)), "absent": int(totals.get("absent", 0))}


def _items(value, field: str, label: str, required: bool) -> list[str]:
    if value is None:
        value = []
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise InvalidArgument(f"{label}必须是文字列表", code="INVALID_TYPE", field=field)
    items = [item.strip() for item in value if item.strip()]
    if required and not items:
        raise InvalidArgument(f"请填写{label}", code="REQUIRED", field=field)
    if len(items) > MAX_ITEMS:
        raise InvalidArgument(f"{label}不能超过 {MAX_ITEMS} 条", code="TOO_MANY", field=field)
    if any(len(item) > MAX_ITEM_CHARS for item in items):
        raise InvalidArgument(f"每条{label}不能超过 {MAX_ITEM_CHARS} 字", code="TOO_LONG", field=field)
    return items


def validate_record(activity: dict, host, recorder, topics, resolutions, minutes, backfill_reason,
                    today: date, backfill_after_days: int) -> dict:
    """The meeting's record, checked; back-filled (补录) when entered more than ``backfill_after_days`` after the
    meeting's date, which then needs a reason."""
    state = meeting_state(activity)
    if state == RECORDED:
        raise Conflict("该会议已有记录", code="MEETING_ALREADY_RECORDED")
    if state == CANCELLED:
        raise Conflict("会议已取消，不能录入记录", code="MEETING_CANCELLED")
    if state != HELD:
        raise Conflict("会议举行（签到结束）后才能录入记录" if state == PLANNED else "会议无人签到，未举行，不能录入记录",
                       code="MEETING_NOT_HELD")
    record = {"host": text(host, "host", max_length=MAX_NAME_CHARS),
              "recorder": text(recorder, "recorder", max_length=MAX_NAME_CHARS),
              "topics": _items(topics, "topics", "议题", True),
              "resolutions": _items(resolutions, "resolutions", "决议", False),
              "minutes": text(minutes, "minutes", required=False, max_length=MAX_MINUTES_CHARS)}
    reason = text(backfill_reason, "backfill_reason", required=False, max_length=MAX_REASON_CHARS)
    held_on = date.fromisoformat(activity["plan"]["date"])
    late = (today - held_on).days > backfill_after_days
    if late and not reason:
        raise InvalidArgument(f"会议结束已超过 {backfill_after_days} 天，补录须说明原因",
                              code="BACKFILL_REASON_REQUIRED", field="backfill_reason")
    record["backfilled"] = late
    record["backfill_reason"] = reason if late else ""
    return record


# what a reschedule compares, in the order its history lists the changes: (name, read from the stored meeting)
PLAN_FIELDS = (
    ("title", lambda m: m["title"]),
    ("date", lambda m: m["plan"]["date"]),
    ("start_at", lambda m: m["plan"]["start_at"]),
    ("end_at", lambda m: m["plan"]["end_at"]),
    ("venue_name", lambda m: m["plan"]["venue"]["name"]),
    ("venue_lat", lambda m: m["plan"]["venue"]["lat"]),
    ("venue_lng", lambda m: m["plan"]["venue"]["lng"]),
    ("grace_minutes", lambda m: m["plan"]["grace_minutes"]),
    ("checkout_window_minutes", lambda m: m["plan"]["checkout_window_minutes"]),
)


def plan_changes(before: dict, after: dict) -> list[dict]:
    """What a reschedule changes between two meetings (stored form: times as ISO-8601 UTC text), each field's value
    before and after as text; refused when nothing changes, so the history holds only real changes."""
    changes = [{"field": name, "before": str(read(before)), "after": str(read(after))}
               for name, read in PLAN_FIELDS if read(before) != read(after)]
    if not changes:
        raise InvalidArgument("新的安排与原安排相同，没有需要修改的内容", code="NOTHING_CHANGED")
    return changes


def _reason(value, required: bool, label: str) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidArgument(f"{label}必须是文字", code="INVALID_TYPE", field="reason")
    value = value.strip()
    if required and not value:
        raise InvalidArgument(f"请填写{label}", code="REQUIRED", field="reason")
    if len(value) > MAX_REASON_CHARS:
        raise InvalidArgument(f"{label}不能超过 {MAX_REASON_CHARS} 字", code="TOO_LONG", field="reason")
    return value


def change_reason(value) -> str:
    """Why a meeting is rescheduled: optional, at most the module's reason length."""
    return _reason(value, False, "改期原因")


def cancel_reason(value) -> str:
    """Why a meeting is called off: required, at most the module's reason length."""
    return _reason(value, True, "取消原因")


def themed_day_events(activity: dict, built: list[dict]) -> list[dict]:
    """The themed-day events of an activity's action, none for a meeting: scoring scores themed days from them, and a
    meeting tells what happened through meeting_held and meeting_recorded."""
    return [] if activity.get("meeting_type") else built
