"""Citizens' service orders and members' claims on them (pure; time comes in as an argument).

An order::

    placed ──review(approve)──> approved ──dispatch──> open ──first check-in──> in_service
      │  └─review(reject)──> rejected          │                                       │ all checked out
      │  └─merge──> merged                     │                                       v
      └─cancel (citizen)──> cancelled <────────┘ (before dispatch only)            completed
                                       completed ──confirm (citizen) | no dispute in auto_confirm_hours──> confirmed
                                       completed ──dispute (citizen)──> disputed ──resolve──> closed

Every transition is one row of ``TRANSITIONS``: the states it leaves, the state it reaches, who may take it and a
guard; ``transition`` applies one and answers the change with its history entry (who, when, why). Anything else
is refused with ``ORDER_STATE_CONFLICT`` naming the state.

A claim (one per (order, member), ``_id`` "<order_id>:<member_id>")::

    (none) | withdrawn | released ──claim──> claimed ──check in──> checked_in ──check out──> checked_out
                                             claimed ──withdraw (the member)──> withdrawn
                                             claimed ──start timeout (the sweep)──> released

A claim holds a place on the order while claimed, checked in or checked out (``HOLDS_PLACE``); the store keeps
the order's ``places_left`` counter and takes a place in the same conditional write that writes the claim.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Callable

from servicekit.errors import Conflict, InvalidArgument
from servicekit.geo import check_coordinates, finite_number, require_number
from servicekit.timestamps import parse_stamp, stamp

from services.volunteer.domain import settings as settings_rules
from services.volunteer.domain.hours import hours_between
from services.volunteer.domain.teams import moment

DESCRIPTION_MAX = 500
ADDRESS_MAX = 200
CONTACT_NAME_MAX = 30
REASON_MAX = 200
COMMENT_MAX = 300
COMPLETION_TEXT_MAX = 1000
MAX_VOLUNTEERS = 50
MAX_HOURS_CAP = 24
MAX_WISHED_SPAN = timedelta(days=7)         # a wish wider than a week is no appointment to keep
MAX_WISHED_AHEAD = timedelta(days=90)
WISHED_START_SLACK = timedelta(minutes=10)  # a form filled in for "now" reaches the server a little later
CHECKIN_OPENS_BEFORE = timedelta(minutes=60)
MAX_ACCURACY_M = 100

MOBILE = re.compile(r"1[3-9]\d{9}")
LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}")
LAST4 = re.compile(r"\d{4}")


# --- actors -----------------------------------------------------------------------------------------------
CITIZEN, GUEST, MEMBER, MANAGER, SYSTEM = "citizen", "guest", "member", "manager", "system"


@dataclass(frozen=True)
class Actor:
    kind: str        # CITIZEN | GUEST | MEMBER | MANAGER | SYSTEM
    id: str = ""     # account id (citizen, manager), member id, "" for a guest or the system

    def to_dict(self) -> dict:
        return {"kind": self.kind, "id": self.id}


THE_SYSTEM = Actor(SYSTEM)
CUSTOMERS = frozenset({CITIZEN, GUEST})   # the one who placed the order, with an account or a tracking code


# --- the order's states -------------------------------------------------------------------------------------
class OrderState(str, Enum):
    PLACED = "placed"
    APPROVED = "approved"
    REJECTED = "rejected"
    MERGED = "merged"
    CANCELLED = "cancelled"
    OPEN = "open"
    IN_SERVICE = "in_service"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    DISPUTED = "disputed"
    CLOSED = "closed"


(PLACED, APPROVED, REJECTED, MERGED, CANCELLED, OPEN, IN_SERVICE, COMPLETED, CONFIRMED, DISPUTED,
 CLOSED) = OrderState
STATUS_LABELS = {PLACED: "待审核", APPROVED: "待派单", REJECTED: "已驳回", MERGED: "已合并", CANCELLED: "已取消",
                 OPEN: "接单中", IN_SERVICE: "服务中", COMPLETED: "待评价", CONFIRMED: "已完成", DISPUTED: "有异议",
                 CLOSED: "已结案"}
FINAL = frozenset({REJECTED, MERGED, CANCELLED, CONFIRMED, CLOSED})


def state_of(order: dict) -> OrderState:
    return OrderState(order["status"])


# --- the transition table -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Transition:
    """From ``sources`` to ``target``, taken by an actor of ``actors``; ``guard(order, now)`` must hold too, else
    Conflict ``guard_refusal(order, now)`` (code, message)."""
    name: str
    sources: frozenset[OrderState]
    target: OrderState
    actors: frozenset[str]
    guard: Callable[[dict, datetime], bool] | None = None
    guard_refusal: Callable[[dict, datetime], tuple[str, str]] | None = None


def _nobody_pending(order: dict, now: datetime) -> bool:
    """Every claim holding a place has checked out (the store counts the claims claimed or checked in)."""
    return order.get("pending", 0) == 0


def _still_serving(order: dict, now: datetime) -> tuple[str, str]:
    return "SERVICE_NOT_FINISHED", "还有志愿者未签退"


def _auto_confirm_due(order: dict, now: datetime) -> bool:
    return bool(order.get("auto_confirm_at")) and now >= parse_stamp(order["auto_confirm_at"])


def _not_due(order: dict, now: datetime) -> tuple[str, str]:
    return "NOT_DUE", "尚未到自动确认时间"


REVIEW_APPROVE = Transition("approve", frozenset({PLACED}), APPROVED, frozenset({MANAGER}))
REVIEW_REJECT = Transition("reject", frozenset({PLACED}), REJECTED, frozenset({MANAGER}))
MERGE = Transition("merge", frozenset({PLACED}), MERGED, frozenset({MANAGER}))
CANCEL = Transition("cancel", frozenset({PLACED, APPROVED}), CANCELLED, CUSTOMERS)
DISPATCH = Transition("dispatch", frozenset({APPROVED}), OPEN, frozenset({MANAGER}))
START = Transition("start", frozenset({OPEN}), IN_SERVICE, frozenset({MEMBER}))
COMPLETE = Transition("complete", frozenset({IN_SERVICE}), COMPLETED, frozenset({MEMBER, SYSTEM}),
                      _nobody_pending, _still_serving)
CONFIRM = Transition("confirm", frozenset({COMPLETED}), CONFIRMED, CUSTOMERS)
AUTO_CONFIRM = Transition("auto_confirm", frozenset({COMPLETED}), CONFIRMED, frozenset({SYSTEM}),
                          _auto_confirm_due, _not_due)
DISPUTE = Transition("dispute", frozenset({COMPLETED}), DISPUTED, CUSTOMERS)
RESOLVE = Transition("resolve", frozenset({DISPUTED}), CLOSED, frozenset({MANAGER}))
TRANSITIONS = (REVIEW_APPROVE, REVIEW_REJECT, MERGE, CANCEL, DISPATCH, START, COMPLETE, CONFIRM, AUTO_CONFIRM,
               DISPUTE, RESOLVE)


def state_conflict(state: OrderState) -> Conflict:
    return Conflict(f"订单当前状态为「{STATUS_LABELS[state]}」，不能执行此操作", code="ORDER_STATE_CONFLICT",
                    field="status")


@dataclass(frozen=True)
class Step:
    """A transition taken: the state left, the state reached and the history entry to append."""
    source: OrderState
    target: OrderState
    entry: dict


def transition(rule: Transition, order: dict, actor: Actor, now: datetime, reason: str = "") -> Step:
    """Take ``rule`` on ``order``; Conflict ``ORDER_STATE_CONFLICT`` from a state it does not leave, the guard's
    refusal when its guard does not hold. An actor the rule does not name is a programming error."""
    if actor.kind not in rule.actors:
        raise ValueError(f"{actor.kind} may not {rule.name}")
    state = state_of(order)
    if state not in rule.sources:
        raise state_conflict(state)
    if rule.guard is not None and not rule.guard(order, now):
        code, message = rule.guard_refusal(order, now)
        raise Conflict(message, code=code)
    entry = {"from": state.value, "to": rule.target.value, "action": rule.name, "actor_kind": actor.kind,
             "actor_id": actor.id, "at": stamp(now), "reason": reason}
    return Step(state, rule.target, entry)


# --- claims -------------------------------------------------------------------------------------------------
class ClaimState(str, Enum):
    CLAIMED = "claimed"
    WITHDRAWN = "withdrawn"
    RELEASED = "released"
    CHECKED_IN = "checked_in"
    CHECKED_OUT = "checked_out"


CLAIMED, WITHDRAWN, RELEASED, CHECKED_IN, CHECKED_OUT = ClaimState
CLAIM_LABELS = {CLAIMED: "已接单", WITHDRAWN: "已退出", RELEASED: "超时释放", CHECKED_IN: "服务中",
                CHECKED_OUT: "已签退"}
HOLDS_PLACE = frozenset({CLAIMED, CHECKED_IN, CHECKED_OUT})
PENDING = frozenset({CLAIMED, CHECKED_IN})           # holds a place and has not checked out yet
REOPENS = frozenset({WITHDRAWN, RELEASED})           # a claim row that may be claimed again

_NO_CLAIM = ("CLAIM_NOT_FOUND", "您没有接这个订单")
_CHECKED_IN = ("ALREADY_CHECKED_IN", "您已签到")
# (action, state or None for no row) -> the state it leads to, or the refusal (code, message)
CLAIM_TABLE: dict[tuple[str, ClaimState | None], ClaimState | tuple[str, str]] = {
    ("claim", None): CLAIMED,
    ("claim", WITHDRAWN): CLAIMED,
    ("claim", RELEASED): CLAIMED,
    ("claim", CLAIMED): ("ALREADY_CLAIMED", "您已接过这个订单"),
    ("claim", CHECKED_IN): ("ALREADY_CLAIMED", "您已接过这个订单"),
    ("claim", CHECKED_OUT): ("ALREADY_CLAIMED", "您已接过这个订单"),
    ("withdraw", None): _NO_CLAIM,
    ("withdraw", WITHDRAWN): _NO_CLAIM,
    ("withdraw", RELEASED): _NO_CLAIM,
    ("withdraw", CLAIMED): WITHDRAWN,
    ("withdraw", CHECKED_IN): ("ALREADY_CHECKED_IN", "已签到，不能退出"),
    ("withdraw", CHECKED_OUT): ("ALREADY_CHECKED_IN", "已签到，不能退出"),
    ("release", CLAIMED): RELEASED,
    ("release", None): _NO_CLAIM,
    ("release", WITHDRAWN): _NO_CLAIM,
    ("release", RELEASED): _NO_CLAIM,
    ("release", CHECKED_IN): _CHECKED_IN,
    ("release", CHECKED_OUT): _CHECKED_IN,
    ("check_in", None): _NO_CLAIM,
    ("check_in", WITHDRAWN): _NO_CLAIM,
    ("check_in", RELEASED): ("CLAIM_RELEASED", "未按时签到，接单已被释放"),
    ("check_in", CLAIMED): CHECKED_IN,
    ("check_in", CHECKED_IN): _CHECKED_IN,
    ("check_in", CHECKED_OUT): _CHECKED_IN,
    ("check_out", None): _NO_CLAIM,
    ("check_out", WITHDRAWN): _NO_CLAIM,
    ("check_out", RELEASED): ("CLAIM_RELEASED", "未按时签到，接单已被释放"),
    ("check_out", CLAIMED): ("NOT_CHECKED_IN", "您尚未签到，无法签退"),
    ("check_out", CHECKED_IN): CHECKED_OUT,
    ("check_out", CHECKED_OUT): ("ALREADY_CHECKED_OUT", "您已签退"),
}


def claim_state(claim: dict | None) -> ClaimState | None:
    return ClaimState(claim["status"]) if claim else None


def next_claim_state(action: str, claim: dict | None) -> ClaimState:
    """The state ``action`` takes the member's claim to; Conflict when its state refuses it."""
    outcome = CLAIM_TABLE[(action, claim_state(claim))]
    if isinstance(outcome, tuple):
        raise Conflict(outcome[1], code=outcome[0])
    return outcome


