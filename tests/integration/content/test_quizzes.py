"""Quizzes on the real service process and store: the bank, an attempt saved answer by answer and graded, the
attempt limit, another county refused, an XLSX import with a bad row, the daily question, a contest ranked once
its close has passed."""
from __future__ import annotations

import base64
import io
import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from openpyxl import Workbook

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from tests.support.proofs import acting_as


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def seed_bank(rpc, city, count: int = 6) -> list[dict]:
    return [rpc.content.create_bank_question(scope=city.admin, org_id=city.root["id"], kind="single",
                                             stem=f"第{i}题：党的根本宗旨是？", options=["全心全意为人民服务", "发展经济", "改革开放"],
                                             correct=["A"], category="党章", difficulty=2, explanation=f"解析{i}")
            for i in range(count)]


def member_of(city, branch) -> dict:
    return city.member_login(city.add_member(branch, "答题人"), f"m{uuid.uuid4().hex[:8]}")


def answer_right(rpc, member, attempt, how_many: int) -> None:
    for question in attempt["questions"][:how_many]:
        label = next(o["key"] for o in question["options"] if o["text"] == "全心全意为人民服务")
        rpc.content.save_quiz_answer(scope=member, attempt_id=attempt["id"], question_id=question["id"], choices=[label])


def test_a_member_takes_a_county_quiz_answer_by_answer(rpc, city):
    seed_bank(rpc, city)
    county, county_admin = city.counties[0], city.county_admins[0]
    now = datetime.now(timezone.utc)
    quiz = rpc.content.create_quiz(scope=county_admin, org_id=county["id"], kind="quiz", title="党章小测",
                                   open_at=iso(now - timedelta(minutes=1)), close_at=iso(now + timedelta(hours=1)),
                                   time_limit_seconds=600, max_attempts=1, grading="highest", review="after_submit",
                                   draw=[{"category": "党章", "count": 4, "points": 5}])
    member = member_of(city, city.branches[0][0])
    attempt = rpc.content.start_quiz_attempt(scope=member, quiz_id=quiz["id"])
    assert len({q["id"] for q in attempt["questions"]}) == 4
    answer_right(rpc, member, attempt, 3)
    reread = rpc.content.get_quiz_attempt(scope=member, attempt_id=attempt["id"])
    assert reread["answered"] == 3
    text = json.dumps([attempt, reread], ensure_ascii=False)
    assert '"review"' not in text and "解析" not in text and '"score"' not in text
    done = rpc.content.submit_quiz_attempt(scope=member, attempt_id=attempt["id"])
    assert (done["state"], done["score"], done["max_score"], done["band"]) == ("submitted", 15, 20, "pass")
    assert all(q["review"]["explanation"].startswith("解析") for q in done["questions"])
    assert rpc.content.submit_quiz_attempt(scope=member, attempt_id=attempt["id"])["score"] == 15
    with pytest.raises(Conflict) as refused:
        rpc.content.start_quiz_attempt(scope=member, quiz_id=quiz["id"])
    assert refused.value.code == "ATTEMPT_LIMIT"
    board = rpc.content.quiz_leaderboard(scope=county_admin, quiz_id=quiz["id"], by="branch")
    assert [(g["id"], g["participants"], g["average_score"]) for g in board["groups"]] == [
        (city.branches[0][0]["id"], 1, 15.0)]

    # another county's member and admin, and another city, as if the quiz did not exist
    outsider = member_of(city, city.branches[1][0])
    for caller in (outsider, city.county_admins[1]):
        with pytest.raises(NotFound) as refused:
            rpc.content.get_quiz(scope=caller, quiz_id=quiz["id"])
        assert refused.value.code == "QUIZ_NOT_FOUND"
    with pytest.raises(NotFound):
        rpc.content.start_quiz_attempt(scope=outsider, quiz_id=quiz["id"])
    with pytest.raises(NotFound):
        rpc.content.get_quiz_attempt(scope=outsider, attempt_id=attempt["id"])
    with pytest.raises(PermissionDenied):
        rpc.content.create_bank_question(scope=member, org_id=city.branches[0][0]["id"], kind="true_false",
                                         stem="题", correct=["T"], category="党章")


