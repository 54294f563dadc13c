"""XLSX exports with Chinese headers: the monthly supervision list, the quarterly bulletin, the annual assessment."""
from __future__ import annotations

from openpyxl import Workbook

from servicekit.spreadsheets import append_row, workbook_bytes

from services.scoring.domain.supervision import REASON_NAMES

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _book(title: str, headers: list[str], rows: list[list]) -> Workbook:
    book = Workbook()
    sheet = book.active
    sheet.title = title
    append_row(sheet, headers)
    for row in rows:
        append_row(sheet, row)
    for column, header in zip("ABCDEFGHIJKLMNOP", headers):
        sheet.column_dimensions[column].width = max(10, len(header) * 2 + 4)
    return book


def _bytes(book: Workbook) -> bytes:
    return workbook_bytes(book)


def supervision_xlsx(month: str, items: list[dict]) -> bytes:
    rows = [[item["branch_name"], item["field"], item["score"], "是" if item["final"] else "否",
             "、".join(REASON_NAMES.get(reason, reason) for reason in item["reasons"]), item["flags"]]
            for item in items]
    return _bytes(_book(f"{month}督查清单", ["支部名称", "领域", "得分", "已结束", "督查原因", "异常签到数"], rows))


def ranking_rows(rows: list[dict]) -> list[list]:
    return [[row["rank"], row["name"], row["field"], row["score"], row.get("previous_rank") or "",
             row.get("rank_change", 0), row.get("grade", "")] for row in rows]


RANK_HEADERS = ["排名", "支部名称", "领域", "得分", "上期排名", "名次变化", "等次"]


def bulletin_xlsx(quarter: str, report: dict, ranked: list[dict]) -> bytes:
    book = _book(f"{quarter}通报排名", RANK_HEADERS, ranking_rows(ranked))
    best = book.create_sheet("先进支部")
    append_row(best, RANK_HEADERS)
    for row in ranking_rows(report["best"]):
        append_row(best, row)
    weakest = book.create_sheet("后进支部")
    append_row(weakest, RANK_HEADERS)
    for row in ranking_rows(report["weakest"]):
        append_row(weakest, row)
    summary = book.create_sheet("概况")
    append_row(summary, ["参评支部数", "平均分"])
    append_row(summary, [report["branches"], report["average"]])
    return _bytes(book)


def assessment_xlsx(year: str, ranked: list[dict]) -> bytes:
    return _bytes(_book(f"{year}年度考核", RANK_HEADERS, ranking_rows(ranked)))
