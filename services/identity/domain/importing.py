"""Bulk import files of organisations and members: reading CSV/XLSX into rows and validating the rows.

Rows are keyed by canonical column names (English, as in docs/identity-rpc.md); Chinese headers and
Chinese enum values are accepted and translated. Every problem of every row is reported at once as
``{line, field, reason, message}``, ``line`` being the row number a person sees in the file (header = 1).
The valid rows returned are meant to be stored only when the problem list is empty.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, time
from decimal import Decimal
from typing import Callable, Iterable, Iterator, Sequence

from servicekit import xlsx_reader
from servicekit.errors import InvalidArgument

from . import members, tree
from .problems import Problem

FORMATS = ("csv", "xlsx")
# What one import file may be; beyond these a file is refused with its code before it costs much (xlsx_reader
# has the bounds of the zip inside an XLSX file).
MAX_ROWS = 250_000                    # rows after the header (a whole city's members: ~208,000); IMPORT_MAX_ROWS
MAX_FILE_BYTES = 64 * 1024 * 1024     # as uploaded (the gateway's body limit is the same)
MAX_LINES = xlsx_reader.MAX_ROW_INDEX  # lines, blank ones included: XLSX's last row, for CSV too
MAX_COLUMNS = xlsx_reader.MAX_COLUMN_INDEX
MAX_CSV_RECORD_CHARS = 1024 * 1024    # one CSV record (a member's line is ~200 characters)

ORG_COLUMNS = ("ref", "parent_ref", "name", "kind", "category", "field")
ORG_REQUIRED_COLUMNS = ("ref", "name", "kind")
MEMBER_COLUMNS = ("branch_ref", "name", "gender", "birth_date", "id_number", "phone", "education", "status",
                  "applied_on", "activist_on", "development_target_on", "probationary_on", "full_on",
                  "enrolment", "mobile")
MEMBER_REQUIRED_COLUMNS = ("branch_ref", "name", "id_number", "phone", "status")

COLUMN_LABELS = {
    "ref": "编号", "parent_ref": "上级编号", "kind": "类型", "category": "类别", "field": "领域",
    "branch_ref": "所在支部", "name": "姓名/名称", "gender": "性别", "birth_date": "出生日期",
    "id_number": "身份证号", "phone": "手机号", "education": "学历", "status": "政治面貌",
    "applied_on": "申请入党日期", "activist_on": "确定积极分子日期", "development_target_on": "确定发展对象日期",
    "probationary_on": "入党日期", "full_on": "转正日期", "enrolment": "在校状态", "mobile": "流动党员",
}
_CHINESE_HEADERS = {
    "ref": ("编号", "组织编号"),
    "parent_ref": ("上级编号", "上级组织编号"),
    "name": ("名称", "组织名称", "姓名"),
    "kind": ("类型", "组织类型"),
    "category": ("类别", "党委类别"),
    "field": ("领域", "所属领域"),
    "branch_ref": ("所在支部", "所在党支部", "支部"),
    "gender": ("性别",),
    "birth_date": ("出生日期",),
    "id_number": ("身份证号", "身份证号码", "公民身份号码"),
    "phone": ("手机号", "手机号码", "联系电话"),
    "education": ("学历",),
    "status": ("状态", "政治面貌"),
    "applied_on": ("申请入党日期", "入党申请日期"),
    "activist_on": ("确定积极分子日期", "确定入党积极分子日期", "确定为入党积极分子日期"),
    "development_target_on": ("确定发展对象日期", "确定为发展对象日期"),
    "probationary_on": ("入党日期", "预备党员日期", "接收预备党员日期"),
    "full_on": ("转正日期",),
    "enrolment": ("在校状态",),
    "mobile": ("流动党员", "是否流动党员"),
}
HEADER_ALIASES = {column: column for column in COLUMN_LABELS} | {
    alias: column for column, aliases in _CHINESE_HEADERS.items() for alias in aliases}

GENDER_VALUES = {"男": "male", "女": "female"}
STATUS_VALUES = {
    "入党申请人": "applicant", "申请人": "applicant",
    "入党积极分子": "activist", "积极分子": "activist",
    "发展对象": "development_target",
    "预备党员": "probationary", "中共预备党员": "probationary",
    "正式党员": "full", "中共党员": "full", "党员": "full",
}
KIND_VALUES = {
    "市委": "city", "市委组织部": "city",
    "县区委": "county", "县委": "county", "区委": "county", "县(区)委": "county", "县（区）委": "county",
    "党委": "committee", "党工委": "committee",
    "党总支": "general_branch", "总支": "general_branch",
    "党支部": "branch", "支部": "branch", "联合党支部": "branch",
    "党小组": "group", "小组": "group",
}
CATEGORY_VALUES = {
    "乡镇": "township", "乡": "township", "镇": "township", "街道": "street",
    "高校": "college", "院校": "college", "学校": "college", "大学": "college",
    "企业": "enterprise", "机关": "organ", "其他": "other", "其它": "other",
}
FIELD_VALUES = {
    "农村": "rural", "社区": "community", "学校": "school", "教育": "school", "企业": "enterprise",
    "机关": "government", "党政机关": "government", "社会组织": "social", "其他": "other", "其它": "other",
}
ENROLMENT_VALUES = {"在校": "enrolled", "在读": "enrolled", "毕业": "graduated", "已毕业": "graduated",
                    "无": "none", "非学生": "none", "否": "none"}

_HEADER_NOTE = re.compile(r"[(（].*$")


def _canonical_header(header: str) -> str:
    text = _HEADER_NOTE.sub("", header.strip().strip("*").strip())
    return text.strip().lower().replace(" ", "_").replace("-", "_")


def _translate(values: dict[str, str], value: str) -> str:
    value = value.strip()
    return values.get(value) or value.lower()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f") if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _unreadable(message: str) -> InvalidArgument:
    return InvalidArgument(message, code="FILE_UNREADABLE", field="content")


def _too_many_lines() -> InvalidArgument:
    return InvalidArgument(f"文件超过 {MAX_LINES} 行（空行也计算在内），请分批导入", code="TOO_MANY_ROWS", field="content")


def _csv_records(content: bytes) -> Iterator[tuple[int, list[str]]]:
    if b"\x00" in content:
        raise _unreadable("文件含有空字符（NUL），不是文本格式的 CSV；请另存为 UTF-8 编码的 CSV 后重试")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise _unreadable("无法识别文件编码，请保存为 UTF-8 或 GB18030 编码的 CSV")
    lines = _BoundedLines(text)
    try:
        for line, cells in enumerate(csv.reader(lines), start=1):
            if line > MAX_LINES:
                raise _too_many_lines()
            if len(cells) > MAX_COLUMNS:
                raise InvalidArgument(f"第 {line} 行有 {len(cells)} 列，超过 {MAX_COLUMNS} 列", code="CELL_OUT_OF_RANGE",
                                      field="content")
            lines.record_read()
            yield line, [cell.strip() for cell in cells]
    except csv.Error as error:
        if "field larger than field limit" in str(error):      # csv's own cap on one cell (131,072 characters)
            raise InvalidArgument(f"文件中有一个单元格超过 {csv.field_size_limit()} 个字符", code="LINE_TOO_LONG",
                                  field="content") from None
        raise _unreadable(f"CSV 文件格式错误：{error}") from None


class _BoundedLines:
    """The text's lines for csv.reader, refused as soon as one record (which quoted line breaks may spread
    over several lines) grows past MAX_CSV_RECORD_CHARS: the reader would build it whole."""

    def __init__(self, text: str):
        self._lines = iter(io.StringIO(text, newline=""))
        self._record = 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self._record += len(line)
        if self._record > MAX_CSV_RECORD_CHARS:
            raise InvalidArgument(f"文件中有一行超过 {MAX_CSV_RECORD_CHARS} 个字符", code="LINE_TOO_LONG",
                                  field="content")
        return line

    def record_read(self) -> None:
        self._record = 0


def _header_index(header: Sequence[str], header_line: int, required: Iterable[str],
                  aliases: dict[str, str] | None = None, labels: dict[str, str] | None = None) -> dict[str, int]:
    aliases, labels = aliases or HEADER_ALIASES, labels or COLUMN_LABELS
    index: dict[str, int] = {}
    for position, text in enumerate(header):
        column = aliases.get(_canonical_header(text))
        if column is None:
            continue
        if column in index:
            raise InvalidArgument(f"表头“{text}”与前面的列重复（都表示{labels[column]}）",
                                  code="HEADER_DUPLICATE", field="content",
                                  details=[{"line": header_line, "field": column, "reason": "HEADER_DUPLICATE",
                                            "message": f"列“{labels[column]}”重复"}])
        index[column] = position
    missing = [column for column in required if column not in index]
    if missing:
        names = "、".join(labels[column] for column in missing)
        raise InvalidArgument(f"表头缺少必填列：{names}", code="HEADER_MISSING", field="content",
                              details=[{"line": header_line, "field": column, "reason": "HEADER_MISSING",
                                        "message": f"缺少列“{labels[column]}”"} for column in missing])
    return index


def read_table(fmt: str, content: bytes, required: Iterable[str] = (), max_rows: int | None = None,
               aliases: dict[str, str] | None = None, labels: dict[str, str] | None = None
               ) -> list[tuple[int, dict[str, str]]]:
    """Rows after the header (the first non-blank row), blank rows skipped; ``required`` columns must be in
    the header (pass ``ORG_REQUIRED_COLUMNS`` or ``MEMBER_REQUIRED_COLUMNS``). Unknown columns are ignored.
    Another kind of file passes its own header ``aliases`` (canonical header -> column) and column ``labels``.
    More than ``max_rows`` (default MAX_ROWS) rows after the header is TOO_MANY_ROWS; a file beyond the
    bounds above is refused with its code as soon as it is seen."""
    fmt = (fmt or "").strip().lower()
    if fmt not in FORMATS:
        raise InvalidArgument(f"不支持的文件格式：{fmt}，请上传 CSV 或 XLSX 文件",
                              code="FILE_FORMAT_UNSUPPORTED", field="format")
    if not content:
        raise InvalidArgument("文件是空的", code="FILE_EMPTY", field="content")
    if len(content) > MAX_FILE_BYTES:
        raise file_too_large()
    max_rows = max_rows or MAX_ROWS
    sparse = fmt == "xlsx"          # XLSX rows are {column: value} (their cells' text made here), CSV rows lists
    records = xlsx_reader.readable_rows(content) if sparse else _csv_records(content)
    index: dict[str, int] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    for line, cells in records:
        if sparse:
            if not any(_cell_text(value) for value in cells.values()):
                continue
        elif not any(cells):
            continue
        if index is None:
            header = [_cell_text(cells.get(position)) for position in range(max(cells) + 1)] if sparse else cells
            index = _header_index(header, line, required, aliases, labels)
            columns = tuple(index.items())
            continue
        if sparse:
            value = cells.get
            rows.append((line, {column: _cell_text(value(position)) for column, position in columns}))
        else:
            width = len(cells)
            rows.append((line, {column: cells[position] if position < width else ""
                                for column, position in columns}))
        if len(rows) > max_rows:
            raise InvalidArgument(f"文件超过{max_rows}行，请分批导入", code="TOO_MANY_ROWS", field="content")
    if not rows:
        raise InvalidArgument("文件中没有数据行", code="FILE_EMPTY", field="content")
    return rows


def file_too_large() -> InvalidArgument:
    return InvalidArgument(f"导入文件超过 {MAX_FILE_BYTES // 2**20} MB，请分批导入", code="FILE_TOO_LARGE",
                           field="content")


def _problem_dict(line: int, problem: Problem) -> dict:
    return {"line": line, "field": problem.field, "reason": problem.code, "message": problem.message}


def validate_org_rows(rows: Iterable[tuple[int, dict[str, str]]], root_kind: str
                      ) -> tuple[list[dict], list[dict]]:
    """Valid rows come parent first as ``{line, ref, parent_ref, name, kind, category, field}``;
    an empty ``parent_ref`` hangs the row under the import's root node, of kind ``root_kind``."""
    entries: list[tuple[dict, list[Problem]]] = []
    by_ref: dict[str, dict] = {}
    sibling_lines: dict[tuple[str, str], int] = {}
    for line, row in rows:
        ref = row.get("ref", "").strip()
        parent_ref = row.get("parent_ref", "").strip()
        org, problems = tree.org_field_problems(
            row.get("name", ""), _translate(KIND_VALUES, row.get("kind", "")),
            _translate(CATEGORY_VALUES, row.get("category", "")), _translate(FIELD_VALUES, row.get("field", "")))
        org = {"line": line, "ref": ref, "parent_ref": parent_ref, **org}
        if not ref:
            problems.insert(0, Problem("ref", "REF_INVALID", "请填写编号"))
        elif ref in by_ref:
            problems.insert(0, Problem("ref", "DUPLICATE_IN_FILE", f"编号与第{by_ref[ref]['line']}行重复"))
        else:
            by_ref[ref] = org
        if org["name"] and not any(problem.field == "name" for problem in problems):
            earlier = sibling_lines.setdefault((parent_ref, org["name"]), line)
            if earlier != line:
                problems.append(Problem("name", "DUPLICATE_IN_FILE", f"同一上级下的组织名称与第{earlier}行重复"))
        entries.append((org, problems))

    in_cycle = _refs_in_cycles(by_ref)
    for org, problems in entries:
        parent_ref = org["parent_ref"]
        if parent_ref and parent_ref not in by_ref:
            problems.append(Problem("parent_ref", "PARENT_UNKNOWN", f"文件中没有编号为“{parent_ref}”的组织"))
            continue
        if org["ref"] in in_cycle and by_ref.get(org["ref"]) is org:
            problems.append(Problem("parent_ref", "PARENT_CYCLE", "上级编号形成了循环"))
            continue
        parent_kind = by_ref[parent_ref]["kind"] if parent_ref else root_kind
        if org["kind"] in tree.ALLOWED_PARENTS and parent_kind in tree.ALLOWED_PARENTS:
            problem = tree.child_kind_problem(parent_kind, org["kind"])
            if problem:
                problems.append(problem)

    return _parents_first(entries), [_problem_dict(org["line"], problem)
                                     for org, problems in entries for problem in problems]


