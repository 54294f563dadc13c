"""Party dues (党费): the tenant's rules, a member's monthly standard, paid and owed months. Pure rules, no I/O.

Every amount is an integer number of fen (分); rates are basis points (1 bp = 0.01 %). The default rules are the
national ones (中共中央组织部《关于中国共产党党费收缴、使用和管理的规定》, 2008; the seeds name dues only as one of
the themed day's required actions, 缴纳党费, seed 003): employed members pay a share of their monthly income after
tax, the whole income at one rate (<= 3,000 yuan 0.5 %, <= 5,000 1 %, <= 10,000 1.5 %, above 2 %); retired members a
share of their pension (<= 5,000 yuan 0.5 %, above 1 %); farmers, students, unemployed members and members living on
relief or the minimum allowance a fixed 0.2 yuan a month (farmers 0.2 to 1 yuan). A tenant may change all of it.

Months are "YYYY-MM" strings; the current month is due but not owed: only earlier unpaid months are arrears.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .problems import Problem

INCOME_CATEGORIES = ("employed", "retired")           # the standard is a share of the income given
FIXED_CATEGORIES = ("farmer", "student", "unemployed", "hardship")   # a fixed amount a month
OTHER = "other"                                        # the branch sets the amount itself
CATEGORIES = (*INCOME_CATEGORIES, *FIXED_CATEGORIES, OTHER)
CATEGORY_LABELS = {"employed": "在岗职工", "retired": "离退休", "farmer": "农民", "student": "学生",
                   "unemployed": "下岗失业", "hardship": "生活困难", "other": "其他（支部核定）"}

DEFAULT_RULES = {
    "brackets": [
        {"category": "employed", "up_to_fen": 300_000, "rate_bp": 50},
        {"category": "employed", "up_to_fen": 500_000, "rate_bp": 100},
        {"category": "employed", "up_to_fen": 1_000_000, "rate_bp": 150},
        {"category": "employed", "up_to_fen": 0, "rate_bp": 200},
        {"category": "retired", "up_to_fen": 500_000, "rate_bp": 50},
        {"category": "retired", "up_to_fen": 0, "rate_bp": 100},
    ],
    "fixed": [{"category": category, "amount_fen": 20} for category in FIXED_CATEGORIES],
    "arrears_flag_months": 6,     # 连续6个月不交纳党费: flagged for the branch, never removed automatically
}
MAX_INCOME_FEN = 100_000_000      # 1,000,000 yuan a month: beyond it a typing error
MAX_AMOUNT_FEN = 10_000_000       # one month's dues, and one payment's months together (100,000 yuan)
MAX_PAYMENT_MONTHS = 24
MAX_BRACKETS = 20
METHODS = ("cash", "transfer", "bank", "online")
METHOD_LABELS = {"cash": "现金", "transfer": "转账", "bank": "银行代收", "online": "线上缴纳"}
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


# --- months ------------------------------------------------------------------------------------------------------
def month_index(month: str) -> int | None:
    """Months since year 0 (None for anything but a valid "YYYY-MM")."""
    found = _MONTH.match(month) if isinstance(month, str) else None
    if not found or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 1900:
        return None
    return int(found.group(1)) * 12 + int(found.group(2)) - 1


def month_of(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_range(first: str, last: str) -> list[str]:
    return [month_of(index) for index in range(month_index(first), month_index(last) + 1)]


def shift(month: str, months: int) -> str:
    return month_of(month_index(month) + months)


def parse_months(text: str) -> list[str] | None:
    """The months a payment names: "2026-01", "2026-01,2026-03", "2026-01至2026-03" / "2026-01~2026-03"; sorted,
    without repeats; None when any part is not a month or a range runs backwards."""
    months: set[str] = set()
    for part in re.split(r"[,，、;；\s]+", (text or "").strip()):
        if not part:
            continue
        if re.fullmatch(r"\d{4}-\d{2}-01", part):     # a month typed into Excel comes back as its first day
            part = part[:7]
        ends = re.split(r"[~～至]|--", part)
        if len(ends) == 1 and part.count("-") == 3:          # "2026-01-2026-03"
            ends = [part[:7], part[8:]]
        if len(ends) > 2 or any(month_index(end.strip()) is None for end in ends):
            return None
        first, last = ends[0].strip(), ends[-1].strip()
        if month_index(last) < month_index(first):
            return None
        months.update(month_range(first, last))
    return sorted(months) or None


# --- the tenant's rules ------------------------------------------------------------------------------------------
def rule_problems(brackets, fixed, flag_months) -> tuple[dict, list[Problem]]:
    """The rules as stored (brackets sorted per category) and what is wrong with them."""
    problems: list[Problem] = []
    if not isinstance(brackets, (list, tuple)) or not isinstance(fixed, (list, tuple)):
        return {}, [Problem("brackets", "INVALID_TYPE", "收费档次格式不正确")]
    if len(brackets) > MAX_BRACKETS or len(fixed) > len(FIXED_CATEGORIES):
        problems.append(Problem("brackets", "TOO_MANY", "档次过多"))
    by_category: dict[str, list[dict]] = {category: [] for category in INCOME_CATEGORIES}
    for bracket in brackets:
        if not isinstance(bracket, dict) or bracket.get("category") not in INCOME_CATEGORIES:
            problems.append(Problem("brackets", "UNKNOWN_CATEGORY", "按收入计算的类别只能是在岗职工或离退休"))
            continue
        up_to, rate = bracket.get("up_to_fen", 0), bracket.get("rate_bp")
        if not _whole(up_to, 0, MAX_INCOME_FEN) or not _whole(rate, 1, 10_000):
            problems.append(Problem("brackets", "BRACKET_INVALID", "档次上限须为非负整数（分），比例须为 1 至 10000 个基点"))
            continue
        by_category[bracket["category"]].append({"category": bracket["category"], "up_to_fen": up_to,
                                                 "rate_bp": rate})
    for category, rows in by_category.items():
        bounded = sorted(row["up_to_fen"] for row in rows if row["up_to_fen"])
        open_ended = [row for row in rows if not row["up_to_fen"]]
        if len(open_ended) != 1 or len(set(bounded)) != len(bounded):
            problems.append(Problem("brackets", "BRACKETS_INCOMPLETE",
                                    f"{CATEGORY_LABELS[category]}的档次须上限各不相同，且恰有一档不设上限"))
        rows.sort(key=lambda row: row["up_to_fen"] or MAX_INCOME_FEN + 1)
    amounts: dict[str, int] = {}
    for item in fixed:
        if not isinstance(item, dict) or item.get("category") not in FIXED_CATEGORIES or item["category"] in amounts:
            problems.append(Problem("fixed", "UNKNOWN_CATEGORY", "固定金额的类别无效或重复"))
            continue
        if not _whole(item.get("amount_fen"), 1, MAX_AMOUNT_FEN):
            problems.append(Problem("fixed", "AMOUNT_INVALID", "固定金额须为正整数（分）"))
            continue
        amounts[item["category"]] = item["amount_fen"]
    missing = [CATEGORY_LABELS[c] for c in FIXED_CATEGORIES if c not in amounts]
    if missing and not problems:
        problems.append(Problem("fixed", "FIXED_INCOMPLETE", f"缺少固定金额：{'、'.join(missing)}"))
    if not _whole(flag_months, 1, 24):
        problems.append(Problem("arrears_flag_months", "OUT_OF_RANGE", "欠缴提醒月数须在 1 到 24 之间"))
    rules = {"brackets": [row for category in INCOME_CATEGORIES for row in by_category[category]],
             "fixed": [{"category": c, "amount_fen": amounts[c]} for c in FIXED_CATEGORIES if c in amounts],
             "arrears_flag_months": flag_months}
    return rules, problems


def _whole(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def share(income_fen: int, rate_bp: int) -> int:
    """``rate_bp`` of an income, rounded half up to the fen."""
    return (income_fen * rate_bp + 5_000) // 10_000


def standard_amount(rules: dict, category: str, income_fen: int, amount_fen: int) -> tuple[int, list[Problem]]:
    """The monthly amount of a member of ``category``: by the income brackets, the fixed amount, or (``other``)
    the amount the branch gives. ``income_fen`` is for the income categories only, ``amount_fen`` for ``other``."""
    if category not in CATEGORIES:
        return 0, [Problem("category", "UNKNOWN_VALUE", f"类别取值无效，可选：{', '.join(CATEGORIES)}")]
    if category in INCOME_CATEGORIES:
        if not _whole(income_fen, 1, MAX_INCOME_FEN):
            return 0, [Problem("income_fen", "INCOME_INVALID", "请填写月收入（税后，单位：分，正整数）")]
        for bracket in rules["brackets"]:
            if bracket["category"] == category and (not bracket["up_to_fen"] or income_fen <= bracket["up_to_fen"]):
                return max(1, share(income_fen, bracket["rate_bp"])), []
        return 0, [Problem("income_fen", "NO_BRACKET", "没有适用的收费档次")]
    if income_fen:
        return 0, [Problem("income_fen", "INCOME_NOT_USED", "该类别按固定金额交纳，不填月收入")]
    if category == OTHER:
        if not _whole(amount_fen, 1, MAX_AMOUNT_FEN):
            return 0, [Problem("amount_fen", "AMOUNT_INVALID", "请填写每月应交金额（单位：分，正整数）")]
        return amount_fen, []
    return next(item["amount_fen"] for item in rules["fixed"] if item["category"] == category), []


# --- a member's account: the standard's history and the months paid -----------------------------------------------
def amount_for(history: list[dict], month: str) -> int | None:
    """The standard of ``month``: the latest entry starting at or before it (None before the first)."""
    found = None
    for entry in history:
        if entry["from"] <= month:
            found = entry["amount_fen"]
    return found


def with_standard(history: list[dict], entry: dict) -> list[dict]:
    """The history with ``entry`` in force from its month: entries from that month on are replaced."""
    return [item for item in history if item["from"] < entry["from"]] + [entry]


def current_standard(history: list[dict], month: str) -> dict | None:
    found = None
    for entry in history:
        if entry["from"] <= month:
            found = entry
    return found or (history[0] if history else None)


@dataclass(frozen=True)
class Standing:
    """Where a member stands in ``month`` (the current month)."""
    due_months: list[str]        # from the first standard to the current month
    paid_months: list[str]       # every month paid, prepaid ones included
    owed_months: list[str]       # unpaid months before the current one (arrears)
    owed_fen: int
    streak: int                  # consecutive unpaid months ending with last month
    streak_from: str             # the first month of that streak ("" if none)
    current_paid: bool


def standing(history: list[dict], paid: list[str], month: str) -> Standing:
    paid_set = set(paid)
    if not history or history[0]["from"] > month:
        return Standing([], sorted(paid_set), [], 0, 0, "", month in paid_set)
    due = month_range(history[0]["from"], month)
    owed = [m for m in due[:-1] if m not in paid_set]
    streak, streak_from = 0, ""
    for m in reversed(due[:-1]):
        if m in paid_set:
            break
        streak, streak_from = streak + 1, m
    return Standing(due, sorted(paid_set), owed, sum(amount_for(history, m) or 0 for m in owed), streak,
                    streak_from, month in paid_set)


def flag_due(standing_now: Standing, flagged_streak: str, flag_months: int) -> bool:
    """A member is flagged once per streak of unpaid months reaching ``flag_months`` (``flagged_streak``: the first
    month of the streak flagged last)."""
    return standing_now.streak >= flag_months and flagged_streak != standing_now.streak_from


# --- payments ---------------------------------------------------------------------------------------------------
def payment_problems(history: list[dict], paid: list[str], months: list[str], amount_fen, current: str
                     ) -> list[Problem]:
    """What stops paying ``months`` with ``amount_fen``: no standard for a month, a month paid already, a month
    more than a year ahead, or an amount other than the months' standards together."""
    if not months:
        return [Problem("months", "MONTHS_INVALID", "请填写缴费月份，如 2026-01 或 2026-01至2026-03")]
    if len(months) > MAX_PAYMENT_MONTHS:
        return [Problem("months", "TOO_MANY_MONTHS", f"一次最多缴纳 {MAX_PAYMENT_MONTHS} 个月")]
    problems = []
    no_standard = [m for m in months if amount_for(history, m) is None]
    if no_standard:
        problems.append(Problem("months", "NO_STANDARD", f"{'、'.join(no_standard)} 尚未核定党费标准"))
    again = sorted(set(months) & set(paid))
    if again:
        problems.append(Problem("months", "MONTH_ALREADY_PAID", f"{'、'.join(again)} 已缴纳"))
    ahead = [m for m in months if month_index(m) > month_index(current) + 12]
    if ahead:
        problems.append(Problem("months", "TOO_FAR_AHEAD", "最多预缴 12 个月"))
    if not _whole(amount_fen, 1, MAX_AMOUNT_FEN * MAX_PAYMENT_MONTHS):
        problems.append(Problem("amount_fen", "AMOUNT_INVALID", "金额须为正整数（分）"))
    elif not no_standard:
        expected = sum(amount_for(history, m) for m in months)
        if amount_fen != expected:
            problems.append(Problem("amount_fen", "AMOUNT_MISMATCH",
                                    f"金额应为 {yuan(expected)} 元（所缴月份的标准合计），实为 {yuan(amount_fen)} 元"))
    return problems


def yuan(fen: int) -> str:
    """Fen as yuan text: 1250 -> "12.50"."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def fen_of_yuan(text: str) -> int | None:
    """"12.5" / "12.50" / "¥12.50" / "12.50元" -> 1250; None for anything else (more than two decimals too)."""
    cleaned = (text or "").strip().replace(",", "").replace("，", "").lstrip("¥￥").removesuffix("元").strip()
    if not re.fullmatch(r"\d+(\.\d{1,2})?", cleaned):
        return None
    try:
        return int(Decimal(cleaned) * 100)
    except InvalidOperation:
        return None
