import io
import zipfile
from xml.etree import ElementTree

import openpyxl
import pytest

from services.attendance.domain.closing import final_statuses, totals
from services.attendance.domain.stats import STAT_HEADERS, by_activity, by_branch, by_member, rate, to_xlsx

SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

ROSTER_1 = {"a": False, "b": False, "c": False, "d": False, "e": True}
STATUSES_1 = final_statuses(ROSTER_1, {"c"}, {"a", "b"}, {"a"})  # a present, b incomplete, c excused, d absent
ROSTER_2 = {"a": False, "b": False, "d": False}
STATUSES_2 = final_statuses(ROSTER_2, set(), {"a", "b", "d"}, {"a", "b", "d"})  # all present
ROSTER_3 = {"x": False, "y": False}
STATUSES_3 = final_statuses(ROSTER_3, set(), {"x"}, {"x"})

NAMES = {"a": "甲", "b": "乙", "c": "丙", "d": "丁", "e": "戊", "x": "王五", "y": "赵六"}


def names_of(roster):
    return {member: NAMES[member] for member in roster}


ACTIVITIES = [
    {"activity_id": "act_1", "branch_id": "br_1", "branch_name": "第一支部", "month": "2026-10", "status": "closed",
     "totals": totals(STATUSES_1, set(), 2, 3, 400), "statuses": STATUSES_1, "names": names_of(ROSTER_1),
     "printed_scans": {"a": 1, "b": 2}},
    {"activity_id": "act_2", "branch_id": "br_1", "branch_name": "第一支部", "month": "2026-11", "status": "closed",
     "totals": totals(STATUSES_2, set(), 3, 1, 100), "statuses": STATUSES_2, "names": names_of(ROSTER_2),
     "printed_scans": {"a": 1}},
    {"activity_id": "act_3", "branch_id": "br_2", "branch_name": "第二支部", "month": "2026-11", "status": "closed",
     "totals": totals(STATUSES_3, set(), 1, 0, 0), "statuses": STATUSES_3, "names": names_of(ROSTER_3)},
    {"activity_id": "act_4", "branch_id": "br_1", "branch_name": "第一支部", "month": "2026-12", "status": "open",
     "totals": None, "statuses": {}, "names": {}},
]


def test_rate():
    assert rate(1, 3) == 0.3333
    assert rate(2, 2) == 1.0
    assert rate(0, 5) == 0.0
    assert rate(0, 0) is None and rate(3, 0) is None


def test_by_activity():
    rows = by_activity(ACTIVITIES)
    assert [row["activity_id"] for row in rows] == ["act_1", "act_2", "act_3", "act_4"]
    assert rows[0] == {
        "activity_id": "act_1", "branch_id": "br_1", "branch_name": "第一支部", "month": "2026-10",
        "status": "closed", "roster": 5, "on_site_expected": 4, "present": 1, "incomplete": 1, "excused": 1,
        "absent": 1, "mobile": 1, "attendance_rate": 0.3333,  # 1 / (4 - 1)
        "printed_code_scans": 3,
    }
    assert rows[1]["attendance_rate"] == 1.0
    assert rows[3]["present"] is None and rows[3]["attendance_rate"] is None and rows[3]["status"] == "open"
    assert rows[2]["printed_code_scans"] == 0 and rows[3]["printed_code_scans"] is None


def test_the_rate_counts_a_mobile_member_who_came_without_exceeding_one():
    roster = {"a": False, "m": True}
    statuses = final_statuses(roster, set(), {"a", "m"}, {"a", "m"})
    row = by_activity([{"activity_id": "x", "branch_id": "b", "branch_name": "n", "month": "2026-11",
                        "status": "closed", "totals": totals(statuses, set(), 0, 0, 0),
                        "statuses": statuses}])[0]
    assert row["present"] == 2 and row["on_site_expected"] == 2     # the mobile member who came is on site
    assert row["attendance_rate"] == 1.0


def test_an_activity_where_nobody_was_expected_has_no_rate():
    roster = {"m": True}
    statuses = final_statuses(roster, set(), set(), set())
    row = by_activity([{"activity_id": "x", "branch_id": "b", "branch_name": "n", "month": "2026-11",
                        "status": "closed", "totals": totals(statuses, set(), 0, 0, 0),
                        "statuses": statuses}])[0]
    assert row["mobile"] == 1 and row["attendance_rate"] is None


