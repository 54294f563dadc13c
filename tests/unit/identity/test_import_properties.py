"""Properties of the member import's readers (CSV and XLSX, ``importing.read_table`` over ``xlsx_reader``) and
its row validation: random bytes, damaged workbooks, zip bombs, huge cells and text in any encoding give rows
(each bad row a problem with its line, field and reason) or a refusal with its code, never another exception,
and a bomb is refused without being inflated."""
from __future__ import annotations

import io
import tracemalloc
import zipfile
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from servicekit.errors import InvalidArgument
from services.identity.domain import importing
from services.identity.domain.importing import MEMBER_REQUIRED_COLUMNS, read_table, validate_member_rows
from tests.support.properties import bounded
from tests.support.xlsx import PARTS, SHEET, sheet_xml, text_row, xlsx, xlsx_of

REFUSALS = {"FILE_FORMAT_UNSUPPORTED", "FILE_EMPTY", "FILE_TOO_LARGE", "FILE_UNREADABLE", "TOO_MANY_ROWS",
            "CELL_OUT_OF_RANGE", "LINE_TOO_LONG", "HEADER_DUPLICATE", "HEADER_MISSING", "FILE_INFLATES_TOO_MUCH",
            "XML_NOT_ALLOWED", "SHEET_TOO_LARGE"}
HEADER = ["所在支部", "姓名", "性别", "出生日期", "身份证号", "手机号", "政治面貌", "入党日期"]
TODAY = date(2026, 12, 6)
BRANCHES = {"一支部": "org_1", "二支部": "org_2"}
# what a person types into a member sheet, and what breaks readers: quotes, separators, line breaks, formulas,
# NUL and other controls, surrogates, full-width forms, emoji
cell_text = st.text(st.characters(codec="utf-8") | st.sampled_from(list('",;\r\n\t=+-@\x00\x1f\ufeff\u3000ＡＢ１２中文🇨🇳')),
                    max_size=40)
rows = st.lists(st.lists(cell_text, max_size=len(HEADER) + 2), max_size=8)


def outcome(fmt: str, content: bytes):
    """(rows, valid, problems) or the refusal; the refusal's code must be known and nothing else may escape."""
    try:
        table = read_table(fmt, content, MEMBER_REQUIRED_COLUMNS)
    except InvalidArgument as refused:
        assert refused.code in REFUSALS, (refused.code, refused.message)
        assert refused.field in ("content", "format") and refused.message
        return refused
    valid, problems = validate_member_rows(table, BRANCHES.get, TODAY)
    lines = {line for line, _ in table}
    assert len(valid) + len({problem["line"] for problem in problems}) == len(table)
    for problem in problems:
        assert problem["line"] in lines and problem["reason"] and problem["message"] and "field" in problem
    return table, valid, problems


def csv_bytes(table: list[list[str]], encoding: str) -> bytes:
    lines = [",".join('"' + cell.replace('"', '""') + '"' for cell in row) for row in table]
    return "\r\n".join(lines).encode(encoding, errors="replace")


@bounded(150)
@given(content=st.binary(max_size=4000), fmt=st.sampled_from(["csv", "xlsx"]))
def test_random_bytes_give_rows_or_a_refusal_code(content, fmt):
    outcome(fmt, content)


@bounded(120)
@given(table=rows, encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16", "utf-16-le",
                                             "big5", "latin-1", "shift_jis"]))
def test_csv_in_any_encoding_gives_rows_or_a_refusal_code(table, encoding):
    result = outcome("csv", csv_bytes([HEADER, *table], encoding))
    if encoding.startswith("utf-16") and not isinstance(result, InvalidArgument):
        raise AssertionError("UTF-16 text has NUL bytes: it is never read as a CSV")


