"""Hostile import files are refused quickly, with their code, before they cost what they claim.

Each file is built here. ``QUICK`` is generous for a loaded machine: the readers before these bounds took
3 to 21 s (and hundreds of MB) on the XLSX cases. Where a refusal must come before inflating, the bytes
inflated from the zip are counted too.
"""
from __future__ import annotations

import base64
import io
import struct
import time
import zipfile

import pytest

from servicekit.process.config import ConfigError
from servicekit.errors import InvalidArgument
from services.identity.usecases import imports
from servicekit import xlsx_reader
from services.identity.domain import importing
from services.identity.domain.importing import MEMBER_REQUIRED_COLUMNS, read_table
from tests.support.xlsx import NS, PARTS, SHEET, sheet_xml, text_row, xlsx

QUICK = 2.0
HEADER_ROW = text_row(1, list(MEMBER_REQUIRED_COLUMNS))
DATA_ROW = text_row(2, ["一支部", "张三"])


@pytest.fixture
def inflated(monkeypatch):
    """The bytes read out of zip members while the test runs."""
    count = {"bytes": 0}
    read = zipfile.ZipExtFile.read

    def counting(self, n=-1):
        data = read(self, n)
        count["bytes"] += len(data)
        return data
    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting)
    return count


def refused(fmt: str, content: bytes, code: str, **options) -> InvalidArgument:
    started = time.perf_counter()
    with pytest.raises(InvalidArgument) as caught:
        read_table(fmt, content, MEMBER_REQUIRED_COLUMNS, **options)
    seconds = time.perf_counter() - started
    assert caught.value.code == code, caught.value.message
    assert seconds < QUICK, f"refused after {seconds:.1f}s"
    assert caught.value.message and caught.value.field == "content"
    return caught.value


# --------------------------------------------------------------------------------- the zip

def test_a_sheet_that_inflates_a_thousandfold_is_refused_before_it_is_inflated(inflated):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in PARTS.items():
            archive.writestr(name, text)
        with archive.open(SHEET, "w") as sheet:
            sheet.write(f'<worksheet xmlns="{NS}"><sheetData>{HEADER_ROW}{DATA_ROW}'.encode())
            padding = b" " * (1 << 20)
            for _ in range(100):
                sheet.write(padding)
            sheet.write(b"</sheetData></worksheet>")
    content = out.getvalue()
    assert len(content) < 200_000
    error = refused("xlsx", content, "FILE_INFLATES_TOO_MUCH")
    assert "压缩炸弹" in error.message
    assert inflated["bytes"] < 100_000


def test_a_sheet_declaring_more_than_the_limit_is_refused_by_its_declaration(inflated):
    content = bytearray(xlsx(sheet_xml(HEADER_ROW + DATA_ROW)))
    directory = content.index(b"PK\x01\x02")
    while True:                                    # the sheet's central directory entry: declare 600 MB
        name_length = struct.unpack_from("<H", content, directory + 28)[0]
        if content[directory + 46:directory + 46 + name_length] == SHEET.encode():
            struct.pack_into("<L", content, directory + 24, 600 * 1024 * 1024)
            break
        extra, comment = struct.unpack_from("<HH", content, directory + 30)
        directory += 46 + name_length + extra + comment
    refused("xlsx", bytes(content), "FILE_INFLATES_TOO_MUCH")
    assert inflated["bytes"] == 0


def test_an_archive_of_very_many_parts_is_refused_before_it_is_listed():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, text in PARTS.items():
            archive.writestr(name, text)
        archive.writestr(SHEET, sheet_xml(HEADER_ROW + DATA_ROW))
        for index in range(20_000):
            archive.writestr(f"x/{index}", b"")
    refused("xlsx", out.getvalue(), "FILE_TOO_LARGE")


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(monkeypatch):
    monkeypatch.setattr(importing, "MAX_FILE_BYTES", 1000)
    content = ("branch_ref,name,id_number,phone,status\n" + "一支部,张三,1,2,full\n" * 100).encode()
    refused("csv", content, "FILE_TOO_LARGE")
    with pytest.raises(InvalidArgument) as caught:
        imports.decode_content(base64.b64encode(content).decode())
    assert caught.value.code == "FILE_TOO_LARGE"


