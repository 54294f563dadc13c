"""Role models (每周一先、每月一星), development publicity (发展党员公示) and the secretary mailbox (书记信箱): pure rules.

Three lifecycles, each an explicit state machine (states, allowed transitions, a guard per transition):

- a letter:      open --answer--> answered;  open --withdraw--> withdrawn (by its author).
                 "overdue" is not a state: an open letter past its ``due_at`` (asked + ``mailbox_overdue_days``).
- a publicity:   open --close--> closed (after its last day, every objection handled);
                 open --suspend--> suspended (an objection found true, 属实).
- an objection:  pending --handle--> handled (outcome dismissed 不属实 | sustained 属实).

Role models: the candidates of a branch for a week or a month, proposed from the period's points; the secretary
names one with a citation. Time always comes in as an argument.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Callable

from servicekit.errors import Conflict, InvalidArgument
from servicekit.timestamps import parse_stamp


# --------------------------------------------------------------------------- state machines
@dataclass(frozen=True)
class Transition:
    """From ``sources`` to ``target``; a Conflict ``code`` from any other state, and ``guard(doc, context)`` must
    hold too (else the Conflict ``guard_code``)."""
    name: str
    sources: frozenset
    target: Enum
    code: str
    message: str
    guard: Callable[[dict, dict], bool] | None = None
    guard_code: str = ""
    guard_message: str = ""


def _apply(transition: Transition, state: Enum, doc: dict, context: dict | None) -> Enum:
    if state not in transition.sources:
        raise Conflict(transition.message, code=transition.code)
    if transition.guard is not None and not transition.guard(doc, context or {}):
        raise Conflict(transition.guard_message, code=transition.guard_code)
    return transition.target


class LetterState(str, Enum):
    OPEN = "open"                # waiting for its answer (overdue once past due_at)
    ANSWERED = "answered"
    WITHDRAWN = "withdrawn"      # taken back by its author before an answer


ANSWER_LETTER = Transition("answer", frozenset({LetterState.OPEN}), LetterState.ANSWERED, "LETTER_CLOSED",
                           "该信件已答复或已撤回")
WITHDRAW_LETTER = Transition("withdraw", frozenset({LetterState.OPEN}), LetterState.WITHDRAWN, "LETTER_CLOSED",
                             "该信件已答复或已撤回")
LETTER_TRANSITIONS = (ANSWER_LETTER, WITHDRAW_LETTER)


def letter_transition(transition: Transition, letter: dict) -> LetterState:
    return _apply(transition, LetterState(letter["state"]), letter, None)


def is_overdue(letter: dict, now: datetime) -> bool:
    """An open letter past its due time."""
    return letter["state"] == LetterState.OPEN.value and now > parse_stamp(letter["due_at"])


def answered_late(letter: dict, now: datetime) -> bool:
    return now > parse_stamp(letter["due_at"])


def in_recipients_order(letters: list[dict], now: datetime) -> list[dict]:
    """Overdue letters first, then the other open ones, oldest first in both; then the answered and withdrawn,
    newest first."""
    overdue = [letter for letter in letters if is_overdue(letter, now)]
    waiting = [letter for letter in letters if letter["state"] == LetterState.OPEN.value and letter not in overdue]
    done = [letter for letter in letters if letter["state"] != LetterState.OPEN.value]
    oldest = lambda letter: (letter["asked_at"], letter["_id"])   # noqa: E731
    return sorted(overdue, key=oldest) + sorted(waiting, key=oldest) + \
        sorted(done, key=lambda letter: (letter.get("closed_at") or letter["asked_at"], letter["_id"]), reverse=True)


class PublicityState(str, Enum):
    OPEN = "open"                # 公示中: objections accepted until the last day
    CLOSED = "closed"            # 公示期满，无异议或异议不属实
    SUSPENDED = "suspended"      # 异议属实，发展程序暂停


def _after_last_day(publicity: dict, context: dict) -> bool:
    return context["today"] > publicity["closes_on"]


def _no_pending_objection(publicity: dict, context: dict) -> bool:
    return not context.get("pending_objections")


CLOSE_PUBLICITY = Transition("close", frozenset({PublicityState.OPEN}), PublicityState.CLOSED, "PUBLICITY_NOT_OPEN",
                             "该公示已结束", guard=lambda doc, ctx: _after_last_day(doc, ctx)
                             and _no_pending_objection(doc, ctx),
                             guard_code="PUBLICITY_NOT_DUE", guard_message="公示期未满或仍有异议未处理，不能结束公示")
SUSPEND_PUBLICITY = Transition("suspend", frozenset({PublicityState.OPEN}), PublicityState.SUSPENDED,
                               "PUBLICITY_NOT_OPEN", "该公示已结束")
# An objection is received while the notice is up: from the first day to the last, in the open state.
OBJECT = Transition("object", frozenset({PublicityState.OPEN}), PublicityState.OPEN, "PUBLICITY_NOT_OPEN",
                    "该公示已结束，不再受理异议",
                    guard=lambda doc, ctx: doc["opens_on"] <= ctx["today"] <= doc["closes_on"],
                    guard_code="PUBLICITY_NOT_OPEN", guard_message="不在公示期内，不再受理异议")
PUBLICITY_TRANSITIONS = (CLOSE_PUBLICITY, SUSPEND_PUBLICITY, OBJECT)


def publicity_transition(transition: Transition, publicity: dict, today: str,
                         pending_objections: int = 0) -> PublicityState:
    return _apply(transition, PublicityState(publicity["state"]), publicity,
                  {"today": today, "pending_objections": pending_objections})


class ObjectionState(str, Enum):
    PENDING = "pending"
    HANDLED = "handled"


OUTCOMES = {"dismissed": "异议不属实", "sustained": "异议属实"}
HANDLE_OBJECTION = Transition("handle", frozenset({ObjectionState.PENDING}), ObjectionState.HANDLED,
                              "OBJECTION_HANDLED", "该异议已处理")


def objection_transition(objection: dict) -> ObjectionState:
    return _apply(HANDLE_OBJECTION, ObjectionState(objection["state"]), objection, None)


# --------------------------------------------------------------------------- publicity rules
# identity's domain (services.identity.domain.development.PUBLICISED_STEPS) names the same steps for its record
DEVELOPMENT_STEPS = {"development_target": "发展对象", "probationary": "预备党员", "full": "预备党员转正"}
PUBLICITY_WHAT = {"development_target": "确定为发展对象", "probationary": "接收为预备党员", "full": "转为正式党员"}


def is_publicised(new_status: str) -> bool:
    """The steps of member development that are publicised (发展对象, 接收预备党员 and 预备党员转正)."""
    return new_status in DEVELOPMENT_STEPS


def closes_on(opens_on: date, working_days: int) -> date:
    """The last day of a publicity of ``working_days`` working days (Monday to Friday) from ``opens_on``
    (counted from it when it is a working day). Public holidays are not known here: an office that needs them
    sets ``publicity_days`` longer."""
    day, counted = opens_on, 0
    while True:
        if day.weekday() < 5:
            counted += 1
            if counted >= working_days:
                return day
        day += timedelta(days=1)


def publicity_text(step: str, member_name: str, branch_name: str, org_name: str, opens_on: str,
                   closes_on_: str) -> tuple[str, str]:
    """The notice's title and body (plain text, paragraphs by newline)."""
    label = DEVELOPMENT_STEPS[step]
    what = PUBLICITY_WHAT[step]
    title = f"关于{member_name}同志拟{what}的公示"
    body = "\n".join([
        f"根据《中国共产党发展党员工作细则》，经{branch_name}研究，拟将{member_name}同志{what}，现予以公示。",
        f"公示时间：{opens_on} 至 {closes_on_}。",
        f"公示期间，如对{member_name}同志{label}人选有不同意见，可通过本公告下方的“提出异议”向{org_name}反映。"
        "反映问题应实事求是，提倡署真实姓名；匿名反映的，上级党组织仍可看到提交账号，以便核实。",
        f"{org_name}",
    ])
    return title, body



