"""The quiz rules alone: questions checked, fill-in answers normalised, drawing without repeats, shuffled options
mapped back, grading, the attempt's and the quiz's state machines transition by transition, rankings."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from servicekit.errors import Conflict, InvalidArgument, Rejected
from services.content.domain import quizzes as rules

T0 = datetime(2026, 12, 6, 8, 0, tzinfo=timezone.utc)


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def question(qid: str, kind: str = "single", category: str = "党章", **extra) -> dict:
    options = {"single": ["甲", "乙", "丙", "丁"], "multiple": ["甲", "乙", "丙", "丁"], "true_false": None,
               "fill": None}[kind]
    correct = {"single": ["B"], "multiple": ["A", "C"], "true_false": ["T"], "fill": []}[kind]
    accepted = ["一九二一年", "1921年"] if kind == "fill" else []
    fields, problems = rules.question_fields(kind, f"题目{qid}", options, correct, accepted, category, [], 3, "解析")
    assert problems == []
    return {"_id": qid, **fields, **extra}


# --- questions ----------------------------------------------------------------------------
def test_a_good_question_of_each_kind_has_no_problem():
    for kind in rules.QUESTION_KINDS:
        q = question("q", kind)
        assert q["kind"] == kind
    assert question("q", "true_false")["options"] == [{"key": "T", "text": "正确"}, {"key": "F", "text": "错误"}]
    assert question("q", "single")["options"][1] == {"key": "B", "text": "乙"}


@pytest.mark.parametrize("args, field, code", [
    (("essay", "题", ["a", "b"], ["A"], [], "党章", [], 3, ""), "kind", "UNKNOWN_VALUE"),
    (("single", "", ["a", "b"], ["A"], [], "党章", [], 3, ""), "stem", "REQUIRED"),
    (("single", "题", ["a"], ["A"], [], "党章", [], 3, ""), "options", "TOO_FEW_OPTIONS"),
    (("single", "题", ["a", "a"], ["A"], [], "党章", [], 3, ""), "options", "DUPLICATE_OPTION"),
    (("single", "题", ["a", "b"], ["A", "B"], [], "党章", [], 3, ""), "correct", "ONE_ANSWER"),
    (("single", "题", ["a", "b"], ["C"], [], "党章", [], 3, ""), "correct", "UNKNOWN_OPTION"),
    (("multiple", "题", ["a", "b", "c"], ["A"], [], "党章", [], 3, ""), "correct", "TOO_FEW_ANSWERS"),
    (("true_false", "题", None, ["X"], [], "党章", [], 3, ""), "correct", "ONE_ANSWER"),
    (("fill", "题", None, [], [], "党章", [], 3, ""), "accepted", "REQUIRED"),
    (("single", "题", ["a", "b"], ["A"], [], "", [], 3, ""), "category", "REQUIRED"),
    (("single", "题", ["a", "b"], ["A"], [], "党章", [], 6, ""), "difficulty", "OUT_OF_RANGE"),
    (("single", "题", ["a", "b"], ["A"], [], "党章", [], True, ""), "difficulty", "OUT_OF_RANGE"),
    (("single", "题\x07", ["a", "b"], ["A"], [], "党章", [], 3, ""), "stem", "CONTROL_CHARACTERS"),
])
def test_bad_questions_name_their_field(args, field, code):
    _fields, problems = rules.question_fields(*args)
    assert (problems[0].field, problems[0].code) == (field, code)


def test_fill_in_answers_are_compared_trimmed_and_width_folded():
    q = question("q", "fill")
    assert rules.is_right(q, {"text": " １９２１年 "})       # full-width digits, spaces around
    assert rules.is_right(q, {"text": "一九二一年"})
    assert not rules.is_right(q, {"text": "1922年"})
    assert not rules.is_right(q, {"text": "   "})
    assert rules.normalised("ＡＢＣ　ｄ") == "abc d"


def test_multiple_choice_needs_exactly_the_right_options():
    q = question("q", "multiple")
    assert rules.is_right(q, {"choices": ["C", "A"]})
    assert not rules.is_right(q, {"choices": ["A"]})
    assert not rules.is_right(q, {"choices": ["A", "B", "C"]})
    assert not rules.is_right(q, None)


# --- drawing and shuffling ----------------------------------------------------------------
def pool(n_per_category: int = 10) -> dict[str, list[dict]]:
    return {c: [question(f"{c}{i}", "single", c) for i in range(n_per_category)] for c in ("党章", "党史")}


def test_a_draw_takes_each_category_count_and_never_repeats_a_question():
    for seed in range(50):
        drawn = rules.draw(pool(), [{"category": "党章", "count": 10, "points": 1},
                                    {"category": "党史", "count": 4, "points": 2}], random.Random(seed))
        ids = [entry["id"] for entry in drawn]
        assert len(ids) == 14 == len(set(ids))
        assert sum(1 for i in ids if i.startswith("党章")) == 10
        assert {entry["points"] for entry in drawn if entry["id"].startswith("党史")} == {2}


def test_draws_are_random_but_deterministic_per_seed():
    rule = [{"category": "党章", "count": 3, "points": 1}]
    assert rules.draw(pool(), rule, random.Random("a")) == rules.draw(pool(), rule, random.Random("a"))
    assert len({tuple(e["id"] for e in rules.draw(pool(), rule, random.Random(seed))) for seed in range(20)}) > 5


def test_a_category_short_of_questions_cannot_be_drawn():
    with pytest.raises(Rejected) as refused:
        rules.draw(pool(2), [{"category": "党章", "count": 3, "points": 1}], random.Random(1))
    assert refused.value.code == "POOL_TOO_SMALL"
    assert [p.code for p in rules.shortfalls([{"category": "党史", "count": 3, "points": 1}], {"党史": 2})] == [
        "NOT_ENOUGH_QUESTIONS"]


def test_shuffled_options_are_relabelled_and_mapped_back_for_grading():
    q = question("q1", "single")            # right: B 乙
    orders = {tuple(rules.option_order(q, random.Random(seed))) for seed in range(30)}
    assert len(orders) > 5                   # the options really move
    order = ["C", "B", "D", "A"]             # shown: A 丙, B 乙, C 丁, D 甲
    assert [o["key"] for o in rules.shown_options(q, order)] == ["A", "B", "C", "D"]
    assert [o["text"] for o in rules.shown_options(q, order)] == ["丙", "乙", "丁", "甲"]
    drawn = [{"id": "q1", "order": order, "points": 5}]
    assert rules.grade(drawn, {"q1": q}, {"q1": {"choices": ["B"]}}).score == 5
    assert rules.grade(drawn, {"q1": q}, {"q1": {"choices": ["A"]}}).score == 0
    assert rules.shown_keys(q, order, q["correct"]) == ["B"]
    order = ["B", "A", "C", "D"]
    assert rules.shown_keys(q, order, q["correct"]) == ["A"]


def test_an_answer_must_fit_its_question():
    single, fill = question("s", "single"), question("f", "fill")
    order = ["A", "B", "C", "D"]
    assert rules.checked_answer(single, order, ["b"], "") == {"choices": ["B"]}
    assert rules.checked_answer(fill, [], [], " 1921年 ") == {"text": "1921年"}
    for q, choices, text, code in ((single, ["E"], "", "UNKNOWN_OPTION"), (single, ["A", "B"], "", "ONE_ANSWER"),
                                   (single, [], "甲", "ANSWER_KIND_MISMATCH"), (fill, ["A"], "", "ANSWER_KIND_MISMATCH"),
                                   (fill, [], "字" * 201, "ANSWER_INVALID"), (single, "A", "", "INVALID_TYPE")):
        with pytest.raises(InvalidArgument) as refused:
            rules.checked_answer(q, order, choices, text)
        assert refused.value.code == code


def test_grading_counts_points_and_categories_unanswered_as_wrong():
    questions = {"a": question("a", "single", "党章"), "b": question("b", "true_false", "党史"),
                 "c": question("c", "fill", "党史")}
    drawn = [{"id": "a", "order": ["A", "B", "C", "D"], "points": 2}, {"id": "b", "order": ["T", "F"], "points": 1},
             {"id": "c", "order": [], "points": 3}]
    graded = rules.grade(drawn, questions, {"a": {"choices": ["B"]}, "c": {"text": "1921年"}})
    assert (graded.score, graded.max_score) == (5, 6)
    assert graded.right == {"a": True, "b": False, "c": True}
    assert graded.by_category == {"党章": (1, 1), "党史": (2, 1)}


@pytest.mark.parametrize("rule_list, code", [
    ([], "REQUIRED"), ([{"category": "党章", "count": 0}], "OUT_OF_RANGE"),
    ([{"category": "党章", "count": 1}, {"category": "党章", "count": 2}], "DUPLICATE_CATEGORY"),
    ([{"category": "党章", "count": 1, "points": 101}], "OUT_OF_RANGE"), ("党章", "REQUIRED"),
    ([{"category": "党章", "count": 100}, {"category": "党史", "count": 101}], "OUT_OF_RANGE"),
])
def test_bad_draw_rules(rule_list, code):
    _rules, problems = rules.draw_rules(rule_list)
    assert problems and problems[0].code == code


# --- the attempt's lifecycle ------------------------------------------------------------
def attempt(state: str = "in_progress", minutes: int = 10) -> dict:
    return {"state": state, "started_at": stamp(T0), "deadline_at": stamp(T0 + timedelta(minutes=minutes))}


def test_an_attempt_in_progress_takes_answers_and_submits_before_its_deadline():
    before = T0 + timedelta(minutes=9)
    assert rules.apply_to_attempt(rules.SAVE_ANSWER, attempt(), before) is rules.IN_PROGRESS
    assert rules.finishing(attempt(), before) is rules.SUBMIT
    assert rules.apply_to_attempt(rules.SUBMIT, attempt(), before) is rules.SUBMITTED


def test_past_its_deadline_an_attempt_only_expires():
    after = T0 + timedelta(minutes=10)
    assert rules.finishing(attempt(), after) is rules.EXPIRE
    assert rules.apply_to_attempt(rules.EXPIRE, attempt(), after) is rules.EXPIRED
    for transition in (rules.SAVE_ANSWER, rules.SUBMIT):
        with pytest.raises(Conflict) as refused:
            rules.apply_to_attempt(transition, attempt(), after)
        assert refused.value.code == "ATTEMPT_EXPIRED"
    with pytest.raises(Conflict) as refused:
        rules.apply_to_attempt(rules.EXPIRE, attempt(), T0)
    assert refused.value.code == "ATTEMPT_NOT_DUE"


@pytest.mark.parametrize("state", ["submitted", "expired"])
@pytest.mark.parametrize("transition", rules.ATTEMPT_TRANSITIONS, ids=lambda t: t.name)
def test_a_finished_attempt_allows_nothing(state, transition):
    with pytest.raises(Conflict) as refused:
        rules.apply_to_attempt(transition, attempt(state), T0)
    assert refused.value.code == "ATTEMPT_FINISHED"


def test_the_deadline_never_passes_the_close_and_time_used_is_capped():
    assert rules.deadline(T0, 600, T0 + timedelta(minutes=5)) == T0 + timedelta(minutes=5)
    assert rules.deadline(T0, 600, T0 + timedelta(hours=1)) == T0 + timedelta(minutes=10)
    assert rules.seconds_used(attempt(), T0 + timedelta(hours=2)) == 600
    assert rules.seconds_used(attempt(), T0 + timedelta(seconds=42)) == 42


# --- the quiz's lifecycle ---------------------------------------------------------------
def quiz(kind: str = "contest", finished_at=None, review: str = "after_close") -> dict:
    return {"kind": kind, "open_at": stamp(T0), "close_at": stamp(T0 + timedelta(hours=1)), "finished_at": finished_at,
            "review": review}


def test_quiz_phases_follow_the_clock():
    assert rules.phase(quiz(), T0 - timedelta(seconds=1)) is rules.UPCOMING
    assert rules.phase(quiz(), T0) is rules.OPEN
    assert rules.phase(quiz(), T0 + timedelta(hours=1)) is rules.CLOSED
    assert rules.phase(quiz(finished_at="x"), T0) is rules.FINISHED_PHASE


def test_attempts_start_only_while_open():
    assert rules.apply_to_quiz(rules.START_ATTEMPT, quiz(), T0) is rules.OPEN
    for moment in (T0 - timedelta(minutes=1), T0 + timedelta(hours=2)):
        with pytest.raises(Conflict) as refused:
            rules.apply_to_quiz(rules.START_ATTEMPT, quiz(), moment)
        assert refused.value.code == "QUIZ_NOT_OPEN"


def test_only_a_closed_contest_is_finished_and_only_once():
    closed = T0 + timedelta(hours=2)
    assert rules.apply_to_quiz(rules.FINISH_CONTEST, quiz(), closed) is rules.FINISHED_PHASE
    with pytest.raises(Conflict) as refused:
        rules.apply_to_quiz(rules.FINISH_CONTEST, quiz(), T0)
    assert refused.value.code == "CONTEST_NOT_CLOSED"
    with pytest.raises(Conflict) as refused:
        rules.apply_to_quiz(rules.FINISH_CONTEST, quiz(finished_at="x"), closed)
    assert refused.value.code == "CONTEST_NOT_CLOSED"
    with pytest.raises(Conflict) as refused:
        rules.apply_to_quiz(rules.FINISH_CONTEST, quiz("quiz"), closed)
    assert refused.value.code == "NOT_A_CONTEST"


def test_review_rules():
    done, running = attempt("submitted"), attempt()
    during, after = T0 + timedelta(minutes=30), T0 + timedelta(hours=1)
    assert not rules.review_open(quiz(review="after_submit"), running, during)
    assert rules.review_open(quiz(review="after_submit"), done, during)
    assert not rules.review_open(quiz(review="after_close"), done, during)
    assert rules.review_open(quiz(review="after_close"), done, after)
    assert not rules.review_open(quiz(review="never"), done, after)


# --- rankings and the daily question ------------------------------------------------------
def test_members_rank_by_score_then_less_time():
    rows = [{"member_id": "m1", "score": 8, "seconds": 300}, {"member_id": "m2", "score": 9, "seconds": 500},
            {"member_id": "m3", "score": 8, "seconds": 200}]
    assert [(r["member_id"], r["rank"]) for r in rules.ranked_members(rows)] == [("m2", 1), ("m3", 2), ("m1", 3)]


def test_groups_rank_by_average_with_participants():
    rows = [{"branch_id": "b1", "branch_name": "一", "score": 10, "seconds": 100},
            {"branch_id": "b1", "branch_name": "一", "score": 6, "seconds": 100},
            {"branch_id": "b2", "branch_name": "二", "score": 9, "seconds": 50}]
    ranked = rules.ranked_groups(rows, "branch_id", "branch_name")
    assert [(g["id"], g["participants"], g["average_score"], g["rank"]) for g in ranked] == [
        ("b2", 1, 9.0, 1), ("b1", 2, 8.0, 2)]


def test_best_and_counted_attempts():
    assert rules.better({"score": 8, "seconds": 100}, {"score": 8, "seconds": 120})
    assert not rules.better({"score": 8, "seconds": 130}, {"score": 8, "seconds": 120})
    assert rules.better({"score": 1, "seconds": 1}, None)
    result = {"best": {"score": 9}, "last": {"score": 5}}
    assert rules.counted(result, "highest")["score"] == 9 and rules.counted(result, "last")["score"] == 5


def test_the_daily_pick_is_stable_per_member_and_day_and_spreads():
    ids = [f"q{i}" for i in range(50)]
    assert rules.daily_pick(ids, "m1", "2026-12-06") == rules.daily_pick(list(reversed(ids)), "m1", "2026-12-06")
    assert len({rules.daily_pick(ids, f"m{i}", "2026-12-06") for i in range(40)}) > 10
    assert len({rules.daily_pick(ids, "m1", f"2026-12-{d:02d}") for d in range(1, 29)}) > 10
    assert rules.daily_pick([], "m1", "2026-12-06") is None
