"""The question bank, quizzes, attempts, the daily question and contests through the service's entry points,
with an in-memory quiz store (quiz_fakes.py), a fixed clock and the fake identity."""
from __future__ import annotations

import base64
import io
import json
from datetime import timedelta

import pytest
from nameko.testing.services import worker_factory
from openpyxl import Workbook

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from servicekit.timestamps import stamp
from services.content.orgs import OrgPaths
from services.content.quizdesk import QuizDesk
from services.content.service import ContentService
from tests.fast.content.fakes import (BRANCH, BRANCH2, CITY, CITY_ADMIN, COUNTY, COUNTY_ADMIN, COUNTY_B, FOREIGN_ADMIN,
                                      MEMBER, NOW, OTHER_COUNTY_ADMIN, OTHER_MEMBER, SECRETARY, scope)
from tests.fast.content.quiz_fakes import quiz_store, seeded_question

MEMBER_2 = scope("member", None, member_id="m_2", branch_id=BRANCH)
MEMBER_3 = scope("member", None, member_id="m_3", branch_id=BRANCH2)


@pytest.fixture
def memory_and_store():
    return quiz_store()


@pytest.fixture
def store(memory_and_store):
    return memory_and_store[0]


@pytest.fixture
def memory(memory_and_store):
    return memory_and_store[1]


@pytest.fixture
def service(store, clock, identity):
    return worker_factory(ContentService, store=store, clock=clock, identity=identity, org_paths=OrgPaths(),
                          quiz_desk=QuizDesk())


@pytest.fixture
def bank(memory):
    """Twelve 党章 and six 党史 single-choice questions of the city, four 党史 of the county, one fill-in."""
    for i in range(12):
        seeded_question(memory, f"qz{i:02d}", "党章")
    for i in range(6):
        seeded_question(memory, f"qs{i:02d}", "党史")
    for i in range(4):
        seeded_question(memory, f"qc{i:02d}", "党史", org_id=COUNTY)
    seeded_question(memory, "qfill", "理论学习", kind="fill")
    return memory


def new_quiz(service, caller=CITY_ADMIN, **overrides) -> dict:
    fields = {"org_id": CITY, "kind": "quiz", "title": "党章学习测试", "open_at": stamp(NOW - timedelta(hours=1)),
              "close_at": stamp(NOW + timedelta(hours=2)), "time_limit_seconds": 600, "max_attempts": 2,
              "grading": "highest", "review": "after_submit", "draw": [{"category": "党章", "count": 5, "points": 2}]}
    fields.update(overrides)
    return service.create_quiz(caller, **fields)


def right_label(question_view: dict) -> str:
    return next(o["key"] for o in question_view["options"] if o["text"] == "乙")


def wrong_label(question_view: dict) -> str:
    return next(o["key"] for o in question_view["options"] if o["text"] == "甲")


def answer_all(service, caller, attempt: dict, right: int) -> None:
    for position, question in enumerate(attempt["questions"]):
        label = right_label(question) if position < right else wrong_label(question)
        service.save_quiz_answer(caller, attempt_id=attempt["id"], question_id=question["id"], choices=[label])


# --- the bank ---------------------------------------------------------------------------
def test_an_admin_adds_a_question_and_its_subtree_sees_it(service, memory):
    made = service.create_bank_question(COUNTY_ADMIN, org_id=COUNTY, kind="multiple", stem="三会一课包括？",
                                        options=["党员大会", "支委会", "党小组会", "党课"], correct=["A", "B", "C", "D"],
                                        category="党纪法规", tags=["组织生活"], difficulty=2, explanation="见条例")
    assert made["correct"] == ["A", "B", "C", "D"] and made["org_id"] == COUNTY
    assert [q["id"] for q in service.list_bank_questions(COUNTY_ADMIN, org_id=COUNTY)["questions"]] == [made["id"]]
    assert service.list_bank_questions(CITY_ADMIN, org_id=COUNTY, category="党章")["questions"] == []
    with pytest.raises(NotFound) as refused:
        service.list_bank_questions(OTHER_COUNTY_ADMIN, org_id=COUNTY)
    assert refused.value.code == "ORG_NOT_FOUND"
    assert service.list_bank_questions(OTHER_COUNTY_ADMIN, org_id=COUNTY_B)["questions"] == []


@pytest.mark.parametrize("caller", [MEMBER, SECRETARY])
def test_members_and_secretaries_cannot_add_questions(service, memory, caller):
    with pytest.raises(PermissionDenied):
        service.create_bank_question(caller, org_id=BRANCH, kind="true_false", stem="题", correct=["T"], category="党章")
    assert memory.questions == {}


@pytest.mark.parametrize("caller, org_id", [(OTHER_COUNTY_ADMIN, COUNTY), (FOREIGN_ADMIN, CITY),
                                            (COUNTY_ADMIN, "nope")])