def publicity_ending_text(state: str, on: str, objections: int) -> str:
    """The paragraph a publicity's notice gains when it ends, so that a reader of the notice sees its outcome."""
    if state == PublicityState.SUSPENDED.value:
        return f"【公示结果】{on}：公示期间反映的问题经核实成立，本公示中止，发展程序暂停。"
    handled = "，期间收到的异议已核实处理" if objections else "，未收到异议"
    return f"【公示结果】{on}：公示期满{handled}，公示结束。"


# --------------------------------------------------------------------------- role models
ROLE_MODEL_KINDS = {"weekly_pioneer": "每周一先", "monthly_star": "每月一星"}
_WEEK = re.compile(r"(\d{4})-W(\d{2})")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
PROPOSED = 5
MAX_CITATION = 500


def period_days(kind: str, period: str) -> tuple[date, date]:
    """The first and last day of a period: an ISO week ``YYYY-Www`` for the weekly pioneer, a month ``YYYY-MM``
    for the monthly star."""
    if kind == "weekly_pioneer":
        match = _WEEK.fullmatch(period or "")
        if match:
            try:
                first = date.fromisocalendar(int(match[1]), int(match[2]), 1)
                return first, first + timedelta(days=6)
            except ValueError:
                pass
        raise InvalidArgument("period 应为 ISO 周，如 2026-W49", code="PERIOD_INVALID", field="period")
    match = _MONTH.fullmatch(period or "")
    if match and 1 <= int(match[2]) <= 12:
        first = date(int(match[1]), int(match[2]), 1)
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return first, following - timedelta(days=1)
    raise InvalidArgument("period 应为月份，如 2026-12", code="PERIOD_INVALID", field="period")