@bounded(100)
@given(table=st.lists(st.lists(st.text(st.characters(codec="utf-8", exclude_characters="\x00\r\n\"\ufeff"),
                                       max_size=20).map(str.strip), min_size=len(HEADER), max_size=len(HEADER)),
                      min_size=1, max_size=6),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
def test_csv_in_utf8_or_gb18030_reads_back_cell_for_cell(table, encoding):
    content = csv_bytes([HEADER, *table], encoding)
    result = outcome("csv", content)
    if encoding == "gb18030" and not content.isascii():
        try:
            content.decode("utf-8")
            return          # GB18030 bytes that are UTF-8 too are read as UTF-8 first, as they should be
        except UnicodeDecodeError:
            pass
    non_blank = [row for row in table if any(row)]
    if not non_blank:
        assert isinstance(result, InvalidArgument) and result.code == "FILE_EMPTY"
        return
    read, _, _ = result
    assert [row["name"] for _, row in read] == [row[1] for row in non_blank]
    assert [row["id_number"] for _, row in read] == [row[4] for row in non_blank]


@bounded(100)
@given(table=rows, data=st.data())
def test_a_damaged_workbook_gives_rows_or_a_refusal_code(table, data):
    content = bytearray(xlsx_of([HEADER, *[[cell.replace("\x00", "") for cell in row] for row in table]]))
    for _ in range(data.draw(st.integers(1, 8), label="changes")):
        at = data.draw(st.integers(0, len(content) - 1), label="at")
        content[at] = data.draw(st.integers(0, 255), label="byte")
    cut = data.draw(st.integers(1, len(content)), label="cut")
    outcome("xlsx", bytes(content[:cut]))


@bounded(8)
@given(megabytes=st.integers(2, 64), filler=st.sampled_from([b"\x00", b"<", b" ", b"<row/>", b"A"]),
       where=st.sampled_from([SHEET, "xl/sharedStrings.xml", "xl/styles.xml", "docProps/extra.xml"]))
def test_a_zip_bomb_is_refused_before_it_is_inflated(megabytes, filler, where):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, text in {**PARTS, SHEET: sheet_xml(text_row(1, list(MEMBER_REQUIRED_COLUMNS)))}.items():
            if name != where:
                archive.writestr(name, text)
        archive.writestr(where, filler * (megabytes * 2**20 // len(filler)))
    content = out.getvalue()
    tracemalloc.start()
    try:
        result = outcome("xlsx", content)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(result, InvalidArgument) and result.code == "FILE_INFLATES_TOO_MUCH"
    assert peak < 8 * 2**20 + 4 * len(content), f"{peak // 2**20} MB held for a {len(content)}-byte bomb"


@bounded(12)
@given(chars=st.integers(importing.MAX_CSV_RECORD_CHARS // 4, importing.MAX_CSV_RECORD_CHARS * 2),
       quoted=st.booleans(), fmt=st.sampled_from(["csv", "xlsx"]), character=st.sampled_from(["a", "中", "\n"]))
def test_a_huge_cell_is_read_or_refused_with_its_code(chars, quoted, fmt, character):
    big = character * chars
    if fmt == "csv":
        cell = f'"{big}"' if quoted or character == "\n" else big
        content = ("所在支部,姓名,身份证号,手机号,政治面貌\r\n" + f"一支部,{cell},1,2,党员\r\n").encode("utf-8")
    else:
        content = xlsx(sheet_xml(text_row(1, list(MEMBER_REQUIRED_COLUMNS)) + text_row(2, ["一支部", big])))
    result = outcome(fmt, content)
    if isinstance(result, InvalidArgument):
        # a cell of one character repeated compresses past the bomb ratio: refused before it is inflated
        assert result.code in ({"LINE_TOO_LONG"} if fmt == "csv" else {"SHEET_TOO_LARGE", "FILE_INFLATES_TOO_MUCH"})
    else:
        (_, row), = result[0]
        assert row["name"] == big.strip()
        assert [problem["field"] for problem in result[2] if problem["field"] == "name"] == ["name"]


@bounded(60)
@given(table=rows, fmt=st.sampled_from(["csv", "xlsx"]))
def test_any_cells_under_the_header_give_a_row_or_a_problem_for_each_line(table, fmt):
    if fmt == "csv":
        content = csv_bytes([HEADER, *table], "utf-8")
    else:
        content = xlsx_of([HEADER, *[[cell.replace("\x00", "") for cell in row] for row in table]])
    outcome(fmt, content)
