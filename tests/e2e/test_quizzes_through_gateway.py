"""Quizzes over HTTP and gRPC: a question bank imported from XLSX (a bad row refuses the file), a contest opened,
a member's attempt saved answer by answer over HTTP and submitted over gRPC (no right answer in any JSON before),
the daily question, leaderboards, and refusals for bad input, members and another city."""
from __future__ import annotations

import io
import json
import uuid
from datetime import datetime, timedelta, timezone

import grpc
import pytest
from openpyxl import Workbook

from gateway.client import ApiError, GrpcClient, HttpClient
from tests.e2e.test_scoring_through_gateway import new_city
from tests.support.identity import PASSWORD, member_fields

pytestmark = pytest.mark.e2e
HEADER = ["题型", "题干", "选项A", "选项B", "选项C", "答案", "分类", "难度", "解析"]


def refusal(call) -> ApiError:
    with pytest.raises(ApiError) as refused:
        call()
    return refused.value


def xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def member_client(url: str, city: dict, branch: dict) -> HttpClient:
    admin = city["admin"]
    member = admin.call("CreateMember", member_fields(branch["id"], "答题党员"))
    username = f"m{uuid.uuid4().hex[:8]}"
    admin.call("CreateAccount", {"username": username, "password": PASSWORD, "role": "member", "member_id": member["id"]})
    client = HttpClient(url)
    client.login(city["code"], username, PASSWORD)
    return client