def claim_id(order_id: str, member_id: str) -> str:
    return f"{order_id}:{member_id}"


def may_claim_order(order: dict) -> None:
    """An order takes claims while it is open; in any other state ``ORDER_NOT_OPEN``."""
    if state_of(order) != OPEN:
        raise Conflict("订单当前不在接单中", code="ORDER_NOT_OPEN", field="order_id")


def order_full() -> Conflict:
    return Conflict("订单名额已满", code="ORDER_FULL", field="order_id")


# --- timeouts -------------------------------------------------------------------------------------------------
def review_due(placed_at: datetime, settings: dict) -> datetime:
    """When an order not reviewed yet becomes overdue (its superior sees it)."""
    return placed_at + timedelta(hours=settings["review_hours"])


def is_overdue(order: dict, settings: dict, now: datetime) -> bool:
    """Placed and not reviewed within ``review_hours`` (by the settings in force now)."""
    return (order.get("status") == PLACED.value
            and now > review_due(parse_stamp(order["placed_at"]), settings))


def release_due(order: dict, claimed_at: datetime, settings: dict) -> datetime:
    """When a claim not checked in is released: the order's wished start plus the grace, or, for a claim taken
    after the wished start, the claim's own time plus the grace (a late claim gets the grace to arrive)."""
    start = max(parse_stamp(order["wished_start"]), claimed_at)
    return start + timedelta(minutes=settings["start_grace_minutes"])


