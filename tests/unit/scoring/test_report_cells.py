"""The scoring reports write every name as text: a branch named like a formula stays its name."""
import io
import zipfile
from xml.etree import ElementTree

from openpyxl import load_workbook

from services.scoring import reports

SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
HOSTILE = ['=HYPERLINK("mailto:boss@example.com", "点此查看")', "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"]


def ranked():
    return [{"rank": n + 1, "name": name, "field": "community", "score": 90.0 - n, "previous_rank": None,
             "rank_change": 0, "grade": "好"} for n, name in enumerate(HOSTILE)]


def workbooks():
    rows = ranked()
    return {
        "supervision": reports.supervision_xlsx("2026-11", [
            {"branch_name": name, "field": "community", "score": 50.0, "final": True, "reasons": ["low_score"],
             "flags": 0} for name in HOSTILE]),
        "bulletin": reports.bulletin_xlsx("2026-Q4", {"best": rows, "weakest": rows, "branches": len(rows),
                                                       "average": 87.5}, rows),
        "assessment": reports.assessment_xlsx("2026", rows),
    }


def test_no_report_holds_a_formula_and_every_name_is_kept_exactly():
    for kind, data in workbooks().items():
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            sheets = [name for name in book.namelist() if name.startswith("xl/worksheets/sheet")]
            for part in sheets:
                cells = list(ElementTree.fromstring(book.read(part)).iter(f"{SHEET_NS}c"))
                assert not [cell for cell in cells if cell.find(f"{SHEET_NS}f") is not None], (kind, part)
        workbook = load_workbook(io.BytesIO(data))          # data_only=False: a formula would come back as one
        for sheet in workbook.worksheets[:3 if kind == "bulletin" else 1]:
            names = [row[1] for row in sheet.iter_rows(min_row=2)] if kind != "supervision" else \
                [row[0] for row in sheet.iter_rows(min_row=2)]
            assert [cell.value for cell in names] == HOSTILE, (kind, sheet.title)
            assert all(cell.data_type == "s" and cell.quotePrefix for cell in names), (kind, sheet.title)
