"""The question bank, quizzes and attempts (以考促学): pure rules, no I/O, no clock, randomness passed in.

- a question is single choice, multiple choice, true/false or fill-in; choice questions keep their right option
  keys in ``correct``, fill-in questions their accepted answers in ``accepted``;
- a quiz draws its questions at random per attempt from categories (no question twice in an attempt) and shows
  every choice question's options in an order of its own, relabelled A, B, C… by position: the member answers
  with the labels it saw, grading maps them back (``order``);
- an attempt is ``in_progress`` until it is submitted, or expired at its deadline and graded with what was saved
  (``ATTEMPT_TRANSITIONS``); a quiz is upcoming, open, closed and, for a contest, finished once its ranks went
  out (``QUIZ_TRANSITIONS``).
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Callable

from servicekit.errors import Conflict, InvalidArgument, Rejected

QUESTION_KINDS = ("single", "multiple", "true_false", "fill")
QUIZ_KINDS = ("quiz", "contest")          # the daily question is kind "daily": no quiz document of its own
DAILY = "daily"
GRADINGS = ("highest", "last")
REVIEWS = ("never", "after_submit", "after_close")
CATEGORY_SUGGESTIONS = ("党章", "党史", "理论学习", "党纪法规", "时事政策")
LABELS = "ABCDEFGH"
MAX_OPTIONS = 8
TRUE_FALSE_OPTIONS = ({"key": "T", "text": "正确"}, {"key": "F", "text": "错误"})

MAX_STEM, MAX_OPTION, MAX_EXPLANATION, MAX_ACCEPTED = 1000, 200, 2000, 10
MAX_CATEGORY, MAX_TAG, MAX_TAGS = 20, 20, 10
MAX_TITLE, MAX_DESCRIPTION = 100, 2000
MAX_RULES, MAX_COUNT, MAX_POINTS, MAX_QUESTIONS = 10, 100, 100, 200
MAX_TIME_LIMIT = 4 * 3600
MIN_TIME_LIMIT = 60
MAX_ATTEMPTS = 100
MAX_FILL_TEXT = 200
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Problem:
    """A rule broken by one field, collected (an import reports every bad field of every row)."""
    field: str
    code: str
    message: str

    def error(self) -> InvalidArgument:
        return InvalidArgument(self.message, code=self.code, field=self.field)


def raise_first(problems: list[Problem]) -> None:
    if problems:
        raise problems[0].error()


# --- questions --------------------------------------------------------------------------
def normalised(text: str) -> str:
    """A fill-in answer as compared: full-width folded to half-width (NFKC), trimmed, inner spaces collapsed,
    letters in one case. "２０２１年" and " 2021年" are the same answer."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text or "")).strip().casefold()