def auto_confirm_due(completed_at: datetime, settings: dict) -> datetime:
    return completed_at + timedelta(hours=settings["auto_confirm_hours"])


def check_in_opens(order: dict) -> datetime:
    return parse_stamp(order["wished_start"]) - CHECKIN_OPENS_BEFORE


def too_early(order: dict, now: datetime) -> Conflict | None:
    if now < check_in_opens(order):
        return Conflict("服务尚未开始，预约时间前 60 分钟开放签到", code="TOO_EARLY")
    return None


# --- hours -----------------------------------------------------------------------------------------------------
def claim_hours(claim: dict, hours_cap: float) -> float:
    """A checked-out claim's hours: check-out minus check-in, capped at the order's ``hours_cap``."""
    return hours_between(claim["checked_in_at"], claim["checked_out_at"], hours_cap)


def hours_owed(claims, hours_cap: float) -> list[tuple[dict, float]]:
    """What crediting an order credits: each checked-out claim with its hours (above zero)."""
    owed = []
    for claim in claims:
        if claim.get("status") == CHECKED_OUT.value:
            hours = claim_hours(claim, hours_cap)
            if hours > 0:
                owed.append((claim, hours))
    return owed


# --- tracking codes (guests) --------------------------------------------------------------------------------
TRACKING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"     # no 0/O, 1/I: read aloud and typed from a note
TRACKING_LENGTH = 10
MAX_WRONG_GUESSES = 5                 # wrong last-4 digits in a row lock the tracking code for GUESS_LOCK
GUESS_LOCK = timedelta(minutes=15)


