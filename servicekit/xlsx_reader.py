"""The first worksheet of an XLSX file as rows of cell values, read straight from the sheet XML.

openpyxl's read-only reader makes objects per cell, too slow for a city's file
(docs/performance.md#imports-at-city-scale). This reader takes from openpyxl only what is small and
subtle (which part is the first worksheet, which cell styles are dates, the 1900/1904 epoch)
and walks the sheet XML itself with ElementTree's C parser. It gives the values openpyxl gives
with ``read_only=True, data_only=True, values_only=True``: shared and inline strings, numbers
(int or float), booleans, dates for date-styled numbers and ``t="d"`` cells, the cached value of
formulas, error codes as text.

An XLSX file is a zip of XML parts, so a few kilobytes can stand for gigabytes. Nothing is inflated
before the zip's directory is checked (``Archive``: its size, the parts' declared sizes and
compression ratios); every part is inflated through a scan (``_Part``) that refuses DTDs (entity
expansion), CDATA and over-long tokens; rows are read within XLSX's own bounds (row 1,048,576,
column XFD) and a cap on cells, and nothing after the rows is inflated. A refusal is an
``InvalidArgument`` with its code, raised as soon as it is seen.

``numbered_rows`` raises ``Unsupported`` before yielding anything when the file is not a
transitional-namespace workbook it can read (then ``fallback_rows``, openpyxl's reader, for small
files only); once rows flow, a broken file raises whatever the parser raises.
"""
from __future__ import annotations

import io
import re
import struct
from typing import Iterator
from xml.etree.ElementTree import iterparse
from zipfile import ZIP_DEFLATED, ZIP_STORED, BadZipFile, ZipFile, ZipInfo

from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS

from servicekit.errors import InvalidArgument

_NS = "{%s}" % SHEET_MAIN_NS
_SHEET_DATA, _ROW, _CELL, _VALUE, _INLINE, _TEXT, _RUN, _SI = (
    _NS + name for name in ("sheetData", "row", "c", "v", "is", "t", "r", "si"))

MAX_ROW_INDEX = 1_048_576              # XLSX's last row; also the most rows a sheet may hold, blank ones included
MAX_COLUMN_INDEX = 16_384              # XLSX's last column, XFD
MAX_CELLS = 16_000_000                 # cell elements in the sheet, empty ones included (250,000 rows × 64)
MAX_SHARED_STRINGS = 4_000_000         # each one stays in memory while the rows are read
MAX_INFLATED_BYTES = 512 * 1024 * 1024  # all parts as declared; a 250,000-member sheet of inline strings is ~230 MB
MAX_INFLATION_RATIO = 100              # a part's declared size over its compressed size (spreadsheets: 5-20)
RATIO_FLOOR_BYTES = 1024 * 1024        # smaller parts may compress any amount
MAX_WHOLE_PART_BYTES = 16 * 1024 * 1024  # a part read whole into memory (workbook, styles, relationships)
MAX_FALLBACK_PART_BYTES = 1024 * 1024  # openpyxl's reader holds whole rows and string tables: small files only
MAX_PARTS = 10_000
MAX_DIRECTORY_BYTES = 1024 * 1024      # the zip's central directory, listed before any check can run
MAX_XML_TOKEN_BYTES = 256 * 1024       # text, attribute or tag between two "<" (a cell holds ≤ 32,767 characters)
MAX_XML_MARKUP = 64                    # comments and processing instructions in a part: text runs join across them
MAX_ELEMENTS_PER_ROW = 200_000         # elements inside one row or one shared string, held until it ends
MAX_ELEMENTS_OUTSIDE_ROWS = 200_000    # elements before and between the rows, held while the rows are read


class Unsupported(Exception):
    """The file is not one this reader handles; openpyxl may."""


def refusal(code: str, message: str) -> InvalidArgument:
    return InvalidArgument(message, code=code, field="content")