def test_a_bank_outside_the_caller_is_not_found(service, memory, caller, org_id):
    with pytest.raises(NotFound) as refused:
        service.create_bank_question(caller, org_id=org_id, kind="true_false", stem="题", correct=["T"], category="党章")
    assert refused.value.code == "ORG_NOT_FOUND"
    assert memory.questions == {}


@pytest.mark.parametrize("fields, field, code", [
    ({"kind": "essay"}, "kind", "UNKNOWN_VALUE"), ({"stem": ""}, "stem", "REQUIRED"),
    ({"correct": ["C"]}, "correct", "UNKNOWN_OPTION"), ({"difficulty": 9}, "difficulty", "OUT_OF_RANGE"),
    ({"category": 5}, "category", "INVALID_TYPE"), ({"options": "甲乙"}, "options", "INVALID_TYPE"),
])
def test_bad_questions_are_refused_and_nothing_is_stored(service, memory, fields, field, code):
    good = {"org_id": CITY, "kind": "single", "stem": "题", "options": ["甲", "乙"], "correct": ["A"], "category": "党章"}
    with pytest.raises(InvalidArgument) as refused:
        service.create_bank_question(CITY_ADMIN, **{**good, **fields})
    assert (refused.value.field, refused.value.code) == (field, code)
    assert memory.questions == {}


def workbook(rows) -> str:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return base64.b64encode(buffer.getvalue()).decode()


HEADER = ["题型", "题干", "选项A", "选项B", "答案", "分类", "难度"]


def test_an_xlsx_import_stores_all_rows_or_none(service, memory):
    good = workbook([HEADER, ["单选", "题一", "甲", "乙", "B", "党章", 2], ["判断", "题二", "", "", "错", "党史", ""]])
    assert service.import_bank_questions(CITY_ADMIN, org_id=CITY, format="xlsx", content=good)["imported"] == 2
    assert sorted(q["kind"] for q in memory.questions.values()) == ["single", "true_false"]
    bad = workbook([HEADER, ["单选", "题三", "甲", "乙", "B", "党章", 2], ["单选", "题四", "甲", "乙", "Z", "", 2],
                    ["问答", "题五", "", "", "x", "党章", 1]])
    with pytest.raises(InvalidArgument) as refused:
        service.import_bank_questions(CITY_ADMIN, org_id=CITY, format="xlsx", content=bad)
    assert refused.value.code == "IMPORT_REJECTED"
    assert {(d["line"], d["field"]) for d in refused.value.details} >= {(3, "correct"), (3, "category"), (4, "kind")}
    assert len(memory.questions) == 2          # the good row of the bad file was not stored either
    with pytest.raises(PermissionDenied):
        service.import_bank_questions(MEMBER, org_id=BRANCH, format="xlsx", content=good)
    with pytest.raises(InvalidArgument) as refused:
        service.import_bank_questions(CITY_ADMIN, org_id=CITY, format="xlsx", content="***")
    assert refused.value.code == "CONTENT_NOT_BASE64"


def test_retiring_a_question_is_for_admins_of_its_node(service, bank):
    with pytest.raises(PermissionDenied):
        service.retire_bank_question(COUNTY_ADMIN, question_id="qz00")       # the city's: seen, not the county's
    with pytest.raises(NotFound):
        service.retire_bank_question(OTHER_COUNTY_ADMIN, question_id="qc00")
    assert service.retire_bank_question(COUNTY_ADMIN, question_id="qc00") == {}
    assert bank.questions["qc00"]["retired"] is True
    with pytest.raises(NotFound):
        service.retire_bank_question(COUNTY_ADMIN, question_id="qc00")


# --- quizzes ----------------------------------------------------------------------------
@pytest.mark.parametrize("fields, field, code", [
    ({"kind": "exam"}, "kind", "UNKNOWN_VALUE"), ({"title": ""}, "title", "REQUIRED"),
    ({"open_at": "tomorrow"}, "open_at", "TIME_INVALID"),
    ({"open_at": "2026-12-06T08:00:00"}, "open_at", "TIME_INVALID"),
    ({"close_at": stamp(NOW - timedelta(hours=2))}, "close_at", "CLOSE_BEFORE_OPEN"),
    ({"open_at": stamp(NOW - timedelta(hours=3)), "close_at": stamp(NOW - timedelta(hours=2))}, "close_at",
     "CLOSE_IN_PAST"),
    ({"time_limit_seconds": 10}, "time_limit_seconds", "OUT_OF_RANGE"), ({"max_attempts": 101}, "max_attempts",
                                                                          "OUT_OF_RANGE"),
    ({"grading": "average"}, "grading", "UNKNOWN_VALUE"), ({"review": "always"}, "review", "UNKNOWN_VALUE"),
    ({"draw": []}, "draw", "REQUIRED"), ({"draw": [{"category": "党章", "count": 13}]}, "draw", "NOT_ENOUGH_QUESTIONS"),
])
def test_bad_quizzes_are_refused_and_nothing_is_stored(service, bank, fields, field, code):
    with pytest.raises(InvalidArgument) as refused:
        new_quiz(service, **fields)
    assert (refused.value.field, refused.value.code) == (field, code)
    assert bank.quizzes == {}


