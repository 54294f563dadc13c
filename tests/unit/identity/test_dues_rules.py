"""Party dues rules (services/identity/domain/dues.py): brackets, standards, months, arrears, payments."""
from __future__ import annotations

import pytest

from services.identity.domain import dues

RULES = dues.DEFAULT_RULES


@pytest.mark.parametrize("income_fen, expected", [
    (100, 1),                   # 1 yuan at 0.5 % is half a fen: rounded up to one, never zero
    (300_000, 1_500),           # 3,000 yuan is still the first bracket (含3000元): 15 yuan
    (300_001, 3_000),           # a fen more and the whole income pays 1 %
    (500_000, 5_000),
    (500_100, 7_502),           # 5,001 yuan at 1.5 % = 75.015 yuan, half a fen rounded up
    (1_000_000, 15_000),
    (1_234_567, 24_691),        # above 10,000 yuan: 2 % of the whole income, 246.9134 yuan
])
def test_an_employed_members_standard_is_one_rate_of_the_whole_income(income_fen, expected):
    assert dues.standard_amount(RULES, "employed", income_fen, 0) == (expected, [])


def test_a_retired_members_standard_follows_the_pension_brackets():
    assert dues.standard_amount(RULES, "retired", 500_000, 0)[0] == 2_500
    assert dues.standard_amount(RULES, "retired", 500_001, 0)[0] == 5_000


@pytest.mark.parametrize("category", ["farmer", "student", "unemployed", "hardship"])
def test_the_fixed_categories_pay_twenty_fen_by_default(category):
    assert dues.standard_amount(RULES, category, 0, 0) == (20, [])


def test_the_branch_sets_the_amount_of_the_other_category():
    assert dues.standard_amount(RULES, "other", 0, 1_000) == (1_000, [])
    assert dues.standard_amount(RULES, "other", 0, 0)[1][0].code == "AMOUNT_INVALID"


@pytest.mark.parametrize("category, income, code", [
    ("employed", 0, "INCOME_INVALID"), ("employed", 12.5, "INCOME_INVALID"), ("employed", True, "INCOME_INVALID"),
    ("student", 100_000, "INCOME_NOT_USED"), ("boss", 0, "UNKNOWN_VALUE"),
])
def test_bad_standards_are_refused_with_their_field(category, income, code):
    amount, problems = dues.standard_amount(RULES, category, income, 0)
    assert amount == 0 and problems[0].code == code


def test_a_tenants_own_brackets_are_checked_and_sorted():
    rules, problems = dues.rule_problems(
        [{"category": "employed", "up_to_fen": 0, "rate_bp": 200},
         {"category": "employed", "up_to_fen": 400_000, "rate_bp": 100},
         {"category": "retired", "up_to_fen": 0, "rate_bp": 100}],
        [{"category": c, "amount_fen": 50} for c in dues.FIXED_CATEGORIES], 3)
    assert problems == []
    assert [b["up_to_fen"] for b in rules["brackets"]] == [400_000, 0, 0]
    assert dues.standard_amount(rules, "employed", 400_001, 0)[0] == 8_000
    assert dues.standard_amount(rules, "student", 0, 0)[0] == 50


@pytest.mark.parametrize("brackets, fixed, months, code", [
    ([{"category": "employed", "up_to_fen": 100, "rate_bp": 50}], None, 6, "BRACKETS_INCOMPLETE"),    # no open end
    ([{"category": "employed", "up_to_fen": 0, "rate_bp": 0}], None, 6, "BRACKET_INVALID"),
    ([{"category": "student", "up_to_fen": 0, "rate_bp": 50}], None, 6, "UNKNOWN_CATEGORY"),
    (None, [{"category": "student", "amount_fen": 20}], 6, "FIXED_INCOMPLETE"),
    (None, None, 0, "OUT_OF_RANGE"),
    ("not a list", None, 6, "INVALID_TYPE"),
])
def test_bad_rules_are_refused(brackets, fixed, months, code):
    rules, problems = dues.rule_problems(RULES["brackets"] if brackets is None else brackets,
                                         RULES["fixed"] if fixed is None else fixed, months)
    assert code in [problem.code for problem in problems]


