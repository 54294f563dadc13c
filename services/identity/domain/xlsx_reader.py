"""The first worksheet of an XLSX file as rows of cell values, read straight from the sheet XML.

openpyxl's read-only reader spends ~17 µs per cell (an object per inline string, a dict per
cell): 53 s for a 208,000-member file. This reader takes from openpyxl only what is small and
subtle (which part is the first worksheet, which cell styles are dates, the 1900/1904 epoch)
and walks the sheet XML itself with ElementTree's C parser. It gives the values openpyxl gives
with ``read_only=True, data_only=True, values_only=True``: shared and inline strings, numbers
(int or float), booleans, dates for date-styled numbers and ``t="d"`` cells, the cached value of
formulas, error codes as text; a missing row is an empty row, a missing cell ``None``.

``sheet_rows`` raises ``Unsupported`` before yielding anything when the file is not a
transitional-namespace workbook it can read (then use openpyxl); once rows flow, a broken file
raises whatever the parser raises.
"""
from __future__ import annotations

import io
from typing import Iterator
from xml.etree.ElementTree import iterparse
from zipfile import ZipFile

from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS

_NS = "{%s}" % SHEET_MAIN_NS
_ROW, _CELL, _VALUE, _INLINE, _TEXT, _RUN, _SI = (_NS + name for name in ("row", "c", "v", "is", "t", "r", "si"))


class Unsupported(Exception):
    """The file is not one this reader handles; openpyxl may."""


def sheet_rows(content: bytes) -> Iterator[list]:
    """Rows of the first worksheet, from row 1, each a list of values indexed by column (A = 0)."""
    try:
        archive, sheet_path, strings_path, epoch, date_styles, timedelta_styles = _workbook(content)
        with archive.open(sheet_path) as source:
            opening = source.read(4096)
    except Exception as error:
        raise Unsupported(str(error)) from error
    if SHEET_MAIN_NS.encode() not in opening:
        raise Unsupported("the worksheet is not in the transitional SpreadsheetML namespace")
    return _rows(archive, sheet_path, strings_path, epoch, date_styles, timedelta_styles)


def _workbook(content: bytes):
    reader = ExcelReader(io.BytesIO(content), read_only=True, data_only=True)
    reader.read_manifest()
    reader.read_workbook()
    apply_stylesheet(reader.archive, reader.wb)
    for sheet, rel in reader.parser.find_sheets():
        if rel.target in reader.valid_files and "chartsheet" not in rel.Type:
            break
    else:
        raise Unsupported("no worksheet")
    strings = reader.package.find(SHARED_STRINGS)
    workbook = reader.wb
    return (reader.archive, rel.target, strings.PartName[1:] if strings is not None else None, workbook.epoch,
            frozenset(workbook._date_formats), frozenset(workbook._timedelta_formats))


def _rows(archive: ZipFile, sheet_path: str, strings_path: str | None, epoch, date_styles, timedelta_styles
          ) -> Iterator[list]:
    strings = _shared_strings(archive, strings_path) if strings_path else []
    columns: dict[str, int] = {}
    expected_row = 1
    row_number = 0
    with archive.open(sheet_path) as source:
        for _, element in iterparse(source):
            if element.tag != _ROW:
                continue
            number = element.get("r")
            row_number = _row_number(number) if number else row_number + 1
            while expected_row < row_number:
                expected_row += 1
                yield []
            values: list = []
            column = -1
            for cell in element:
                if cell.tag != _CELL:
                    continue
                reference = cell.get("r")
                if reference:
                    letters = reference.rstrip("0123456789")
                    column = columns.get(letters)
                    if column is None:
                        column = columns[letters] = _column_index(letters)
                else:
                    column += 1
                value = _value(cell, strings, epoch, date_styles, timedelta_styles)
                width = len(values)
                if column >= width:
                    values.extend([None] * (column + 1 - width))
                values[column] = value
            if row_number >= expected_row:
                expected_row = row_number + 1
                yield values
            element.clear()


def _value(cell, strings: list[str], epoch, date_styles, timedelta_styles):
    kind = cell.get("t", "n")
    raw = None
    for child in cell:
        if child.tag == _VALUE:
            raw = child.text
            break
        if child.tag == _INLINE and kind == "inlineStr":
            return _text_of(child)
    if kind == "inlineStr" or not raw:
        return None
    if kind == "n":
        number = float(raw) if ("." in raw or "E" in raw or "e" in raw) else int(raw)
        style = cell.get("s")
        style = int(style) if style else 0
        if style in date_styles:
            try:
                return from_excel(number, epoch, timedelta=style in timedelta_styles)
            except (OverflowError, ValueError):
                return "#VALUE!"
        return number
    if kind == "s":
        return strings[int(raw)]
    if kind == "b":
        return bool(int(raw))
    if kind == "d":
        return from_ISO8601(raw)
    return raw  # "str" (a formula's text result), "e" (an error code)


def _text_of(node) -> str:
    """A string item's text as openpyxl reads it: its plain text, then each run's; phonetic runs left out."""
    plain = None
    runs = []
    for child in node:
        if child.tag == _TEXT:
            if plain is None:
                plain = child.text or ""
        elif child.tag == _RUN:
            for part in child:
                if part.tag == _TEXT:
                    if part.text:
                        runs.append(part.text)
                    break
    if not runs:
        return plain or ""
    return (plain or "") + "".join(runs)


def _shared_strings(archive: ZipFile, path: str) -> list[str]:
    strings = []
    with archive.open(path) as source:
        for _, element in iterparse(source):
            if element.tag == _SI:
                strings.append(_text_of(element).replace("x005F_", ""))
                element.clear()
    return strings


def _row_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        number = float(text)
        if not number.is_integer():
            raise
        return int(number)


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters.upper():
        index = index * 26 + ord(letter) - 64
    return index - 1
