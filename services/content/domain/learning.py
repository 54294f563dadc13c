"""Learning packages (学习套餐) and study time observed by the server (pure: no I/O, time as arguments).

A package's lifecycle:  draft --edit--> draft --publish--> published --close--> closed
A study session's:      open --heartbeat--> open --end--> ended;  open --expire--> expired

Dwell time. The page reports start, heartbeats and end; only the service's own clock is read. The time between
two consecutive observations of one session counts when it is at most ``MAX_GAP_SECONDS`` (a longer silence
means the member left: it counts nothing and the session expires). Time is credited per (member, item) as the
union of the observed intervals of all the member's sessions of that item, so two tabs open on the same item
count the overlapping time once. Every interval that may still overlap a future one is kept (``recent``): a
future interval ends now or later and spans at most ``MAX_GAP_SECONDS``, so an interval that ended longer ago
can never overlap again and is dropped. The credited total is capped at the item's ``cap_seconds``; the item
counts as studied once the total reaches its ``min_seconds``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Callable
from urllib.parse import urlparse

from servicekit.arguments import text
from servicekit.errors import Conflict, InvalidArgument
from servicekit.timestamps import parse_stamp, stamp

MAX_GAP_SECONDS = 60            # a longer silence between observations counts nothing
HEARTBEAT_SECONDS = 15          # what the page is told to send
ITEM_KINDS = ("article", "document", "video", "audio")
MAX_ITEMS = 30
MAX_TITLE_CHARS = 100
MAX_TAGS, MAX_TAG_CHARS = 10, 20
MAX_URL_CHARS = 1000
MIN_SECONDS_RANGE = (1, 4 * 3600)
CAP_SECONDS_MAX = 8 * 3600
DEFAULT_MIN_SECONDS = 60
ITEM_KEY = re.compile(r"[a-z0-9_-]{1,20}")
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
PROGRESS_GROUPS = ("branch", "county", "field", "category")


# --- packages -------------------------------------------------------------------------------------------
def validate_month(value, field_name: str = "month") -> str:
    value = text(value, field_name, max_length=7)
    if not MONTH.fullmatch(value):
        raise InvalidArgument("月份格式应为 YYYY-MM", code="INVALID_MONTH", field=field_name)
    return value


def validate_due_on(value, month: str, field_name: str = "due_on") -> str:
    value = text(value, field_name, max_length=10)
    try:
        due = date.fromisoformat(value)
    except ValueError:
        raise InvalidArgument("截止日期格式应为 YYYY-MM-DD", code="INVALID_DATE", field=field_name) from None
    if due.isoformat() != value:
        raise InvalidArgument("截止日期格式应为 YYYY-MM-DD", code="INVALID_DATE", field=field_name)
    if value[:7] < month:
        raise InvalidArgument("截止日期不能早于套餐所在月份", code="DUE_BEFORE_MONTH", field=field_name)
    return value


def _seconds(value, field_name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{field_name} 必须是整数秒数", code="INVALID_TYPE", field=field_name)
    if not low <= value <= high:
        raise InvalidArgument(f"{field_name} 必须在 {low} 到 {high} 秒之间", code="OUT_OF_RANGE", field=field_name)
    return value


def _url(value, field_name: str) -> str:
    value = text(value, field_name, max_length=MAX_URL_CHARS)
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or any(c.isspace() for c in value):
        raise InvalidArgument("链接必须是 http 或 https 地址", code="INVALID_URL", field=field_name)
    return value


def _tags(value, field_name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or len(value) > MAX_TAGS:
        raise InvalidArgument(f"标签最多 {MAX_TAGS} 个", code="INVALID_TAGS", field=field_name)
    tags = []
    for tag in value:
        tag = text(tag, field_name, max_length=MAX_TAG_CHARS)
        if tag not in tags:
            tags.append(tag)
    return tags


def validate_item(raw, index: int) -> dict:
    """One item of a package: a content item (``item_id``) or a link (``url``), never both."""
    where = f"items[{index}]"
    if not isinstance(raw, dict):
        raise InvalidArgument("学习内容必须是对象", code="INVALID_TYPE", field=where)
    key = raw.get("key") or f"i{index + 1}"
    if not isinstance(key, str) or not ITEM_KEY.fullmatch(key):
        raise InvalidArgument("内容编号只能由小写字母、数字、- 和 _ 组成（最多 20 个字符）", code="INVALID_ITEM_KEY",
                              field=f"{where}.key")
    title = text(raw.get("title"), f"{where}.title", max_length=MAX_TITLE_CHARS)
    kind = raw.get("kind") or "article"
    if kind not in ITEM_KINDS:
        raise InvalidArgument("内容类型只能是 article、document、video、audio", code="UNKNOWN_VALUE",
                              field=f"{where}.kind")
    item_id = text(raw.get("item_id"), f"{where}.item_id", required=False, max_length=60)
    url = raw.get("url") or ""
    if bool(item_id) == bool(url):
        raise InvalidArgument("每项学习内容须指定资讯编号或链接之一", code="ITEM_SOURCE_REQUIRED",
                              field=f"{where}.item_id")
    if url:
        url = _url(url, f"{where}.url")
    min_seconds = _seconds(raw.get("min_seconds") or DEFAULT_MIN_SECONDS, f"{where}.min_seconds",
                           *MIN_SECONDS_RANGE)
    cap_seconds = raw.get("cap_seconds") or max(min_seconds * 2, min_seconds)
    cap_seconds = _seconds(cap_seconds, f"{where}.cap_seconds", 1, CAP_SECONDS_MAX)
    if cap_seconds < min_seconds:
        raise InvalidArgument("计时上限不能小于最少学习时长", code="CAP_BELOW_MINIMUM", field=f"{where}.cap_seconds")
    return {"key": key, "title": title, "kind": kind, "item_id": item_id, "url": url, "min_seconds": min_seconds,
            "cap_seconds": cap_seconds, "tags": _tags(raw.get("tags"), f"{where}.tags")}


def validate_items(raw) -> list[dict]:
    if not isinstance(raw, (list, tuple)):
        raise InvalidArgument("items 必须是列表", code="INVALID_TYPE", field="items")
    if len(raw) > MAX_ITEMS:
        raise InvalidArgument(f"一个套餐最多 {MAX_ITEMS} 项学习内容", code="TOO_MANY_ITEMS", field="items")
    items = [validate_item(item, index) for index, item in enumerate(raw)]
    keys = [item["key"] for item in items]
    for index, key in enumerate(keys):
        if key in keys[:index]:
            raise InvalidArgument("内容编号重复", code="DUPLICATE_ITEM_KEY", field=f"items[{index}].key")
    return items


def validate_package(title, month, due_on, items) -> dict:
    month = validate_month(month)
    return {"title": text(title, "title", max_length=MAX_TITLE_CHARS), "month": month,
            "due_on": validate_due_on(due_on, month), "items": validate_items(items if items is not None else [])}


class PackageState(str, Enum):
    DRAFT = "draft"             # being put together; members do not see it
    PUBLISHED = "published"     # pushed to the subtree: members study it
    CLOSED = "closed"           # no more study counts; progress stays readable


DRAFT, PUBLISHED, CLOSED = PackageState
PACKAGE_STATUSES = tuple(state.value for state in PackageState)


@dataclass(frozen=True)
class Transition:
    """From ``sources`` to ``target`` (None: the state stays); a Conflict ``code`` from any other state, and
    ``guard(doc)`` must hold too (else the Conflict ``guard_code``)."""
    name: str
    sources: frozenset
    target: Enum | None
    code: str
    message: str
    guard: Callable[[dict], bool] | None = None
    guard_code: str = ""
    guard_message: str = ""


EDIT = Transition("edit", frozenset({DRAFT}), None, "PACKAGE_NOT_DRAFT", "套餐已发布，不能再修改")
PUBLISH = Transition("publish", frozenset({DRAFT}), PUBLISHED, "PACKAGE_NOT_DRAFT", "只能发布草稿状态的套餐",
                     guard=lambda package: bool(package.get("items")), guard_code="PACKAGE_EMPTY",
                     guard_message="套餐至少需要一项学习内容")
CLOSE = Transition("close", frozenset({PUBLISHED}), CLOSED, "PACKAGE_NOT_PUBLISHED", "只能结束已发布的套餐")
STUDY = Transition("study", frozenset({PUBLISHED}), None, "PACKAGE_NOT_OPEN", "该学习套餐未发布或已结束")
PACKAGE_TRANSITIONS = (EDIT, PUBLISH, CLOSE, STUDY)


def package_state(package: dict) -> PackageState:
    return PackageState(package["status"])


def apply_package(transition: Transition, package: dict) -> PackageState:
    """The state ``transition`` takes the package to (its own for an action); Conflict when refused."""
    return _apply(transition, package_state(package), package)


def _apply(transition: Transition, state, doc: dict):
    if state not in transition.sources:
        raise Conflict(transition.message, code=transition.code)
    if transition.guard is not None and not transition.guard(doc):
        raise Conflict(transition.guard_message, code=transition.guard_code)
    return transition.target or state


# --- study sessions --------------------------------------------------------------------------------------
class SessionState(str, Enum):
    OPEN = "open"
    ENDED = "ended"         # the page said it ended
    EXPIRED = "expired"     # silent longer than MAX_GAP_SECONDS: the member left


OPEN, ENDED, EXPIRED = SessionState


def _fresh_at(now: datetime) -> Callable[[dict], bool]:
    return lambda session: seconds_between(session["last_seen_at"], now) <= MAX_GAP_SECONDS


def heartbeat_transition(now: datetime) -> Transition:
    return Transition("heartbeat", frozenset({OPEN}), None, "SESSION_CLOSED", "学习已结束，请重新开始",
                      guard=_fresh_at(now), guard_code="SESSION_EXPIRED", guard_message="学习已中断超时，请重新开始")


END = Transition("end", frozenset({OPEN}), ENDED, "SESSION_CLOSED", "学习已结束")
EXPIRE = Transition("expire", frozenset({OPEN}), EXPIRED, "SESSION_CLOSED", "学习已结束")


def session_state(session: dict) -> SessionState:
    return SessionState(session["state"])


def apply_session(transition: Transition, session: dict) -> SessionState:
    state = session_state(session)
    if transition.name == "heartbeat" and state is EXPIRED:
        raise Conflict("学习已中断超时，请重新开始", code="SESSION_EXPIRED")
    return _apply(transition, state, session)


def is_stale(session: dict, now: datetime) -> bool:
    """An open session silent longer than MAX_GAP_SECONDS: the next heartbeat expires it."""
    return session_state(session) is OPEN and seconds_between(session["last_seen_at"], now) > MAX_GAP_SECONDS


def seconds_between(earlier, later) -> float:
    earlier = parse_stamp(earlier) if isinstance(earlier, str) else earlier
    later = parse_stamp(later) if isinstance(later, str) else later
    return (later - earlier).total_seconds()


# --- dwell time -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ItemTime:
    """What is credited to one member for one item over all its sessions."""
    seconds: float = 0.0
    recent: tuple[tuple[datetime, datetime], ...] = ()     # credited intervals that may still overlap, merged
    studied: bool = False


@dataclass(frozen=True)
class Credit:
    time: ItemTime                  # after the observation
    seconds: float                  # credited by this observation
    newly_studied: bool = False     # the total reached min_seconds with this observation
    counted: bool = field(default=False)    # whether the interval was short enough to count at all


def _merge(intervals) -> list[tuple[datetime, datetime]]:
    merged: list[list[datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def _uncovered(start: datetime, end: datetime, covered) -> float:
    """Seconds of (start, end] not inside any of ``covered`` (merged, sorted)."""
    total = (end - start).total_seconds()
    for low, high in covered:
        overlap = (min(end, high) - max(start, low)).total_seconds()
        if overlap > 0:
            total -= overlap
    return max(total, 0.0)


def observe(time: ItemTime, previous: datetime, now: datetime, min_seconds: int, cap_seconds: int,
            max_gap: int = MAX_GAP_SECONDS) -> Credit:
    """Credit the interval from a session's ``previous`` observation to ``now``: nothing for a gap over
    ``max_gap`` (or a clock that went back), only the part no other session of the item has credited, and no
    more than ``cap_seconds`` in all."""
    gap = (now - previous).total_seconds()
    if gap <= 0 or gap > max_gap:
        return Credit(time, 0.0)
    fresh = _uncovered(previous, now, time.recent)
    credited = round(max(0.0, min(fresh, cap_seconds - time.seconds)), 3)
    horizon = now - timedelta(seconds=max_gap)
    recent = tuple(interval for interval in _merge([*time.recent, (previous, now)]) if interval[1] > horizon)
    seconds = round(time.seconds + credited, 3)
    newly = not time.studied and seconds >= min_seconds
    return Credit(replace(time, seconds=seconds, recent=recent, studied=time.studied or newly), credited, newly,
                  counted=True)


def stored_time(time: ItemTime) -> dict:
    return {"seconds": time.seconds, "recent": [[stamp(start), stamp(end)] for start, end in time.recent]}


def time_of(progress: dict | None) -> ItemTime:
    if not progress:
        return ItemTime()
    return ItemTime(progress.get("seconds", 0.0),
                    tuple((parse_stamp(start), parse_stamp(end)) for start, end in progress.get("recent") or ()),
                    bool(progress.get("studied_at")))


# --- progress --------------------------------------------------------------------------------------------
def rate(part: int, whole: int) -> float:
    """A percentage to one decimal; 0 when there is nothing to count."""
    return round(100.0 * min(part, whole) / whole, 1) if whole else 0.0


def group_key(branch: dict, by: str) -> tuple[str, str]:
    """(id, name) of the group a branch counts in: itself, its county (the tenant root's child on its path),
    its field or its category."""
    if by == "branch":
        return branch["org_id"], branch["name"]
    if by == "county":
        ids, names = branch["path_ids"], branch.get("path_names") or []
        index = 1 if len(ids) > 1 else 0
        return ids[index], names[index] if index < len(names) else ""
    value = branch.get(by) or ""
    return value, value


def progress_rows(branches: list[dict], roster_sizes: dict[str, int], counters: dict[str, dict], item_count: int,
                  by: str) -> list[dict]:
    """Ranked rows of a package's progress over ``branches``: per group the roster, the members who studied every
    item (完成率 = completed / roster), the items studied of all items owed (items rate). Counters are kept per
    branch; a member counts in the branch it studied from and is never counted above its branch's roster."""
    groups: dict[str, dict] = {}
    for branch in branches:
        group_id, name = group_key(branch, by)
        row = groups.setdefault(group_id, {"group_id": group_id, "name": name, "branches": 0, "members": 0,
                                           "started": 0, "completed": 0, "items_studied": 0})
        roster = roster_sizes.get(branch["org_id"], 0)
        counts = counters.get(branch["org_id"]) or {}
        row["branches"] += 1
        row["members"] += roster
        row["started"] += min(counts.get("started", 0), roster)
        row["completed"] += min(counts.get("completed", 0), roster)
        row["items_studied"] += min(counts.get("items_studied", 0), roster * item_count)
    rows = list(groups.values())
    for row in rows:
        row["completion_rate"] = rate(row["completed"], row["members"])
        row["items_rate"] = rate(row["items_studied"], row["members"] * item_count)
    rows.sort(key=lambda r: (-r["completion_rate"], -r["items_rate"], r["name"], r["group_id"]))
    for index, row in enumerate(rows):
        previous = rows[index - 1] if index else None
        same = previous and (previous["completion_rate"], previous["items_rate"]) == (
            row["completion_rate"], row["items_rate"])
        row["rank"] = previous["rank"] if same else index + 1
    return rows


def totals(rows: list[dict], item_count: int) -> dict:
    members = sum(r["members"] for r in rows)
    completed = sum(r["completed"] for r in rows)
    studied = sum(r["items_studied"] for r in rows)
    return {"branches": sum(r["branches"] for r in rows), "members": members, "completed": completed,
            "started": sum(r["started"] for r in rows), "items_studied": studied,
            "completion_rate": rate(completed, members), "items_rate": rate(studied, members * item_count)}


# --- a branch's study ranking (本支部学习榜) ------------------------------------------------------------------
def study_ranking(roster: list[dict], rows: list[dict], package_ids) -> list[dict]:
    """The branch's members ranked by the items they studied of the month's packages, then by the seconds the
    service credited them on those items; equal items and seconds share a rank. Only roster members with credited
    time are listed: it shows progress, nobody is ranked last for not having started. ``rows``: study items
    (member_id, package_id, seconds, studied_at)."""
    wanted, names = set(package_ids), {member["member_id"]: member.get("name", "") for member in roster}
    totals: dict[str, dict] = {}
    for row in rows:
        if row.get("package_id") not in wanted or row.get("member_id") not in names:
            continue
        entry = totals.setdefault(row["member_id"], {"member_id": row["member_id"], "name": names[row["member_id"]],
                                                     "items_studied": 0, "seconds": 0.0})
        entry["items_studied"] += int(bool(row.get("studied_at")))
        entry["seconds"] += float(row.get("seconds") or 0)
    entries = [{**entry, "seconds": int(entry["seconds"])} for entry in totals.values()
               if entry["items_studied"] or int(entry["seconds"])]
    entries.sort(key=lambda e: (-e["items_studied"], -e["seconds"], e["name"], e["member_id"]))
    for index, entry in enumerate(entries):
        previous = entries[index - 1] if index else None
        same = previous and (previous["items_studied"], previous["seconds"]) == (entry["items_studied"],
                                                                                 entry["seconds"])
        entry["rank"] = previous["rank"] if same else index + 1
    return entries
