"""Democratic appraisal of members (民主评议党员): a branch's yearly appraisal, its lifecycle and its rules.

draft --open--> open --(closes_at passes)--> closed --decide--> decided

``closed`` is reached by time alone: a stored ``open`` whose ``closes_at`` has passed (the server's clock) is
closed, and is stored as such by the first write that needs it. Votes are tallied per member with no ballot
kept (see docs/security.md#anonymous-votes); the committee or assembly then decides every grade with a reason.
A grade of 不合格 is never set by votes: many votes against a member only flag the case.
No I/O, no clock reads: time comes in as an argument.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from servicekit.errors import Conflict, InvalidArgument
from servicekit.timestamps import parse_stamp


class State(str, Enum):
    DRAFT = "draft"          # created with its roster; nothing may be submitted yet
    OPEN = "open"            # reviews and votes are taken until closes_at
    CLOSED = "closed"        # the vote is over: tallies (of 5 voters or more) and flags for the committee
    DECIDED = "decided"      # every member's grade decided with a reason; results to the superior and the member


DRAFT, OPEN, CLOSED, DECIDED = State

# grades, best first: the vote's choices and the committee's decisions
EXCELLENT, QUALIFIED, BASIC, UNQUALIFIED = "excellent", "qualified", "basically_qualified", "unqualified"
GRADES = (EXCELLENT, QUALIFIED, BASIC, UNQUALIFIED)
GRADE_NAMES = {EXCELLENT: "优秀", QUALIFIED: "合格", BASIC: "基本合格", UNQUALIFIED: "不合格"}
NEGATIVE = (BASIC, UNQUALIFIED)

MIN_TALLY_VOTERS = 5                # a member's tally is shown only when at least this many voted on it
DEFAULT_EXCELLENT_MAX_RATIO = 1 / 3
DEFAULT_FLAG_NEGATIVE_SHARE = 0.3
TEXT_MAX_CHARS = 2000
REASON_MAX_CHARS = 500
DECIDERS = ("committee", "assembly")        # 支委会 or 支部党员大会

# flags for the committee
FLAG_VOTES_AGAINST = "votes_against"            # many negative votes: the committee looks, never an automatic grade
FLAG_POINTS_HIGH = "negative_votes_top_points"  # many negative votes but points in the branch's top decile
FLAG_POINTS_LOW = "excellent_votes_low_points"  # mostly 优秀 but points in the branch's bottom decile


def state_of(doc: dict, now: datetime) -> State:
    """The appraisal's state at ``now``: a stored ``open`` past its ``closes_at`` is closed."""
    state = State(doc["state"])
    if state is OPEN and now >= parse_stamp(doc["closes_at"]):
        return CLOSED
    return state


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[State]
    target: State | None         # None: an action that leaves the state as it is
    code: str
    message: str


OPEN_VOTE = Transition("open", frozenset({DRAFT}), OPEN, "APPRAISAL_NOT_DRAFT", "只有草稿状态的评议可以开启")
REVIEW = Transition("review", frozenset({OPEN}), None, "APPRAISAL_NOT_OPEN", "评议未开启或已截止，不能提交评议")
VOTE = Transition("vote", frozenset({OPEN}), None, "APPRAISAL_NOT_OPEN", "投票未开启或已截止")
DECIDE = Transition("decide", frozenset({CLOSED}), DECIDED, "APPRAISAL_NOT_CLOSED",
                    "投票截止后才能评定等次，已评定的不能再改")
TRANSITIONS = (OPEN_VOTE, REVIEW, VOTE, DECIDE)


def check(transition: Transition, doc: dict, now: datetime) -> State:
    """The state ``transition`` leads to from the appraisal's state at ``now``; Conflict when not allowed."""
    state = state_of(doc, now)
    if state not in transition.sources:
        raise Conflict(transition.message, code=transition.code, field="appraisal_id")
    return transition.target or state