def test_a_quiz_draws_from_its_node_and_ancestors_only(service, bank):
    with pytest.raises(InvalidArgument):      # the city sees 6 党史, not the county's 4
        new_quiz(service, draw=[{"category": "党史", "count": 8}])
    made = new_quiz(service, COUNTY_ADMIN, org_id=COUNTY, draw=[{"category": "党史", "count": 8}])
    assert made["question_count"] == 8 and made["phase"] == "open"


@pytest.mark.parametrize("caller, org_id, error", [
    (MEMBER, BRANCH, PermissionDenied), (OTHER_COUNTY_ADMIN, COUNTY, NotFound), (FOREIGN_ADMIN, CITY, NotFound),
    (SECRETARY, COUNTY, NotFound)])
def test_quizzes_are_made_by_staff_of_the_node(service, bank, caller, org_id, error):
    with pytest.raises(error):
        new_quiz(service, caller, org_id=org_id)
    assert bank.quizzes == {}


def test_another_county_cannot_see_or_take_a_county_quiz(service, bank):
    quiz = new_quiz(service, COUNTY_ADMIN, org_id=COUNTY, draw=[{"category": "党史", "count": 3}])
    for caller in (OTHER_COUNTY_ADMIN, FOREIGN_ADMIN, OTHER_MEMBER):
        with pytest.raises(NotFound) as refused:
            service.get_quiz(caller, quiz_id=quiz["id"])
        assert refused.value.code == "QUIZ_NOT_FOUND"
    with pytest.raises(NotFound) as refused:
        service.start_quiz_attempt(OTHER_MEMBER, quiz_id=quiz["id"])
    assert refused.value.code == "QUIZ_NOT_FOUND"
    with pytest.raises(NotFound) as missing:
        service.get_quiz(COUNTY_ADMIN, quiz_id="quz_nothing")
    assert missing.value.code == refused.value.code
    assert service.get_quiz(CITY_ADMIN, quiz_id=quiz["id"])["id"] == quiz["id"]       # from above
    assert service.get_quiz(MEMBER, quiz_id=quiz["id"])["mine"]["attempts"] == 0
    assert [q["id"] for q in service.list_my_quizzes(MEMBER)["quizzes"]] == [quiz["id"]]
    assert service.list_my_quizzes(OTHER_MEMBER)["quizzes"] == []
    assert [q["id"] for q in service.list_quizzes(COUNTY_ADMIN, org_id=COUNTY)["quizzes"]] == [quiz["id"]]
    assert service.list_quizzes(OTHER_COUNTY_ADMIN, org_id=COUNTY_B)["quizzes"] == []
    assert bank.attempts == {}


# --- attempts ---------------------------------------------------------------------------
def test_no_right_answer_is_sent_before_the_attempt_is_submitted(service, bank):
    quiz = new_quiz(service, review="after_submit", draw=[{"category": "党章", "count": 5},
                                                          {"category": "理论学习", "count": 1}])
    attempt = service.start_quiz_attempt(MEMBER, quiz_id=quiz["id"])
    fill = next(q for q in attempt["questions"] if q["kind"] == "fill")
    saved = service.save_quiz_answer(MEMBER, attempt_id=attempt["id"], question_id=fill["id"], text="１９２１年")
    reread = service.get_quiz_attempt(MEMBER, attempt_id=attempt["id"])
    for answer in (attempt, saved, reread):
        text = json.dumps(answer, ensure_ascii=False)
        assert '"review"' not in text and '"correct"' not in text and '"accepted"' not in text
        assert "解析" not in text and "1921年" not in text and '"score"' not in text
    assert reread["questions"][[q["id"] for q in reread["questions"]].index(fill["id"])]["text"] == "１９２１年"
    done = service.submit_quiz_attempt(MEMBER, attempt_id=attempt["id"])
    assert done["reviewed"] is True and all("review" in q for q in done["questions"])
    assert next(q for q in done["questions"] if q["id"] == fill["id"])["review"]["right"] is True


def test_review_after_close_waits_for_the_close(service, bank, clock):
    quiz = new_quiz(service, review="after_close")
    attempt = service.start_quiz_attempt(MEMBER, quiz_id=quiz["id"])
    done = service.submit_quiz_attempt(MEMBER, attempt_id=attempt["id"])
    assert done["reviewed"] is False and done["score"] == 0
    assert '"review"' not in json.dumps(done) and "解析" not in json.dumps(done, ensure_ascii=False)
    clock.advance(hours=3)
    assert service.get_quiz_attempt(MEMBER, attempt_id=attempt["id"])["reviewed"] is True
    never = new_quiz(service, review="never", open_at=stamp(clock.now()),
                     close_at=stamp(clock.now() + timedelta(hours=1)))
    attempt = service.start_quiz_attempt(MEMBER, quiz_id=never["id"])
    service.submit_quiz_attempt(MEMBER, attempt_id=attempt["id"])
    clock.advance(hours=2)
    assert service.get_quiz_attempt(MEMBER, attempt_id=attempt["id"])["reviewed"] is False