def _text(value, field: str, problems: list[Problem], max_length: int, required: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        problems.append(Problem(field, "INVALID_TYPE", f"{field} 必须是文字"))
        return ""
    value = value.strip()
    if required and not value:
        problems.append(Problem(field, "REQUIRED", f"{field} 不能为空"))
    elif len(value) > max_length:
        problems.append(Problem(field, "TOO_LONG", f"{field} 不能超过 {max_length} 个字"))
    elif _CONTROL.search(value):
        problems.append(Problem(field, "CONTROL_CHARACTERS", f"{field} 含有不可见的控制字符"))
    return value


def _texts(values, field: str, problems: list[Problem], max_items: int, max_length: int) -> list[str]:
    if values is None:
        return []
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
        problems.append(Problem(field, "INVALID_TYPE", f"{field} 必须是文字列表"))
        return []
    cleaned = list(dict.fromkeys(v.strip() for v in values if v.strip()))
    if len(cleaned) > max_items:
        problems.append(Problem(field, "TOO_MANY", f"{field} 最多 {max_items} 项"))
    elif any(len(v) > max_length or _CONTROL.search(v) for v in cleaned):
        problems.append(Problem(field, "TOO_LONG", f"{field} 每项不能超过 {max_length} 个字"))
    return cleaned


def question_fields(kind, stem, options, correct, accepted, category, tags, difficulty, explanation
                    ) -> tuple[dict, list[Problem]]:
    """The stored fields of a question and the problems of what was given (none: the fields are good).

    ``options`` are the texts of the choices (labelled A, B… in order); ``correct`` the right labels (one for
    single choice, at least two for multiple, "T" or "F" for true/false); ``accepted`` the accepted answers of a
    fill-in question."""
    problems: list[Problem] = []
    if kind not in QUESTION_KINDS:
        problems.append(Problem("kind", "UNKNOWN_VALUE", "题型只能是 单选、多选、判断、填空"))
    stem = _text(stem, "stem", problems, MAX_STEM)
    category = _text(category, "category", problems, MAX_CATEGORY)
    explanation = _text(explanation, "explanation", problems, MAX_EXPLANATION, required=False)
    tags = _texts(tags, "tags", problems, MAX_TAGS, MAX_TAG)
    if isinstance(difficulty, bool) or not isinstance(difficulty, int) or not 1 <= difficulty <= 5:
        problems.append(Problem("difficulty", "OUT_OF_RANGE", "难度必须是 1 到 5 的整数"))
    fields = {"kind": kind, "stem": stem, "category": category, "tags": tags, "difficulty": difficulty,
              "explanation": explanation, "options": [], "correct": [], "accepted": []}
    correct_keys = _texts(correct, "correct", problems, MAX_OPTIONS, 1)
    correct_keys = [key.upper() for key in correct_keys]
    if kind in ("single", "multiple"):
        texts = _texts(options, "options", problems, MAX_OPTIONS, MAX_OPTION)
        if options is not None and isinstance(options, (list, tuple)) and len(texts) != len(
                [o for o in options if isinstance(o, str) and o.strip()]):
            problems.append(Problem("options", "DUPLICATE_OPTION", "选项不能重复"))
        if len(texts) < 2:
            problems.append(Problem("options", "TOO_FEW_OPTIONS", "选择题至少需要两个选项"))
        fields["options"] = [{"key": LABELS[i], "text": t} for i, t in enumerate(texts[:MAX_OPTIONS])]
        keys = {option["key"] for option in fields["options"]}
        wanted = 1 if kind == "single" else 2
        if any(key not in keys for key in correct_keys):
            problems.append(Problem("correct", "UNKNOWN_OPTION", "正确答案不在选项之中"))
        elif kind == "single" and len(correct_keys) != 1:
            problems.append(Problem("correct", "ONE_ANSWER", "单选题须有且只有一个正确答案"))
        elif len(correct_keys) < wanted:
            problems.append(Problem("correct", "TOO_FEW_ANSWERS", "多选题至少需要两个正确答案"))
        fields["correct"] = sorted(correct_keys)
    elif kind == "true_false":
        fields["options"] = [dict(option) for option in TRUE_FALSE_OPTIONS]
        if correct_keys not in (["T"], ["F"]):
            problems.append(Problem("correct", "ONE_ANSWER", "判断题的答案只能是 正确(T) 或 错误(F)"))
        fields["correct"] = correct_keys[:1]
    elif kind == "fill":
        answers = _texts(accepted, "accepted", problems, MAX_ACCEPTED, MAX_OPTION)
        if not answers:
            problems.append(Problem("accepted", "REQUIRED", "填空题至少需要一个参考答案"))
        fields["accepted"] = answers
    return fields, problems


def is_right(question: dict, answer: dict | None) -> bool:
    """Whether ``answer`` (``{"choices": [original keys]}`` or ``{"text": ...}``) is right: choice questions need
    exactly the right keys (a multiple choice with one missing or one extra is wrong), fill-in questions one of
    the accepted answers after ``normalised``."""
    if not answer:
        return False
    if question["kind"] == "fill":
        given = normalised(answer.get("text") or "")
        return bool(given) and given in {normalised(a) for a in question["accepted"]}
    return sorted(set(answer.get("choices") or [])) == sorted(question["correct"])


# --- drawing and showing ----------------------------------------------------------------
def draw_rules(rules) -> tuple[list[dict], list[Problem]]:
    """``[{category, count, points}]`` checked: a category once, 1..100 questions, 1..100 points each."""
    problems: list[Problem] = []
    if not isinstance(rules, (list, tuple)) or not rules:
        return [], [Problem("draw", "REQUIRED", "请至少设置一个抽题分类")]
    if len(rules) > MAX_RULES:
        return [], [Problem("draw", "TOO_MANY", f"抽题分类最多 {MAX_RULES} 个")]
    cleaned, seen = [], set()
    for rule in rules:
        if not isinstance(rule, dict):
            problems.append(Problem("draw", "INVALID_TYPE", "抽题规则格式不正确"))
            continue
        category = _text(rule.get("category"), "draw.category", problems, MAX_CATEGORY)
        count, points = rule.get("count"), rule.get("points") or 1
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
            problems.append(Problem("draw.count", "OUT_OF_RANGE", f"抽题数量必须是 1 到 {MAX_COUNT} 的整数"))
        if isinstance(points, bool) or not isinstance(points, int) or not 1 <= points <= MAX_POINTS:
            problems.append(Problem("draw.points", "OUT_OF_RANGE", f"每题分值必须是 1 到 {MAX_POINTS} 的整数"))
        if category in seen:
            problems.append(Problem("draw.category", "DUPLICATE_CATEGORY", f"分类“{category}”重复"))
        seen.add(category)
        cleaned.append({"category": category, "count": count, "points": points})
    if not problems and sum(rule["count"] for rule in cleaned) > MAX_QUESTIONS:
        problems.append(Problem("draw", "TOO_MANY", f"每次答题最多 {MAX_QUESTIONS} 题"))
    return cleaned, problems


def shortfalls(rules: list[dict], available: dict[str, int]) -> list[Problem]:
    """The rules the bank cannot fill (fewer questions in a category than the rule draws)."""
    return [Problem("draw", "NOT_ENOUGH_QUESTIONS",
                    f"题库中“{rule['category']}”类题目只有 {available.get(rule['category'], 0)} 道，"
                    f"不足 {rule['count']} 道")
            for rule in rules if available.get(rule["category"], 0) < rule["count"]]


def draw(pool: dict[str, list[dict]], rules: list[dict], rng) -> list[dict]:
    """The questions of one attempt, ``[{id, order, points}]``: ``count`` of each rule's category sampled without
    replacement (so none twice), each choice question's options in a shuffled order. ``pool``: category ->
    questions. Rejected ``POOL_TOO_SMALL`` if a category has fewer questions than its rule draws (the bank
    shrank after the quiz was made)."""
    drawn = []
    for rule in rules:
        candidates = sorted(pool.get(rule["category"], []), key=lambda q: q["_id"])
        if len(candidates) < rule["count"]:
            raise Rejected(f"题库中“{rule['category']}”类题目不足，请联系组织者", code="POOL_TOO_SMALL")
        for question in rng.sample(candidates, rule["count"]):
            drawn.append({"id": question["_id"], "order": option_order(question, rng), "points": rule["points"]})
    return drawn


def option_order(question: dict, rng) -> list[str]:
    """The order the attempt shows the options in, as original keys (true/false keeps 正确, 错误)."""
    keys = [option["key"] for option in question.get("options") or []]
    if question["kind"] in ("single", "multiple"):
        rng.shuffle(keys)
    return keys


def shown_options(question: dict, order: list[str]) -> list[dict]:
    """The options as the attempt shows them: in ``order``, relabelled by position (true/false keeps T, F)."""
    texts = {option["key"]: option["text"] for option in question.get("options") or []}
    if question["kind"] == "true_false":
        return [{"key": key, "text": texts[key]} for key in order]
    return [{"key": LABELS[position], "text": texts[key]} for position, key in enumerate(order)]


def original_keys(question: dict, order: list[str], shown: list[str]) -> list[str]:
    if question["kind"] == "true_false":
        return [key for key in shown if key in order]
    return [order[LABELS.index(label)] for label in shown if label in LABELS[:len(order)]]


def shown_keys(question: dict, order: list[str], originals: list[str]) -> list[str]:
    if question["kind"] == "true_false":
        return list(originals)
    return sorted(LABELS[order.index(key)] for key in originals if key in order)


def checked_answer(question: dict, order: list[str], choices, text) -> dict:
    """A member's answer as saved: ``{"choices": [shown labels]}`` or ``{"text": ...}``; InvalidArgument for an
    answer that does not fit the question (an unknown label, two labels to a single choice, text to a choice)."""
    if question["kind"] == "fill":
        if choices:
            raise InvalidArgument("填空题请填写文字答案", code="ANSWER_KIND_MISMATCH", field="text")
        if not isinstance(text, str) or len(text) > MAX_FILL_TEXT or _CONTROL.search(text):
            raise InvalidArgument(f"答案不能超过 {MAX_FILL_TEXT} 个字", code="ANSWER_INVALID", field="text")
        return {"text": text.strip()}
    if text:
        raise InvalidArgument("选择题请选择选项", code="ANSWER_KIND_MISMATCH", field="choices")
    if not isinstance(choices, (list, tuple)) or not all(isinstance(c, str) for c in choices):
        raise InvalidArgument("choices 必须是选项列表", code="INVALID_TYPE", field="choices")
    labels = [option["key"] for option in shown_options(question, order)]
    picked = sorted({c.strip().upper() for c in choices})
    if any(label not in labels for label in picked):
        raise InvalidArgument("所选选项不存在", code="UNKNOWN_OPTION", field="choices")
    if question["kind"] != "multiple" and len(picked) > 1:
        raise InvalidArgument("此题只能选一个选项", code="ONE_ANSWER", field="choices")
    return {"choices": picked}


# --- grading ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Graded:
    score: int
    max_score: int
    right: dict[str, bool]                       # question id -> right
    by_category: dict[str, tuple[int, int]]      # category -> (answered, correct)


def grade(drawn: list[dict], questions: dict[str, dict], answers: dict[str, dict]) -> Graded:
    """Score an attempt: each right answer earns its rule's points; an unanswered question counts as answered
    wrong in the statistics (it was put to the member). A question gone from the bank is scored as drawn if it is
    still in ``questions``, else it earns nothing."""
    score = max_score = 0
    right: dict[str, bool] = {}
    by_category: dict[str, list[int]] = {}
    for entry in drawn:
        question = questions.get(entry["id"])
        max_score += entry["points"]
        if question is None:
            right[entry["id"]] = False
            continue
        answer = answers.get(entry["id"])
        if answer and "choices" in answer:
            answer = {"choices": original_keys(question, entry["order"], answer["choices"])}
        ok = is_right(question, answer)
        right[entry["id"]] = ok
        score += entry["points"] if ok else 0
        counts = by_category.setdefault(question["category"], [0, 0])
        counts[0] += 1
        counts[1] += int(ok)
    return Graded(score, max_score, right, {c: (n, k) for c, (n, k) in by_category.items()})


def better(candidate: dict, kept: dict | None) -> bool:
    """Whether a finished attempt's ``{score, seconds}`` beats the kept best: a higher score, or the same in less
    time."""
    return kept is None or (candidate["score"], -candidate["seconds"]) > (kept["score"], -kept["seconds"])


def counted(result: dict, grading: str) -> dict:
    """The attempt a member's result counts: its best (``highest``) or its latest (``last``)."""
    return result["best"] if grading == "highest" else result["last"]


# --- the daily question -----------------------------------------------------------------
def daily_pick(question_ids: list[str], member_id: str, day: str) -> str | None:
    """The member's question of the day: the same for the same member and China date, different members
    spread over the bank (a hash of both, not a random draw, so a page reload shows the same question)."""
    if not question_ids:
        return None
    ordered = sorted(question_ids)
    digest = hashlib.sha256(f"{member_id}:{day}".encode()).digest()
    return ordered[int.from_bytes(digest[:8], "big") % len(ordered)]


# --- leaderboards -----------------------------------------------------------------------
def ranked_members(results: list[dict]) -> list[dict]:
    """Results ranked by score, ties broken by less time used, then by who finished first; ``rank`` 1..n."""
    ordered = sorted(results, key=lambda r: (-r["score"], r["seconds"], r.get("finished_at") or "", r["member_id"]))
    return [{**row, "rank": position} for position, row in enumerate(ordered, start=1)]


def ranked_groups(results: list[dict], key: str, name_key: str) -> list[dict]:
    """Groups (branches or counties) ranked by the average counted score of their participants, ties broken by
    the average time used: ``{id, name, participants, average_score, average_seconds, rank}``."""
    groups: dict[str, dict] = {}
    for row in results:
        group_id = row.get(key)
        if not group_id:
            continue
        group = groups.setdefault(group_id, {"id": group_id, "name": row.get(name_key) or "", "participants": 0,
                                             "total": 0, "seconds": 0})
        group["participants"] += 1
        group["total"] += row["score"]
        group["seconds"] += row["seconds"]
    rows = [{"id": g["id"], "name": g["name"], "participants": g["participants"],
             "average_score": round(g["total"] / g["participants"], 2),
             "average_seconds": round(g["seconds"] / g["participants"], 1)} for g in groups.values()]
    rows.sort(key=lambda g: (-g["average_score"], g["average_seconds"], g["id"]))
    return [{**row, "rank": position} for position, row in enumerate(rows, start=1)]


# --- the attempt's lifecycle ------------------------------------------------------------
class AttemptState(str, Enum):
    IN_PROGRESS = "in_progress"     # answers are saved one by one until the deadline
    SUBMITTED = "submitted"         # the member submitted: graded
    EXPIRED = "expired"             # the deadline passed: graded with what was saved (auto-submitted)


IN_PROGRESS, SUBMITTED, EXPIRED = AttemptState
FINISHED = frozenset({SUBMITTED, EXPIRED})


def _before_deadline(attempt: dict, now: datetime) -> bool:
    return now < _deadline(attempt)


def _past_deadline(attempt: dict, now: datetime) -> bool:
    return now >= _deadline(attempt)


def _deadline(attempt: dict) -> datetime:
    return datetime.fromisoformat(attempt["deadline_at"].replace("Z", "+00:00"))


@dataclass(frozen=True)
class Transition:
    """From ``sources`` to ``target`` (None: an action, the state stays): Conflict ``code`` from another state;
    ``guard(doc, now)`` must hold too, else Conflict ``guard_code``."""
    name: str
    sources: frozenset
    target: object
    code: str
    message: str
    guard: Callable[[dict, datetime], bool] | None = None
    guard_code: str = ""
    guard_message: str = ""


_FINISHED = ("ATTEMPT_FINISHED", "本次答题已交卷")
SAVE_ANSWER = Transition("save_answer", frozenset({IN_PROGRESS}), None, *_FINISHED, guard=_before_deadline,
                         guard_code="ATTEMPT_EXPIRED", guard_message="答题时间已到，已按已保存的答案交卷")
SUBMIT = Transition("submit", frozenset({IN_PROGRESS}), SUBMITTED, *_FINISHED, guard=_before_deadline,
                    guard_code="ATTEMPT_EXPIRED", guard_message="答题时间已到，已按已保存的答案交卷")
EXPIRE = Transition("expire", frozenset({IN_PROGRESS}), EXPIRED, *_FINISHED, guard=_past_deadline,
                    guard_code="ATTEMPT_NOT_DUE", guard_message="答题时间未到")
ATTEMPT_TRANSITIONS = (SAVE_ANSWER, SUBMIT, EXPIRE)


def attempt_state(attempt: dict) -> AttemptState:
    return AttemptState(attempt["state"])


def finishing(attempt: dict, now: datetime) -> Transition:
    """How an attempt in progress finishes now: submitted before its deadline, expired after it."""
    return SUBMIT if _before_deadline(attempt, now) else EXPIRE


def attempt_allows(transition: Transition, attempt: dict, now: datetime) -> bool:
    return attempt_state(attempt) in transition.sources and (transition.guard is None or transition.guard(attempt, now))


def apply_to_attempt(transition: Transition, attempt: dict, now: datetime) -> AttemptState:
    state = attempt_state(attempt)
    if state not in transition.sources:
        raise Conflict(transition.message, code=transition.code)
    if transition.guard is not None and not transition.guard(attempt, now):
        raise Conflict(transition.guard_message, code=transition.guard_code)
    return transition.target or state


def deadline(started: datetime, time_limit_seconds: int, close_at: datetime) -> datetime:
    """An attempt's deadline: its time limit from the start, and never after the quiz closes."""
    return min(started + timedelta(seconds=time_limit_seconds), close_at)


def seconds_used(attempt: dict, finished: datetime) -> int:
    started = datetime.fromisoformat(attempt["started_at"].replace("Z", "+00:00"))
    return max(0, int(round((min(finished, _deadline(attempt)) - started).total_seconds())))


# --- the quiz's lifecycle ---------------------------------------------------------------
class QuizPhase(str, Enum):
    UPCOMING = "upcoming"       # before open_at
    OPEN = "open"               # attempts may start
    CLOSED = "closed"           # after close_at
    FINISHED = "finished"       # a contest whose ranks went out (contest_finished per participant)


UPCOMING, OPEN, CLOSED, FINISHED_PHASE = QuizPhase


def phase(quiz: dict, now: datetime) -> QuizPhase:
    if quiz.get("finished_at"):
        return FINISHED_PHASE
    if now < parse_time(quiz["open_at"]):
        return UPCOMING
    return OPEN if now < parse_time(quiz["close_at"]) else CLOSED


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _is_contest(quiz: dict, now: datetime) -> bool:
    return quiz["kind"] == "contest"


START_ATTEMPT = Transition("start_attempt", frozenset({OPEN}), None, "QUIZ_NOT_OPEN", "答题未开放或已结束")
FINISH_CONTEST = Transition("finish_contest", frozenset({CLOSED}), FINISHED_PHASE, "CONTEST_NOT_CLOSED",
                            "竞赛尚未结束或已公布名次", guard=_is_contest, guard_code="NOT_A_CONTEST",
                            guard_message="只有知识竞赛公布名次")
QUIZ_TRANSITIONS = (START_ATTEMPT, FINISH_CONTEST)


def quiz_allows(transition: Transition, quiz: dict, now: datetime) -> bool:
    return phase(quiz, now) in transition.sources and (transition.guard is None or transition.guard(quiz, now))


def apply_to_quiz(transition: Transition, quiz: dict, now: datetime) -> QuizPhase:
    current = phase(quiz, now)
    if current not in transition.sources:
        raise Conflict(transition.message, code=transition.code)
    if transition.guard is not None and not transition.guard(quiz, now):
        raise Conflict(transition.guard_message, code=transition.guard_code)
    return transition.target or current


def review_open(quiz: dict, attempt: dict, now: datetime) -> bool:
    """Whether the right answers of a finished attempt may be shown: never before it is finished, and per the
    quiz's rule after that (``after_close``: once the quiz has closed)."""
    if attempt_state(attempt) not in FINISHED:
        return False
    rule = quiz.get("review", "never")
    if rule == "after_submit":
        return True
    return rule == "after_close" and now >= parse_time(quiz["close_at"])
