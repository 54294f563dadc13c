import io
import zipfile
from datetime import date, datetime

import openpyxl
import pytest

from servicekit.errors import InvalidArgument
from services.identity.domain import importing
from services.identity.domain.idcard import make_id_number
from services.identity.domain.importing import (MEMBER_REQUIRED_COLUMNS, ORG_REQUIRED_COLUMNS, read_table,
                                                validate_member_rows, validate_org_rows)

TODAY = date(2026, 11, 22)
ID_A = make_id_number("610702", date(1990, 1, 1), 1, "male")
ID_B = make_id_number("610702", date(1991, 2, 2), 2, "female")
ID_C = make_id_number("610702", date(1992, 3, 3), 3, "male")
ID_D = make_id_number("610702", date(1993, 4, 4), 4, "female")
MEMBER_HEADER = "所在支部,姓名,性别,身份证号,手机号,政治面貌,申请入党日期,确定积极分子日期,入党日期,转正日期,流动党员"


def xlsx_bytes(rows):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def member_rows(*lines):
    return read_table("csv", "\n".join([MEMBER_HEADER, *lines]).encode(), MEMBER_REQUIRED_COLUMNS)


def resolve(ref):
    return {"一支部": "b1", "城关镇党委/二支部": "b2"}.get(ref)


def test_an_xlsx_with_chinese_headers_and_a_text_id_number_is_read_back():
    content = xlsx_bytes([
        ["姓名", "身份证号", "出生日期", "手机号", "所在支部", "政治面貌", "备注"],
        ["张三", ID_A, datetime(1990, 1, 1), 13812345678, "一支部", "正式党员", "任意"],
        [None, None, None, None, None, None, None],
        ["李四", "11010519491231002X", date(1949, 12, 31), "13912345678", "一支部", "预备党员", None],
    ])
    assert read_table("xlsx", content, MEMBER_REQUIRED_COLUMNS) == [
        (2, {"name": "张三", "id_number": ID_A, "birth_date": "1990-01-01", "phone": "13812345678",
             "branch_ref": "一支部", "status": "正式党员"}),
        (4, {"name": "李四", "id_number": "11010519491231002X", "birth_date": "1949-12-31",
             "phone": "13912345678", "branch_ref": "一支部", "status": "预备党员"}),
    ]


def with_number_cell(content, stored_text):
    """Rewrites the number 1 in the sheet as ``stored_text``, the way other tools store big numbers."""
    source = zipfile.ZipFile(io.BytesIO(content))
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<v>1</v>", f"<v>{stored_text}</v>".encode())
            target.writestr(item, data)
    return output.getvalue()


def test_an_id_number_stored_as_an_xlsx_number_keeps_all_its_digits():
    number = next(n for n in (make_id_number("610702", date(1990, 1, 1), s, "male") for s in range(9))
                  if n.isdigit())
    content = with_number_cell(xlsx_bytes([["id_number", "name"], [1, "王五"]]), number)
    assert read_table("xlsx", content) == [(2, {"id_number": number, "name": "王五"})]


def test_an_id_number_already_rounded_by_excel_reads_as_the_stored_digits_and_fails_validation():
    content = with_number_cell(xlsx_bytes([["id_number", "name"], [1, "王五"]]), "6.10702199001011E+17")
    rows = read_table("xlsx", content)
    assert rows[0][1]["id_number"] == "610702199001011000"
    _, problems = validate_member_rows(rows, resolve, TODAY)
    assert ("id_number", "ID_NUMBER_INVALID") in [(p["field"], p["reason"]) for p in problems]


def test_a_utf8_csv_with_a_bom_and_english_headers_in_any_case_is_read():
    content = "\ufeffRef,Parent_Ref,NAME,kind\nA,,城关镇党委,党委\n".encode("utf-8")
    assert read_table("csv", content, ORG_REQUIRED_COLUMNS) == [
        (2, {"ref": "A", "parent_ref": "", "name": "城关镇党委", "kind": "党委"})]


def test_a_gb18030_csv_is_read_when_it_is_not_utf8():
    content = "编号,名称,类型\nA,城关镇党委,党委\n".encode("gb18030")
    assert read_table("csv", content, ORG_REQUIRED_COLUMNS)[0][1]["name"] == "城关镇党委"


