"""The quiz pages in a real browser: the city admin imports a bank (a bad row listed, nothing stored; then the
good file) and opens a contest on the console; a member answers the daily question and takes the contest on the
phone, its answers kept across a reload, submits, sees the score and the leaderboard."""
from __future__ import annotations

import io
import uuid
from datetime import datetime, timedelta, timezone

from openpyxl import Workbook
from playwright.sync_api import expect

from tests.browser.conftest import console_login, log_in
from tests.support.identity import PASSWORD

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ["题型", "题干", "选项A", "选项B", "选项C", "答案", "分类", "难度", "解析"]
RIGHT = "全心全意为人民服务"


def workbook(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def good_rows(count: int) -> list[list]:
    return [["单选", f"第{i}题：党的根本宗旨是？", RIGHT, "发展经济", "改革开放", "A", "党章", 2, f"解析{i}"]
            for i in range(count)]


def test_the_admin_imports_a_bank_and_opens_a_contest(rpc, city, desktop, screenshot):
    page = desktop
    console_login(page, city, "city-admin", "/console/questions")
    expect(page.locator("#main h1")).to_have_text("题库")
    bad = workbook([HEADER, *good_rows(2), ["单选", "坏题", "甲", "乙", "", "Z", "党章", 2, ""]])
    page.locator("#import-file").set_input_files({"name": "题库.xlsx", "mimeType": XLSX_TYPE, "buffer": bad})
    page.get_by_role("button", name="开始导入").click()
    expect(page.locator("#status")).to_contain_text("未导入任何题目")
    expect(page.locator("#import-error-table tbody tr")).to_have_count(1)
    expect(page.locator("#import-error-table tbody tr td").first).to_have_text("4")
    screenshot(page, "console-questions-import-refused")
    assert rpc.content.list_bank_questions(scope=city.admin, org_id=city.root["id"])["questions"] == []

    page.locator("#import-file").set_input_files({"name": "题库.xlsx", "mimeType": XLSX_TYPE,
                                                  "buffer": workbook([HEADER, *good_rows(4)])})
    page.get_by_role("button", name="开始导入").click()
    expect(page.locator("#status")).to_have_text("导入成功：共导入 4 道题。")
    expect(page.locator("#questions-table tbody tr")).to_have_count(4)
    screenshot(page, "console-questions")

    page.goto("/console/quizzes")
    form = page.locator("#quiz-form")
    form.get_by_label("类型").select_option("contest")
    form.get_by_label("标题").fill("党章知识竞赛")
    form.get_by_label("分类").fill("党章")
    form.get_by_label("题数").fill("3")
    form.get_by_role("button", name="发布").click()
    expect(page.locator("#status")).to_contain_text("已发布“党章知识竞赛”：共 3 题")
    expect(page.locator("#quizzes-table tbody tr")).to_have_count(1)
    form.get_by_label("题数").fill("9")
    form.get_by_role("button", name="发布").click()
    expect(page.locator("#quiz-error")).to_have_text("题库中“党章”类题目只有 4 道，不足 9 道")
    [quiz] = rpc.content.list_quizzes(scope=city.admin, org_id=city.root["id"])["quizzes"]
    assert (quiz["kind"], quiz["question_count"], quiz["max_attempts"]) == ("contest", 3, 1)
    screenshot(page, "console-quizzes")


def test_a_member_answers_the_daily_question_and_takes_a_contest(rpc, city, phone, screenshot):
    for row in good_rows(4):
        rpc.content.create_bank_question(scope=city.admin, org_id=city.root["id"], kind="single", stem=row[1],
                                         options=row[2:5], correct=["A"], category="党章", explanation=row[8])
    now = datetime.now(timezone.utc)
    contest = rpc.content.create_quiz(scope=city.admin, org_id=city.root["id"], kind="contest", title="党章知识竞赛",
                                      open_at=(now - timedelta(minutes=1)).isoformat(),
                                      close_at=(now + timedelta(hours=1)).isoformat(), time_limit_seconds=600,
                                      review="after_submit", draw=[{"category": "党章", "count": 3, "points": 10}])
    username = f"m{uuid.uuid4().hex[:8]}"
    city.member_login(city.add_member(city.branches[0][0], "王答题"), username)

    page = phone
    page.goto("/m/quiz")
    log_in(page, city.code, username, PASSWORD)
    daily = page.locator("#daily")
    expect(daily.locator("h2")).to_contain_text("每日一题")
    daily.get_by_label(RIGHT).check()
    daily.get_by_role("button", name="提交答案").click()
    expect(daily).to_contain_text("答对了")
    expect(daily).to_contain_text("解析")

    quiz = page.locator(f"li.quiz[data-quiz-id='{contest['id']}']")
    quiz.get_by_role("button", name="开始答题").click()
    expect(page.locator("#countdown")).to_contain_text("剩余时间 09:")
    first = page.locator("section.question").first
    first.get_by_label(RIGHT).check()
    expect(first.locator(".saved")).to_have_text("已保存")
    page.get_by_role("button", name="下一题").click()
    second = page.locator("section.question").first
    second.get_by_label("发展经济").check()
    expect(second.locator(".saved")).to_have_text("已保存")
    expect(page.locator("#answered")).to_have_text("已答 2 / 3")
    assert "解析" not in page.content()
    screenshot(page, "member-quiz-attempt")

    page.reload()                        # a lost connection loses nothing: the saved answers come back
    expect(page.locator("#answered")).to_have_text("已答 2 / 3")
    page.get_by_role("button", name="显示全部题目").click()
    expect(page.locator("section.question")).to_have_count(3)
    expect(page.locator("section.question").nth(0).get_by_label(RIGHT)).to_be_checked()
    page.locator("section.question").nth(2).get_by_label(RIGHT).check()
    expect(page.locator("#answered")).to_have_text("已答 3 / 3")
    page.get_by_role("button", name="交卷").click()
    expect(page.locator("#score")).to_have_text("20 / 30 分")
    expect(page.locator("#review")).to_contain_text("答错了")
    screenshot(page, "member-quiz-result")

    page.goto("/m/quiz")
    page.locator(f"li.quiz[data-quiz-id='{contest['id']}']").get_by_role("link", name="排行榜").click()
    expect(page.locator("#my-rank")).to_have_text("我的名次：第 1 名（20 分）")
    expect(page.locator("#board-table tbody tr").first).to_contain_text("王答题")
    page.get_by_role("tab", name="支部").click()
    expect(page.locator("#board-table tbody tr").first).to_contain_text(city.branches[0][0]["name"])
    screenshot(page, "member-quiz-board")