def test_no_question_twice_in_an_attempt_and_options_shuffled_per_attempt(service, bank):
    quiz = new_quiz(service, max_attempts=30, draw=[{"category": "党章", "count": 12}])
    orders = set()
    for _ in range(6):
        attempt = service.start_quiz_attempt(MEMBER, quiz_id=quiz["id"])
        ids = [q["id"] for q in attempt["questions"]]
        assert len(ids) == 12 == len(set(ids))
        orders.add(tuple(o["text"] for o in attempt["questions"][0]["options"]))
        orders.add(tuple(ids))
        service.submit_quiz_attempt(MEMBER, attempt_id=attempt["id"])
    assert len(orders) > 6
    assert bank.inserts == 6                   # one insert per start


def test_the_time_limit_is_enforced_on_the_next_call_and_graded_with_what_was_saved(service, bank, clock):
    quiz = new_quiz(service, time_limit_seconds=600)
    attempt = service.start_quiz_attempt(MEMBER, quiz_id=quiz["id"])
    assert attempt["deadline_at"] == stamp(clock.now() + timedelta(minutes=10))
    answer_all(service, MEMBER, {**attempt, "questions": attempt["questions"][:2]}, right=2)
    clock.advance(minutes=10)
    first = attempt["questions"][2]
    with pytest.raises(Conflict) as refused:
        service.save_quiz_answer(MEMBER, attempt_id=attempt["id"], question_id=first["id"],
                                 choices=[right_label(first)])
    assert refused.value.code == "ATTEMPT_EXPIRED"
    finished = service.get_quiz_attempt(MEMBER, attempt_id=attempt["id"])
    assert (finished["state"], finished["score"], finished["seconds"]) == ("expired", 4, 600)
    assert [e["kind"] for e in bank.events] == ["quiz"] and bank.events[0]["event_type"] == "quiz_attempt_finished"
    assert bank.events[0]["band"] == "fail" and bank.events[0]["score"] == 4
    assert service.submit_quiz_attempt(MEMBER, attempt_id=attempt["id"])["state"] == "expired"   # retried: the same
    assert len(bank.events) == 1


def test_a_late_submission_is_expired_and_the_sweep_finishes_the_forgotten(service, bank, clock):
    quiz = new_quiz(service, time_limit_seconds=60)
    late = service.start_quiz_attempt(MEMBER, quiz_id=quiz["id"])
    forgotten = service.start_quiz_attempt(MEMBER_2, quiz_id=quiz["id"])
    answer_all(service, MEMBER_2, forgotten, right=5)
    clock.advance(seconds=61)
    assert service.submit_quiz_attempt(MEMBER, attempt_id=late["id"])["state"] == "expired"
    assert service.run_quiz_sweep() == {"expired": 1, "contests_finished": 0}
    assert bank.attempts[forgotten["id"]]["state"] == "expired" and bank.attempts[forgotten["id"]]["score"] == 10
    assert service.run_quiz_sweep()["expired"] == 0


def test_the_attempt_limit_and_a_second_start_resumes(service, bank):
    quiz = new_quiz(service, max_attempts=2)
    first = service.start_quiz_attempt(MEMBER, quiz_id=quiz["id"])
    assert service.start_quiz_attempt(MEMBER, quiz_id=quiz["id"])["id"] == first["id"]
    service.submit_quiz_attempt(MEMBER, attempt_id=first["id"])
    second = service.start_quiz_attempt(MEMBER, quiz_id=quiz["id"])
    assert second["number"] == 2
    service.submit_quiz_attempt(MEMBER, attempt_id=second["id"])
    with pytest.raises(Conflict) as refused:
        service.start_quiz_attempt(MEMBER, quiz_id=quiz["id"])
    assert refused.value.code == "ATTEMPT_LIMIT"
    assert len(bank.attempts) == 2


@pytest.mark.parametrize("grading, counted", [("highest", 8), ("last", 4)])
def test_highest_or_last_attempt_counts(service, bank, grading, counted):
    quiz = new_quiz(service, grading=grading, max_attempts=2, review="never")
    for right in (4, 2):
        attempt = service.start_quiz_attempt(MEMBER, quiz_id=quiz["id"])
        answer_all(service, MEMBER, attempt, right=right)
        assert service.submit_quiz_attempt(MEMBER, attempt_id=attempt["id"])["score"] == right * 2
    assert service.get_quiz(MEMBER, quiz_id=quiz["id"])["mine"] == {"attempts": 2, "in_progress_attempt_id": "",
                                                                     "score": counted, "finished": True}
    board = service.quiz_leaderboard(CITY_ADMIN, quiz_id=quiz["id"], by="member")
    assert [(e["member_id"], e["score"]) for e in board["entries"]] == [("m_1", counted)]


