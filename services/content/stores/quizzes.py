"""The question bank, quizzes, daily questions and contests, attempts saved answer by answer, leaderboards.

A mixin of ``services.content.store.ContentStore``: it declares its collections (single-field indexes
only) and its intention-named reads and writes; writes with consequences go through ``self.commit``.

- ``attempts``: one document per attempt, inserted at its start (no transaction, no event: 20,000 members start a
  contest in a minute). Its unique ``attempt_key`` (``<quiz>:<member>:<n>``) is what keeps a member within the
  quiz's attempt limit when two starts race. ``expires_at`` is the deadline while the attempt is in progress
  and is unset when it finishes, so the sweep's range read finds only attempts still running.
- ``quiz_results``: one row per quiz and member (``<quiz>:<member>``), the best and the last finished attempt,
  written in the grading commit; leaderboards read these, never the attempts.
- ``quiz_stats``: per member and category, answered and correct (shared-shapes.md), in the same commit.
- ``quizzes.finish_due``: a contest's closing time until its ranks went out (unset then), for the sweep.

A batch of the gateway's (20,000 members taking one contest) writes its attempts, answers or gradings in one
command per collection (``add_attempts``, ``save_answers``, ``finish_attempts``): a command costs both processes
more than the statements it carries (on nx-27017 30 updates as one command cost about half the store's CPU of 30
commands, and a tenth of the client's).
"""
from __future__ import annotations

from pymongo import ReplaceOne, ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError, PyMongoError

from servicekit.errors import Conflict
from servicekit.storage.mongo import is_duplicate
from servicekit.storage.subtree import LEVEL_FIELDS, subtree_filter

RESULTS_BUNDLE = 1000
QUESTION_FIELDS = {"kind": 1, "category": 1, "options": 1, "correct": 1, "accepted": 1, "explanation": 1,
                   "stem": 1, "difficulty": 1, "tags": 1, "org_id": 1, "tenant_id": 1, "retired": 1}