def test_an_import_with_a_bad_row_stores_nothing(rpc, city):
    book = Workbook()
    for row in (["题型", "题干", "选项A", "选项B", "答案", "分类"], ["单选", "甲题", "对", "错", "A", "党史"],
                ["单选", "乙题", "对", "错", "C", "党史"], ["判断", "丙题", "", "", "对", "党史"]):
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    content = base64.b64encode(buffer.getvalue()).decode()
    with pytest.raises(InvalidArgument) as refused:
        rpc.content.import_bank_questions(scope=city.admin, org_id=city.root["id"], format="xlsx", content=content)
    assert refused.value.code == "IMPORT_REJECTED"
    assert [(d["line"], d["field"], d["reason"]) for d in refused.value.details] == [(3, "correct", "UNKNOWN_OPTION")]
    assert rpc.content.list_bank_questions(scope=city.admin, org_id=city.root["id"], category="党史")["questions"] == []
    book.active.delete_rows(3)
    buffer = io.BytesIO()
    book.save(buffer)
    imported = rpc.content.import_bank_questions(scope=city.admin, org_id=city.root["id"], format="xlsx",
                                                 content=base64.b64encode(buffer.getvalue()).decode())
    assert imported["imported"] == 2
    listed = rpc.content.list_bank_questions(scope=city.county_admins[1], org_id=city.counties[1]["id"], category="党史")
    assert sorted(q["kind"] for q in listed["questions"]) == ["single", "true_false"]


def test_the_daily_question_once_a_day(rpc, city):
    seed_bank(rpc, city, 3)
    member = member_of(city, city.branches[1][1])
    today = rpc.content.get_daily_question(scope=member)
    assert today["available"] and not today["answered"] and "review" not in today["question"]
    label = next(o["key"] for o in today["question"]["options"] if o["text"] == "发展经济")
    answered = rpc.content.answer_daily_question(scope=member, question_id=today["question"]["id"], choices=[label])
    assert answered["right"] is False and answered["question"]["review"]["correct"] == ["A"]
    with pytest.raises(Conflict) as refused:
        rpc.content.answer_daily_question(scope=member, question_id=today["question"]["id"], choices=["A"])
    assert refused.value.code == "DAILY_ANSWERED"
    assert rpc.content.get_daily_question(scope=member)["answered"] is True


def test_a_contest_is_ranked_once_after_it_closes(rpc, city):
    seed_bank(rpc, city)
    now = datetime.now(timezone.utc)
    contest = rpc.content.create_quiz(scope=city.admin, org_id=city.root["id"], kind="contest", title="党章知识竞赛",
                                      open_at=iso(now - timedelta(minutes=1)), close_at=iso(now + timedelta(seconds=8)),
                                      time_limit_seconds=60, draw=[{"category": "党章", "count": 2}])
    first, second = member_of(city, city.branches[0][0]), member_of(city, city.branches[1][0])
    for member, right in ((first, 1), (second, 2)):
        attempt = rpc.content.start_quiz_attempt(scope=member, quiz_id=contest["id"])
        answer_right(rpc, member, attempt, right)
        rpc.content.submit_quiz_attempt(scope=member, attempt_id=attempt["id"])
    gone = member_of(city, city.branches[0][1])          # answers one question, then the connection is lost
    left = rpc.content.start_quiz_attempt(scope=gone, quiz_id=contest["id"])
    answer_right(rpc, gone, left, 1)
    board = rpc.content.quiz_leaderboard(scope=first, quiz_id=contest["id"], by="county")
    assert [g["id"] for g in board["groups"]] == [city.counties[1]["id"], city.counties[0]["id"]]
    deadline = time.monotonic() + 30
    while rpc.content.get_quiz(scope=city.admin, quiz_id=contest["id"])["phase"] != "finished":
        assert time.monotonic() < deadline, "the contest was not finished by the sweep"
        time.sleep(1)
    with acting_as("content"):
        assert rpc.content.run_quiz_sweep()["contests_finished"] == 0
    time.sleep(5.5)                                      # the leaderboard's rows are kept up to 5 s
    members = rpc.content.quiz_leaderboard(scope=second, quiz_id=contest["id"])
    assert [e["rank"] for e in members["entries"]] == [1, 2, 3] and members["me"]["rank"] == 1
    expired = rpc.content.get_quiz_attempt(scope=gone, attempt_id=left["id"])      # finished by the sweep
    assert (expired["state"], expired["score"]) == ("expired", 1)