def test_answers_are_checked_against_the_attempt(service, bank):
    quiz = new_quiz(service)
    attempt = service.start_quiz_attempt(MEMBER, quiz_id=quiz["id"])
    question = attempt["questions"][0]
    for kwargs, code in (({"question_id": "qs00", "choices": ["A"]}, "QUESTION_NOT_IN_ATTEMPT"),
                         ({"question_id": question["id"], "choices": ["Z"]}, "UNKNOWN_OPTION"),
                         ({"question_id": question["id"], "choices": ["A", "B"]}, "ONE_ANSWER"),
                         ({"question_id": question["id"], "text": "甲"}, "ANSWER_KIND_MISMATCH")):
        with pytest.raises(InvalidArgument) as refused:
            service.save_quiz_answer(MEMBER, attempt_id=attempt["id"], **kwargs)
        assert refused.value.code == code
    assert bank.attempts[attempt["id"]]["answers"] == {}
    for caller in (MEMBER_2, OTHER_MEMBER, FOREIGN_ADMIN):
        with pytest.raises((NotFound, PermissionDenied)):
            service.save_quiz_answer(caller, attempt_id=attempt["id"], question_id=question["id"], choices=["A"])
    with pytest.raises(NotFound) as refused:
        service.get_quiz_attempt(MEMBER_2, attempt_id=attempt["id"])
    assert refused.value.code == "ATTEMPT_NOT_FOUND"


def test_grading_writes_category_statistics(service, bank, store):
    quiz = new_quiz(service, draw=[{"category": "党章", "count": 3}, {"category": "党史", "count": 2}])
    attempt = service.start_quiz_attempt(MEMBER, quiz_id=quiz["id"])
    zhang = [q for q in attempt["questions"] if q["category"] == "党章"]
    answer_all(service, MEMBER, {**attempt, "questions": zhang}, right=2)
    service.submit_quiz_attempt(MEMBER, attempt_id=attempt["id"])
    stats = {row["category"]: (row["answered"], row["correct"]) for row in store.category_stats_of("m_1")}
    assert stats == {"党章": (3, 2), "党史": (2, 0)}
    assert {row["branch_id"] for row in store.category_stats_of_branch(BRANCH)} == {BRANCH}


def test_a_quiz_not_yet_open_or_closed_cannot_be_started(service, bank, clock):
    later = new_quiz(service, open_at=stamp(NOW + timedelta(hours=1)))
    with pytest.raises(Conflict) as refused:
        service.start_quiz_attempt(MEMBER, quiz_id=later["id"])
    assert refused.value.code == "QUIZ_NOT_OPEN"
    with pytest.raises(PermissionDenied):
        service.start_quiz_attempt(CITY_ADMIN, quiz_id=later["id"])


# --- contests and leaderboards ----------------------------------------------------------
def test_a_contest_ranks_members_branches_and_counties_and_finishes_once(service, bank, clock):
    contest = new_quiz(service, kind="contest", max_attempts=0, review="after_close")
    assert contest["max_attempts"] == 1
    for caller, right, minutes in ((MEMBER, 5, 5), (MEMBER_2, 3, 2), (MEMBER_3, 5, 3), (OTHER_MEMBER, 1, 1)):
        attempt = service.start_quiz_attempt(caller, quiz_id=contest["id"])
        answer_all(service, caller, attempt, right=right)
        clock.advance(minutes=minutes)
        service.submit_quiz_attempt(caller, attempt_id=attempt["id"])
        clock.advance(minutes=-minutes)
    board = service.quiz_leaderboard(MEMBER_2, quiz_id=contest["id"], by="member")
    assert [(e["member_id"], e["rank"]) for e in board["entries"]] == [("m_3", 1), ("m_1", 2), ("m_2", 3), ("m_4", 4)]
    assert board["me"]["rank"] == 3 and board["entries"][0]["name"] == "m_3"
    branches = service.quiz_leaderboard(CITY_ADMIN, quiz_id=contest["id"], by="branch")["groups"]
    assert [(g["id"], g["participants"], g["average_score"]) for g in branches] == [
        (BRANCH2, 1, 10.0), (BRANCH, 2, 8.0), ("org_branch_b", 1, 2.0)]
    counties = service.quiz_leaderboard(MEMBER, quiz_id=contest["id"], by="county")["groups"]
    assert [(g["id"], g["participants"], g["name"]) for g in counties] == [(COUNTY, 3, "一区委"), (COUNTY_B, 1, "二区委")]
    with pytest.raises(InvalidArgument):
        service.quiz_leaderboard(MEMBER, quiz_id=contest["id"], by="city")
    assert service.run_quiz_sweep()["contests_finished"] == 0          # still open
    clock.advance(hours=3)
    assert service.run_quiz_sweep()["contests_finished"] == 1
    finished = [e for e in bank.events if e["event_type"] == "contest_finished"]
    assert sorted((e["member_id"], e["rank"], e["participants"]) for e in finished) == [
        ("m_1", 2, 4), ("m_2", 3, 4), ("m_3", 1, 4), ("m_4", 4, 4)]
    assert service.run_quiz_sweep()["contests_finished"] == 0
    assert len([e for e in bank.events if e["event_type"] == "contest_finished"]) == 4
    assert service.get_quiz(MEMBER, quiz_id=contest["id"])["phase"] == "finished"