class QuizRecords:
    collections: dict[str, list] = {
        "questions": ["tenant_id", "org_id"],
        "quizzes": ["org_id", "finish_due", *LEVEL_FIELDS],
        "attempts": [("attempt_key", {"unique": True}), "member_id", "expires_at"],
        "quiz_results": ["quiz_id"],
        "quiz_stats": ["member_id", "branch_id"],
    }

    # --- the bank --------------------------------------------------------------------
    def question(self, question_id: str) -> dict | None:
        return self.db.questions.find_one({"_id": question_id})

    def questions_by_ids(self, question_ids) -> dict[str, dict]:
        ids = list(question_ids)
        if not ids:
            return {}
        return {doc["_id"]: doc for doc in self.db.questions.find({"_id": {"$in": ids}}, QUESTION_FIELDS)}

    def bank_questions(self, tenant_id: str, org_ids: list[str], filters: dict, skip: int, limit: int) -> list[dict]:
        """Questions owned by the nodes ``org_ids`` (a node's path: what is visible there), newest first."""
        query = {"tenant_id": tenant_id, "org_id": {"$in": org_ids}, "retired": False, **filters}
        return list(self.db.questions.find(query).sort([("created_at", -1), ("_id", 1)]).skip(skip).limit(limit))

    def pool_questions(self, tenant_id: str, org_ids: list[str], categories: list[str] | None = None) -> list[dict]:
        """The live questions owned by ``org_ids``, of ``categories`` (None: every one): what a quiz draws from."""
        query = {"tenant_id": tenant_id, "org_id": {"$in": org_ids}, "retired": False}
        if categories is not None:
            query["category"] = {"$in": categories}
        return list(self.db.questions.find(query, QUESTION_FIELDS))

    def add_questions(self, questions: list[dict]) -> None:
        """New questions (one, or an import's all at once: ``insert_many`` in one transaction, all or none)."""
        def writes(session):
            self.db.questions.insert_many(questions, ordered=True, session=session)
        self.commit(writes)

    def retire_question(self, question_id: str, by: str, at: str) -> dict | None:
        """Take a question out of the bank; attempts that drew it keep grading it. The question, None if it was
        already retired."""
        return self.db.questions.find_one_and_update(
            {"_id": question_id, "retired": False}, {"$set": {"retired": True, "retired_by": by, "retired_at": at}},
            return_document=ReturnDocument.AFTER)

    # --- quizzes ---------------------------------------------------------------------
    def quiz(self, quiz_id: str) -> dict | None:
        return self.db.quizzes.find_one({"_id": quiz_id})

    def add_quiz(self, quiz: dict) -> None:
        self.db.quizzes.insert_one(quiz)

    def quizzes_in(self, path_ids: list[str], query: dict, skip: int, limit: int) -> list[dict]:
        """Quizzes owned in the subtree of the node at ``path_ids``, latest opening first."""
        cursor = self.db.quizzes.find({**subtree_filter(path_ids), **query}, {"draw_pool": 0})
        return list(cursor.sort([("open_at", -1), ("_id", 1)]).skip(skip).limit(limit))

    def quizzes_owned_by(self, tenant_id: str, org_ids: list[str], closing_after: str) -> list[dict]:
        """Quizzes owned by ``org_ids`` (a member's branch path) that close after ``closing_after``."""
        return list(self.db.quizzes.find({"tenant_id": tenant_id, "org_id": {"$in": org_ids},
                                          "close_at": {"$gt": closing_after}}).sort("open_at", -1).limit(200))

    def contests_due(self, now: str, limit: int = 20) -> list[dict]:
        """Contests closed by ``now`` whose ranks have not gone out."""
        return list(self.db.quizzes.find({"finish_due": {"$gt": "", "$lte": now}}).limit(limit))

    def finish_contest(self, quiz_id: str, at: str, events: list[dict]) -> bool:
        """Mark the contest finished with its contest_finished events (bundled), once: False when another sweep
        did it first (nothing is written then)."""
        def writes(session):
            changed = self.db.quizzes.update_one({"_id": quiz_id, "finished_at": None},
                                                 {"$set": {"finished_at": at}, "$unset": {"finish_due": ""}},
                                                 session=session)
            if changed.matched_count != 1:
                raise _AlreadyDone()
        try:
            self.commit(writes, events, bundle=RESULTS_BUNDLE)
        except _AlreadyDone:
            return False
        return True

    # --- attempts --------------------------------------------------------------------
    def attempt(self, attempt_id: str) -> dict | None:
        return self.db.attempts.find_one({"_id": attempt_id})

    def attempts_by_ids(self, attempt_ids: list[str]) -> list[dict]:
        return list(self.db.attempts.find({"_id": {"$in": list(attempt_ids)}})) if attempt_ids else []

    def attempts_of(self, member_id: str, quiz_id: str) -> list[dict]:
        """A member's attempts of a quiz, first first (by the member's index, then the quiz in the filter)."""
        return list(self.db.attempts.find({"member_id": member_id, "quiz_id": quiz_id},
                                          {"answers": 0, "questions": 0}).sort("number", 1))

    def add_attempt(self, attempt: dict) -> None:
        """One insert; a second start of the same number (two taps, two devices) is ATTEMPT_STARTED."""
        try:
            self.db.attempts.insert_one(attempt)
        except PyMongoError as error:
            if is_duplicate(error):
                raise Conflict("已开始答题，请刷新后继续", code="ATTEMPT_STARTED") from error
            raise

    def add_attempts(self, attempts: list[dict]) -> set[str]:
        """New attempts in one write, each as ``add_attempt``: the ids of those refused because their number was
        started already (ATTEMPT_STARTED), the others stored."""
        if not attempts:
            return set()
        try:
            self.db.attempts.insert_many(attempts, ordered=False)
        except BulkWriteError as error:
            refused = error.details.get("writeErrors", [])
            if any(row.get("code") != 11000 for row in refused):
                raise
            return {attempts[row["index"]]["_id"] for row in refused}
        return set()

    def save_answer(self, attempt_id: str, question_id: str, answer: dict, deadline_after: str) -> bool:
        """Keep one answer of an attempt still in progress before its deadline; False if it no longer is."""
        saved = self.db.attempts.update_one(*answer_saved(attempt_id, question_id, answer, deadline_after))
        return saved.matched_count == 1

    def save_answers(self, answers: list[tuple[str, str, dict]], deadline_after: str) -> list[bool]:
        """``(attempt_id, question_id, answer)`` each kept as ``save_answer`` would, in order, in one write; whether
        each was kept. When one was not (its attempt finished since it was checked), they are written again one by
        one to learn which: a second write of the same answer changes nothing."""
        if not answers:
            return []
        updates = [UpdateOne(*answer_saved(*answer, deadline_after)) for answer in answers]
        # in a transaction: nx-27017 otherwise commits (and syncs) each update on its own, at about 1.7 times the CPU
        saved = self.run_transaction(lambda session: self.db.attempts.bulk_write(updates, ordered=True,
                                                                                  session=session))
        if saved.matched_count == len(answers):
            return [True] * len(answers)
        return [self.save_answer(*answer, deadline_after) for answer in answers]

    def finish_attempt(self, attempt_id: str, fields: dict, result_of, stats: list[dict], events: list[dict]) -> dict:
        """Grade an attempt in progress: its final fields, the member's quiz result (``result_of(prior)`` gives
        the new row from the stored one, read in the same transaction), the category statistics and the events,
        in one commit. Conflict ATTEMPT_FINISHED if it was finished meanwhile (a sweep, another tab)."""
        def writes(session):
            finished = self.db.attempts.find_one_and_update(
                {"_id": attempt_id, "state": "in_progress"}, {"$set": fields, "$unset": {"expires_at": ""}},
                return_document=ReturnDocument.AFTER, session=session)
            if finished is None:
                raise Conflict("本次答题已交卷", code="ATTEMPT_FINISHED")
            if result_of is not None:
                key = f"{finished['quiz_id']}:{finished['member_id']}"
                result = result_of(self.db.quiz_results.find_one({"_id": key}, session=session))
                self.db.quiz_results.replace_one({"_id": result["_id"]}, result, upsert=True, session=session)
            self._count_answers(stats, session)
            return finished
        return self.commit(writes, events)

    def finish_attempts(self, entries: list[tuple]) -> bool:
        """Grade many attempts in progress in one commit, each ``(attempt, fields, result_of, stats, events)`` as
        ``finish_attempt`` would (``attempt`` as read: its id, quiz and member; each attempt once, and two of a member
        at one quiz chain their result rows), the events in bundles. False, and nothing written, when one of them was
        finished meanwhile."""
        def writes(session):
            done = self.db.attempts.bulk_write([
                UpdateOne({"_id": attempt["_id"], "state": "in_progress"},
                          {"$set": fields, "$unset": {"expires_at": ""}})
                for attempt, fields, *_ in entries], ordered=True, session=session)
            if done.matched_count != len(entries):
                raise _AlreadyDone()
            keys = [f"{attempt['quiz_id']}:{attempt['member_id']}" for attempt, *_ in entries]
            results = {doc["_id"]: doc for doc in self.db.quiz_results.find({"_id": {"$in": sorted(set(keys))}},
                                                                             session=session)}
            for key, (_, _, result_of, _, _) in zip(keys, entries):
                if result_of is not None:
                    results[key] = result_of(results.get(key))
            written = sorted({key for key, entry in zip(keys, entries) if entry[2] is not None})
            if written:
                self.db.quiz_results.bulk_write([ReplaceOne({"_id": key}, results[key], upsert=True)
                                                 for key in written], ordered=True, session=session)
            self._count_answers([row for entry in entries for row in entry[3]], session)
        try:
            self.commit(writes, [event for entry in entries for event in entry[4]], bundle=RESULTS_BUNDLE)
        except _AlreadyDone:
            return False
        return True

    def add_daily_answer(self, attempt: dict, stats: list[dict], events: list[dict]) -> None:
        """The daily question answered (an attempt born finished), its statistics and event: once per member and
        day (DAILY_ANSWERED)."""
        def writes(session):
            self.db.attempts.insert_one(attempt, session=session)
            self._count_answers(stats, session)
        self.commit(writes, events, duplicate=("DAILY_ANSWERED", "今天的每日一题已经答过了"))

    def overdue_attempts(self, now: str, limit: int = 200) -> list[dict]:
        """Attempts still in progress whose deadline has passed."""
        return list(self.db.attempts.find({"expires_at": {"$gt": "", "$lte": now}}).limit(limit))

    # --- results and statistics ------------------------------------------------------
    def results_of(self, quiz_id: str) -> list[dict]:
        return list(self.db.quiz_results.find({"quiz_id": quiz_id}))

    def result_of(self, quiz_id: str, member_id: str) -> dict | None:
        return self.db.quiz_results.find_one({"_id": f"{quiz_id}:{member_id}"})

    def _count_answers(self, stats: list[dict], session) -> None:
        if not stats:
            return
        self.db.quiz_stats.bulk_write([UpdateOne(
            {"_id": f"{row['member_id']}:{row['category']}"},
            {"$inc": {"answered": row["answered"], "correct": row["correct"]},
             "$set": {"tenant_id": row["tenant_id"], "member_id": row["member_id"], "branch_id": row["branch_id"],
                      "category": row["category"], "updated_at": row["updated_at"]}},
            upsert=True) for row in stats], ordered=True, session=session)

    def category_stats_of(self, member_id: str) -> list[dict]:
        """A member's answers per category (shared-shapes.md)."""
        return list(self.db.quiz_stats.find({"member_id": member_id}))

    def category_stats_of_branch(self, branch_id: str) -> list[dict]:
        """Every member's answers per category in a branch."""
        return list(self.db.quiz_stats.find({"branch_id": branch_id}))


def answer_saved(attempt_id: str, question_id: str, answer: dict, deadline_after: str) -> tuple[dict, dict]:
    """The filter and update that keep an answer of an attempt in progress before its deadline."""
    return ({"_id": attempt_id, "state": "in_progress", "deadline_at": {"$gt": deadline_after}},
            {"$set": {f"answers.{question_id}": answer}})


class _AlreadyDone(Exception):
    """Aborts a commit whose change another writer made first."""
