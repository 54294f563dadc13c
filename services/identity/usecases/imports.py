"""Bulk import of organisations and members from CSV/XLSX: every row checked first, then all or nothing.

A file with any bad row imports nothing and the error lists every bad row (line, field, reason). A good
file is written in batches under an import record; if the process dies half-way, start-up removes what
that import wrote (store.py).

Reading and checking a file is seconds of CPU work (a city's members), so it runs on a real thread
(``off_the_loop``): on the event loop it would hold every other call, logins included. The bounds of
``domain.importing`` keep each file's work short all the same (the thread still shares the GIL).
"""
from __future__ import annotations

import base64
import binascii
import time
import uuid
from datetime import date

from eventlet import tpool
from eventlet.semaphore import Semaphore

from servicekit.errors import InvalidArgument
from servicekit.process.config import ConfigError, env
from servicekit.security.fieldcrypt import FieldCipher
from servicekit.security.scope import CallerScope

from services.identity import access, events
from services.identity.documents import member as member_document
from services.identity.domain import importing, tree
from services.identity.store import WRITE_BATCH, IdentityStore, path_of
from services.identity.usecases.common import UseCases

EVENT_CHUNK = 1000
YIELD_EVERY = 250
PARSERS = 2                   # files read at once; more wait their turn (each is a thread and its memory)


def _max_rows() -> int:
    value = env("IMPORT_MAX_ROWS", str(importing.MAX_ROWS))
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"IMPORT_MAX_ROWS must be a positive whole number, not {value!r}")
    return int(value)


MAX_ROWS = _max_rows()        # rows one import file may have; a city importing all its members at once needs ~210,000
_parsing = Semaphore(PARSERS)


def off_the_loop(function, *args):
    """``function(*args)`` on one of eventlet's real threads, the calling green thread waiting for it while the
    event loop answers other calls. ``function`` must be pure CPU work: no store, no broker, no green locks."""
    with _parsing:
        return tpool.execute(function, *args)


def decode_content(content) -> bytes:
    if not isinstance(content, str) or not content:
        raise InvalidArgument("缺少导入文件内容", code="FILE_EMPTY", field="content")
    if len(content) > (importing.MAX_FILE_BYTES + 2) // 3 * 4:
        raise importing.file_too_large()     # before decoding it
    try:
        raw = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgument("文件内容不是有效的 base64", code="CONTENT_NOT_BASE64", field="content") from None
    if len(raw) > importing.MAX_FILE_BYTES:
        raise importing.file_too_large()
    return raw


def format_of(value) -> str:
    value = (value or "").strip().lower() if isinstance(value, str) else value
    if value not in ("csv", "xlsx"):
        raise InvalidArgument("仅支持 csv 或 xlsx 文件", code="FILE_FORMAT_UNSUPPORTED", field="format")
    return value


MAX_REPORTED_PROBLEMS = 1000


def reject(problems: list[dict]) -> InvalidArgument:
    """Every bad line is counted; the first 1,000 problems are listed (a whole bad file would be millions)."""
    lines = {problem["line"] for problem in problems}
    listed = sorted(problems, key=lambda p: (p["line"], p["field"]))[:MAX_REPORTED_PROBLEMS]
    more = f"，仅列出前 {MAX_REPORTED_PROBLEMS} 个问题（共 {len(problems)} 个）" if len(problems) > len(listed) else ""
    return InvalidArgument(f"导入文件有 {len(lines)} 行存在错误，未导入任何数据{more}", code="IMPORT_REJECTED",
                           field="content", details=listed)