def test_a_plain_quiz_s_results_are_for_staff(service, bank):
    quiz = new_quiz(service)
    with pytest.raises(PermissionDenied) as refused:
        service.quiz_leaderboard(MEMBER, quiz_id=quiz["id"])
    assert refused.value.code == "RESULTS_STAFF_ONLY"
    attempt = service.start_quiz_attempt(OTHER_MEMBER, quiz_id=quiz["id"])
    service.submit_quiz_attempt(OTHER_MEMBER, attempt_id=attempt["id"])
    assert service.quiz_leaderboard(CITY_ADMIN, quiz_id=quiz["id"])["participants"] == 1
    assert service.quiz_leaderboard(COUNTY_ADMIN, quiz_id=quiz["id"])["participants"] == 0   # not its county's


# --- the daily question -----------------------------------------------------------------
def test_the_daily_question_is_the_same_all_day_and_answered_once(service, bank, clock):
    today = service.get_daily_question(MEMBER)
    assert today["available"] and not today["answered"] and today["date"] == "2026-12-06"
    assert "review" not in today["question"] and "解析" not in json.dumps(today, ensure_ascii=False)
    assert service.get_daily_question(MEMBER)["question"]["id"] == today["question"]["id"]
    question = today["question"]
    choice = {"choices": [right_label(question)]} if question["kind"] == "single" else {"text": "1921年"}
    answered = service.answer_daily_question(MEMBER, question_id=question["id"], **choice)
    assert answered["answered"] and answered["right"] and answered["question"]["review"]["right"] is True
    with pytest.raises(Conflict) as refused:
        service.answer_daily_question(MEMBER, question_id=question["id"], **choice)
    assert refused.value.code == "DAILY_ANSWERED"
    assert service.get_daily_question(MEMBER)["answered"] is True
    assert [(e["kind"], e["score"], e["max_score"], e["band"]) for e in bank.events] == [("daily", 1, 1, "excellent")]
    assert sum(row["answered"] for row in bank.category_stats_of("m_1")) == 1
    with pytest.raises(InvalidArgument) as refused:
        service.answer_daily_question(MEMBER_2, question_id="not-today", choices=["A"])
    assert refused.value.code == "NOT_TODAYS_QUESTION"
    clock.advance(days=1)
    assert service.get_daily_question(MEMBER)["answered"] is False


def test_the_daily_question_is_for_members_of_a_tenant_with_a_bank(service, memory):
    assert service.get_daily_question(MEMBER) == {"date": "2026-12-06", "available": False, "answered": False}
    with pytest.raises(PermissionDenied):
        service.get_daily_question(CITY_ADMIN)


def test_a_batch_of_answers_and_submissions_answers_each_as_its_single_call(service, bank, memory, store):
    """The gateway's batches: two answers of one attempt in one batch both kept, a stranger's answer refused alone,
    the attempt started in this process not read again; submissions graded as one by one."""
    quiz = new_quiz(service)
    mine = service.start_quiz_attempt(MEMBER, quiz_id=quiz["id"])
    first, second = mine["questions"][:2]
    reads = []
    store.attempts_by_ids.side_effect = lambda ids: reads.append(list(ids)) or memory.attempts_by_ids(ids)
    answers = service.save_quiz_answers([
        {"scope": MEMBER, "attempt_id": mine["id"], "question_id": first["id"], "choices": [right_label(first)]},
        {"scope": OTHER_MEMBER, "attempt_id": mine["id"], "question_id": first["id"], "choices": ["A"]},
        {"scope": MEMBER, "attempt_id": mine["id"], "question_id": second["id"], "choices": [right_label(second)],
         "text": ""}])
    assert reads == []
    assert [a["result"]["question_id"] for a in (answers[0], answers[2])] == [first["id"], second["id"]]
    assert answers[1]["error"]["code"] == "ATTEMPT_NOT_FOUND"
    done = service.submit_quiz_attempts([{"scope": MEMBER, "attempt_id": mine["id"]},
                                         {"scope": MEMBER, "attempt_id": "att_none"}])
    assert done[0]["result"]["state"] == "submitted" and done[0]["result"]["score"] == 4
    assert done[1]["error"]["code"] == "ATTEMPT_NOT_FOUND"