def new_tracking_code() -> str:
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(TRACKING_LENGTH))


def normalized_tracking_code(value) -> str | None:
    """The code as issued (upper case, without blanks or dashes); None when it cannot be one."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    code = re.sub(r"[\s-]", "", value).upper()
    if len(code) != TRACKING_LENGTH or any(char not in TRACKING_ALPHABET for char in code):
        return None
    return code


def tracking_hash(code: str) -> str:
    """What is stored of a tracking code: its SHA-256 (the code has ~50 bits of randomness and is looked up by
    this, so a plain hash is enough and a stolen database shows no code)."""
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def phone_last4(phone: str) -> str:
    return re.sub(r"\D", "", phone)[-4:]


def check_last4(value) -> str:
    if not isinstance(value, str) or not LAST4.fullmatch(value.strip()):
        raise InvalidArgument("请输入联系电话的后 4 位数字", code="PHONE_LAST4_INVALID", field="phone_last4")
    return value.strip()


def last4_matches(order: dict, given: str) -> bool:
    """Constant time, so the time of a refusal tells nothing of the digits."""
    return hmac.compare_digest(order.get("phone_last4", "").encode(), given.encode())


def guessing_locked(order: dict, now: datetime) -> bool:
    locked_until = order.get("guess_locked_until")
    return bool(locked_until) and now < parse_stamp(locked_until)


# --- validation -------------------------------------------------------------------------------------------------
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


def reason(value, required: bool, label: str = "原因") -> str:
    return _text(value, "reason", REASON_MAX, label, required)


def contact_phone(value) -> str:
    phone = _text(value, "contact_phone", 20, "联系电话")
    compact = phone.replace(" ", "")
    if not (MOBILE.fullmatch(compact) or LANDLINE.fullmatch(compact)):
        raise InvalidArgument("联系电话格式不正确：请填写 11 位手机号或带区号的固定电话", code="PHONE_INVALID",
                              field="contact_phone")
    return compact


def order_fields(*, settings: dict, profile: dict, category, description, address, lat, lng, wished_start,
                 wished_end, contact_name, contact_phone_number, now: datetime) -> dict:
    """The stored fields of a new order; InvalidArgument names the first bad field. A position left out (both
    lat and lng None) is the community's own."""
    code = _text(category, "category", 32, "服务类别")
    label = settings_rules.category_label(settings, code)
    if label is None or (profile.get("categories") and code not in profile["categories"]):
        raise InvalidArgument("该社区不提供此类服务", code="CATEGORY_UNKNOWN", field="category")
    if lat is None and lng is None:
        lat, lng = profile["lat"], profile["lng"]
    else:
        lat, lng = check_coordinates(lat, lng)
    start = moment(wished_start, "wished_start", "期望开始时间")
    end = moment(wished_end, "wished_end", "期望结束时间")
    if end <= start:
        raise InvalidArgument("期望结束时间必须晚于开始时间", code="WISHED_TIME_ORDER", field="wished_end")
    if end - start > MAX_WISHED_SPAN:
        raise InvalidArgument("期望服务时段不能超过 7 天", code="WISHED_TIME_TOO_LONG", field="wished_end")
    if start < now - WISHED_START_SLACK:
        raise InvalidArgument("期望开始时间已过", code="WISHED_TIME_PAST", field="wished_start")
    if start > now + MAX_WISHED_AHEAD:
        raise InvalidArgument("期望开始时间不能晚于 90 天后", code="WISHED_TIME_TOO_FAR", field="wished_start")
    phone = contact_phone(contact_phone_number)
    return {"category": code, "category_label": label,
            "description": _text(description, "description", DESCRIPTION_MAX, "需求描述"),
            "address": _text(address, "address", ADDRESS_MAX, "服务地址"), "lat": lat, "lng": lng,
            "wished_start": stamp(start), "wished_end": stamp(end),
            "contact_name": _text(contact_name, "contact_name", CONTACT_NAME_MAX, "联系人"),
            "contact_phone": phone, "phone_last4": phone_last4(phone)}


