"""Member points (积分): the per-tenant rules table, its validation, caps and the threshold.

Points per category (attending themed days and 三会一课 meetings, reflections, volunteer hours, quizzes, study,
contests, absence), a daily and a cycle cap per category, a negative list (负面清单) of deductions and the threshold
below which a member is called for a talk (诫勉谈话). How many times its points a content event is worth (a
quiz's score band, a contest's rank) is decided here too.
"""
from __future__ import annotations

import copy
import math

from servicekit.errors import InvalidArgument

CATEGORIES = ("attendance", "meeting", "reflection", "volunteer_hours", "quiz", "study", "contest", "absence")
# Categories added after tenants could store their own tables: a stored table without them takes their default
# rule (a tenant switches one off with points 0), so they earn points without re-saving the rules.
ADDED_LATER = ("study", "contest", "meeting")
CYCLES = ("calendar", "academic")
MAX_POINTS = 100
DEFAULT_RULES = {
    "cycle": "calendar",
    "threshold": 10,
    "rules": [
        {"category": "attendance", "points": 5, "daily_cap": 10, "cycle_cap": 60},
        # 三会一课: less than a themed day's 5 (a shorter, more frequent meeting); two a day at most, and 60 a year
        # is the 15-25 meetings a member of an active branch attends, so meetings cannot outweigh the rest.
        {"category": "meeting", "points": 3, "daily_cap": 6, "cycle_cap": 60},
        {"category": "reflection", "points": 2, "daily_cap": 4, "cycle_cap": 24},
        {"category": "volunteer_hours", "points": 1, "daily_cap": 8, "cycle_cap": 100},
        {"category": "quiz", "points": 1, "daily_cap": 5, "cycle_cap": 50},
        {"category": "study", "points": 1, "daily_cap": 6, "cycle_cap": 100},
        {"category": "contest", "points": 1, "daily_cap": 5, "cycle_cap": 30},
        {"category": "absence", "points": -5, "daily_cap": 0, "cycle_cap": 0},
    ],
    "negative_list": [
        {"code": "LATE_DUES", "name": "未按时缴纳党费", "points": -5},
        {"code": "MISSED_STUDY", "name": "无故不参加学习", "points": -3},
        {"code": "DISCIPLINE", "name": "违反党的纪律", "points": -20},
    ],
}


def default_rules() -> dict:
    return copy.deepcopy(DEFAULT_RULES)


def completed(table: dict | None) -> dict:
    """The rules in force: the default table for a tenant that stored none, else its table with the default rule
    of each category added after it was stored (``ADDED_LATER``)."""
    if not table:
        return default_rules()
    present = {rule["category"] for rule in table.get("rules") or ()}
    missing = [copy.deepcopy(rule) for rule in DEFAULT_RULES["rules"]
               if rule["category"] in ADDED_LATER and rule["category"] not in present]
    return {**table, "rules": [*table.get("rules", []), *missing]} if missing else table


