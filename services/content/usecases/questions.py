"""The question bank (题库): admins add questions to their node (visible to its subtree), list what is visible at
a node, retire questions and import a file of them (all or nothing, as the member import)."""
from __future__ import annotations

import base64
import binascii
import uuid

from servicekit import arguments
from servicekit.errors import InvalidArgument, PermissionDenied
from servicekit.security.scope import CallerScope
from servicekit.storage.paging import page_of, page_window
from servicekit.timestamps import stamp

from services.content import access
from services.content.domain import question_import
from services.content.domain import quizzes as rules
from services.content.quiz_views import question_view
from services.content.usecases.quizzes import QuizTopic, require_staff


def question_not_found():
    return access.not_found("题目不存在或不在您的管理范围内", "QUESTION_NOT_FOUND", "question_id")


def require_bank_admin(caller: CallerScope, path_ids) -> None:
    if not access.administers(caller, path_ids):
        raise PermissionDenied("只有该组织或上级组织的管理员可以维护题库", code="NOT_ORG_ADMIN", field="org_id")


class Questions(QuizTopic):
    def create(self, caller: CallerScope, org_id, kind, stem, options, correct, accepted, category, tags, difficulty,
               explanation) -> dict:
        require_staff(caller)
        org = self.org(caller, org_id)
        require_bank_admin(caller, org["path_ids"])
        fields, problems = rules.question_fields(kind, stem, options, correct, accepted, category, tags,
                                                 difficulty if difficulty not in (None, 0) else 3, explanation)
        rules.raise_first(problems)
        question = self._document(caller, org, fields)
        self.store.add_questions([question])
        self.desk.questions_changed()
        return question_view(question)

    def list(self, caller: CallerScope, org_id, category, difficulty, kind, page_size, page_token) -> dict:
        """The questions visible at a node the caller manages: its own and its ancestors'."""
        require_staff(caller)
        org = self.org(caller, org_id)
        access.require_manager(caller, org["path_ids"])
        filters = {}
        category = arguments.text(category, "category", required=False, max_length=rules.MAX_CATEGORY)
        if category:
            filters["category"] = category
        if difficulty not in (None, 0):
            filters["difficulty"] = arguments.integer(difficulty, "difficulty", 1, 5)
        kind = arguments.choice(kind, "kind", rules.QUESTION_KINDS)
        if kind:
            filters["kind"] = kind
        skip, limit = page_window(page_size, page_token)
        found = self.store.bank_questions(caller.tenant_id, list(org["path_ids"]), filters, skip, limit + 1)
        page, token = page_of(found, skip, limit)
        return {"questions": [question_view(q) for q in page], "next_page_token": token}

    def retire(self, caller: CallerScope, question_id) -> dict:
        require_staff(caller)
        question = self.store.question(arguments.text(question_id, "question_id", max_length=64))
        if not access.same_tenant(caller, question) or question.get("retired") or not (
                access.manages(caller, question["org_path"])
                or any(question["org_id"] in path for path in self.caller_paths(caller))):
            raise question_not_found()
        require_bank_admin(caller, question["org_path"])
        retired = self.store.retire_question(question["_id"], caller.account_id, stamp(self.now()))
        if retired is None:
            raise question_not_found()
        self.desk.questions_changed()
        return {}

    def import_file(self, caller: CallerScope, org_id, fmt, content) -> dict:
        """Every row checked first: a file with any bad row stores nothing and the refusal lists every problem
        (IMPORT_REJECTED, ``details``), as the member import; a good file is stored in one transaction."""
        require_staff(caller)
        org = self.org(caller, org_id)
        require_bank_admin(caller, org["path_ids"])
        fmt = (fmt or "").strip().lower() if isinstance(fmt, str) else ""
        if fmt not in question_import.FORMATS:
            raise InvalidArgument("仅支持 csv 或 xlsx 文件", code="FILE_FORMAT_UNSUPPORTED", field="format")
        rows = question_import.read_rows(fmt, decoded(content))
        good, problems = question_import.checked_rows(rows)
        if problems:
            raise question_import.rejection(problems)
        import_id = f"qim_{uuid.uuid4().hex}"
        questions = [self._document(caller, org, fields, import_id) for fields in good]
        self.store.add_questions(questions)
        self.desk.questions_changed()
        return {"imported": len(questions), "import_id": import_id}

    def _document(self, caller: CallerScope, org: dict, fields: dict, import_id: str = "") -> dict:
        now = stamp(self.now())
        return {"_id": f"qst_{uuid.uuid4().hex}", "tenant_id": caller.tenant_id, "org_id": org["id"],
                "org_path": list(org["path_ids"]), **fields, "retired": False, "import_id": import_id,
                "created_by": caller.account_id, "created_at": now, "updated_at": now}


def decoded(content) -> bytes:
    """The uploaded file (base64 over RPC, as the gateway sends an upload's bytes)."""
    if not isinstance(content, str) or not content:
        raise InvalidArgument("缺少导入文件内容", code="FILE_EMPTY", field="content")
    if len(content) > (question_import.MAX_FILE_BYTES + 2) // 3 * 4:
        raise InvalidArgument("题库文件过大", code="FILE_TOO_LARGE", field="content")
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgument("文件内容不是有效的 base64", code="CONTENT_NOT_BASE64", field="content") from None