def numbered_rows(content: bytes) -> Iterator[tuple[int, dict[int, object]]]:
    """``(row number, {column index (A = 0): value})`` for each row of the first worksheet with a value, in
    ascending order (a row numbered at or below an earlier one is left out, as openpyxl does); cells without
    a value are not in the dict."""
    try:
        archive = Archive(content)
    except InvalidArgument:
        raise
    except Exception as error:
        raise Unsupported(str(error)) from error
    try:
        sheet_path, strings_path, epoch, date_styles, timedelta_styles = _workbook(archive, content)
        with archive.open(sheet_path) as source:
            opening = source.read(4096)
    except InvalidArgument:
        archive.close()
        raise
    except Exception as error:
        archive.close()
        raise Unsupported(str(error)) from error
    if SHEET_MAIN_NS.encode() not in opening:
        archive.close()
        raise Unsupported("the worksheet is not in the transitional SpreadsheetML namespace")
    return _rows(archive, sheet_path, strings_path, epoch, date_styles, timedelta_styles)


def readable_rows(content: bytes) -> Iterator[tuple[int, dict[int, object]]]:
    """An import file's rows as ``numbered_rows`` gives them (``fallback_rows`` for a workbook it cannot read);
    a file that cannot be read is an InvalidArgument FILE_UNREADABLE of the field ``content``, and a limit's
    refusal passes as it is."""
    try:
        rows = numbered_rows(content)
    except Unsupported:
        try:
            rows = fallback_rows(content)
        except InvalidArgument:
            raise
        except Exception:
            raise _unreadable("无法读取 XLSX 文件，请确认文件未损坏") from None
    try:
        yield from rows
    except InvalidArgument:
        raise
    except Exception:
        raise _unreadable("读取 XLSX 文件内容时出错，请确认文件未损坏") from None


def _unreadable(message: str) -> InvalidArgument:
    return InvalidArgument(message, code="FILE_UNREADABLE", field="content")


def sheet_rows(content: bytes) -> Iterator[list]:
    """Rows of the first worksheet, from row 1, each a list of values indexed by column (A = 0), a missing
    row empty and a missing cell ``None``: the shape openpyxl's read-only reader gives."""
    return _dense(numbered_rows(content))


def _dense(rows: Iterator[tuple[int, dict[int, object]]]) -> Iterator[list]:
    expected = 1
    for number, values in rows:
        while expected < number:
            expected += 1
            yield []
        row = [None] * (max(values) + 1) if values else []
        for column, value in values.items():
            row[column] = value
        expected = number + 1
        yield row


class Archive(ZipFile):
    """The zip of an XLSX file, refused before anything is inflated when its directory is too big or its
    parts declare more than the limits; a part is inflated only through ``_Part``, and never past its
    declared size (zipfile stops there and the CRC check fails). ``part_limit`` caps every part opened."""

    def __init__(self, content: bytes, part_limit: int | None = None):
        _check_directory(content)
        super().__init__(io.BytesIO(content))
        self.part_limit = part_limit
        parts = self.infolist()
        if len(parts) > MAX_PARTS:
            raise refusal("FILE_TOO_LARGE", f"XLSX 文件内的部件过多（{len(parts)} 个，最多 {MAX_PARTS} 个）")
        declared = 0
        for info in parts:
            if info.compress_type not in (ZIP_STORED, ZIP_DEFLATED):
                raise BadZipFile(f"{info.filename}: compression method {info.compress_type}")
            declared += info.file_size
            if info.file_size > RATIO_FLOOR_BYTES and info.file_size > MAX_INFLATION_RATIO * info.compress_size:
                raise refusal("FILE_INFLATES_TOO_MUCH",
                              f"XLSX 文件内的“{info.filename}”解压后是压缩时的 "
                              f"{info.file_size // max(info.compress_size, 1)} 倍（最多 {MAX_INFLATION_RATIO} 倍），"
                              "疑为压缩炸弹，已拒绝")
        if declared > MAX_INFLATED_BYTES:
            raise refusal("FILE_INFLATES_TOO_MUCH", f"XLSX 文件解压后共 {declared // 2**20} MB，"
                                                    f"超过 {MAX_INFLATED_BYTES // 2**20} MB，请分批导入")

    def open(self, name, mode="r", pwd=None, *, force_zip64=False):
        if mode != "r":
            raise ValueError("an import file is only read")
        info = name if isinstance(name, ZipInfo) else self.getinfo(name)
        if self.part_limit is not None and info.file_size > self.part_limit:
            raise refusal("FILE_INFLATES_TOO_MUCH", f"此 XLSX 文件只能按兼容方式读取，其部件解压后不能超过 "
                                                    f"{self.part_limit // 1024} KB；请用 Excel 或 WPS 另存后重试")
        return _Part(super().open(info, "r", pwd), info.filename)

    def read(self, name, pwd=None) -> bytes:
        info = name if isinstance(name, ZipInfo) else self.getinfo(name)
        if info.file_size > MAX_WHOLE_PART_BYTES:
            raise refusal("FILE_INFLATES_TOO_MUCH", f"XLSX 文件内的“{info.filename}”解压后超过 "
                                                    f"{MAX_WHOLE_PART_BYTES // 2**20} MB")
        with self.open(info, pwd=pwd) as part:
            return part.read()