@pytest.mark.parametrize("text, months", [
    ("2026-01", ["2026-01"]),
    ("2026-01至2026-03", ["2026-01", "2026-02", "2026-03"]),
    ("2025-12~2026-01", ["2025-12", "2026-01"]),
    ("2026-03, 2026-01，2026-03", ["2026-01", "2026-03"]),
    ("2026-05-01", ["2026-05"]),                 # a month Excel turned into its first day
    ("2026-13", None), ("2026-03至2026-01", None), ("三月", None), ("", None), ("2026-01-15", None),
])
def test_the_months_a_payment_names(text, months):
    assert dues.parse_months(text) == months


@pytest.mark.parametrize("text, fen", [("12", 1200), ("12.5", 1250), ("¥0.20", 20), ("1,234.56元", 123456),
                                       ("12.345", None), ("-3", None), ("abc", None), ("", None)])
def test_yuan_in_a_file_become_whole_fen(text, fen):
    assert dues.fen_of_yuan(text) == fen


HISTORY = [{"from": "2026-01", "amount_fen": 1_500}, {"from": "2026-04", "amount_fen": 3_000}]


def test_a_months_standard_is_the_latest_one_in_force():
    assert dues.amount_for(HISTORY, "2025-12") is None
    assert dues.amount_for(HISTORY, "2026-03") == 1_500
    assert dues.amount_for(HISTORY, "2026-09") == 3_000
    replaced = dues.with_standard(HISTORY, {"from": "2026-03", "amount_fen": 20})
    assert [entry["from"] for entry in replaced] == ["2026-01", "2026-03"]


def test_arrears_are_the_unpaid_months_before_the_current_one():
    now = dues.standing(HISTORY, ["2026-01", "2026-03"], "2026-06")
    assert now.owed_months == ["2026-02", "2026-04", "2026-05"]      # June is due, not yet owed
    assert now.owed_fen == 1_500 + 3_000 + 3_000
    assert (now.streak, now.streak_from, now.current_paid) == (2, "2026-04", False)


def test_six_unpaid_months_in_a_row_flag_a_member_once_per_streak():
    history = [{"from": "2026-01", "amount_fen": 20}]
    five = dues.standing(history, [], "2026-06")
    assert five.streak == 5 and not dues.flag_due(five, "", 6)
    six = dues.standing(history, [], "2026-07")
    assert (six.streak, six.streak_from) == (6, "2026-01") and dues.flag_due(six, "", 6)
    assert not dues.flag_due(dues.standing(history, [], "2026-08"), "2026-01", 6)     # flagged already
    # paying January starts a new streak in February: flagged again when it reaches six
    later = dues.standing(history, ["2026-01"], "2026-08")
    assert later.streak_from == "2026-02" and dues.flag_due(later, "2026-01", 6)


def test_a_payment_must_match_the_months_standards():
    assert dues.payment_problems(HISTORY, [], ["2026-03", "2026-04"], 4_500, "2026-06") == []
    codes = lambda *args: [problem.code for problem in dues.payment_problems(*args)]  # noqa: E731
    assert codes(HISTORY, [], ["2026-03"], 1_000, "2026-06") == ["AMOUNT_MISMATCH"]
    assert codes(HISTORY, ["2026-03"], ["2026-03"], 1_500, "2026-06") == ["MONTH_ALREADY_PAID"]
    assert codes(HISTORY, [], ["2025-12"], 1_500, "2026-06") == ["NO_STANDARD"]
    assert codes(HISTORY, [], ["2027-07"], 3_000, "2026-06") == ["TOO_FAR_AHEAD"]
    assert codes(HISTORY, [], [], 0, "2026-06") == ["MONTHS_INVALID"]
    assert codes(HISTORY, [], ["2026-03"], 15.0, "2026-06") == ["AMOUNT_INVALID"]