def test_blank_rows_are_skipped_and_line_numbers_stay_those_of_the_file():
    rows = read_table("csv", "\n编号,名称,类型\n\n,,\nA,甲,党委\n".encode(), ORG_REQUIRED_COLUMNS)
    assert rows == [(5, {"ref": "A", "name": "甲", "kind": "党委"})]


def test_headers_with_a_required_star_or_a_note_in_brackets_are_recognised():
    rows = read_table("csv", "*编号,名称（必填）,类型(党委/党支部)\nA,甲,党委\n".encode(), ORG_REQUIRED_COLUMNS)
    assert rows[0][1] == {"ref": "A", "name": "甲", "kind": "党委"}


def test_a_header_without_required_columns_lists_the_missing_ones():
    with pytest.raises(InvalidArgument) as caught:
        read_table("csv", "姓名,手机号\n张三,13812345678\n".encode(), MEMBER_REQUIRED_COLUMNS)
    assert caught.value.code == "HEADER_MISSING"
    assert [detail["field"] for detail in caught.value.details] == ["branch_ref", "id_number", "status"]


def test_two_headers_for_the_same_column_are_refused():
    with pytest.raises(InvalidArgument) as caught:
        read_table("csv", "入党日期,预备党员日期\n2020-01-01,2020-01-01\n".encode())
    assert caught.value.code == "HEADER_DUPLICATE"


@pytest.mark.parametrize("fmt, content, code", [
    ("xls", b"whatever", "FILE_FORMAT_UNSUPPORTED"),
    ("csv", b"", "FILE_EMPTY"),
    ("csv", "编号,名称,类型\n\n".encode(), "FILE_EMPTY"),
    ("xlsx", b"not a zip file", "FILE_UNREADABLE"),
    ("csv", b"\xff\xfe\x00\xd8broken", "FILE_UNREADABLE"),
])
def test_unusable_files_are_refused_with_a_reason(fmt, content, code):
    with pytest.raises(InvalidArgument) as caught:
        read_table(fmt, content)
    assert caught.value.code == code


def test_more_rows_than_the_limit_are_refused(monkeypatch):
    monkeypatch.setattr(importing, "MAX_ROWS", 2)
    with pytest.raises(InvalidArgument) as caught:
        read_table("csv", "编号\nA\nB\nC\n".encode())
    assert caught.value.code == "TOO_MANY_ROWS"


def test_valid_member_rows_come_back_normalized_with_their_branch_and_line():
    valid, problems = validate_member_rows(member_rows(
        f"一支部,张三,男,{ID_A},13812345678,正式党员,,,2015-07-01,2016-07-01,是"), resolve, TODAY)
    assert problems == []
    assert valid == [{
        "line": 2, "branch_id": "b1", "name": "张三", "gender": "male", "birth_date": date(1990, 1, 1),
        "id_number": ID_A, "phone": "13812345678", "education": "", "enrolment": "none", "mobile": True,
        "status": "full", "status_dates": {"probationary": date(2015, 7, 1), "full": date(2016, 7, 1)},
    }]


def test_a_file_where_rows_3_and_5_are_bad_reports_exactly_those_lines_and_fields():
    rows = member_rows(
        f"一支部,张三,男,{ID_A},13812345678,入党申请人,2020-01-01,,,,否",
        f"一支部,李四,女,{ID_B},1381234,入党积极分子,2020-01-01,2019-12-01,,,否",
        f"城关镇党委/二支部,王五,男,{ID_C},13812345670,预备党员,,,2020-01-01,,否",
        f"三支部,赵六,男,{ID_D},13812345671,正式党员,,,2020-01-01,2021-01-01,否",
    )
    valid, problems = validate_member_rows(rows, resolve, TODAY)
    assert [(p["line"], p["field"], p["reason"]) for p in problems] == [
        (3, "phone", "PHONE_INVALID"),
        (3, "activist_on", "DATE_BEFORE_PREVIOUS_STEP"),
        (5, "gender", "GENDER_MISMATCH"),
        (5, "branch_ref", "BRANCH_UNKNOWN"),
    ]
    assert all(problem["message"] for problem in problems)
    assert [row["line"] for row in valid] == [2, 4]