# --------------------------------------------------------------------------------- the XML

BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">'
                  + "".join(f'<!ENTITY {chr(98 + n)} "{("&" + chr(97 + n) + ";") * 10}">' for n in range(9))
                  + f']><worksheet xmlns="{NS}"><sheetData>{HEADER_ROW}<row r="2"><c r="A2" t="inlineStr"><is>'
                  '<t>&j;</t></is></c></row></sheetData></worksheet>')


@pytest.mark.parametrize("part", [SHEET, "xl/workbook.xml", "[Content_Types].xml"])
def test_a_dtd_in_any_part_is_refused_before_an_entity_is_expanded(part):
    if part == SHEET:
        content = xlsx(BILLION_LAUGHS)
    else:
        text = PARTS[part]
        declaration_end = text.index("?>") + 2
        doctype = '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        with_doctype = text[:declaration_end] + doctype + text[declaration_end:]
        content = xlsx(sheet_xml(HEADER_ROW + DATA_ROW), {part: with_doctype})
    error = refused("xlsx", content, "XML_NOT_ALLOWED")
    assert "DOCTYPE" in error.message


def test_a_dtd_split_between_two_reads_is_found():
    start = f'<?xml version="1.0" encoding="UTF-8"?>'
    padding = " " * (16 * 1024 - len(start) - 4)      # "<!DO" ends the first 16 KB read, "CTYPE" starts the next
    sheet = start + padding + "<!DOCTYPE worksheet>" + sheet_xml(HEADER_ROW + DATA_ROW)[len(start):]
    refused("xlsx", xlsx(sheet), "XML_NOT_ALLOWED")


@pytest.mark.parametrize("sheet, code", [
    (sheet_xml(HEADER_ROW + '<row r="2"><c r="A2" t="inlineStr"><is><t><![CDATA[一支部]]></t></is></c></row>'),
     "XML_NOT_ALLOWED"),
    (sheet_xml(HEADER_ROW + DATA_ROW).replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"),
     "XML_NOT_ALLOWED"),
    (sheet_xml(HEADER_ROW + DATA_ROW, before="<!-- -->" * 100), "XML_NOT_ALLOWED"),
    (sheet_xml(HEADER_ROW + f'<row r="2"><c r="A2" t="inlineStr"><is><t>{"长" * 100_000}</t></is></c></row>'),
     "SHEET_TOO_LARGE"),
])
def test_xml_no_spreadsheet_needs_is_refused(sheet, code):
    refused("xlsx", xlsx(sheet), code)


# --------------------------------------------------------------------------------- rows and columns

def test_a_row_numbered_past_the_last_xlsx_row_is_refused_without_reading_the_rows_before_it():
    content = xlsx(sheet_xml(HEADER_ROW + DATA_ROW.replace('r="2"', 'r="30000000"').replace('A2"', 'A30000000"')
                             .replace('B2"', 'B30000000"')))
    error = refused("xlsx", content, "CELL_OUT_OF_RANGE")
    assert "30000000" in error.message


def test_the_last_xlsx_row_is_still_read_at_once():
    row = DATA_ROW.replace('r="2"', 'r="1048576"').replace('A2"', 'A1048576"').replace('B2"', 'B1048576"')
    started = time.perf_counter()
    rows = read_table("xlsx", xlsx(sheet_xml(HEADER_ROW + row)))
    assert time.perf_counter() - started < QUICK
    assert rows == [(1_048_576, {"branch_ref": "一支部", "name": "张三", "id_number": "", "phone": "", "status": ""})]


