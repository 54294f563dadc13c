"""Taking quizzes: attempts started, saved answer by answer, submitted and graded on the server; the daily
question (每日一题); the sweep that finishes attempts past their deadline and ranks closed contests.

A start costs a cached quiz and question pool (``QuizDesk``), one read of the member's attempts at the quiz and
one insert. A saved answer is one read and one small update. A submission is one read and one commit (the
attempt graded, the member's result, the category statistics and quiz_attempt_finished together). An attempt
past its deadline is finished with what was saved whenever it is next touched: the member's next call, its
submission, or the sweep.
"""
from __future__ import annotations

import logging
import random
import uuid

from servicekit import arguments
from servicekit.errors import Conflict, InvalidArgument
from servicekit.messaging.rpc import answer_each
from servicekit.security.scope import CallerScope, caller_of
from servicekit.timestamps import stamp

from services.content import access, events
from services.content.domain import quizzes as rules
from services.content.domain.settings import band
from services.content.orgs import members_branches
from services.content.quiz_views import attempt_view
from services.content.usecases.quizzes import QuizTopic, quiz_not_found

log = logging.getLogger(__name__)
SWEEP_BATCH = 200


def attempt_not_found():
    return access.not_found("答题记录不存在", "ATTEMPT_NOT_FOUND", "attempt_id")


# items of a batch of starts or answers handled at once: each is one small write whose wait the others overlap
BATCH_CONCURRENCY = 8


