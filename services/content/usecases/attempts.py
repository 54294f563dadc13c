"""Taking quizzes: attempts started, saved answer by answer, submitted and graded on the server; the daily
question (每日一题); the sweep that finishes attempts past their deadline and ranks closed contests.

A start costs a cached quiz and question pool (``QuizDesk``), one read of the member's attempts at the quiz and
one insert. A saved answer is one read and one small update. A submission is one read and one commit (the
attempt graded, the member's result, the category statistics and quiz_attempt_finished together). An attempt
past its deadline is finished with what was saved whenever it is next touched: the member's next call, its
submission, or the sweep.

The gateway's batches (``gateway.batching``) share those costs: a batch's attempts are read in one query, its new
attempts inserted in one write, its answers saved in one write, its submissions graded in one commit; each item
is still checked and answered as its single call would be.
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


# starts of a batch checked at once: each reads the member's attempts, a wait on the store the others overlap
BATCH_CONCURRENCY = 8


class Attempts(QuizTopic):
    # --- quizzes and contests ------------------------------------------------------
    def start(self, caller: CallerScope, quiz_id) -> dict:
        """A new attempt (or the one still running: a second tap resumes it)."""
        now = self.now()
        attempt, quiz, new = self._begun(caller, quiz_id, now)
        if new:
            self.store.add_attempt(attempt)
            self.desk.keep_running([attempt])
        return self._view(attempt, quiz, now)

    def _begun(self, caller: CallerScope, quiz_id, now, first: bool = False) -> tuple[dict, dict, bool]:
        """``(attempt, quiz, new)``: the member's attempt still running (``new`` False), or a new one drawn and not
        stored yet; refusals raised. ``first``: drawn as the member's first attempt without reading its attempts,
        for an insert that the attempt's unique number refuses if the member has one."""
        member_id = access.require_member(caller)
        quiz = self.quiz(quiz_id)
        if not access.same_tenant(caller, quiz):
            raise quiz_not_found()
        branch = self.org_paths.org(self.identity, caller, caller.branch_id)
        if quiz["org_id"] not in branch["path_ids"]:
            raise quiz_not_found()
        rules.apply_to_quiz(rules.START_ATTEMPT, quiz, now)
        previous = [] if first else self.store.attempts_of(member_id, quiz["_id"])
        for attempt in previous:
            if attempt["state"] == rules.IN_PROGRESS.value:
                attempt = self.store.attempt(attempt["_id"])
                if rules.attempt_allows(rules.SAVE_ANSWER, attempt, now):
                    return attempt, quiz, False
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
        return attempt, quiz, True

    def get(self, caller: CallerScope, attempt_id) -> dict:
        attempt, quiz = self._own_attempt(caller, attempt_id)
        now = self.now()
        if attempt["state"] == rules.IN_PROGRESS.value and not rules.attempt_allows(rules.SAVE_ANSWER, attempt, now):
            attempt = self._finish(attempt, rules.EXPIRE, now, quiz)
        return self._view(attempt, quiz, now)

    def save_answer(self, caller: CallerScope, attempt_id, question_id, choices, text) -> dict:
        now = self.now()
        attempt, question_id, answer = self._checked_answer(caller, attempt_id, question_id, choices, text, now)
        if not self.store.save_answer(attempt["_id"], question_id, answer, stamp(now)):
            raise attempt_finished()
        return saved_view(attempt, question_id, answer, now)

    def _checked_answer(self, caller: CallerScope, attempt_id, question_id, choices, text,
                        now) -> tuple[dict, str, dict]:
        """``(attempt, question_id, answer)`` of an answer the member may save now; refusals raised (an attempt
        found past its deadline is finished first)."""
        attempt, quiz = self._own_attempt(caller, attempt_id)
        question_id = arguments.text(question_id, "question_id", max_length=64)
        if attempt["state"] == rules.IN_PROGRESS.value and not rules.attempt_allows(rules.SAVE_ANSWER, attempt, now):
            self._finish(attempt, rules.EXPIRE, now, quiz)
        rules.apply_to_attempt(rules.SAVE_ANSWER, attempt, now)
        entry = next((e for e in attempt["questions"] if e["id"] == question_id), None)
        if entry is None:
            raise InvalidArgument("该题不在本次答题中", code="QUESTION_NOT_IN_ATTEMPT", field="question_id")
        question = self._questions_for(attempt, quiz)[question_id]
        answer = rules.checked_answer(question, entry["order"], choices if choices is not None else [], text or "")
        return attempt, question_id, answer

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
        """Finish the attempts past their deadline (in one commit), then rank the contests that closed (once
        each)."""
        now = self.now()
        overdue = self.store.overdue_attempts(stamp(now), SWEEP_BATCH)
        graded = []
        for attempt in overdue:
            quiz = self.desk.quiz(attempt["quiz_id"], lambda: self.store.quiz(attempt["quiz_id"]))
            try:
                graded.append((attempt, self._graded(attempt, rules.EXPIRE, now, quiz)))
            except Conflict:
                continue
        # one finished meanwhile by the member or another instance is left out
        expired = sum(1 for attempt in self._finish_all(graded).values() if attempt is not None)
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
        """A batch of saved answers, each answered as ``save_answer``: their attempts read in one query, each
        answer checked, then every accepted one saved in one write."""
        items = self._prefetched(items, running=True)
        now = self.now()
        answers = answer_each(items, lambda item: self._checked_answer(
            caller_of(item.get("scope")), item.get("attempt_id", ""), item.get("question_id", ""),
            item.get("choices"), item.get("text", ""), now))
        accepted = [(index, answer["result"]) for index, answer in enumerate(answers) if "result" in answer]
        saved = self.store.save_answers([(attempt["_id"], question_id, answer)
                                         for _, (attempt, question_id, answer) in accepted], stamp(now))
        for (index, (attempt, question_id, answer)), kept in zip(accepted, saved):
            answers[index] = ({"result": saved_view(attempt, question_id, answer, now)} if kept
                              else {"error": attempt_finished().to_dict()})
        return answers

    def start_all(self, items) -> list[dict]:
        """A batch of starts, each answered as ``start``: the members' branches asked of identity at once, and the
        new attempts inserted in one write. Each start is first tried as the member's first attempt, with nothing
        read (20,000 members start a contest within a minute, nearly all of them for the first time); one whose
        number the store refuses is checked again as ``start`` checks it (resumed, or the next number)."""
        items = list(items or ())
        self.org_paths.warm(self.identity, members_branches(items))
        now = self.now()
        answers = answer_each(items, lambda item: self._begun(caller_of(item.get("scope")), item.get("quiz_id", ""),
                                                               now, first=True))
        taken = self._inserted(answers)
        again = [index for index, answer in enumerate(answers)
                 if "result" in answer and answer["result"][0]["_id"] in taken]
        checked = answer_each([items[index] for index in again], lambda item: self._begun(
            caller_of(item.get("scope")), item.get("quiz_id", ""), now), concurrency=BATCH_CONCURRENCY)
        for index, answer in zip(again, checked):
            answers[index] = answer
        refused = self._inserted(checked)
        begun = [(index, answer["result"]) for index, answer in enumerate(answers) if "result" in answer]
        views = answer_each(begun, lambda entry: self._started_view(entry[1], refused, now))
        for (index, _), view in zip(begun, views):
            answers[index] = view
        return answers

    def _inserted(self, answers: list[dict]) -> set[str]:
        """Insert the new attempts among a batch's ``_begun`` answers in one write; the ids refused (their number was
        started already)."""
        new = [answer["result"][0] for answer in answers if "result" in answer and answer["result"][2]]
        refused = self.store.add_attempts(new) if new else set()
        self.desk.keep_running(attempt for attempt in new if attempt["_id"] not in refused)
        return refused

    def _started_view(self, begun: tuple[dict, dict, bool], refused: set[str], now) -> dict:
        attempt, quiz, new = begun
        if new and attempt["_id"] in refused:
            raise attempt_started()
        return self._view(attempt, quiz, now)

    def submit_all(self, items) -> list[dict]:
        """A batch of submissions, each answered as ``submit``: their attempts read in one query and graded in one
        commit."""
        items = self._prefetched(items)
        now = self.now()
        answers = answer_each(items, lambda item: self._submitted(caller_of(item.get("scope")),
                                                                  item.get("attempt_id", ""), now))
        owned = [(index, answer["result"]) for index, answer in enumerate(answers) if "result" in answer]
        running = {attempt["_id"]: (attempt, grading) for _, (attempt, _quiz, grading) in owned if grading}
        finished = self._finish_all(list(running.values()))

        def view(attempt: dict, quiz: dict | None) -> dict:
            if attempt["_id"] in finished:
                attempt = finished[attempt["_id"]] or self.store.attempt(attempt["_id"])   # or finished meanwhile
            return self._view(attempt, quiz, now)
        for (index, _), answer in zip(owned, answer_each(owned, lambda entry: view(*entry[1][:2]))):
            answers[index] = answer
        return answers

    def _submitted(self, caller: CallerScope, attempt_id, now) -> tuple[dict, dict | None, tuple | None]:
        """``(attempt, quiz, grading)`` of a submission: the grading (``_graded``) when the attempt is in progress."""
        attempt, quiz = self._own_attempt(caller, attempt_id)
        if attempt["state"] != rules.IN_PROGRESS.value:
            return attempt, quiz, None
        return attempt, quiz, self._graded(attempt, rules.finishing(attempt, now), now, quiz)

    def _prefetched(self, items, running: bool = False) -> list[dict]:
        """The batch's items; their attempts read at once into ``_known``, where every item of the batch finds its
        attempt (a batch checks all its items before it writes). ``running``: an attempt the desk keeps is not
        read (what an answer is checked against), and those read are kept."""
        items = list(items or ())
        ids = sorted({item.get("attempt_id") for item in items
                      if isinstance(item.get("attempt_id"), str) and item.get("attempt_id")})
        known = self.desk.running_attempts(ids) if running else {}
        wanted = [attempt_id for attempt_id in ids if attempt_id not in known]
        read = self.store.attempts_by_ids(wanted) if wanted else []
        if running:
            self.desk.keep_running(read)
        self._known = {**known, **{doc["_id"]: doc for doc in read}}
        return items

    # --- shared ---------------------------------------------------------------------
    def _own_attempt(self, caller: CallerScope, attempt_id) -> tuple[dict, dict | None]:
        member_id = access.require_member(caller)
        attempt_id = arguments.text(attempt_id, "attempt_id", max_length=64)
        known = getattr(self, "_known", None)
        attempt = known.get(attempt_id) if known else None
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
        """The attempt graded and finished (Conflict ATTEMPT_FINISHED if it was finished meanwhile)."""
        self.desk.attempt_finished(attempt["_id"])
        if "answers" not in attempt:        # one the desk kept has no answers: grade what is stored
            attempt = self.store.attempt(attempt["_id"]) or attempt
        return self.store.finish_attempt(attempt["_id"], *self._graded(attempt, transition, now, quiz))

    def _finish_all(self, graded: list[tuple[dict, tuple]]) -> dict[str, dict | None]:
        """``{attempt_id: finished attempt}`` of ``(attempt, grading)`` (``_graded``), all in one commit; None for one
        that was finished meanwhile (then the others are finished one by one)."""
        if not graded:
            return {}
        for attempt, _ in graded:
            self.desk.attempt_finished(attempt["_id"])
        if self.store.finish_attempts([(attempt, *grading) for attempt, grading in graded]):
            return {attempt["_id"]: finished_as(attempt, grading[0]) for attempt, grading in graded}
        finished: dict[str, dict | None] = {}
        for attempt, grading in graded:
            try:
                finished[attempt["_id"]] = self.store.finish_attempt(attempt["_id"], *grading)
            except Conflict as conflict:
                if conflict.code != "ATTEMPT_FINISHED":
                    raise
                finished[attempt["_id"]] = None
        return finished

    def _graded(self, attempt: dict, transition, now, quiz: dict | None) -> tuple:
        """``(fields, result_of, stats, events)`` that finish the attempt (``QuizRecords.finish_attempt``)."""
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
        return fields, result_of, self._stats(attempt, graded, at), [event]

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


def attempt_finished() -> Conflict:
    return Conflict("本次答题已交卷", code="ATTEMPT_FINISHED")


def attempt_started() -> Conflict:
    return Conflict("已开始答题，请刷新后继续", code="ATTEMPT_STARTED")


def finished_as(attempt: dict, fields: dict) -> dict:
    """The attempt as ``QuizRecords.finish_attempt`` leaves it."""
    finished = {**attempt, **fields}
    finished.pop("expires_at", None)
    return finished


def saved_view(attempt: dict, question_id: str, answer: dict, now) -> dict:
    return {"attempt_id": attempt["_id"], "question_id": question_id, "choices": answer.get("choices", []),
            "text": answer.get("text", ""), "saved_at": stamp(now), "deadline_at": attempt["deadline_at"]}
