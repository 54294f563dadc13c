"""An in-memory stand-in for the quiz store's reads and writes (stores/quizzes.py), wired into the fast tier's
MagicMock store, and sample questions. Documents are copied in and out, as a database would; the events each
commit carried are kept in ``events``."""
from __future__ import annotations

import copy
from unittest.mock import MagicMock

from servicekit.errors import Conflict
from services.content.store import ContentStore
from tests.fast.content.fakes import CITY, COUNTY, COUNTY_B, PATHS, TENANT

METHODS = ("question", "questions_by_ids", "bank_questions", "pool_questions", "add_questions", "retire_question",
           "quiz", "add_quiz", "quizzes_in", "quizzes_owned_by", "contests_due", "finish_contest", "attempt",
           "attempts_by_ids",
           "attempts_of", "add_attempt", "add_attempts", "save_answer", "save_answers", "finish_attempt",
           "finish_attempts", "add_daily_answer", "overdue_attempts",
           "results_of", "result_of", "category_stats_of", "category_stats_of_branch")


class QuizMemory:
    def __init__(self):
        self.questions: dict[str, dict] = {}
        self.quizzes: dict[str, dict] = {}
        self.attempts: dict[str, dict] = {}
        self.results: dict[str, dict] = {}
        self.stats: dict[str, dict] = {}
        self.events: list[dict] = []
        self.inserts = 0

    def wire(self, store: MagicMock) -> MagicMock:
        for name in METHODS:
            getattr(store, name).side_effect = getattr(self, name)
        return store

    # --- the bank
    def question(self, question_id):
        return copy.deepcopy(self.questions.get(question_id))

    def questions_by_ids(self, ids):
        return {i: copy.deepcopy(self.questions[i]) for i in ids if i in self.questions}

    def bank_questions(self, tenant_id, org_ids, filters, skip, limit):
        found = [q for q in self.questions.values() if q["tenant_id"] == tenant_id and q["org_id"] in org_ids
                 and not q["retired"] and all(q.get(k) == v for k, v in filters.items())]
        found.sort(key=lambda q: (q["created_at"], q["_id"]), reverse=True)
        return copy.deepcopy(found[skip:skip + limit])

    def pool_questions(self, tenant_id, org_ids, categories=None):
        return copy.deepcopy([q for q in self.questions.values() if q["tenant_id"] == tenant_id and
                              q["org_id"] in org_ids and not q["retired"] and
                              (categories is None or q["category"] in categories)])

    def add_questions(self, questions):
        for q in questions:
            self.questions[q["_id"]] = copy.deepcopy(q)

    def retire_question(self, question_id, by, at):
        q = self.questions.get(question_id)
        if not q or q["retired"]:
            return None
        q.update(retired=True, retired_by=by, retired_at=at)
        return copy.deepcopy(q)

    # --- quizzes
    def quiz(self, quiz_id):
        return copy.deepcopy(self.quizzes.get(quiz_id))

    def add_quiz(self, quiz):
        self.quizzes[quiz["_id"]] = copy.deepcopy(quiz)

    def quizzes_in(self, path_ids, query, skip, limit):
        found = [q for q in self.quizzes.values() if path_ids[-1] in q["org_path"]
                 and all(q.get(k) == v for k, v in query.items())]
        return copy.deepcopy(sorted(found, key=lambda q: q["open_at"], reverse=True)[skip:skip + limit])

    def quizzes_owned_by(self, tenant_id, org_ids, closing_after):
        return copy.deepcopy([q for q in self.quizzes.values() if q["tenant_id"] == tenant_id and
                              q["org_id"] in org_ids and q["close_at"] > closing_after])

    def contests_due(self, now, limit=20):
        return copy.deepcopy([q for q in self.quizzes.values() if q.get("finish_due") and q["finish_due"] <= now])

    def finish_contest(self, quiz_id, at, events):
        quiz = self.quizzes[quiz_id]
        if quiz.get("finished_at"):
            return False
        quiz["finished_at"] = at
        quiz.pop("finish_due", None)
        self.events.extend(events)
        return True

    # --- attempts
    def attempt(self, attempt_id):
        return copy.deepcopy(self.attempts.get(attempt_id))

    def attempts_by_ids(self, attempt_ids):
        return [copy.deepcopy(self.attempts[i]) for i in attempt_ids if i in self.attempts]

    def attempts_of(self, member_id, quiz_id):
        return copy.deepcopy(sorted((a for a in self.attempts.values()
                                     if a["member_id"] == member_id and a["quiz_id"] == quiz_id),
                                    key=lambda a: a["number"]))

    def add_attempt(self, attempt):
        if any(a["attempt_key"] == attempt["attempt_key"] for a in self.attempts.values()):
            raise Conflict("已开始答题，请刷新后继续", code="ATTEMPT_STARTED")
        self.inserts += 1
        self.attempts[attempt["_id"]] = copy.deepcopy(attempt)

    def add_attempts(self, attempts):
        refused = set()
        for attempt in attempts:
            try:
                self.add_attempt(attempt)
            except Conflict:
                refused.add(attempt["_id"])
        return refused

    def save_answers(self, answers, deadline_after):
        return [self.save_answer(*answer, deadline_after) for answer in answers]

    def save_answer(self, attempt_id, question_id, answer, deadline_after):
        attempt = self.attempts.get(attempt_id)
        if not attempt or attempt["state"] != "in_progress" or attempt["deadline_at"] <= deadline_after:
            return False
        attempt["answers"][question_id] = copy.deepcopy(answer)
        return True

    def finish_attempt(self, attempt_id, fields, result_of, stats, events):
        attempt = self.attempts.get(attempt_id)
        if attempt is None or attempt["state"] != "in_progress":
            raise Conflict("本次答题已交卷", code="ATTEMPT_FINISHED")
        attempt.update(copy.deepcopy(fields))
        attempt.pop("expires_at", None)
        key = f"{attempt['quiz_id']}:{attempt['member_id']}"
        self.results[key] = result_of(copy.deepcopy(self.results.get(key)))
        self._count(stats)
        self.events.extend(events)
        return copy.deepcopy(attempt)

    def finish_attempts(self, entries):
        """All or nothing, as the store's one commit."""
        if any(self.attempts.get(attempt["_id"], {}).get("state") != "in_progress" for attempt, *_ in entries):
            return False
        for attempt, fields, result_of, stats, events in entries:
            self.finish_attempt(attempt["_id"], fields, result_of, stats, events)
        return True

    def add_daily_answer(self, attempt, stats, events):
        if attempt["_id"] in self.attempts:
            raise Conflict("今天的每日一题已经答过了", code="DAILY_ANSWERED")
        self.attempts[attempt["_id"]] = copy.deepcopy(attempt)
        self._count(stats)
        self.events.extend(events)

    def overdue_attempts(self, now, limit=200):
        return copy.deepcopy([a for a in self.attempts.values() if a.get("expires_at") and a["expires_at"] <= now])

    # --- results and statistics
    def results_of(self, quiz_id):
        return copy.deepcopy([r for r in self.results.values() if r["quiz_id"] == quiz_id])

    def result_of(self, quiz_id, member_id):
        return copy.deepcopy(self.results.get(f"{quiz_id}:{member_id}"))

    def _count(self, stats):
        for row in stats:
            kept = self.stats.setdefault(f"{row['member_id']}:{row['category']}", {"answered": 0, "correct": 0})
            kept.update({k: v for k, v in row.items() if k not in ("answered", "correct")})
            kept["answered"] += row["answered"]
            kept["correct"] += row["correct"]

    def category_stats_of(self, member_id):
        return [dict(v) for v in self.stats.values() if v["member_id"] == member_id]

    def category_stats_of_branch(self, branch_id):
        return [dict(v) for v in self.stats.values() if v["branch_id"] == branch_id]


def quiz_store() -> tuple[MagicMock, QuizMemory]:
    store = MagicMock(spec=ContentStore)
    store.settings_of.return_value = None
    memory = QuizMemory()
    return memory.wire(store), memory


def seeded_question(memory: QuizMemory, qid: str, category: str = "党章", org_id: str = CITY, kind: str = "single",
                    tenant_id: str = TENANT) -> dict:
    """A bank question stored directly: single choice right at B (乙), fill-in accepting 1921年."""
    options = [{"key": k, "text": t} for k, t in zip("ABCD", ("甲", "乙", "丙", "丁"))] if kind == "single" else []
    question = {"_id": qid, "tenant_id": tenant_id, "org_id": org_id, "org_path": list(PATHS[org_id]), "kind": kind,
                "stem": f"题目{qid}", "options": options, "correct": ["B"] if kind == "single" else [],
                "accepted": ["1921年"] if kind == "fill" else [], "category": category, "tags": [], "difficulty": 3,
                "explanation": f"解析{qid}", "retired": False, "created_by": "acc", "created_at": "2026-12-01T00:00:00.000Z"}
    memory.questions[qid] = question
    return question


__all__ = ["COUNTY", "COUNTY_B", "QuizMemory", "quiz_store", "seeded_question"]