@pytest.mark.parametrize("reference", ["AAAAAA2", "XFE2"])
def test_a_cell_past_column_xfd_is_refused(reference):
    rows = "".join(DATA_ROW.replace('r="2"', f'r="{n}"').replace("</row>", f'<c r="{reference[:-1]}{n}"><v>1</v></c>'
                                                                  "</row>") for n in range(2, 22))
    error = refused("xlsx", xlsx(sheet_xml(HEADER_ROW + rows)), "CELL_OUT_OF_RANGE")
    assert reference[:-1] in error.message


def test_column_xfd_is_still_read():
    row = DATA_ROW.replace("</row>", '<c r="XFD2"><v>1</v></c></row>')
    assert read_table("xlsx", xlsx(sheet_xml(HEADER_ROW + row)))[0][1]["name"] == "张三"


def test_a_row_of_more_cells_than_xlsx_has_columns_is_refused():
    row = '<row r="2">' + '<c t="inlineStr"><is><t>x</t></is></c>' * 16_385 + "</row>"
    refused("xlsx", xlsx(sheet_xml(HEADER_ROW + row)), "CELL_OUT_OF_RANGE")


def test_blank_rows_count_towards_the_rows_a_sheet_may_have(monkeypatch):
    monkeypatch.setattr(xlsx_reader, "MAX_ROW_INDEX", 1000)
    blank = "".join(f'<row r="{n}"/>' for n in range(2, 1002))
    refused("xlsx", xlsx(sheet_xml(HEADER_ROW + blank + DATA_ROW.replace('r="2"', 'r="1002"'))), "TOO_MANY_ROWS")
    repeated = '<row r="2"/>' * 1001                    # a number repeated is one more row all the same
    refused("xlsx", xlsx(sheet_xml(HEADER_ROW + DATA_ROW + repeated)), "TOO_MANY_ROWS")


def test_more_rows_than_allowed_are_refused_in_both_formats():
    csv_content = ("branch_ref,name,id_number,phone,status\n" + "一支部,张三,1,2,full\n" * 4).encode()
    refused("csv", csv_content, "TOO_MANY_ROWS", max_rows=3)
    rows = "".join(DATA_ROW.replace('r="2"', f'r="{n}"') for n in range(2, 6))
    refused("xlsx", xlsx(sheet_xml(HEADER_ROW + rows)), "TOO_MANY_ROWS", max_rows=3)
    assert len(read_table("csv", csv_content, max_rows=4)) == 4


def test_the_rows_per_file_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("IMPORT_MAX_ROWS", "400000")
    assert imports._max_rows() == 400_000
    monkeypatch.delenv("IMPORT_MAX_ROWS")
    assert imports._max_rows() == importing.MAX_ROWS >= 210_000
    for bad in ("0", "many", "-5"):
        monkeypatch.setenv("IMPORT_MAX_ROWS", bad)
        with pytest.raises(ConfigError):
            imports._max_rows()


@pytest.mark.parametrize("limit, sheet", [
    ("MAX_CELLS", sheet_xml(HEADER_ROW + "".join(DATA_ROW.replace('r="2"', f'r="{n}"') for n in range(2, 600)))),
    ("MAX_ELEMENTS_PER_ROW", sheet_xml(HEADER_ROW + '<row r="2">' + "".join(f'<c s="{n}"/>' for n in range(6000))
                                       + "</row>")),
    ("MAX_ELEMENTS_OUTSIDE_ROWS", sheet_xml(HEADER_ROW + DATA_ROW,
                                            before="<cols>" + '<col min="1" max="1"/>' * 3000 + "</cols>")),
], ids=["cells", "elements in a row", "elements outside rows"])
def test_a_sheet_of_too_many_elements_is_refused(monkeypatch, limit, sheet):
    monkeypatch.setattr(xlsx_reader, limit, 1000)
    refused("xlsx", xlsx(sheet), "SHEET_TOO_LARGE")