def test_by_branch():
    rows = by_branch(ACTIVITIES)
    assert rows == [
        {"branch_id": "br_1", "branch_name": "第一支部", "activities": 3, "closed": 2, "roster": 8,
         "on_site_expected": 7, "present": 4, "incomplete": 1, "excused": 1, "absent": 1, "mobile": 1,
         "attendance_rate": 0.6667, "printed_code_scans": 4},  # 4 / (7 - 1)
        {"branch_id": "br_2", "branch_name": "第二支部", "activities": 1, "closed": 1, "roster": 2,
         "on_site_expected": 2, "present": 1, "incomplete": 0, "excused": 0, "absent": 1, "mobile": 0,
         "attendance_rate": 0.5, "printed_code_scans": 0},
    ]


def test_a_branch_with_no_closed_activity():
    rows = by_branch([ACTIVITIES[3]])
    assert rows[0]["activities"] == 1 and rows[0]["closed"] == 0 and rows[0]["present"] == 0
    assert rows[0]["attendance_rate"] is None


def test_by_member():
    rows = {row["member_id"]: row for row in by_member(ACTIVITIES)}
    assert sorted(rows) == ["a", "b", "c", "d", "e", "x", "y"]
    assert rows["a"] == {"member_id": "a", "member_name": "甲", "branch_id": "br_1", "branch_name": "第一支部",
                         "activities": 2, "present": 2, "incomplete": 0, "excused": 0, "absent": 0, "mobile": 0,
                         "attendance_rate": 1.0, "printed_code_scans": 2}
    assert rows["b"]["printed_code_scans"] == 2 and rows["d"]["printed_code_scans"] == 0
    assert rows["b"]["incomplete"] == 1 and rows["b"]["present"] == 1 and rows["b"]["attendance_rate"] == 0.5
    assert rows["c"]["excused"] == 1 and rows["c"]["attendance_rate"] is None
    assert rows["d"]["absent"] == 1 and rows["d"]["present"] == 1 and rows["d"]["attendance_rate"] == 0.5
    assert rows["e"]["mobile"] == 1 and rows["e"]["attendance_rate"] is None


def test_by_member_for_one_member():
    assert by_member(ACTIVITIES, "d") == [{"member_id": "d", "member_name": "丁", "branch_id": "br_1",
                                           "branch_name": "第一支部", "activities": 2, "present": 1, "incomplete": 0,
                                           "excused": 0, "absent": 1, "mobile": 0, "attendance_rate": 0.5,
                                           "printed_code_scans": 0}]
    assert by_member(ACTIVITIES, "nobody") == [{"member_id": "nobody", "member_name": "", "branch_id": "",
                                                "branch_name": "", "activities": 0, "present": 0,
                                                "incomplete": 0, "excused": 0, "absent": 0, "mobile": 0,
                                                "attendance_rate": None, "printed_code_scans": 0}]


def test_by_member_names_a_member_and_their_branch_as_on_their_latest_roster():
    moved = [
        {"activity_id": "act_5", "branch_id": "br_2", "branch_name": "第二支部", "month": "2026-11", "status": "closed",
         "totals": None, "statuses": {"m": "present", "n": "absent"}, "names": {"m": "张三", "n": "李四"}},
        {"activity_id": "act_6", "branch_id": "br_1", "branch_name": "第一支部", "month": "2026-10", "status": "closed",
         "totals": None, "statuses": {"m": "absent"}, "names": {"m": "张叁"}},
    ]
    rows = {row["member_id"]: row for row in by_member(moved)}
    assert (rows["m"]["member_name"], rows["m"]["branch_id"], rows["m"]["branch_name"]) == ("张三", "br_2", "第二支部")
    assert (rows["m"]["present"], rows["m"]["absent"]) == (1, 1)
    assert (rows["n"]["member_name"], rows["n"]["branch_name"]) == ("李四", "第二支部")
    assert by_member(moved, "n")[0]["member_name"] == "李四"


def test_headers_cover_every_field():
    fields = set()
    for rows in (by_activity(ACTIVITIES), by_branch(ACTIVITIES), by_member(ACTIVITIES)):
        for row in rows:
            fields |= set(row)
    assert fields <= set(STAT_HEADERS)
    assert STAT_HEADERS["attendance_rate"] == "出勤率" and STAT_HEADERS["absent"] == "缺勤"


