"""Bank statement files of dues payments (CSV/XLSX): reading and checking their rows. Pure rules, no I/O.

One row is one bank transaction: its id (交易流水号), the member (党员编号 or 身份证号, and the name, which must match
the member's), the months paid, the amount in yuan and the date. Every problem of every row is reported at once as
``{line, field, reason, message}`` like the member import (``importing``); the rows are stored only when there is
none. A transaction id stored before (the same statement imported twice) is not a problem: that row is skipped.
"""
from __future__ import annotations

from datetime import date
from typing import Callable, Iterable

from . import dues, importing
from .problems import Problem

COLUMNS = ("txn_id", "member_id", "name", "id_number", "months", "amount", "paid_on")
REQUIRED_COLUMNS = ("txn_id", "name", "months", "amount", "paid_on")
COLUMN_LABELS = {"txn_id": "交易流水号", "member_id": "党员编号", "name": "姓名", "id_number": "身份证号",
                 "months": "缴费月份", "amount": "金额（元）", "paid_on": "交易日期"}
_CHINESE_HEADERS = {
    "txn_id": ("交易流水号", "流水号", "银行流水号", "交易号"),
    "member_id": ("党员编号",),
    "name": ("姓名", "户名", "付款人", "付款人姓名", "缴费人"),
    "id_number": ("身份证号", "身份证号码", "公民身份号码"),
    "months": ("缴费月份", "所属月份", "党费月份"),
    "amount": ("金额", "交易金额", "缴费金额"),
    "paid_on": ("交易日期", "缴费日期", "日期"),
}
HEADER_ALIASES = {column: column for column in COLUMNS} | {
    alias: column for column, aliases in _CHINESE_HEADERS.items() for alias in aliases}
MAX_ROWS = 50_000          # a county's month at most: all of a file is written in one transaction
MAX_TXN_ID = 64


def read(fmt: str, content: bytes) -> list[tuple[int, dict[str, str]]]:
    return importing.read_table(fmt, content, REQUIRED_COLUMNS, MAX_ROWS, HEADER_ALIASES, COLUMN_LABELS)


def _problem(line: int, problem: Problem) -> dict:
    return {"line": line, "field": problem.field, "reason": problem.code, "message": problem.message}


def check_rows(rows: Iterable[tuple[int, dict[str, str]]], find_member: Callable[[dict], dict | None],
               account_of: Callable[[str], dict], known_txns: set[str], today: date, current_month: str
               ) -> tuple[list[dict], list[dict], int]:
    """The payments to store, the problems of the rows and how many rows were stored before (skipped).

    ``find_member(row)``: the member the row names within the import's subtree (or None); ``account_of(member_id)``:
    its dues account ({history, paid}); ``known_txns``: transaction ids stored already."""
    valid, problems, skipped = [], [], 0
    seen_txns: dict[str, int] = {}
    claimed: dict[str, dict[str, int]] = {}       # member id -> month -> the line paying it in this file
    for line, row in rows:
        found: list[Problem] = []
        txn = row.get("txn_id", "").strip()
        if not txn or len(txn) > MAX_TXN_ID:
            found.append(Problem("txn_id", "TXN_ID_INVALID", f"请填写交易流水号（不超过 {MAX_TXN_ID} 个字符）"))
        elif txn in seen_txns:
            found.append(Problem("txn_id", "DUPLICATE_IN_FILE", f"交易流水号与第{seen_txns[txn]}行重复"))
        else:
            seen_txns[txn] = line
            if txn in known_txns:
                skipped += 1
                continue
        months = dues.parse_months(row.get("months", ""))
        if months is None:
            found.append(Problem("months", "MONTHS_INVALID", "缴费月份格式应为 2026-01 或 2026-01至2026-03"))
        amount = dues.fen_of_yuan(row.get("amount", ""))
        if amount is None or amount <= 0:
            found.append(Problem("amount", "AMOUNT_INVALID", "金额应为正数，单位元，最多两位小数"))
        paid_on = _date(row.get("paid_on", ""))
        if paid_on is None:
            found.append(Problem("paid_on", "DATE_INVALID", "交易日期格式应为 2026-01-31"))
        elif paid_on > today:
            found.append(Problem("paid_on", "DATE_IN_FUTURE", "交易日期不能晚于今天"))
        name = row.get("name", "").strip()
        member = None
        if not row.get("member_id", "").strip() and not row.get("id_number", "").strip():
            found.append(Problem("member_id", "MEMBER_REF_MISSING", "请填写党员编号或身份证号"))
        else:
            member = find_member(row)
            if member is None:
                found.append(Problem("member_id", "MEMBER_UNKNOWN", "在所选组织中找不到该党员"))
            elif name != member["name"]:
                found.append(Problem("name", "NAME_MISMATCH", "姓名与党员信息不一致"))
        if member is not None and months is not None and amount is not None and amount > 0 and not found:
            account = account_of(member["_id"])
            earlier = claimed.setdefault(member["_id"], {})
            twice = [m for m in months if m in earlier]
            if twice:
                found.append(Problem("months", "DUPLICATE_IN_FILE",
                                     f"{'、'.join(twice)} 已在第{earlier[twice[0]]}行缴纳"))
            else:
                found.extend(Problem("amount" if problem.field == "amount_fen" else problem.field, problem.code,
                                     problem.message)
                             for problem in dues.payment_problems(account["history"], account["paid"], months,
                                                                  amount, current_month))
                earlier.update(dict.fromkeys(months, line))
        if found:
            problems.extend(_problem(line, problem) for problem in found)
        else:
            valid.append({"line": line, "txn_id": txn, "member": member, "months": months, "amount_fen": amount,
                          "paid_on": paid_on.isoformat()})
    return valid, problems, skipped


def _date(text: str) -> date | None:
    text = (text or "").strip().replace("/", "-")
    try:
        return date.fromisoformat(text[:10]) if len(text) >= 10 else date.fromisoformat(text)
    except ValueError:
        return None