def current_period(kind: str, today: date) -> str:
    if kind == "weekly_pioneer":
        year, week, _ = today.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{today.year}-{today.month:02d}"


def check_period_started(first: date, today: date) -> None:
    if first > today:
        raise InvalidArgument("该周期尚未开始", code="PERIOD_IN_FUTURE", field="period")


CATEGORY_LABELS = {"attendance": "参加主题党日", "reflection": "心得体会", "volunteer_hours": "志愿服务",
                   "quiz": "学习答题", "study": "学习", "contest": "知识竞赛"}
# a member with a deduction or an absence in the period is not proposed as its example
DISQUALIFYING = ("negative", "absence")


def propose(roster: list[dict], totals: dict[str, dict], named_before: set[str] = frozenset(),
            limit: int = PROPOSED) -> list[dict]:
    """The proposed candidates among the branch's ``roster`` ({member_id, name}), highest points first:
    ``totals`` maps a member id to {total, by_category} of the period. A member with no positive points, or with a
    deduction or an absence in the period, is not proposed; one named for the previous period comes after the
    others at equal points (the honour goes round). Each candidate carries its reason."""
    candidates = []
    for member in roster:
        row = totals.get(member["member_id"]) or {}
        by_category = row.get("by_category") or {}
        total = round(float(row.get("total") or 0), 2)
        if total <= 0 or any((by_category.get(name) or 0) < 0 for name in DISQUALIFYING):
            continue
        parts = [f"{CATEGORY_LABELS.get(name, name)} {_number(value)}"
                 for name, value in sorted(by_category.items(), key=lambda kv: (-kv[1], kv[0])) if value > 0]
        candidates.append({"member_id": member["member_id"], "name": member.get("name", ""), "points": total,
                           "by_category": {k: round(v, 2) for k, v in by_category.items()},
                           "named_before": member["member_id"] in named_before,
                           "reason": f"本期积分 {_number(total)} 分（{'、'.join(parts)}）"})
    candidates.sort(key=lambda c: (-c["points"], c["named_before"], c["name"], c["member_id"]))
    return candidates[:limit]


def previous_period(kind: str, first: date) -> str:
    return current_period(kind, first - timedelta(days=1))


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")


def role_model_text(kind: str, period: str, member_name: str, branch_name: str, citation: str) -> tuple[str, str]:
    label = ROLE_MODEL_KINDS[kind]
    when = period.replace("-W", "年第") + "周" if kind == "weekly_pioneer" else \
        f"{period[:4]}年{int(period[5:7])}月"
    title = f"{branch_name}{when}“{label}”：{member_name}同志"
    body = "\n".join([f"经{branch_name}推荐、支部书记确认，{member_name}同志被评为{when}“{label}”。",
                      f"事迹：{citation}",
                      "希望广大党员以先进为榜样，立足岗位、争当先锋。"])
    return title, body


def check_citation(citation) -> str:
    if citation is None:
        citation = ""
    if not isinstance(citation, str):
        raise InvalidArgument("citation 必须是字符串", code="INVALID_TYPE", field="citation")
    citation = citation.strip()
    if not citation:
        raise InvalidArgument("请填写先进事迹", code="REQUIRED", field="citation")
    if len(citation) > MAX_CITATION:
        raise InvalidArgument(f"先进事迹不能超过 {MAX_CITATION} 个字", code="TOO_LONG", field="citation")
    if _CONTROL.search(citation):
        raise InvalidArgument("内容含有不可见的控制字符", code="CONTROL_CHARACTERS", field="citation")
    return citation


# --------------------------------------------------------------------------- letters and objections
LETTER_KINDS = {"branch": "党支部书记", "superior": "上级党组织"}
MAX_SUBJECT, MAX_BODY, MAX_ANSWER, MAX_OBJECTION = 100, 2000, 2000, 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def written_text(value, field: str, max_length: int, label: str) -> str:
    """Free text a person wrote: required, trimmed, at most ``max_length``, no control characters but line
    breaks and tabs."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidArgument(f"{label}必须是文字", code="INVALID_TYPE", field=field)
    value = value.strip()
    if not value:
        raise InvalidArgument(f"请填写{label}", code="REQUIRED", field=field)
    if len(value) > max_length:
        raise InvalidArgument(f"{label}不能超过 {max_length} 个字", code="TOO_LONG", field=field)
    if _CONTROL.search(value):
        raise InvalidArgument("内容含有不可见的控制字符", code="CONTROL_CHARACTERS", field=field)
    return value


def flag(value, field: str) -> bool:
    """An optional bool: absent is False."""
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidArgument(f"{field} 必须是布尔值", code="INVALID_TYPE", field=field)
    return value


def letter_due(asked_at: datetime, overdue_days: int) -> datetime:
    return asked_at + timedelta(days=overdue_days)