def test_answers_to_another_process_s_attempts_read_them_once_and_a_finished_one_is_refused(store, memory, clock,
                                                                                           identity, bank):
    """Two content processes share the store. Answers to attempts the other started are read in one query, then
    kept: the next batch reads nothing. One submitted through the first process meanwhile is still kept in the
    second as running: its answer is refused as finished and nothing of it is written."""
    first, second = (worker_factory(ContentService, store=store, clock=clock, identity=identity,
                                    org_paths=OrgPaths(), quiz_desk=QuizDesk()) for _ in range(2))
    quiz = new_quiz(first)
    mine, theirs = (first.start_quiz_attempt(caller, quiz_id=quiz["id"]) for caller in (MEMBER, MEMBER_2))
    reads = []
    store.attempts_by_ids.side_effect = lambda ids: reads.append(sorted(ids)) or memory.attempts_by_ids(ids)

    def answer(caller, attempt, position):
        question = attempt["questions"][position]
        return {"scope": caller, "attempt_id": attempt["id"], "question_id": question["id"],
                "choices": [right_label(question)]}
    saved = second.save_quiz_answers([answer(MEMBER, mine, 0), answer(MEMBER_2, theirs, 0)])
    assert all("result" in a for a in saved) and reads == [sorted([mine["id"], theirs["id"]])]
    first.submit_quiz_attempt(MEMBER_2, attempt_id=theirs["id"])
    later = second.save_quiz_answers([answer(MEMBER, mine, 1), answer(MEMBER_2, theirs, 1)])
    assert len(reads) == 1                                                      # both kept: nothing read
    assert "result" in later[0] and later[1]["error"]["code"] == "ATTEMPT_FINISHED"
    assert len(memory.attempts[mine["id"]]["answers"]) == 2
    assert list(memory.attempts[theirs["id"]]["answers"]) == [theirs["questions"][0]["id"]]
    # in the process that finished it, the attempt is no longer kept: read, and refused before any write
    refused = first.save_quiz_answers([answer(MEMBER_2, theirs, 2)])
    assert refused[0]["error"]["code"] == "ATTEMPT_FINISHED" and reads[-1] == [theirs["id"]]


def test_an_answer_to_a_kept_attempt_past_its_deadline_finishes_it_with_its_saved_answers(service, bank, memory,
                                                                                           clock):
    quiz = new_quiz(service, time_limit_seconds=60)
    mine = service.start_quiz_attempt(MEMBER, quiz_id=quiz["id"])
    answer_all(service, MEMBER, mine, right=3)
    clock.advance(seconds=61)
    late = mine["questions"][4]
    answers = service.save_quiz_answers([{"scope": MEMBER, "attempt_id": mine["id"], "question_id": late["id"],
                                          "choices": [right_label(late)]}])
    assert answers[0]["error"]["code"] == "ATTEMPT_EXPIRED"
    stored = memory.attempts[mine["id"]]
    assert (stored["state"], stored["score"]) == ("expired", 6)          # the three right answers saved in time


def test_a_batch_of_starts_inserts_its_new_attempts_in_one_write(service, bank, memory, store):
    """Each start answered as its single call: every start tried as the member's first attempt in one write, with
    nothing read; one whose number is taken (a second tap of a running attempt) checked again and resumed; another
    county's member refused alone; two devices of one member in one batch get the one attempt."""
    quiz = new_quiz(service, org_id=COUNTY, caller=COUNTY_ADMIN)
    running = service.start_quiz_attempt(MEMBER_2, quiz_id=quiz["id"])
    writes, reads = [], []
    store.add_attempts.side_effect = lambda attempts: writes.append([a["member_id"] for a in attempts]) or \
        memory.add_attempts(attempts)
    store.attempts_of.side_effect = lambda member_id, quiz_id: reads.append(member_id) or \
        memory.attempts_of(member_id, quiz_id)
    answers = service.start_quiz_attempts([{"scope": MEMBER, "quiz_id": quiz["id"]},
                                           {"scope": MEMBER_2, "quiz_id": quiz["id"]},
                                           {"scope": OTHER_MEMBER, "quiz_id": quiz["id"]},
                                           {"scope": MEMBER_3, "quiz_id": quiz["id"]}])
    assert writes == [["m_1", "m_2", "m_3"]] and reads == ["m_2"]
    assert answers[1]["result"]["id"] == running["id"]
    assert answers[2]["error"]["code"] == "QUIZ_NOT_FOUND"
    assert {answers[0]["result"]["state"], answers[3]["result"]["state"]} == {"in_progress"}
    assert all("review" not in question for question in answers[0]["result"]["questions"])
    assert memory.attempts[answers[0]["result"]["id"]]["member_id"] == "m_1"
    assert len(memory.attempts) == 3
    # both devices of one member at once: one attempt stored and answered to both
    memory.attempts.clear()
    twice = service.start_quiz_attempts([{"scope": MEMBER, "quiz_id": quiz["id"]},
                                         {"scope": MEMBER, "quiz_id": quiz["id"]}])
    assert twice[0]["result"]["id"] == twice[1]["result"]["id"]
    assert [a["member_id"] for a in memory.attempts.values()] == ["m_1"]
    # a number taken again on the second try (another instance's batch won the race): that start alone refused
    service.submit_quiz_attempt(MEMBER, attempt_id=twice[0]["result"]["id"])
    tries = []
    store.add_attempts.side_effect = lambda attempts: tries.append(len(attempts)) or (
        memory.add_attempts(attempts) if len(tries) == 1 else {a["_id"] for a in attempts})
    raced = service.start_quiz_attempts([{"scope": MEMBER, "quiz_id": quiz["id"]},
                                         {"scope": MEMBER_3, "quiz_id": quiz["id"]}])
    assert tries == [2, 1]
    assert raced[0]["error"]["code"] == "ATTEMPT_STARTED" and raced[1]["result"]["number"] == 1