def test_a_contest_through_the_gateway(gateway_process, operator_password, content_service):
    url = gateway_process.http_url
    city = new_city(url, operator_password, "答题市")
    admin, root = city["admin"], city["root"]
    rows = [["单选", f"第{i}题 党的根本宗旨是？", "全心全意为人民服务", "发展经济", "改革开放", "A", "党章", 2, f"解析{i}"]
            for i in range(5)]
    bad = refusal(lambda: admin.call("ImportBankQuestions", {
        "org_id": root, "format": "xlsx", "content": xlsx([HEADER, *rows, ["单选", "坏题", "甲", "", "", "D", "", 2, ""]])}))
    assert (bad.status, bad.code) == (400, "IMPORT_REJECTED")
    assert {(d["line"], d["field"]) for d in bad.details} >= {(7, "correct"), (7, "category")}
    assert admin.call("ListBankQuestions", {"org_id": root})["questions"] == []
    assert admin.call("ImportBankQuestions", {"org_id": root, "format": "xlsx",
                                              "content": xlsx([HEADER, *rows])})["imported"] == 5
    made = admin.call("CreateBankQuestion", {"org_id": root, "kind": "fill", "stem": "党的一大召开于____年。",
                                             "accepted": ["1921"], "category": "党史", "explanation": "1921年7月"})
    assert made["accepted"] == ["1921"]

    now = datetime.now(timezone.utc)
    contest = admin.call("CreateQuiz", {"org_id": root, "kind": "contest", "title": "党章知识竞赛",
                                        "open_at": iso(now - timedelta(minutes=1)), "close_at": iso(now + timedelta(hours=1)),
                                        "time_limit_seconds": 300, "review": "after_submit",
                                        "draw": [{"category": "党章", "count": 3, "points": 10},
                                                 {"category": "党史", "count": 1, "points": 10}]})
    assert (contest["phase"], contest["max_attempts"], contest["max_score"]) == ("open", 1, 40)
    for body, code, field in (({"draw": [{"category": "党章", "count": 9}]}, "NOT_ENOUGH_QUESTIONS", "draw"),
                              ({"time_limit_seconds": 5}, "OUT_OF_RANGE", "time_limit_seconds"),
                              ({"close_at": "明天"}, "TIME_INVALID", "close_at")):
        request = {"org_id": root, "kind": "quiz", "title": "x", "open_at": iso(now), "close_at": iso(now + timedelta(hours=1)),
                   "draw": [{"category": "党章", "count": 1}], **body}
        error = refusal(lambda: admin.call("CreateQuiz", request))
        assert (error.status, error.code, error.field) == (400, code, field)
    assert len(admin.call("ListQuizzes", {"org_id": root})["quizzes"]) == 1

    member = member_client(url, city, city["branches"][0])
    listed = member.call("ListMyQuizzes", {})["quizzes"]
    assert [q["id"] for q in listed] == [contest["id"]] and listed[0]["mine"]["attempts"] == 0
    error = refusal(lambda: member.call("CreateBankQuestion", {"org_id": city["branches"][0]["id"], "kind": "fill",
                                                               "stem": "题", "accepted": ["x"], "category": "党史"}))
    assert (error.status, error.code) == (403, "NOT_ORG_MANAGER")

    # HTTP: start, save answer by answer (PUT), re-read; nothing of the answers in any JSON
    attempt = member.request("POST", f"/v1/quizzes/{contest['id']}/attempts", body={})
    texts = [json.dumps(attempt, ensure_ascii=False)]
    for question in attempt["questions"]:
        if question["kind"] == "fill":
            body = {"text": "１９２１"}
        else:
            body = {"choices": [next(o["key"] for o in question["options"] if o["text"] == "全心全意为人民服务")]}
        saved = member.request("PUT", f"/v1/quiz-attempts/{attempt['id']}/answers/{question['id']}", body=body)
        texts.append(json.dumps(saved, ensure_ascii=False))
    reread = member.call("GetQuizAttempt", {"attempt_id": attempt["id"]})
    texts.append(json.dumps(reread, ensure_ascii=False))
    for text in texts:
        assert '"review"' not in text and "解析" not in text and '"correct"' not in text and '"accepted"' not in text
    assert reread["answered"] == 4 and reread["state"] == "in_progress"
    bad = refusal(lambda: member.call("SaveQuizAnswer", {"attempt_id": attempt["id"], "question_id": "qst_nope",
                                                         "choices": ["A"]}))
    assert (bad.status, bad.code, bad.field) == (400, "QUESTION_NOT_IN_ATTEMPT", "question_id")

    # gRPC: submit, then the same again
    with GrpcClient(gateway_process.grpc_target) as rpc:
        done = rpc.call("SubmitQuizAttempt", {"attempt_id": attempt["id"]}, member.token)
        again = rpc.call("SubmitQuizAttempt", {"attempt_id": attempt["id"]}, member.token)
        limit = refusal(lambda: rpc.call("StartQuizAttempt", {"quiz_id": contest["id"]}, member.token))
        board_grpc = rpc.call("GetQuizLeaderboard", {"quiz_id": contest["id"], "by": "branch"}, member.token)
    assert (done["state"], done["score"], done["band"]) == ("submitted", 40, "excellent")
    assert again["score"] == 40 and again["finished_at"] == done["finished_at"]
    assert all(q["review"]["right"] for q in done["questions"])
    assert (limit.status, limit.code) == (grpc.StatusCode.FAILED_PRECONDITION, "ATTEMPT_LIMIT")
    board = member.call("GetQuizLeaderboard", {"quiz_id": contest["id"], "by": "branch"})
    assert board == board_grpc
    assert [(g["id"], g["participants"], g["average_score"]) for g in board["groups"]] == [
        (city["branches"][0]["id"], 1, 40.0)]
    members = member.call("GetQuizLeaderboard", {"quiz_id": contest["id"]})
    assert members["me"]["rank"] == 1 and members["entries"][0]["name"] == "答题党员"

    # the daily question
    daily = member.call("GetDailyQuestion", {})
    assert daily["available"] and not daily["answered"] and "review" not in daily["question"]
    question = daily["question"]
    answer = {"text": "1921"} if question["kind"] == "fill" else {"choices": [question["options"][0]["key"]]}
    answered = member.request("POST", "/v1/daily-question:answer", body={"question_id": question["id"], **answer})
    assert answered["answered"] and "review" in answered["question"]
    again = refusal(lambda: member.call("AnswerDailyQuestion", {"question_id": question["id"], **answer}))
    assert (again.status, again.code) == (409, "DAILY_ANSWERED")

    # another city: nothing of this one
    stranger = new_city(url, operator_password, "他市")["admin"]
    for rpc_name, request in (("GetQuiz", {"quiz_id": contest["id"]}),
                              ("GetQuizLeaderboard", {"quiz_id": contest["id"]})):
        error = refusal(lambda: stranger.call(rpc_name, request))
        assert (error.status, error.code) == (404, "QUIZ_NOT_FOUND")
    error = refusal(lambda: stranger.call("ListBankQuestions", {"org_id": root}))
    assert (error.status, error.code) == (404, "ORG_NOT_FOUND")
