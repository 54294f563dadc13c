"""Question bank import files (XLSX or CSV): rows read, translated from the Chinese an official types, checked.

As the member import does (services/identity/usecases/imports.py), every row is checked first and a file with any
bad row stores nothing: the refusal lists every problem as ``{line, field, reason, message}``, ``line`` being the
row number a person sees (the header is row 1). XLSX files are read by identity's hardened sheet reader (zip and
XML bounds checked before anything is inflated); a bank file is small, so its bounds here are tighter.

Columns (Chinese or English headers): 题型 kind, 题干 stem, 选项A..选项H option_a..option_h, 答案 answer,
分类 category, 标签 tags, 难度 difficulty, 解析 explanation.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from typing import Iterator

from servicekit.errors import InvalidArgument

from services.content.domain import quizzes as rules
from servicekit import xlsx_reader

FORMATS = ("csv", "xlsx")
MAX_ROWS = 5_000
MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_REPORTED = 1_000
REQUIRED_COLUMNS = ("kind", "stem", "answer", "category")
OPTION_COLUMNS = tuple(f"option_{letter.lower()}" for letter in rules.LABELS)
LABELS = {"kind": "题型", "stem": "题干", "answer": "答案", "category": "分类", "tags": "标签", "difficulty": "难度",
          "explanation": "解析", **{f"option_{letter.lower()}": f"选项{letter}" for letter in rules.LABELS}}
_ALIASES = {"题型": "kind", "类型": "kind", "题目": "stem", "题干": "stem", "试题": "stem", "答案": "answer",
            "正确答案": "answer", "参考答案": "answer", "分类": "category", "类别": "category", "题目分类": "category",
            "标签": "tags", "难度": "difficulty", "解析": "explanation", "答案解析": "explanation",
            **{f"选项{letter}": f"option_{letter.lower()}" for letter in rules.LABELS}}
HEADERS = {column: column for column in LABELS} | _ALIASES
KIND_VALUES = {"单选": "single", "单选题": "single", "单项选择": "single", "单项选择题": "single",
               "多选": "multiple", "多选题": "multiple", "多项选择": "multiple", "多项选择题": "multiple",
               "判断": "true_false", "判断题": "true_false", "填空": "fill", "填空题": "fill"}
TRUE_VALUES = {"正确", "对", "√", "✓", "t", "true", "是", "y", "yes"}
FALSE_VALUES = {"错误", "错", "×", "✗", "x", "f", "false", "否", "n", "no"}
_SEPARATORS = re.compile(r"[,，、;；\s]+")
_FILL_SEPARATORS = re.compile(r"[|｜;；]")
_TAG_SEPARATORS = re.compile(r"[,，、;；\s]+")


def _unreadable(message: str) -> InvalidArgument:
    return InvalidArgument(message, code="FILE_UNREADABLE", field="content")


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "正确" if value else "错误"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _xlsx_rows(content: bytes) -> Iterator[tuple[int, list[str]]]:
    for line, cells in xlsx_reader.readable_rows(content):
        width = max(cells) + 1 if cells else 0
        yield line, [_cell_text(cells.get(position)) for position in range(width)]


def _csv_rows(content: bytes) -> Iterator[tuple[int, list[str]]]:
    if b"\x00" in content:
        raise _unreadable("文件不是文本格式的 CSV，请另存为 UTF-8 编码的 CSV 后重试")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise _unreadable("无法识别文件编码，请保存为 UTF-8 或 GB18030 编码的 CSV")
    try:
        for line, cells in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            yield line, [cell.strip() for cell in cells]
    except csv.Error as error:
        raise _unreadable(f"CSV 文件格式错误：{error}") from None


def read_rows(fmt: str, content: bytes) -> list[tuple[int, dict[str, str]]]:
    """The file's rows after its header, keyed by column, blank rows left out; InvalidArgument for a file that
    cannot be read, lacks a required column or has too many rows."""
    if fmt not in FORMATS:
        raise InvalidArgument("仅支持 csv 或 xlsx 文件", code="FILE_FORMAT_UNSUPPORTED", field="format")
    if not content:
        raise InvalidArgument("文件是空的", code="FILE_EMPTY", field="content")
    if len(content) > MAX_FILE_BYTES:
        raise InvalidArgument(f"题库文件不能超过 {MAX_FILE_BYTES // 2**20} MB", code="FILE_TOO_LARGE", field="content")
    index: dict[str, int] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    for line, cells in (_xlsx_rows(content) if fmt == "xlsx" else _csv_rows(content)):
        if not any(cells):
            continue
        if index is None:
            index = _header_index(cells, line)
            continue
        rows.append((line, {column: cells[position] if position < len(cells) else ""
                            for column, position in index.items()}))
        if len(rows) > MAX_ROWS:
            raise InvalidArgument(f"一次最多导入 {MAX_ROWS} 道题，请分批导入", code="TOO_MANY_ROWS", field="content")
    if not rows:
        raise InvalidArgument("文件中没有题目", code="FILE_EMPTY", field="content")
    return rows


def _header_index(cells: list[str], line: int) -> dict[str, int]:
    index: dict[str, int] = {}
    for position, header in enumerate(cells):
        key = header.strip().strip("*").strip()
        column = HEADERS.get(key) or HEADERS.get(key.lower().replace(" ", "_"))
        if column is None:
            continue
        if column in index:
            raise InvalidArgument(f"表头“{header}”重复", code="HEADER_DUPLICATE", field="content",
                                  details=[{"line": line, "field": column, "reason": "HEADER_DUPLICATE",
                                            "message": f"列“{LABELS[column]}”重复"}])
        index[column] = position
    missing = [column for column in REQUIRED_COLUMNS if column not in index]
    if missing:
        raise InvalidArgument("表头缺少必填列：" + "、".join(LABELS[c] for c in missing), code="HEADER_MISSING",
                              field="content", details=[{"line": line, "field": c, "reason": "HEADER_MISSING",
                                                         "message": f"缺少列“{LABELS[c]}”"} for c in missing])
    return index


def row_question(row: dict[str, str]) -> tuple[dict, list[rules.Problem]]:
    """A row as the fields of a question (``rules.question_fields``) and the row's problems."""
    kind_text = row.get("kind", "").strip()
    kind = KIND_VALUES.get(kind_text) or kind_text.lower()
    options = [row.get(column, "").strip() for column in OPTION_COLUMNS]
    while options and not options[-1]:
        options.pop()
    answer = row.get("answer", "").strip()
    correct, accepted = [], []
    problems: list[rules.Problem] = []
    if kind == "true_false":
        lowered = answer.lower()
        correct = ["T"] if lowered in TRUE_VALUES else ["F"] if lowered in FALSE_VALUES else [answer]
    elif kind == "fill":
        accepted = [part.strip() for part in _FILL_SEPARATORS.split(answer) if part.strip()]
    else:
        letters = "".join(_SEPARATORS.split(answer.upper()))
        correct = list(dict.fromkeys(letters))
    if kind in ("single", "multiple") and "" in options:
        problems.append(rules.Problem("options", "OPTION_MISSING", "选项之间不能有空缺"))
        options = [option for option in options if option]
    difficulty_text = row.get("difficulty", "").strip() or "3"
    difficulty = int(difficulty_text) if difficulty_text.isdigit() else -1
    tags = [tag for tag in _TAG_SEPARATORS.split(row.get("tags", "")) if tag]
    fields, found = rules.question_fields(kind, row.get("stem", ""), options if kind in ("single", "multiple") else
                                          None, correct, accepted, row.get("category", ""), tags, difficulty,
                                          row.get("explanation", ""))
    return fields, problems + found


def checked_rows(rows: list[tuple[int, dict[str, str]]]) -> tuple[list[dict], list[dict]]:
    """The questions of good rows and every problem of the bad ones (``{line, field, reason, message}``); a stem
    twice in the file (same kind) is a problem of the second row."""
    good, problems, seen = [], [], {}
    for line, row in rows:
        fields, found = row_question(row)
        key = (fields["kind"], rules.normalised(fields["stem"]))
        if fields["stem"] and key in seen:
            found.append(rules.Problem("stem", "DUPLICATE_QUESTION", f"与第 {seen[key]} 行的题目重复"))
        seen.setdefault(key, line)
        if found:
            problems.extend({"line": line, "field": p.field, "reason": p.code, "message": p.message} for p in found)
        else:
            good.append(fields)
    return good, problems


def rejection(problems: list[dict]) -> InvalidArgument:
    lines = {problem["line"] for problem in problems}
    listed = sorted(problems, key=lambda p: (p["line"], p["field"]))[:MAX_REPORTED]
    return InvalidArgument(f"导入文件有 {len(lines)} 行存在错误，未导入任何题目", code="IMPORT_REJECTED",
                           field="content", details=listed)