# --- arguments -------------------------------------------------------------------------------------------------
_YEAR = re.compile(r"[0-9]{4}")
_DISGUISING = {*map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A)), "\u2028", "\u2029"}


def check_year(value) -> str:
    if not isinstance(value, str):
        raise InvalidArgument("year 必须是字符串", code="INVALID_TYPE", field="year")
    value = value.strip()
    if not value:
        raise InvalidArgument("请填写评议年度", code="REQUIRED", field="year")
    if not _YEAR.fullmatch(value) or not 2000 <= int(value) <= 2100:
        raise InvalidArgument("评议年度格式应为 YYYY", code="YEAR_INVALID", field="year")
    return value


def check_closes_at(value, now: datetime) -> datetime:
    """When the vote closes (ISO-8601 with its offset): later than now, within a year."""
    if not isinstance(value, str):
        raise InvalidArgument("closes_at 必须是字符串", code="INVALID_TYPE", field="closes_at")
    if not value.strip():
        raise InvalidArgument("请填写投票截止时间", code="REQUIRED", field="closes_at")
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument("投票截止时间格式应为 ISO-8601（含时区）", code="TIME_INVALID",
                              field="closes_at") from None
    if moment.tzinfo is None:
        raise InvalidArgument("投票截止时间须带时区", code="TIME_INVALID", field="closes_at")
    if moment <= now:
        raise InvalidArgument("投票截止时间须晚于现在", code="CLOSES_AT_PASSED", field="closes_at")
    if (moment - now).days > 366:
        raise InvalidArgument("投票截止时间不能晚于一年以后", code="CLOSES_AT_TOO_LATE", field="closes_at")
    return moment


def check_text(value, field: str, label: str, max_chars: int = TEXT_MAX_CHARS) -> str:
    """A review or a reason: trimmed, 1 to max_chars characters, no control characters but line breaks and tabs."""
    if not isinstance(value, str):
        raise InvalidArgument(f"{field} 必须是字符串", code="INVALID_TYPE", field=field)
    text = value.replace("\r\n", "\n").strip()
    if not text:
        raise InvalidArgument(f"请填写{label}", code="REQUIRED", field=field)
    if len(text) > max_chars:
        raise InvalidArgument(f"{label}不能超过 {max_chars} 个字", code="TOO_LONG", field=field)
    if any((unicodedata.category(char) == "Cc" and char not in "\n\t") or char in _DISGUISING for char in text):
        raise InvalidArgument(f"{label}不能含有控制字符", code="CONTROL_CHARACTERS", field=field)
    return text