def _chunks(items: list, size: int = EVENT_CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


class Imports(UseCases):
    def __init__(self, store: IdentityStore, clock, cipher: FieldCipher):
        super().__init__(store, clock)
        self.cipher = cipher

    def orgs(self, caller: CallerScope, parent_id, fmt, content) -> dict:
        """Organisations below ``parent_id`` (which the caller administers)."""
        parent = access.administered_org(caller, self.org(parent_id, "parent_id"), "parent_id")
        import_id = f"imp_{uuid.uuid4().hex}"
        documents, problems = off_the_loop(_planned_orgs, format_of(fmt), content, caller.tenant_id, parent,
                                           import_id)
        if problems:
            raise off_the_loop(reject, problems)
        now = self.stamp()
        for doc in documents:
            doc["created_at"] = doc["updated_at"] = now
        self.store.begin_import(import_id, caller.tenant_id, "orgs", caller.account_id, len(documents))
        summaries = [{"org_id": d["_id"], "parent_id": d["parent_id"], "name": d["name"], "kind": d["kind"],
                      "category": d["category"], "field": d["field"]} for d in documents]
        self.store.write_import(import_id, "orgs", documents, [
            events.ORGANISATIONS_IMPORTED.build(caller.tenant_id, now, import_id=import_id, parent_id=parent["_id"],
                                                orgs=chunk) for chunk in _chunks(summaries)])
        return {"imported": len(documents), "import_id": import_id}

    def members(self, caller: CallerScope, org_id, fmt, content) -> dict:
        """Members into the branches of ``org_id``'s subtree (one the caller manages). Every row is validated and
        checked against the members already stored before anything is written; the documents (with the
        encrypted ID number) are then made batch by batch while the previous batch is being written."""
        root = access.managed_org(caller, self.org(org_id), own_branch_id=self.own_branch(caller))
        fmt = format_of(fmt)
        resolver = BranchResolver(self.store, root)
        tenant_id, cipher = caller.tenant_id, self.cipher
        valid, problems, index_values = off_the_loop(_checked_members, fmt, content, resolver, cipher, tenant_id,
                                                     self.clock.today())
        existing = self.store.existing_id_indexes(index_values)
        if existing:
            problems.extend({"line": row["line"], "field": "id_number", "reason": "MEMBER_EXISTS",
                             "message": "该身份证号已登记"}
                            for row, value in zip(valid, index_values) if value in existing)
        if problems:
            raise off_the_loop(reject, problems)
        del index_values
        import_id = f"imp_{uuid.uuid4().hex}"
        self.store.begin_import(import_id, tenant_id, "members", caller.account_id, len(valid))
        summaries: list[dict] = []

        def batches():
            for rows_of_batch in _chunks(valid, WRITE_BATCH):
                now, batch = self.stamp(), []
                for count, row in enumerate(rows_of_batch, start=1):
                    doc = member_document(cipher, tenant_id, resolver.branches[row["branch_id"]], row, now,
                                          import_id)
                    batch.append(doc)
                    summaries.append({"member_id": doc["_id"], "branch_id": doc["branch_id"],
                                      "status": doc["status"], "mobile": doc["mobile"]})
                    if count % YIELD_EVERY == 0:
                        time.sleep(0)  # under eventlet: let the writer collect its answer and send the next batch
                yield batch

        def member_events():
            now = self.stamp()
            return [events.MEMBERS_IMPORTED.build(tenant_id, now, import_id=import_id, members=chunk)
                    for chunk in _chunks(summaries)]

        self.store.write_import(import_id, "members", batches(), member_events)
        return {"imported": len(valid), "import_id": import_id}


def _planned_orgs(fmt: str, content, tenant_id: str, parent: dict, import_id: str) -> tuple[list[dict], list[dict]]:
    """The documents of the file's organisations, parents first, and the problems of its rows (off the loop)."""
    rows = importing.read_table(fmt, decode_content(content), importing.ORG_REQUIRED_COLUMNS, MAX_ROWS)
    valid, problems = importing.validate_org_rows(rows, parent["kind"])
    docs_by_ref: dict[str, dict] = {}
    documents = []
    for row in valid:
        above = docs_by_ref[row["parent_ref"]] if row.get("parent_ref") else parent
        if above["level"] + 1 >= tree.MAX_DEPTH:
            problems.append({"line": row["line"], "field": "parent_ref", "reason": "TREE_TOO_DEEP",
                             "message": "组织层级过深"})
            continue
        org_id = f"org_{uuid.uuid4().hex}"
        path_ids = path_of(above) + [org_id]
        doc = {"_id": org_id, "tenant_id": tenant_id, "name": row["name"], "kind": row["kind"],
               "category": row.get("category", ""), "field": row.get("field", ""), "parent_id": above["_id"],
               "level": above["level"] + 1, "import_id": import_id,
               **{f"a{level}": path_ids[level] if level < len(path_ids) else None for level in range(tree.MAX_DEPTH)}}
        docs_by_ref[row["ref"]] = doc
        documents.append(doc)
    return documents, problems


class BranchResolver:
    """Finds the branch a row names: its id, or its path of names below (or from) the import's root."""

    def __init__(self, store: IdentityStore, root: dict):
        orgs = store.subtree(root)
        by_id = {org["_id"]: org for org in orgs}
        self.branches = {org["_id"]: org for org in orgs if org["kind"] == "branch"}
        self.by_path: dict[str, str] = {}
        for branch in self.branches.values():
            names = [by_id[org_id]["name"] for org_id in path_of(branch)[root["level"]:] if org_id in by_id]
            self.by_path["/".join(names[1:])] = branch["_id"]
            self.by_path["/".join(names)] = branch["_id"]
            self.by_path.setdefault(f"#name:{branch['name']}", branch["_id"])

    def __call__(self, ref: str) -> str | None:
        ref = (ref or "").strip().strip("/")
        if ref in self.branches:
            return ref
        return self.by_path.get(ref) or self.by_path.get("/".join(part.strip() for part in ref.split("/")))


def _checked_members(fmt: str, content, resolver: BranchResolver, cipher, tenant_id: str, today: date
                     ) -> tuple[list[dict], list[dict], list[str]]:
    """The file's valid member rows, the problems of the others and the valid rows' ID number indexes (off the
    loop)."""
    rows = importing.read_table(fmt, decode_content(content), importing.MEMBER_REQUIRED_COLUMNS, MAX_ROWS)
    valid, problems = importing.validate_member_rows(rows, resolver, today)
    del rows
    return valid, problems, [cipher.blind_index(tenant_id, row["id_number"]) for row in valid]
