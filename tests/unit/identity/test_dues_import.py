"""Bank statement files of dues payments (services/identity/domain/dues_import.py): every row's problems at once."""
from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import Workbook

from servicekit.errors import InvalidArgument
from services.identity.domain import dues_import

HEADER = "交易流水号,党员编号,姓名,缴费月份,金额（元）,交易日期\n"
MEMBERS = {"mem_a": {"_id": "mem_a", "name": "张三"}, "mem_b": {"_id": "mem_b", "name": "李四"}}
ACCOUNTS = {"mem_a": {"history": [{"from": "2026-01", "amount_fen": 1_500}], "paid": ["2026-01"]},
            "mem_b": {"history": [{"from": "2026-01", "amount_fen": 20}], "paid": []}}
TODAY = date(2026, 6, 15)


def check(text: str, known=frozenset()):
    rows = dues_import.read("csv", (HEADER + text).encode())
    return dues_import.check_rows(rows, lambda row: MEMBERS.get(row["member_id"]), ACCOUNTS.__getitem__,
                                  set(known), TODAY, "2026-06")


def test_good_rows_become_payments_in_fen():
    valid, problems, skipped = check("TX1,mem_a,张三,2026-02至2026-03,30.00,2026-06-01\n"
                                     "TX2,mem_b,李四,2026-01,0.2,2026-06-02\n")
    assert problems == [] and skipped == 0
    assert [(row["txn_id"], row["months"], row["amount_fen"]) for row in valid] == [
        ("TX1", ["2026-02", "2026-03"], 3_000), ("TX2", ["2026-01"], 20)]


def test_every_bad_row_is_reported_with_its_line_and_field():
    valid, problems, _ = check("TX1,mem_a,张三,2026-02,15.00,2026-06-01\n"       # good
                               "TX1,mem_b,李四,2026-01,0.20,2026-06-01\n"        # same transaction id again
                               "TX3,mem_x,王五,2026-02,15.00,2026-06-01\n"       # nobody in the subtree
                               "TX4,mem_a,张三丰,2026-04,15.00,2026-06-01\n"     # the name is someone else's
                               "TX5,mem_a,张三,2026-01,15.00,2026-06-01\n"       # January is paid already
                               "TX6,mem_a,张三,2026-04,16.00,2026-06-01\n"       # not the standard
                               "TX7,mem_a,张三,2026-02,15.00,2026-06-03\n"       # February again, in this file
                               "TX8,mem_b,李四,13月,0.20,2026-07-01\n"           # bad month, a date after today
                               ",,,,,\n"                                           # blank: skipped
                               ",mem_b,李四,2026-02,abc,2026-06-01\n")
    assert {(p["line"], p["field"], p["reason"]) for p in problems} == {
        (3, "txn_id", "DUPLICATE_IN_FILE"), (4, "member_id", "MEMBER_UNKNOWN"), (5, "name", "NAME_MISMATCH"),
        (6, "months", "MONTH_ALREADY_PAID"), (7, "amount", "AMOUNT_MISMATCH"), (8, "months", "DUPLICATE_IN_FILE"),
        (9, "months", "MONTHS_INVALID"), (9, "paid_on", "DATE_IN_FUTURE"), (11, "txn_id", "TXN_ID_INVALID"),
        (11, "amount", "AMOUNT_INVALID")}
    assert all(problem["message"] for problem in problems)


def test_a_transaction_stored_before_is_skipped_not_refused():
    valid, problems, skipped = check("TX1,mem_a,张三,2026-02,15.00,2026-06-01\n"
                                     "TX2,mem_b,李四,2026-01,0.20,2026-06-02\n", known={"TX1"})
    assert problems == [] and skipped == 1 and [row["txn_id"] for row in valid] == ["TX2"]


def test_a_row_naming_no_member_is_refused():
    _, problems, _ = check("TX1,,张三,2026-02,15.00,2026-06-01\n")
    assert [(p["field"], p["reason"]) for p in problems] == [("member_id", "MEMBER_REF_MISSING")]


def test_an_xlsx_statement_with_typed_cells_reads_like_the_csv():
    book = Workbook()
    sheet = book.active
    sheet.append(["交易流水号", "党员编号", "姓名", "缴费月份", "金额", "交易日期"])
    sheet.append(["TX9", "mem_a", "张三", date(2026, 2, 1), 15, date(2026, 6, 1)])   # Excel's month and number
    buffer = io.BytesIO()
    book.save(buffer)
    rows = dues_import.read("xlsx", buffer.getvalue())
    valid, problems, _ = dues_import.check_rows(rows, lambda row: MEMBERS.get(row["member_id"]), ACCOUNTS.__getitem__,
                                                set(), TODAY, "2026-06")
    assert problems == [] and valid[0]["months"] == ["2026-02"] and valid[0]["amount_fen"] == 1_500


def test_a_file_without_the_required_columns_is_refused_at_its_header():
    with pytest.raises(InvalidArgument) as refused:
        dues_import.read("csv", "姓名,金额\n张三,15\n".encode())
    assert refused.value.code == "HEADER_MISSING"
    assert {item["field"] for item in refused.value.details} == {"txn_id", "months", "paid_on"}