def check_ratio(value, field: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise InvalidArgument(f"{field} 必须是数字", code="INVALID_TYPE", field=field)
    if not low < value <= high:
        raise InvalidArgument(f"{field} 必须大于 {low:g} 且不大于 {high:g}", code="OUT_OF_RANGE", field=field)
    return float(value)


def excellent_limit(roster_size: int, ratio: float) -> int:
    """At most this many 优秀 (one third of the members by default), rounded down."""
    return math.floor(roster_size * ratio + 1e-9)


def check_ballot(choices, voter: str, roster) -> dict[str, str]:
    """{member_id: grade} for every roster member but the voter: each graded once, no one else."""
    if not isinstance(choices, list):
        raise InvalidArgument("choices 必须是列表", code="INVALID_TYPE", field="choices")
    ballot: dict[str, str] = {}
    for choice in choices:
        if not isinstance(choice, dict) or not isinstance(choice.get("member_id"), str) \
                or not isinstance(choice.get("grade"), str):
            raise InvalidArgument("每一项须有 member_id 和 grade", code="INVALID_TYPE", field="choices")
        member, grade = choice["member_id"], choice["grade"]
        if grade not in GRADES:
            raise InvalidArgument("grade 只能是 " + "、".join(GRADES), code="UNKNOWN_VALUE", field="choices")
        if member not in roster or member == voter:
            raise InvalidArgument("只能评价本次评议名单中的其他党员", code="NOT_IN_APPRAISAL", field="choices")
        if member in ballot:
            raise InvalidArgument("同一名党员只能评价一次", code="DUPLICATE_MEMBER", field="choices")
        ballot[member] = grade
    if set(ballot) != set(roster) - {voter}:
        raise InvalidArgument("请对名单中的每一名其他党员作出评价", code="BALLOT_INCOMPLETE", field="choices")
    return ballot


def check_grades(grades, roster, limit: int) -> dict[str, dict]:
    """{member_id: {"grade", "reason"}}: every roster member decided once, each with a reason; 优秀 within limit."""
    if not isinstance(grades, list):
        raise InvalidArgument("grades 必须是列表", code="INVALID_TYPE", field="grades")
    decided: dict[str, dict] = {}
    for row in grades:
        if not isinstance(row, dict) or not isinstance(row.get("member_id"), str) \
                or not isinstance(row.get("grade"), str):
            raise InvalidArgument("每一项须有 member_id、grade 和 reason", code="INVALID_TYPE", field="grades")
        if row["grade"] not in GRADES:
            raise InvalidArgument("grade 只能是 " + "、".join(GRADES), code="UNKNOWN_VALUE", field="grades")
        if row["member_id"] not in roster:
            raise InvalidArgument("只能评定本次评议名单中的党员", code="NOT_IN_APPRAISAL", field="grades")
        if row["member_id"] in decided:
            raise InvalidArgument("同一名党员只能评定一次", code="DUPLICATE_MEMBER", field="grades")
        reason = check_text(row.get("reason"), "grades", f"{roster[row['member_id']].get('name', '')}的评定理由",
                            REASON_MAX_CHARS)
        decided[row["member_id"]] = {"grade": row["grade"], "reason": reason}
    if set(decided) != set(roster):
        raise InvalidArgument("请为名单中的每一名党员评定等次", code="GRADES_INCOMPLETE", field="grades")
    excellent = sum(1 for row in decided.values() if row["grade"] == EXCELLENT)
    if excellent > limit:
        raise InvalidArgument(f"优秀等次不能超过 {limit} 名（本支部参评党员的比例上限）", code="EXCELLENT_OVER_LIMIT",
                              field="grades")
    return decided


# --- tallies and flags -----------------------------------------------------------------------------------------
def tally_shown(tally: dict | None) -> bool:
    return bool(tally) and sum(tally.get(grade, 0) for grade in GRADES) >= MIN_TALLY_VOTERS


def deciles(points: dict[str, float], members) -> tuple[set[str], set[str]]:
    """The members in the top and in the bottom decile of the branch's points (at least one each; ties at the
    boundary count in). Members without points have 0."""
    members = list(members)
    if len(members) < 2:
        return set(), set()
    values = sorted((points.get(member, 0.0) for member in members), reverse=True)
    size = max(1, math.ceil(len(members) / 10))
    top_bar, bottom_bar = values[size - 1], values[-size]
    if top_bar == bottom_bar:           # everyone alike: no one stands out
        return set(), set()
    return ({m for m in members if points.get(m, 0.0) >= top_bar},
            {m for m in members if points.get(m, 0.0) <= bottom_bar})


def flags_of(tally: dict | None, member: str, top: set[str], bottom: set[str],
             negative_share: float = DEFAULT_FLAG_NEGATIVE_SHARE) -> list[str]:
    """What the committee should look at for one member; nothing where the tally is not shown (under 5 votes)."""
    if not tally_shown(tally):
        return []
    votes = sum(tally.get(grade, 0) for grade in GRADES)
    against = sum(tally.get(grade, 0) for grade in NEGATIVE) / votes
    flags = []
    if against >= negative_share:
        flags.append(FLAG_VOTES_AGAINST)
        if member in top:
            flags.append(FLAG_POINTS_HIGH)
    if tally.get(EXCELLENT, 0) / votes > 0.5 and member in bottom:
        flags.append(FLAG_POINTS_LOW)
    return flags