def test_a_batch_of_answers_is_one_write_and_one_finished_meanwhile_is_refused_alone(service, bank, memory, store):
    quiz = new_quiz(service)
    mine, theirs = (service.start_quiz_attempt(caller, quiz_id=quiz["id"]) for caller in (MEMBER, MEMBER_2))
    writes = []

    def finished_meanwhile(answers, deadline_after):      # another batch submits theirs between check and write
        writes.append(len(answers))
        memory.attempts[theirs["id"]]["state"] = "submitted"
        return memory.save_answers(answers, deadline_after)
    store.save_answers.side_effect = finished_meanwhile
    question = mine["questions"][0]
    answers = service.save_quiz_answers([
        {"scope": MEMBER, "attempt_id": mine["id"], "question_id": question["id"], "choices": [right_label(question)]},
        {"scope": MEMBER_2, "attempt_id": theirs["id"], "question_id": theirs["questions"][0]["id"],
         "choices": ["A"]},
        {"scope": MEMBER, "attempt_id": mine["id"], "question_id": "q_other", "choices": ["A"]}])
    assert writes == [2]
    assert answers[0]["result"]["choices"] == [right_label(question)]
    assert answers[1]["error"]["code"] == "ATTEMPT_FINISHED"
    assert answers[2]["error"]["code"] == "QUESTION_NOT_IN_ATTEMPT"
    assert list(memory.attempts[mine["id"]]["answers"]) == [question["id"]]
    assert memory.attempts[theirs["id"]]["answers"] == {}


def test_a_batch_of_submissions_is_graded_in_one_commit(service, bank, memory, store):
    """Two members' attempts graded in one commit with one event each, a double tap answered with the graded
    attempt twice; when one was finished meanwhile (the sweep), the others are still graded, one by one."""
    quiz = new_quiz(service)
    mine, theirs, third = (service.start_quiz_attempt(caller, quiz_id=quiz["id"])
                           for caller in (MEMBER, MEMBER_2, MEMBER_3))
    answer_all(service, MEMBER, mine, right=2)
    commits = []
    store.finish_attempts.side_effect = lambda entries: commits.append(len(entries)) or memory.finish_attempts(entries)
    done = service.submit_quiz_attempts([{"scope": MEMBER, "attempt_id": mine["id"]},
                                         {"scope": MEMBER_2, "attempt_id": theirs["id"]},
                                         {"scope": MEMBER, "attempt_id": mine["id"]},
                                         {"scope": MEMBER_2, "attempt_id": mine["id"]}])
    assert commits == [2]
    assert [(a["result"]["state"], a["result"]["score"]) for a in done[:3]] == \
        [("submitted", 4), ("submitted", 0), ("submitted", 4)]
    assert done[3]["error"]["code"] == "ATTEMPT_NOT_FOUND"
    assert sorted(e["member_id"] for e in memory.events) == ["m_1", "m_2"]
    assert memory.results[f"{quiz['id']}:m_1"]["best"]["score"] == 4
    # the sweep finished one of a batch's attempts after the batch read it: the others graded one by one
    again = service.start_quiz_attempt(MEMBER, quiz_id=quiz["id"])

    def swept_meanwhile(entries):
        memory.attempts[third["id"]].update(state="expired", score=0, max_score=10, band="fail", seconds=61,
                                            finished_at=stamp(NOW), right={})
        return memory.finish_attempts(entries)
    store.finish_attempts.side_effect = swept_meanwhile
    done = service.submit_quiz_attempts([{"scope": MEMBER_3, "attempt_id": third["id"]},
                                         {"scope": MEMBER, "attempt_id": again["id"]}])
    assert (done[0]["result"]["state"], done[1]["result"]["state"]) == ("expired", "submitted")
    assert sorted(e["member_id"] for e in memory.events) == ["m_1", "m_1", "m_2"]
