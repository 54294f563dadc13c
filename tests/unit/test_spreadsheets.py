"""servicekit.spreadsheets: text cells are text, whatever they start with, and keep their exact characters."""
import io
import zipfile
from xml.etree import ElementTree

from openpyxl import Workbook, load_workbook

from servicekit.spreadsheets import append_row, workbook_bytes

SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
HOSTILE = ['=HYPERLINK("mailto:boss@example.com", "点此查看")', "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"]


def saved(*rows) -> bytes:
    book = Workbook()
    for row in rows:
        append_row(book.active, row)
    return workbook_bytes(book)


def cells_of(data: bytes) -> list[ElementTree.Element]:
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        return list(ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml")).iter(f"{SHEET_NS}c"))


def test_strings_that_start_a_formula_are_stored_as_strings_with_excels_quote_prefix():
    data = saved(HOSTILE)
    cells = cells_of(data)
    assert [cell.get("t") for cell in cells] == ["inlineStr"] * len(HOSTILE)
    assert all(cell.find(f"{SHEET_NS}f") is None for cell in cells)
    assert ["".join(cell.itertext()) for cell in cells] == HOSTILE     # the XML text itself, carriage return too
    sheet = load_workbook(io.BytesIO(data)).active
    assert [cell.value for cell in sheet[1]] == HOSTILE
    assert all(cell.data_type == "s" and cell.quotePrefix for cell in sheet[1])


def test_other_values_keep_their_types_and_plain_text_gets_no_style():
    sheet = load_workbook(io.BytesIO(saved(["第一支部", 3, 2.5, None, "a\r\nb", "", " x "]))).active
    assert [cell.value for cell in sheet[1]][:3] == ["第一支部", 3, 2.5]
    assert sheet.cell(1, 5).value == "a\r\nb" and sheet.cell(1, 7).value == " x "
    assert [cell.data_type for cell in sheet[1]][:3] == ["s", "n", "n"]
    assert not any(cell.quotePrefix for cell in sheet[1])


def test_control_characters_xml_cannot_carry_are_shown_as_replacement_characters_not_a_failed_export():
    sheet = load_workbook(io.BytesIO(saved(["第一\x01支部\x1f", "=\x00A1", "tab\tand\nline"]))).active
    assert [cell.value for cell in sheet[1]] == ["第一\ufffd支部\ufffd", "=\ufffdA1", "tab\tand\nline"]
    assert sheet.cell(1, 2).quotePrefix