def contest_quantity(rank, participants) -> int:
    """How many times the contest points a placing is worth: first 5, second 4, third 3, the best tenth 2,
    everyone else who took part 1 (0 without a rank)."""
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        return 0
    if rank <= 3:
        return 6 - rank
    if isinstance(participants, int) and not isinstance(participants, bool) and rank <= max(1, participants // 10):
        return 2
    return 1


def hours_quantity(hours) -> float:
    """How many times the volunteer_hours points credited volunteer hours are worth: the hours themselves, to
    the hundredth (the volunteer ledger's own precision), so points follow the hours served exactly and nobody
    loses a part-hour to rounding; 0 for anything but a positive finite number. The rule's daily and cycle caps
    then apply as to every category (8 points a day by default: a full day of service)."""
    if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not math.isfinite(hours) or hours <= 0:
        return 0
    return round(hours, 2)


def _number(value, where: str, problems: list, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        problems.append({"field": where, "reason": "NOT_A_NUMBER", "message": f"{where} 必须是数字"})
    elif not low <= value <= high:
        problems.append({"field": where, "reason": "OUT_OF_RANGE", "message": f"{where} 必须在 {low} 到 {high} 之间"})


def validate_rules(table) -> dict:
    """The rules table as stored, or InvalidArgument(RULES_INVALID) listing every problem."""
    problems: list[dict] = []
    if not isinstance(table, dict):
        raise InvalidArgument("积分规则必须是对象", code="RULES_INVALID", field="rules")
    unknown = set(table) - {"cycle", "threshold", "rules", "negative_list"}
    for key in sorted(unknown):
        problems.append({"field": key, "reason": "UNKNOWN_FIELD", "message": f"未知字段 {key}"})
    if table.get("cycle") not in CYCLES:
        problems.append({"field": "cycle", "reason": "UNKNOWN_CYCLE", "message": "cycle 只能是 calendar 或 academic"})
    _number(table.get("threshold"), "threshold", problems, -1000, 1000)
    rules = table.get("rules")
    seen = set()
    if not isinstance(rules, list) or not rules:
        problems.append({"field": "rules", "reason": "REQUIRED", "message": "rules 必须是非空列表"})
        rules = []
    for index, rule in enumerate(rules):
        where = f"rules[{index}]"
        if not isinstance(rule, dict):
            problems.append({"field": where, "reason": "NOT_AN_OBJECT", "message": f"{where} 必须是对象"})
            continue
        category = rule.get("category")
        if category not in CATEGORIES:
            problems.append({"field": f"{where}.category", "reason": "UNKNOWN_CATEGORY",
                             "message": f"未知类别 {category!r}"})
        elif category in seen:
            problems.append({"field": f"{where}.category", "reason": "DUPLICATE", "message": f"类别 {category} 重复"})
        seen.add(category)
        _number(rule.get("points"), f"{where}.points", problems, -MAX_POINTS, MAX_POINTS)
        for cap in ("daily_cap", "cycle_cap"):
            _number(rule.get(cap, 0), f"{where}.{cap}", problems, 0, 10_000)
        if category == "absence" and isinstance(rule.get("points"), (int, float)) and rule["points"] > 0:
            problems.append({"field": f"{where}.points", "reason": "MUST_DEDUCT", "message": "缺勤只能扣分"})
        extra = set(rule) - {"category", "points", "daily_cap", "cycle_cap"}
        for key in sorted(extra):
            problems.append({"field": f"{where}.{key}", "reason": "UNKNOWN_FIELD", "message": f"未知字段 {key}"})
    negatives = table.get("negative_list", [])
    codes = set()
    if not isinstance(negatives, list):
        problems.append({"field": "negative_list", "reason": "NOT_A_LIST", "message": "negative_list 必须是列表"})
        negatives = []
    for index, item in enumerate(negatives):
        where = f"negative_list[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("code"), str) or not item.get("code") \
                or not isinstance(item.get("name"), str) or not item.get("name"):
            problems.append({"field": where, "reason": "MALFORMED", "message": f"{where} 需要 code、name 和 points"})
            continue
        if item["code"] in codes:
            problems.append({"field": f"{where}.code", "reason": "DUPLICATE", "message": f"代码 {item['code']} 重复"})
        codes.add(item["code"])
        _number(item.get("points"), f"{where}.points", problems, -MAX_POINTS, -0.5)
    if problems:
        raise InvalidArgument(problems[0]["message"], code="RULES_INVALID", field=problems[0]["field"],
                              details=problems)
    return {"cycle": table["cycle"], "threshold": table["threshold"],
            "rules": [{"category": r["category"], "points": r["points"], "daily_cap": r.get("daily_cap", 0),
                       "cycle_cap": r.get("cycle_cap", 0)} for r in rules],
            "negative_list": [{"code": n["code"], "name": n["name"], "points": n["points"]} for n in negatives]}


def rule_for(table: dict, category: str) -> dict | None:
    return next((rule for rule in table["rules"] if rule["category"] == category), None)


def capped(points: float, daily_so_far: float, cycle_so_far: float, rule: dict) -> float:
    """Points an award may still add under the category's caps (0 = no cap). Deductions are never capped."""
    if points <= 0:
        return points
    room = points
    if rule.get("daily_cap"):
        room = min(room, max(0.0, rule["daily_cap"] - daily_so_far))
    if rule.get("cycle_cap"):
        room = min(room, max(0.0, rule["cycle_cap"] - cycle_so_far))
    return room


def on_talk_list(total: float, threshold: float) -> bool:
    """A member whose cycle balance is this total is on the talk list (诫勉谈话名单)."""
    return total < threshold


def below_threshold(balances: list[dict], threshold: float) -> list[dict]:
    """Members whose cycle balance is below the threshold, lowest first."""
    return sorted((row for row in balances if on_talk_list(row["total"], threshold)),
                  key=lambda row: (row["total"], row["member_id"]))