class Attempts(QuizTopic):
    # --- quizzes and contests ------------------------------------------------------
    def start(self, caller: CallerScope, quiz_id) -> dict:
        """A new attempt (or the one still running: a second tap resumes it)."""
        member_id = access.require_member(caller)
        quiz = self.quiz(quiz_id)
        if not access.same_tenant(caller, quiz):
            raise quiz_not_found()
        branch = self.org_paths.org(self.identity, caller, caller.branch_id)
        if quiz["org_id"] not in branch["path_ids"]:
            raise quiz_not_found()
        now = self.now()
        rules.apply_to_quiz(rules.START_ATTEMPT, quiz, now)
        previous = self.store.attempts_of(member_id, quiz["_id"])
        for attempt in previous:
            if attempt["state"] == rules.IN_PROGRESS.value:
                attempt = self.store.attempt(attempt["_id"])
                if rules.attempt_allows(rules.SAVE_ANSWER, attempt, now):
                    return self._view(attempt, quiz, now)
                self._finish(attempt, rules.EXPIRE, now, quiz)
        if len(previous) >= quiz["max_attempts"]:
            raise Conflict(f"本活动最多可答 {quiz['max_attempts']} 次，您已用完", code="ATTEMPT_LIMIT")
        attempt_id = f"atp_{uuid.uuid4().hex}"
        drawn = rules.draw(self._pool(quiz), quiz["draw"], random.Random(attempt_id))
        path = list(branch["path_ids"])
        names = list(branch.get("path_names") or [])
        county = 1 if len(path) > 2 else 0
        deadline = stamp(rules.deadline(now, quiz["time_limit_seconds"], rules.parse_time(quiz["close_at"])))
        number = len(previous) + 1
        attempt = {"_id": attempt_id, "attempt_key": f"{quiz['_id']}:{member_id}:{number}",
                   "tenant_id": caller.tenant_id, "quiz_id": quiz["_id"], "kind": quiz["kind"],
                   "title": quiz["title"], "member_id": member_id, "branch_id": caller.branch_id,
                   "branch_name": branch.get("name", ""), "branch_path": path, "county_id": path[county],
                   "county_name": names[county] if len(names) > county else "", "number": number,
                   "state": rules.IN_PROGRESS.value, "started_at": stamp(now), "deadline_at": deadline,
                   "expires_at": deadline, "questions": drawn, "answers": {}}
        self.store.add_attempt(attempt)
        return self._view(attempt, quiz, now)

    def get(self, caller: CallerScope, attempt_id) -> dict:
        attempt, quiz = self._own_attempt(caller, attempt_id)
        now = self.now()
        if attempt["state"] == rules.IN_PROGRESS.value and not rules.attempt_allows(rules.SAVE_ANSWER, attempt, now):
            attempt = self._finish(attempt, rules.EXPIRE, now, quiz)
        return self._view(attempt, quiz, now)

    def save_answer(self, caller: CallerScope, attempt_id, question_id, choices, text) -> dict:
        attempt, quiz = self._own_attempt(caller, attempt_id)
        question_id = arguments.text(question_id, "question_id", max_length=64)
        now = self.now()
        if attempt["state"] == rules.IN_PROGRESS.value and not rules.attempt_allows(rules.SAVE_ANSWER, attempt, now):
            self._finish(attempt, rules.EXPIRE, now, quiz)
        rules.apply_to_attempt(rules.SAVE_ANSWER, attempt, now)
        entry = next((e for e in attempt["questions"] if e["id"] == question_id), None)
        if entry is None:
            raise InvalidArgument("该题不在本次答题中", code="QUESTION_NOT_IN_ATTEMPT", field="question_id")
        question = self._questions_for(attempt, quiz)[question_id]
        answer = rules.checked_answer(question, entry["order"], choices if choices is not None else [], text or "")
        if not self.store.save_answer(attempt["_id"], question_id, answer, stamp(now)):
            raise Conflict("本次答题已交卷", code="ATTEMPT_FINISHED")
        return {"attempt_id": attempt["_id"], "question_id": question_id, "choices": answer.get("choices", []),
                "text": answer.get("text", ""), "saved_at": stamp(now), "deadline_at": attempt["deadline_at"]}

    def submit(self, caller: CallerScope, attempt_id) -> dict:
        """Grade the attempt with what was saved (expired if its deadline passed); a repeated submission answers
        the graded attempt again."""
        attempt, quiz = self._own_attempt(caller, attempt_id)
        now = self.now()
        if attempt["state"] == rules.IN_PROGRESS.value:
            try:
                attempt = self._finish(attempt, rules.finishing(attempt, now), now, quiz)
            except Conflict as conflict:
                if conflict.code != "ATTEMPT_FINISHED":
                    raise
                attempt = self.store.attempt(attempt["_id"])
        return self._view(attempt, quiz, now)

    # --- the daily question ---------------------------------------------------------
    def daily(self, caller: CallerScope) -> dict:
        member_id = access.require_member(caller)
        day = self.clock.today().isoformat()
        done = self.store.attempt(daily_id(member_id, day))
        if done is not None:
            return self._daily_view(day, done, self._daily_pool(caller).get(done["questions"][0]["id"])
                                    or self.store.questions_by_ids([done["questions"][0]["id"]]).get(
                                        done["questions"][0]["id"]))
        pool = self._daily_pool(caller)
        picked = rules.daily_pick(list(pool), member_id, day)
        if picked is None:
            return {"date": day, "available": False, "answered": False}
        question = pool[picked]
        entry = {"id": picked, "order": [o["key"] for o in question["options"]], "points": 1}
        return {"date": day, "available": True, "answered": False,
                "question": {"id": picked, "kind": question["kind"], "stem": question["stem"],
                             "options": rules.shown_options(question, entry["order"]),
                             "category": question["category"], "points": 1, "choices": [], "text": ""}}

    def answer_daily(self, caller: CallerScope, question_id, choices, text) -> dict:
        member_id = access.require_member(caller)
        question_id = arguments.text(question_id, "question_id", max_length=64)
        now = self.now()
        day = self.clock.today().isoformat()
        pool = self._daily_pool(caller)
        if question_id != rules.daily_pick(list(pool), member_id, day):
            raise InvalidArgument("这不是您今天的每日一题，请刷新后重试", code="NOT_TODAYS_QUESTION", field="question_id")
        question = pool[question_id]
        entry = {"id": question_id, "order": [o["key"] for o in question["options"]], "points": 1}
        answer = rules.checked_answer(question, entry["order"], choices if choices is not None else [], text or "")
        graded = rules.grade([entry], {question_id: question}, {question_id: answer})
        at = stamp(now)
        score_band = band(graded.score, graded.max_score, self.settings(caller.tenant_id))
        attempt = {"_id": daily_id(member_id, day), "attempt_key": f"daily:{day}:{member_id}:1",
                   "tenant_id": caller.tenant_id, "quiz_id": f"daily:{day}", "kind": rules.DAILY, "title": "每日一题",
                   "member_id": member_id, "branch_id": caller.branch_id, "number": 1,
                   "state": rules.SUBMITTED.value, "started_at": at, "deadline_at": at, "questions": [entry],
                   "answers": {question_id: answer}, "score": graded.score, "max_score": graded.max_score,
                   "band": score_band, "seconds": 0, "finished_at": at, "right": graded.right}
        event = events.QUIZ_ATTEMPT_FINISHED.build(
            caller.tenant_id, at, quiz_id=attempt["quiz_id"], attempt_id=attempt["_id"], kind=rules.DAILY,
            member_id=member_id, branch_id=caller.branch_id, score=graded.score, max_score=graded.max_score,
            band=score_band, finished_at=at)
        self.store.add_daily_answer(attempt, self._stats(attempt, graded, at), [event])
        return self._daily_view(day, attempt, question)

    # --- the sweep ------------------------------------------------------------------
    def sweep(self) -> dict:
        """Finish the attempts past their deadline, then rank the contests that closed (once each)."""
        now = self.now()
        overdue = self.store.overdue_attempts(stamp(now), SWEEP_BATCH)
        expired = 0
        for attempt in overdue:
            quiz = self.desk.quiz(attempt["quiz_id"], lambda: self.store.quiz(attempt["quiz_id"]))
            try:
                self._finish(attempt, rules.EXPIRE, now, quiz)
                expired += 1
            except Conflict:
                continue        # finished meanwhile by the member or another instance
        finished = 0
        if len(overdue) < SWEEP_BATCH:      # no contest is ranked while attempts of it may still wait
            for quiz in self.store.contests_due(stamp(now)):
                if rules.quiz_allows(rules.FINISH_CONTEST, quiz, now) and self._finish_contest(quiz, now):
                    finished += 1
        return {"expired": expired, "contests_finished": finished}

    def tick(self) -> None:
        try:
            self.sweep()
        except Exception:  # noqa: BLE001  the next tick retries; each change is its own transaction
            log.exception("quiz sweep failed")

    def _finish_contest(self, quiz: dict, now) -> bool:
        ranked = rules.ranked_members([
            {"member_id": r["member_id"], "branch_id": r["branch_id"], **rules.counted(r, quiz["grading"])}
            for r in self.store.results_of(quiz["_id"])])
        at = stamp(now)
        finished = [events.CONTEST_FINISHED.build(
            quiz["tenant_id"], at, quiz_id=quiz["_id"], member_id=row["member_id"], branch_id=row["branch_id"],
            rank=row["rank"], score=row["score"], participants=len(ranked)) for row in ranked]
        done = self.store.finish_contest(quiz["_id"], at, finished)
        self.desk.quiz_changed(quiz["_id"])
        return done

    # --- batches (gateway.batching) ---------------------------------------------------
    def save_answers(self, items) -> list[dict]:
        """A batch of saved answers, each answered as ``save_answer``; their attempts read in one query."""
        items = self._prefetched(items)
        return answer_each(items, lambda item: self.save_answer(
            caller_of(item.get("scope")), item.get("attempt_id", ""), item.get("question_id", ""),
            item.get("choices"), item.get("text", "")), concurrency=BATCH_CONCURRENCY)

    def start_all(self, items) -> list[dict]:
        """A batch of starts, each answered as ``start``; the members' branches asked of identity at once."""
        items = list(items or ())
        self.org_paths.warm(self.identity, members_branches(items))
        return answer_each(items, lambda item: self.start(caller_of(item.get("scope")), item.get("quiz_id", "")),
                           concurrency=BATCH_CONCURRENCY)

    def submit_all(self, items) -> list[dict]:
        """A batch of submissions, each answered as ``submit``; their attempts read in one query."""
        items = self._prefetched(items)
        return answer_each(items, lambda item: self.submit(caller_of(item.get("scope")), item.get("attempt_id", "")))

    def _prefetched(self, items) -> list[dict]:
        """The batch's items; their attempts read at once into ``_known``, each used by the first item that asks
        for it (a second item of the same attempt reads it again, after the first one's write)."""
        items = list(items or ())
        ids = sorted({item.get("attempt_id") for item in items
                      if isinstance(item.get("attempt_id"), str) and item.get("attempt_id")})
        self._known = {doc["_id"]: doc for doc in self.store.attempts_by_ids(ids)} if ids else {}
        return items

    # --- shared ---------------------------------------------------------------------
    def _own_attempt(self, caller: CallerScope, attempt_id) -> tuple[dict, dict | None]:
        member_id = access.require_member(caller)
        attempt_id = arguments.text(attempt_id, "attempt_id", max_length=64)
        known = getattr(self, "_known", None)
        attempt = known.pop(attempt_id, None) if known else None
        attempt = attempt or self.store.attempt(attempt_id)
        if (not access.same_tenant(caller, attempt) or attempt["member_id"] != member_id
                or attempt["kind"] == rules.DAILY):
            raise attempt_not_found()
        return attempt, self.quiz(attempt["quiz_id"])

    def _pool(self, quiz: dict) -> dict[str, list[dict]]:
        def load():
            pool: dict[str, list[dict]] = {}
            for question in self.store.pool_questions(quiz["tenant_id"], quiz["org_path"],
                                                      [rule["category"] for rule in quiz["draw"]]):
                pool.setdefault(question["category"], []).append(question)
            return pool
        return self.desk.pool(quiz["_id"], load)

    def _daily_pool(self, caller: CallerScope) -> dict[str, dict]:
        """The live questions owned on the member's branch path, kept per owning node (a city's bank once per
        process, not once per branch)."""
        pool: dict[str, dict] = {}
        for org_id in self.member_path(caller):
            pool.update(self.desk.owned_questions(caller.tenant_id, org_id, lambda org_id=org_id: {
                q["_id"]: q for q in self.store.pool_questions(caller.tenant_id, [org_id])}))
        return pool

    def _questions_for(self, attempt: dict, quiz: dict | None) -> dict[str, dict]:
        """The attempt's questions: from the cached pool, the few no longer there (retired) from the store."""
        by_id = {q["_id"]: q for questions in (self._pool(quiz).values() if quiz else ()) for q in questions}
        wanted = {entry["id"] for entry in attempt["questions"]}
        missing = wanted - set(by_id)
        if missing:
            by_id.update(self.store.questions_by_ids(sorted(missing)))
        return {qid: by_id[qid] for qid in wanted if qid in by_id}

    def _finish(self, attempt: dict, transition, now, quiz: dict | None) -> dict:
        state = rules.apply_to_attempt(transition, attempt, now)
        graded = rules.grade(attempt["questions"], self._questions_for(attempt, quiz), attempt.get("answers") or {})
        at = stamp(now)
        seconds = rules.seconds_used(attempt, now)
        score_band = band(graded.score, graded.max_score, self.settings(attempt["tenant_id"]))
        fields = {"state": state.value, "score": graded.score, "max_score": graded.max_score, "band": score_band,
                  "seconds": seconds, "finished_at": at, "right": graded.right}
        mark = {"attempt_id": attempt["_id"], "score": graded.score, "seconds": seconds, "finished_at": at}

        def result_of(prior: dict | None) -> dict:
            result = prior or {"_id": f"{attempt['quiz_id']}:{attempt['member_id']}", "quiz_id": attempt["quiz_id"],
                               "tenant_id": attempt["tenant_id"], "kind": attempt["kind"],
                               "member_id": attempt["member_id"], "branch_id": attempt["branch_id"],
                               "branch_name": attempt.get("branch_name", ""),
                               "branch_path": attempt.get("branch_path", []), "county_id": attempt.get("county_id", ""),
                               "county_name": attempt.get("county_name", ""), "attempts": 0, "best": None,
                               "last": None}
            result = {**result, "attempts": result["attempts"] + 1, "last": mark, "max_score": graded.max_score}
            if rules.better(mark, result["best"]):
                result["best"] = mark
            return result

        event = events.QUIZ_ATTEMPT_FINISHED.build(
            attempt["tenant_id"], at, quiz_id=attempt["quiz_id"], attempt_id=attempt["_id"], kind=attempt["kind"],
            member_id=attempt["member_id"], branch_id=attempt["branch_id"], score=graded.score,
            max_score=graded.max_score, band=score_band, finished_at=at)
        return self.store.finish_attempt(attempt["_id"], fields, result_of, self._stats(attempt, graded, at), [event])

    @staticmethod
    def _stats(attempt: dict, graded: rules.Graded, at: str) -> list[dict]:
        return [{"tenant_id": attempt["tenant_id"], "member_id": attempt["member_id"],
                 "branch_id": attempt["branch_id"], "category": category, "answered": answered, "correct": correct,
                 "updated_at": at} for category, (answered, correct) in sorted(graded.by_category.items())]

    def _view(self, attempt: dict, quiz: dict | None, now) -> dict:
        reviewed = bool(quiz) and rules.review_open(quiz, attempt, now)
        return attempt_view(attempt, self._questions_for(attempt, quiz), reviewed, stamp(now), quiz)

    def _daily_view(self, day: str, attempt: dict, question: dict | None) -> dict:
        view = attempt_view(attempt, {question["_id"]: question} if question else {}, True, attempt["finished_at"])
        return {"date": day, "available": True, "answered": True,
                "question": view["questions"][0] if view["questions"] else None, "score": attempt["score"],
                "right": attempt["score"] > 0}


def daily_id(member_id: str, day: str) -> str:
    return f"dly_{day}_{member_id}"
