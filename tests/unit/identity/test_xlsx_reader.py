"""The fast XLSX reader gives what openpyxl's read-only reader gives, for the files people send."""
from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time, timedelta

import openpyxl
import pytest
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from servicekit import xlsx_reader
from services.identity.domain import importing


def openpyxl_rows(content: bytes) -> list[list]:
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def same_rows(fast: list[list], slow: list[list]) -> bool:
    """openpyxl pads every row to the sheet's width and yields () for missing rows: compare without padding."""
    def trimmed(row):
        row = list(row)
        while row and row[-1] is None:
            row.pop()
        return row
    fast, slow = [trimmed(row) for row in fast], [trimmed(row) for row in slow]
    while slow and not slow[-1]:
        slow.pop()
    while fast and not fast[-1]:
        fast.pop()
    return fast == slow


def saved(book) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


ROWS = [
    ["所在支部", "姓名", "出生日期", "身份证号", "手机号", "流动党员", "分数", "入党日期时间", "时长"],
    ["第1区县委/第1党支部", "  张三 ", date(1985, 3, 1), "61070219850301001X", 13800138000, True, 1.5,
     datetime(2010, 7, 1, 9, 30), timedelta(hours=36)],
    [None, "李四", datetime(1990, 1, 2), 610702199001020021, "13800138001", False, 2.0, time(8, 15), None],
    [],
    ["第2党支部", "王五&<>\"'", None, None, None, None, -3, None, None],
]


@pytest.mark.parametrize("write_only", [False, True], ids=["shared strings", "inline strings"])
def test_values_match_openpyxl(write_only):
    book = openpyxl.Workbook(write_only=write_only)
    sheet = book.create_sheet() if write_only else book.active
    for row in ROWS:
        sheet.append(row)
    if not write_only:
        sheet["K7"] = "=1+1"              # a formula without a cached value
        sheet["B9"] = "far below"         # rows 8 missing
        book.create_sheet("second")["A1"] = "not read"
    content = saved(book)
    fast = list(xlsx_reader.sheet_rows(content))
    assert same_rows(fast, openpyxl_rows(content))
    assert fast[1][2] == datetime(1985, 3, 1) and fast[1][5] is True and fast[1][4] == 13800138000


def test_rich_text_and_the_1904_calendar_match_openpyxl():
    book = openpyxl.Workbook()
    book.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    sheet = book.active
    sheet["A1"] = CellRichText(["红色", TextBlock(InlineFont(b=True), "加粗"), "普通"])
    sheet["B1"] = date(2001, 2, 3)
    sheet["C3"] = 42
    content = saved(book)
    fast = list(xlsx_reader.sheet_rows(content))
    assert same_rows(fast, openpyxl_rows(content))
    assert fast[0][:2] == ["红色加粗普通", datetime(2001, 2, 3)]


def test_a_sheet_listed_second_in_the_archive_but_first_in_the_workbook_is_the_one_read():
    book = openpyxl.Workbook()
    book.active.title = "名单"
    book.active["A1"] = "first"
    book.create_sheet("其他", 0)["A1"] = "moved to the front"
    content = saved(book)
    assert list(xlsx_reader.sheet_rows(content))[0] == ["moved to the front"]
    assert openpyxl_rows(content)[0][0] == "moved to the front"


def test_a_broken_archive_is_left_to_openpyxl_and_reported_unreadable():
    with pytest.raises(xlsx_reader.Unsupported):
        xlsx_reader.sheet_rows(b"PK\x03\x04 not really a zip")
    with pytest.raises(Exception) as error:
        importing.read_table("xlsx", b"PK\x03\x04 not really a zip")
    assert error.value.code == "FILE_UNREADABLE"


def test_a_sheet_cut_short_is_reported_unreadable():
    book = openpyxl.Workbook()
    for index in range(50):
        book.active.append([f"行{index}", index])
    content = saved(book)
    broken = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(broken, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[:len(data) // 2]
            target.writestr(item, data)
    with pytest.raises(Exception) as error:
        importing.read_table("xlsx", broken.getvalue())
    assert error.value.code == "FILE_UNREADABLE"


def test_read_table_gives_the_same_rows_and_line_numbers_both_ways(monkeypatch):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([])
    sheet.append(["branch_ref", "name", "id_number", "phone", "status", "birth_date"])
    sheet.append(["b1", "张三", "61070219850301001X", 13800138000, "full", date(1985, 3, 1)])
    sheet["A6"] = "b2"
    sheet["B6"] = "李四"
    content = saved(book)
    fast = importing.read_table("xlsx", content, importing.MEMBER_REQUIRED_COLUMNS)

    def unsupported(_content):
        raise xlsx_reader.Unsupported("forced")
    monkeypatch.setattr(xlsx_reader, "numbered_rows", unsupported)
    slow = importing.read_table("xlsx", content, importing.MEMBER_REQUIRED_COLUMNS)
    assert fast == slow
    assert [line for line, _ in fast] == [3, 6]
    assert fast[0][1]["birth_date"] == "1985-03-01" and fast[0][1]["phone"] == "13800138000"
