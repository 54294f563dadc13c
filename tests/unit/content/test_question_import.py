"""Question bank files: XLSX and CSV read with Chinese headers and values, every bad row's problem reported."""
from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from servicekit.errors import InvalidArgument
from services.content.domain import question_import

HEADER = ["题型", "题干", "选项A", "选项B", "选项C", "选项D", "答案", "分类", "标签", "难度", "解析"]
GOOD = [
    ["单选", "党的根本宗旨是什么？", "全心全意为人民服务", "发展经济", "", "", "A", "党章", "宗旨", 2, "党章总纲"],
    ["多选题", "三会一课包括哪些？", "支部党员大会", "支部委员会", "党小组会", "党课", "A,B,C,D", "党纪法规", "", "", ""],
    ["判断", "中国共产党成立于1921年。", "", "", "", "", "对", "党史", "", 1, ""],
    ["填空", "中国共产党第一次全国代表大会在____召开。", "", "", "", "", "上海|上海市", "党史", "一大", 3, ""],
]


def xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_good_workbook_gives_every_question():
    rows = question_import.read_rows("xlsx", xlsx([HEADER, *GOOD]))
    good, problems = question_import.checked_rows(rows)
    assert problems == []
    assert [q["kind"] for q in good] == ["single", "multiple", "true_false", "fill"]
    assert good[0]["options"] == [{"key": "A", "text": "全心全意为人民服务"}, {"key": "B", "text": "发展经济"}]
    assert good[0]["correct"] == ["A"] and good[0]["difficulty"] == 2 and good[0]["tags"] == ["宗旨"]
    assert good[1]["correct"] == ["A", "B", "C", "D"] and good[1]["difficulty"] == 3
    assert good[2]["correct"] == ["T"]
    assert good[3]["accepted"] == ["上海", "上海市"]


def test_a_csv_file_reads_the_same():
    text = "\n".join(",".join(str(c) for c in row) for row in [HEADER, GOOD[0], GOOD[2]])
    good, problems = question_import.checked_rows(question_import.read_rows("csv", text.encode("utf-8-sig")))
    assert problems == [] and [q["kind"] for q in good] == ["single", "true_false"]


def test_every_bad_row_is_reported_with_its_line_and_field():
    bad = [
        ["单选", "", "甲", "乙", "", "", "A", "党章", "", "", ""],           # line 2: no stem
        ["单选", "题二", "甲", "乙", "", "", "E", "党章", "", "", ""],        # line 3: answer not an option
        GOOD[0],                                                            # line 4: good
        ["问答", "题四", "", "", "", "", "x", "党章", "", "", ""],            # line 5: unknown kind
        ["判断", "题五", "", "", "", "", "也许", "党章", "", "9", ""],        # line 6: answer and difficulty
        ["单选", "党的根本宗旨是什么？", "甲", "乙", "", "", "A", "党章", "", "", ""],  # line 7: same stem as line 4
        ["单选", "题七", "甲", "", "丙", "", "A", "党章", "", "", ""],        # line 8: a gap between options
    ]
    good, problems = question_import.checked_rows(question_import.read_rows("xlsx", xlsx([HEADER, *bad])))
    found = {(p["line"], p["field"], p["reason"]) for p in problems}
    assert {(2, "stem", "REQUIRED"), (3, "correct", "UNKNOWN_OPTION"), (5, "kind", "UNKNOWN_VALUE"),
            (6, "correct", "ONE_ANSWER"), (6, "difficulty", "OUT_OF_RANGE"), (7, "stem", "DUPLICATE_QUESTION"),
            (8, "options", "OPTION_MISSING")} <= found
    assert 4 not in {p["line"] for p in problems} and len(good) == 1
    error = question_import.rejection(problems)
    assert (error.code, error.field) == ("IMPORT_REJECTED", "content")
    assert error.details[0]["line"] == 2 and all(d["message"] for d in error.details)


@pytest.mark.parametrize("fmt, content, code", [
    ("xlsx", xlsx([["题干", "答案"], ["题", "A"]]), "HEADER_MISSING"),
    ("xlsx", xlsx([HEADER]), "FILE_EMPTY"),
    ("xlsx", b"PK\x03\x04 not a workbook", "FILE_UNREADABLE"),
    ("pdf", b"x", "FILE_FORMAT_UNSUPPORTED"),
    ("csv", b"", "FILE_EMPTY"),
])
def test_unreadable_files_are_refused_with_their_code(fmt, content, code):
    with pytest.raises(InvalidArgument) as refused:
        question_import.read_rows(fmt, content)
    assert refused.value.code == code