def test_too_many_shared_strings_are_refused(monkeypatch):
    monkeypatch.setattr(xlsx_reader, "MAX_SHARED_STRINGS", 1000)
    strings = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="' + NS + '">'
               + "".join(f"<si><t>{n}</t></si>" for n in range(1001)) + "</sst>")
    types = PARTS["[Content_Types].xml"].replace("</Types>", '<Override PartName="/xl/sharedStrings.xml" ContentType='
                                                 '"application/vnd.openxmlformats-officedocument.spreadsheetml.'
                                                 'sharedStrings+xml"/></Types>')
    rels = PARTS["xl/_rels/workbook.xml.rels"].replace("</Relationships>", '<Relationship Id="rId2" Type="http://'
                                                       'schemas.openxmlformats.org/officeDocument/2006/relationships/'
                                                       'sharedStrings" Target="sharedStrings.xml"/></Relationships>')
    content = xlsx(sheet_xml(HEADER_ROW + DATA_ROW), {"[Content_Types].xml": types, "xl/sharedStrings.xml": strings,
                                                      "xl/_rels/workbook.xml.rels": rels})
    refused("xlsx", content, "SHEET_TOO_LARGE")


def test_what_follows_the_rows_is_neither_read_nor_counted(inflated):
    links = "".join(f'<hyperlink ref="B{n}" location="A{n}"/>' for n in range(300_000))
    sheet = sheet_xml(HEADER_ROW + DATA_ROW, after=f"<hyperlinks>{links}</hyperlinks>")
    assert read_table("xlsx", xlsx(sheet))[0][1]["name"] == "张三"
    assert inflated["bytes"] < len(sheet) / 2


# --------------------------------------------------------------------------------- openpyxl's reader

@pytest.fixture
def through_openpyxl(monkeypatch):
    def unsupported(_content):
        raise xlsx_reader.Unsupported("forced")
    monkeypatch.setattr(xlsx_reader, "numbered_rows", unsupported)


def test_openpyxls_reader_reads_small_files_within_the_same_bounds(through_openpyxl, inflated):
    assert read_table("xlsx", xlsx(sheet_xml(HEADER_ROW + DATA_ROW)))[0][1]["name"] == "张三"
    refused("xlsx", xlsx(BILLION_LAUGHS), "XML_NOT_ALLOWED")
    refused("xlsx", xlsx(sheet_xml(HEADER_ROW + DATA_ROW.replace('r="2"', 'r="30000000"'))), "CELL_OUT_OF_RANGE")
    big = "".join(DATA_ROW.replace('r="2"', f'r="{n}"') for n in range(2, 20_000))
    inflated["bytes"] = 0
    refused("xlsx", xlsx(sheet_xml(HEADER_ROW + big)), "FILE_INFLATES_TOO_MUCH")
    assert inflated["bytes"] < 10_000


# --------------------------------------------------------------------------------- CSV

CSV_HEADER = b"branch_ref,name,id_number,phone,status\n"


@pytest.mark.parametrize("content, code", [
    (CSV_HEADER + b"a," * 1_500_000 + b"\n", "LINE_TOO_LONG"),
    (CSV_HEADER + b'"a\n",' * 600_000 + b"\n", "LINE_TOO_LONG"),        # one record over many lines
    (CSV_HEADER + b"a," * 16_400 + b"\n", "CELL_OUT_OF_RANGE"),
    (CSV_HEADER + "一支部,张\x00三,1,2,full\n".encode(), "FILE_UNREADABLE"),
    (CSV_HEADER + b"\n" * 1_048_577 + "一支部,张三,1,2,full\n".encode(), "TOO_MANY_ROWS"),
], ids=["huge line", "huge quoted record", "too many columns", "NUL", "blank lines"])
def test_a_hostile_csv_is_refused(content, code):
    refused("csv", content, code)