def test_a_duplicate_id_number_names_the_earlier_line():
    rows = member_rows(f"一支部,张三,男,{ID_A},13812345678,入党申请人,2020-01-01,,,,否",
                       f"一支部,张三,男,{ID_A.lower()},13812345679,入党申请人,2020-01-01,,,,否")
    valid, problems = validate_member_rows(rows, resolve, TODAY)
    assert [(p["line"], p["field"], p["reason"]) for p in problems] == [(3, "id_number", "DUPLICATE_IN_FILE")]
    assert "第2行" in problems[0]["message"]


def test_the_branch_callback_is_asked_once_per_distinct_reference():
    asked = []

    def counting_resolve(ref):
        asked.append(ref)
        return "b1"

    rows = member_rows(*(f"一支部,张三,男,{number},13812345678,入党申请人,2020-01-01,,,,否"
                         for number in (ID_A, ID_C)))
    validate_member_rows(rows, counting_resolve, TODAY)
    assert asked == ["一支部"]


def org_rows(*lines):
    return read_table("csv", "\n".join(["编号,上级编号,名称,类型,类别,领域", *lines]).encode(),
                      ORG_REQUIRED_COLUMNS)


def test_org_rows_given_child_before_parent_come_back_parent_first():
    valid, problems = validate_org_rows(org_rows(
        "G1,B1,第一党小组,党小组,,",
        "B1,T1,第一党支部,党支部,,农村",
        "T1,,城关镇党委,党委,乡镇,",
        "B2,,机关党支部,branch,,government",
    ), root_kind="county")
    assert problems == []
    assert [row["ref"] for row in valid] == ["T1", "B2", "B1", "G1"]
    assert valid[0] == {"line": 4, "ref": "T1", "parent_ref": "", "name": "城关镇党委", "kind": "committee",
                        "category": "township", "field": ""}
    assert valid[2]["field"] == "rural"


def test_a_parent_cycle_is_refused_on_every_row_of_the_cycle():
    valid, problems = validate_org_rows(org_rows(
        "A,C,甲党委,党委,企业,",
        "B,A,乙党总支,党总支,,",
        "C,B,丙党委,党委,企业,",
        "S,S,自环支部,党支部,,",
        "T,,城关镇党委,党委,乡镇,",
    ), root_kind="county")
    assert [(p["line"], p["reason"]) for p in problems] == [
        (2, "PARENT_CYCLE"), (3, "PARENT_CYCLE"), (4, "PARENT_CYCLE"), (5, "PARENT_CYCLE")]
    assert [row["ref"] for row in valid] == ["T"]


def test_org_rows_with_bad_fields_duplicates_unknown_parents_or_wrong_kinds_are_reported():
    valid, problems = validate_org_rows(org_rows(
        "T,,城关镇党委,党委,乡镇,",
        "T,,另一个党委,党委,乡镇,",
        ",T,无编号支部,党支部,,",
        "B,X,孤儿支部,党支部,,",
        "G,T,错位小组,党小组,,",
        "K,T,某部门,部门,,",
        "C,,没有类别的党委,党委,,",
        "F,T,某支部,党支部,,外星",
        "D,T,某支部,党支部,,",
    ), root_kind="county")
    assert [(p["line"], p["field"], p["reason"]) for p in problems] == [
        (3, "ref", "DUPLICATE_IN_FILE"),
        (4, "ref", "REF_INVALID"),
        (5, "parent_ref", "PARENT_UNKNOWN"),
        (6, "kind", "KIND_NOT_ALLOWED_HERE"),
        (7, "kind", "KIND_UNKNOWN"),
        (8, "category", "CATEGORY_INVALID"),
        (9, "field", "FIELD_INVALID"),
        (10, "name", "DUPLICATE_IN_FILE"),
    ]
    assert [row["ref"] for row in valid] == ["T"]


def test_top_rows_are_checked_against_the_kind_of_the_import_root():
    _, problems = validate_org_rows(org_rows("G,,小组,党小组,,"), root_kind="committee")
    assert [(p["field"], p["reason"]) for p in problems] == [("kind", "KIND_NOT_ALLOWED_HERE")]