def rating(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise InvalidArgument("评分必须是 1 到 5 的整数", code="RATING_INVALID", field="rating")
    return value


def comment(value) -> str:
    return _text(value, "comment", COMMENT_MAX, "评价", required=False)


def decision(value) -> str:
    if value not in ("approve", "reject"):
        raise InvalidArgument("审核结果只能是 approve 或 reject", code="DECISION_INVALID", field="decision")
    return value


@dataclass(frozen=True)
class Dispatch:
    mode: str
    team_id: str
    volunteers_needed: int
    fence_radius_m: int
    hours_cap: float


MODE_CLAIM, MODE_TEAM = "claim", "team"


def dispatch_fields(mode, team_id, volunteers_needed, fence_radius_m, hours_cap, settings: dict) -> Dispatch:
    """A dispatch's parameters; a radius or an hours cap of 0 (or none) takes the tenant's default."""
    if mode not in (MODE_CLAIM, MODE_TEAM):
        raise InvalidArgument("派单方式只能是 claim（党员认领）或 team（志愿服务队）", code="MODE_INVALID",
                              field="mode")
    team = _text(team_id, "team_id", 64, "志愿服务队", required=mode == MODE_TEAM)
    if mode == MODE_CLAIM and team:
        raise InvalidArgument("党员认领方式不指定志愿服务队", code="TEAM_NOT_EXPECTED", field="team_id")
    needed = volunteers_needed
    if isinstance(needed, bool) or not isinstance(needed, int) or not 1 <= needed <= MAX_VOLUNTEERS:
        raise InvalidArgument(f"所需人数必须是 1 到 {MAX_VOLUNTEERS} 的整数", code="VOLUNTEERS_INVALID",
                              field="volunteers_needed")
    low, high = settings_rules.FENCE_LIMITS
    if fence_radius_m in (None, 0):
        radius = settings["fence_radius_m"]
    elif isinstance(fence_radius_m, bool) or not isinstance(fence_radius_m, int) or not low <= fence_radius_m <= high:
        raise InvalidArgument(f"签到范围必须是 {low} 到 {high} 米的整数", code="OUT_OF_RANGE",
                              field="fence_radius_m")
    else:
        radius = fence_radius_m
    if hours_cap in (None, 0):
        cap = float(settings["default_hours_cap"])
    else:
        number = finite_number(hours_cap)
        if number is None:
            require_number(hours_cap, "hours_cap", "时长上限")
        if number is None or not 0 < number <= MAX_HOURS_CAP:
            raise InvalidArgument(f"时长上限必须大于 0 且不超过 {MAX_HOURS_CAP} 小时", code="OUT_OF_RANGE",
                                  field="hours_cap")
        cap = float(number)
    return Dispatch(mode, team, needed, radius, cap)


def completion_text(value) -> str:
    return _text(value, "text", COMPLETION_TEXT_MAX, "服务情况")