def _refs_in_cycles(by_ref: dict[str, dict]) -> set[str]:
    finished: set[str] = set()
    in_cycle: set[str] = set()
    for start in by_ref:
        path: list[str] = []
        on_path: set[str] = set()
        ref = start
        while ref in by_ref and ref not in finished:
            if ref in on_path:
                in_cycle.update(path[path.index(ref):])
                break
            path.append(ref)
            on_path.add(ref)
            ref = by_ref[ref]["parent_ref"]
        finished.update(path)
    return in_cycle


def _parents_first(entries: list[tuple[dict, list[Problem]]]) -> list[dict]:
    children: dict[str, list[dict]] = {}
    for org, problems in entries:
        if not problems:
            children.setdefault(org["parent_ref"], []).append(org)
    ordered: list[dict] = []
    pending = children.get("", [])
    while pending:
        ordered.extend(pending)
        pending = [child for org in pending for child in children.get(org["ref"], [])]
    return ordered


def validate_member_rows(rows: Iterable[tuple[int, dict[str, str]]], resolve_branch: Callable[[str], str | None],
                         today: date) -> tuple[list[dict], list[dict]]:
    """Valid rows are ``members.member_problems`` output plus ``line`` and ``branch_id``.
    ``resolve_branch`` (branch id or name path → branch id or None) is called once per distinct value."""
    branch_ids: dict[str, str | None] = {}
    id_number_lines: dict[str, int] = {}
    valid: list[dict] = []
    problem_dicts: list[dict] = []
    for line, row in rows:
        fields = dict(row)
        fields["gender"] = _translate(GENDER_VALUES, row.get("gender", ""))
        fields["status"] = _translate(STATUS_VALUES, row.get("status", ""))
        fields["enrolment"] = _translate(ENROLMENT_VALUES, row.get("enrolment", ""))
        member, problems = members.member_problems(fields, today)

        branch_ref = row.get("branch_ref", "").strip()
        if branch_ref not in branch_ids:
            branch_ids[branch_ref] = resolve_branch(branch_ref) if branch_ref else None
        branch_id = branch_ids[branch_ref]
        if branch_id is None:
            message = f"找不到支部“{branch_ref}”" if branch_ref else "请填写所在支部"
            problems.append(Problem("branch_ref", "BRANCH_UNKNOWN", message))

        id_number = member["id_number"]
        if id_number:
            earlier = id_number_lines.setdefault(id_number, line)
            if earlier != line:
                problems.append(Problem("id_number", "DUPLICATE_IN_FILE", f"身份证号与第{earlier}行重复"))

        if problems:
            problem_dicts.extend(_problem_dict(line, problem) for problem in problems)
        else:
            member["line"] = line
            member["branch_id"] = branch_id
            valid.append(member)
    return valid, problem_dicts