_END = struct.Struct("<4s4H2LH")              # end of central directory record
_END64_LOCATOR = struct.Struct("<4sLQL")
_END64 = struct.Struct("<4sQ2H2L4Q")


def _check_directory(content: bytes) -> None:
    """Refuses a zip whose central directory would take long to list, before ZipFile lists it."""
    at = content.rfind(b"PK\x05\x06", max(0, len(content) - _END.size - 65_535))
    if at < 0 or at + _END.size > len(content):
        return                                   # not a zip: ZipFile says so
    _, _, _, _, parts, size, _, _ = _END.unpack_from(content, at)
    if parts == 0xFFFF or size == 0xFFFFFFFF:    # zip64: the counts are in the zip64 record the locator names
        if at < _END64_LOCATOR.size:
            raise BadZipFile("truncated zip64 locator")
        signature, _, offset, _ = _END64_LOCATOR.unpack_from(content, at - _END64_LOCATOR.size)
        if signature != b"PK\x06\x07" or offset + _END64.size > len(content):
            raise BadZipFile("bad zip64 locator")
        record = _END64.unpack_from(content, offset)
        if record[0] != b"PK\x06\x06":
            raise BadZipFile("bad zip64 end record")
        parts, size = record[7], record[8]
    if parts > MAX_PARTS or size > MAX_DIRECTORY_BYTES:
        raise refusal("FILE_TOO_LARGE", f"XLSX 文件内的部件过多（{parts} 个，目录 {size // 1024} KB）")


_DECLARED_ENCODING = re.compile(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)")
_FORBIDDEN = ((b"<!DOCTYPE", "文档类型声明（DOCTYPE）"), (b"<!ENTITY", "实体声明（ENTITY）"), (b"<![CDATA[", "CDATA 段"))


def _markup(data: bytes) -> int:
    """Comments and processing instructions (the XML declaration among them) that start in ``data``."""
    return data.count(b"<!--") + data.count(b"<?")


class _Part:
    """A part's bytes as they are inflated, refused at the first thing no spreadsheet needs and a reader must
    not meet: a DTD (entity expansion, "billion laughs"), CDATA, an encoding other than UTF-8 (the scan reads
    bytes), many comments, or a token (text, attribute, tag) longer than any cell."""

    def __init__(self, stream, name: str):
        self._stream, self._name = stream, name
        self._edge = b""          # the last bytes of the previous read
        self._token = 0           # bytes since the last "<"
        self._markup = 0
        self._first = True
        self._tags = self._marked = 0
        self._tag_limit = None

    def limit_tags_between_marks(self, limit: int) -> None:
        """Refuse the part when more than ``limit`` tags come between two calls of ``mark`` (the reader calls it
        at the end of each row): all the elements of a row stay in memory until the row ends."""
        self._tag_limit = limit

    def mark(self) -> None:
        self._marked = self._tags

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        if data:
            self._scan(data)
        return data

    def close(self) -> None:
        self._stream.close()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()

    def _scan(self, data: bytes) -> None:
        if self._first:
            self._first = False
            self._check_encoding(data)
        straddle = self._edge + data[:8]         # a pattern split between this read and the previous one
        markup = _markup(straddle) - _markup(self._edge) - _markup(data[:8])
        for chunk in (data, straddle):
            if b"!" in chunk and b"<!" in chunk:  # "!" alone first: one byte is found far faster
                for pattern, what in _FORBIDDEN:
                    if pattern in chunk:
                        raise refusal("XML_NOT_ALLOWED", f"XLSX 文件的“{self._name}”含有{what}，出于安全原因不予读取")
                if chunk is data:
                    markup += data.count(b"<!--")
        if b"?" in data:
            markup += data.count(b"<?")
        self._markup += markup
        if self._markup > MAX_XML_MARKUP:
            raise refusal("XML_NOT_ALLOWED", f"XLSX 文件的“{self._name}”含有过多的 XML 注释或处理指令")
        first = data.find(b"<")
        if first < 0:
            self._token += len(data)
        else:
            self._token += first
            if self._token <= MAX_XML_TOKEN_BYTES:
                self._token = len(data) - data.rfind(b"<") - 1
        if self._token > MAX_XML_TOKEN_BYTES:
            raise refusal("SHEET_TOO_LARGE", f"XLSX 文件的“{self._name}”中有超过 {MAX_XML_TOKEN_BYTES // 1024} KB "
                                             "的单元格内容或 XML 标记")
        if self._tag_limit is not None:
            self._tags += data.count(b"<")
            if self._tags - self._marked > self._tag_limit:
                raise refusal("SHEET_TOO_LARGE", f"XLSX 文件的“{self._name}”中一行（或行以外）的元素过多")
        self._edge = data[-8:]

    def _check_encoding(self, data: bytes) -> None:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4]:
            raise refusal("XML_NOT_ALLOWED", f"XLSX 文件的“{self._name}”不是 UTF-8 编码")
        declared = _DECLARED_ENCODING.match(data, 3 if data.startswith(b"\xef\xbb\xbf") else 0)
        if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
            raise refusal("XML_NOT_ALLOWED", f"XLSX 文件的“{self._name}”不是 UTF-8 编码")


