"""Writing the workbooks officials open in Excel and WPS: a text cell is always text.

openpyxl stores a string starting with "=" as a formula, which Excel and WPS evaluate on opening
(a branch imported as ``=HYPERLINK("mailto:…", "点此查看")`` becomes a live link). Every workbook the
platform writes goes through ``append_row`` and ``workbook_bytes``.
"""
from __future__ import annotations

import io
import re
import zipfile
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:       # the gateway reads XLSX_MEDIA_TYPE here without loading openpyxl
    from openpyxl import Workbook
    from openpyxl.cell.cell import Cell
    from openpyxl.worksheet.worksheet import Worksheet

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What makes Excel, WPS or LibreOffice read typed or pasted text as a formula (OWASP's CSV injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Control characters XML 1.0 cannot carry (openpyxl raises on them): shown as U+FFFD instead of failing the export.
_NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def as_text(cell: Cell) -> Cell:
    """Store the cell's string as a string (``t="inlineStr"``), never a formula.

    A string that would start a formula also gets Excel's quotePrefix style, the stored form of a typed
    leading apostrophe: the text stays exactly as given (no ``'`` added to it, so a re-import reads the same
    name), and an official who edits the cell and presses Enter keeps text instead of making a formula."""
    cell.data_type = "s"
    if cell.value.startswith(FORMULA_STARTS):
        cell.quotePrefix = True
    return cell


def append_row(sheet: Worksheet, values: Iterable) -> None:
    """``sheet.append(values)`` with every string written as text (``as_text``)."""
    values = [_NOT_IN_XML.sub("\ufffd", value) if isinstance(value, str) else value for value in values]
    sheet.append(values)
    row = sheet.max_row
    for column, value in enumerate(values, start=1):
        if isinstance(value, str):
            as_text(sheet.cell(row=row, column=column))


def workbook_bytes(book: Workbook) -> bytes:
    """The saved workbook, with every carriage return in a sheet's text written as ``&#13;``.

    openpyxl (without lxml) writes a carriage return raw, and every XML reader, Excel's included, reads a raw
    one as a line feed; as a character reference it stays a carriage return. Outside cell text the sheets
    carry no raw carriage return (attributes are escaped), so the replacement touches only text."""
    buffer = io.BytesIO()
    book.save(buffer)
    content = buffer.getvalue()
    with zipfile.ZipFile(io.BytesIO(content)) as saved:
        parts = [(info, saved.read(info)) for info in saved.infolist()]
    if not any(b"\r" in data for info, data in parts if _is_sheet(info.filename)):
        return content
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as rewritten:
        for info, data in parts:
            if _is_sheet(info.filename):
                data = data.replace(b"\r", b"&#13;")
            rewritten.writestr(info, data)
    return out.getvalue()


def _is_sheet(name: str) -> bool:
    return name.startswith("xl/worksheets/") and name.endswith(".xml")