def test_xlsx_round_trips_with_the_right_figures():
    data = to_xlsx({"按活动": by_activity(ACTIVITIES), "按支部": by_branch(ACTIVITIES),
                    "按党员": by_member(ACTIVITIES)}, STAT_HEADERS)
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    assert workbook.sheetnames == ["按活动", "按支部", "按党员"]

    branch_rows = list(workbook["按支部"].iter_rows(values_only=True))
    header = branch_rows[0]
    assert header == ("支部编号", "支部名称", "活动次数", "已结束活动数", "应参加人数", "应到现场人数", "出席",
                      "未签退", "请假", "缺勤", "流动党员（线上参与）", "出勤率", "打印码扫码次数")
    first = dict(zip(header, branch_rows[1]))
    assert first["支部名称"] == "第一支部" and first["出席"] == 4 and first["缺勤"] == 1
    assert isinstance(first["出席"], int) and first["出勤率"] == pytest.approx(0.6667)
    assert first["打印码扫码次数"] == 4

    activity_sheet = workbook["按活动"]
    activity_rows = list(activity_sheet.iter_rows(values_only=True))
    assert len(activity_rows) == 5
    last = dict(zip(activity_rows[0], activity_rows[4]))
    assert last["活动编号"] == "act_4" and last["出席"] is None and last["出勤率"] is None
    rate_column = activity_rows[0].index("出勤率") + 1
    assert activity_sheet.cell(row=2, column=rate_column).number_format == "0.00%"

    member_rows = list(workbook["按党员"].iter_rows(values_only=True))
    assert member_rows[0][:5] == ("党员编号", "党员姓名", "支部编号", "支部名称", "活动次数")
    assert member_rows[1][:6] == ("a", "甲", "br_1", "第一支部", 2, 2)


def test_xlsx_with_unknown_headers_awkward_names_and_no_rows():
    data = to_xlsx({"a/b:c*d?e[f]g" + "x" * 40: [{"custom": [1, 2], "n": 1.5}], "空": []}, {"n": "数值"})
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    assert len(workbook.sheetnames[0]) <= 31 and "/" not in workbook.sheetnames[0]
    first = list(workbook.worksheets[0].iter_rows(values_only=True))
    assert first == [("custom", "数值"), ("[1, 2]", 1.5)]
    assert list(workbook.worksheets[1].iter_rows(values_only=True)) == []


def test_xlsx_with_no_sheets_is_still_a_workbook():
    assert openpyxl.load_workbook(io.BytesIO(to_xlsx({}, STAT_HEADERS))).sheetnames == ["统计"]


HOSTILE = ['=HYPERLINK("mailto:boss@example.com", "点此查看")', "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"]


def sheet_cells(data: bytes, sheet: int = 1) -> list[ElementTree.Element]:
    """The <c> elements of a saved workbook's sheet, read from its XML."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        root = ElementTree.fromstring(book.read(f"xl/worksheets/sheet{sheet}.xml"))
    return list(root.iter(f"{{{SHEET_NS}}}c"))


def test_a_hostile_branch_or_member_name_is_written_as_text_never_as_a_formula():
    activities = [{"activity_id": f"act_{n}", "branch_id": f"br_{n}", "branch_name": name, "month": "2026-11",
                   "status": "closed", "totals": None, "statuses": {f"m{n}": "present"}, "names": {f"m{n}": name}}
                  for n, name in enumerate(HOSTILE)]
    data = to_xlsx({"按活动": by_activity(activities), "按支部": by_branch(activities),
                    "按党员": by_member(activities)}, STAT_HEADERS)
    for sheet in (1, 2, 3):
        cells = sheet_cells(data, sheet)
        assert not [cell for cell in cells if cell.find(f"{{{SHEET_NS}}}f") is not None]
        texts = ["".join(cell.itertext()) for cell in cells if cell.get("t") == "inlineStr"]
        assert all(name in texts for name in HOSTILE), sheet
    workbook = openpyxl.load_workbook(io.BytesIO(data))     # data_only=False: a formula would come back as one
    for title, column in (("按活动", "支部名称"), ("按支部", "支部名称"), ("按党员", "党员姓名")):
        rows = list(workbook[title].iter_rows())
        index = [cell.value for cell in rows[0]].index(column)
        cells = [row[index] for row in rows[1:]]
        assert [cell.value for cell in cells] == HOSTILE, title
        assert {cell.data_type for cell in cells} == {"s"} and all(cell.quotePrefix for cell in cells)