def _workbook(archive: Archive, content: bytes):
    reader = _reader(archive, content)
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
    return (rel.target, strings.PartName[1:] if strings is not None else None, workbook.epoch,
            frozenset(workbook._date_formats), frozenset(workbook._timedelta_formats))


def _reader(archive: Archive, content: bytes) -> ExcelReader:
    """openpyxl's reader of the workbook's parts, reading them through ``archive`` (and so within its limits)."""
    reader = ExcelReader(io.BytesIO(content), read_only=True, data_only=True)
    reader.archive.close()
    reader.archive, reader.valid_files = archive, archive.namelist()
    return reader


def _rows(archive: Archive, sheet_path: str, strings_path: str | None, epoch, date_styles, timedelta_styles
          ) -> Iterator[tuple[int, dict[int, object]]]:
    with archive:
        strings = _shared_strings(archive, strings_path) if strings_path else []
        columns: dict[str, int] = {}
        last = row_number = rows = cells = kept = 0
        with archive.open(sheet_path) as source:
            source.limit_tags_between_marks(2 * MAX_ELEMENTS_PER_ROW)
            # Only end events (start events would cost a fifth more): an element that ends outside a row is
            # counted in ``kept`` and stays in memory, an element of a row is taken off again when its row ends.
            for _, element in iterparse(source):
                tag = element.tag
                if tag != _ROW:
                    if tag == _SHEET_DATA:
                        break                    # what follows the rows (merged cells, links...) is not inflated
                    kept += 1
                    continue
                kept -= len(list(element.iter())) - 1
                if kept > MAX_ELEMENTS_OUTSIDE_ROWS:
                    raise refusal("SHEET_TOO_LARGE", "工作表中行以外的元素过多")
                source.mark()
                rows += 1
                if rows > MAX_ROW_INDEX:
                    raise refusal("TOO_MANY_ROWS", f"工作表超过 {MAX_ROW_INDEX} 行（空行也计算在内）")
                number = element.get("r")
                row_number = _row_number(number) if number else row_number + 1
                if not 0 < row_number <= MAX_ROW_INDEX:
                    raise refusal("CELL_OUT_OF_RANGE", f"行号 {number} 超出 XLSX 的范围（1 至 {MAX_ROW_INDEX}）")
                cells += len(element)
                if cells > MAX_CELLS:
                    raise refusal("SHEET_TOO_LARGE", f"工作表的单元格超过 {MAX_CELLS} 个")
                values: dict[int, object] = {}
                column = -1
                for cell in element:
                    if cell.tag != _CELL:
                        continue
                    reference = cell.get("r")
                    if reference:
                        letters = reference.rstrip("0123456789")
                        column = columns.get(letters)
                        if column is None:
                            column = columns[letters] = _column_index(letters, row_number)
                    else:
                        column += 1
                        if column >= MAX_COLUMN_INDEX:
                            raise _column_out_of_range(row_number)
                    value = _value(cell, strings, epoch, date_styles, timedelta_styles)
                    if value is not None:
                        values[column] = value
                element.clear()
                if row_number > last:
                    last = row_number
                    if values:
                        yield row_number, values
        if kept > MAX_ELEMENTS_OUTSIDE_ROWS:
            raise refusal("SHEET_TOO_LARGE", "工作表中行以外的元素过多")


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


