"""Resident identity card numbers (GB 11643-1999): 6-digit region, 8-digit birth date,
3-digit order code whose last digit is odd for men, and an ISO 7064 MOD 11-2 check character."""
from __future__ import annotations

from datetime import date
from operator import mul

from .problems import Problem

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"
EARLIEST_BIRTH_DATE = date(1900, 1, 1)
_DIGITS = frozenset("0123456789")
_ZERO_OFFSET = ord("0") * sum(WEIGHTS)


def check_character(first_17: str) -> str:
    """ISO 7064 MOD 11-2 over 17 ASCII digits (the code points minus '0' are the digit values)."""
    return CHECK_CHARACTERS[(sum(map(mul, first_17.encode("ascii"), WEIGHTS)) - _ZERO_OFFSET) % 11]


def id_number_problem(value: object, today: date) -> tuple[str, Problem | None]:
    """The normalised number and no problem, or "" and the problem."""
    number = str(value if value is not None else "").strip().upper()
    if not number:
        return "", _problem("请填写身份证号")
    if len(number) != 18 or not _DIGITS.issuperset(number[:17]) or not (number[17] in _DIGITS or number[17] == "X"):
        return "", _problem("身份证号应为18位，前17位为数字，最后一位为数字或X")
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return "", _problem("身份证号中的出生日期不存在")
    if birth < EARLIEST_BIRTH_DATE or birth > today:
        return "", _problem("身份证号中的出生日期不合理")
    if check_character(number[:17]) != number[17]:
        return "", _problem("身份证号校验位错误，请核对")
    return number, None


def _problem(message: str) -> Problem:
    return Problem("id_number", "ID_NUMBER_INVALID", message)


def normalize_id_number(value: object, today: date) -> str:
    number, problem = id_number_problem(value, today)
    if problem:
        raise problem.to_error()
    return number


def mask_id_number(number: str) -> str:
    return number[:6] + "********" + number[-4:]


def birth_date_of(number: str) -> date:
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def gender_of(number: str) -> str:
    return "male" if int(number[16]) % 2 else "female"


def make_id_number(region_code: str, birth: date, sequence: int, gender: str) -> str:
    """``sequence`` (0–499) picks the order code: 2·sequence, plus 1 for a man, so the parity encodes the gender."""
    if len(region_code) != 6 or not (region_code.isascii() and region_code.isdigit()):
        raise ValueError("region_code must be 6 digits")
    if not 0 <= sequence <= 499:
        raise ValueError("sequence must be between 0 and 499")
    if gender not in ("male", "female"):
        raise ValueError("gender must be 'male' or 'female'")
    order_code = sequence * 2 + (1 if gender == "male" else 0)
    first_17 = f"{region_code}{birth:%Y%m%d}{order_code:03d}"
    return first_17 + check_character(first_17)