def _shared_strings(archive: Archive, path: str) -> list[str]:
    strings: list[str] = []
    root = None
    in_item = False
    inside = outside = 0
    with archive.open(path) as source:
        for event, element in iterparse(source, events=("start", "end")):
            if event == "start":
                if in_item:
                    inside += 1
                    if inside > MAX_ELEMENTS_PER_ROW:
                        raise refusal("SHEET_TOO_LARGE", "共享字符串表中的一项元素过多")
                elif element.tag == _SI:
                    in_item, inside = True, 0
                elif root is None:
                    root = element
                else:
                    outside += 1
                    if outside > MAX_ELEMENTS_OUTSIDE_ROWS:
                        raise refusal("SHEET_TOO_LARGE", "共享字符串表中的元素过多")
                continue
            if element.tag == _SI:
                in_item = False
                strings.append(_text_of(element).replace("x005F_", ""))
                if len(strings) > MAX_SHARED_STRINGS:
                    raise refusal("SHEET_TOO_LARGE", f"共享字符串超过 {MAX_SHARED_STRINGS} 个")
                (root if root is not None else element).clear()
    return strings


def _row_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        number = float(text)
        if not number.is_integer():
            raise
        return int(number)


def _column_index(letters: str, row_number: int) -> int:
    """A = 0 … XFD = 16,383; past XFD is refused, anything but letters is a broken reference."""
    if not (letters.isascii() and letters.isalpha()):
        raise ValueError(f"bad cell reference {letters[:20]!r}")
    index = 0
    if len(letters) <= 3:
        for letter in letters.upper():
            index = index * 26 + ord(letter) - 64
    if not 0 < index <= MAX_COLUMN_INDEX:
        raise _column_out_of_range(row_number, letters[:20])
    return index - 1


def _column_out_of_range(row_number: int, letters: str = "") -> InvalidArgument:
    cell = f"单元格 {letters}{row_number} " if letters else "单元格"
    return refusal("CELL_OUT_OF_RANGE", f"第 {row_number} 行的{cell}超出 XLSX 的最大列 XFD（第 {MAX_COLUMN_INDEX} 列）")


def fallback_rows(content: bytes) -> Iterator[tuple[int, dict[int, object]]]:
    """What ``numbered_rows`` gives, read by openpyxl's own sheet parser, for sheets the fast reader does not
    read; openpyxl keeps a whole row and the whole string table in memory, so every part must be small."""
    archive = Archive(content, part_limit=MAX_FALLBACK_PART_BYTES)
    try:
        reader = _reader(archive, content)
        reader.read()
        book = reader.wb
        sheet = book.worksheets[0]
        source = archive.open(sheet._worksheet_path)
    except BaseException:
        archive.close()
        raise
    parser = WorkSheetParser(source, reader.shared_strings, data_only=True, epoch=book.epoch,
                             date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)
    return _parsed_rows(archive, source, parser)


def _parsed_rows(archive: Archive, source: _Part, parser: WorkSheetParser
                 ) -> Iterator[tuple[int, dict[int, object]]]:
    with archive, source:
        last = rows = cells = 0
        for number, row in parser.parse():
            rows += 1
            cells += len(row)
            if rows > MAX_ROW_INDEX:
                raise refusal("TOO_MANY_ROWS", f"工作表超过 {MAX_ROW_INDEX} 行（空行也计算在内）")
            if not 0 < number <= MAX_ROW_INDEX:
                raise refusal("CELL_OUT_OF_RANGE", f"行号 {number} 超出 XLSX 的范围（1 至 {MAX_ROW_INDEX}）")
            if cells > MAX_CELLS:
                raise refusal("SHEET_TOO_LARGE", f"工作表的单元格超过 {MAX_CELLS} 个")
            values = {}
            for cell in row:
                if not 0 < cell["column"] <= MAX_COLUMN_INDEX:
                    raise _column_out_of_range(number)
                if cell["value"] is not None:
                    values[cell["column"] - 1] = cell["value"]
            if number > last:
                last = number
                if values:
                    yield number, values
