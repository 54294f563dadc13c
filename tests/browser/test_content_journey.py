"""Issue 31's "Done when", tried in a real browser as a new user would, through the pages only (the city itself,
its members and their accounts are set up by the API, as in the other browser tests):

the city admin publishes a pinned notice and a monthly package; a county admin's article is reviewed and published;
a member reads it on the phone page (the dwell time counts), takes the daily question and a quiz, sees its points
move and a recommendation with its reason; the secretary sees who has not read the notice and the branch's gap
report.

The article goes into the package, so it is written and reviewed first. The package item's minimum time is two
seconds: the service's clock must really see them pass (one short sleep); the page's heartbeat timer is
fast-forwarded.
"""
from __future__ import annotations

import io
import re
import time
from datetime import datetime, timedelta, timezone

from openpyxl import Workbook
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, console_login, log_in
from tests.support.identity import PASSWORD

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RIGHT, WRONG = "全心全意为人民服务", "发展经济"
BEIJING = timezone(timedelta(hours=8))


def bank_xlsx(count: int) -> bytes:
    book = Workbook()
    book.active.append(["题型", "题干", "选项A", "选项B", "选项C", "答案", "分类", "难度", "解析"])
    for n in range(count):
        book.active.append(["单选", f"第{n + 1}题：党的根本宗旨是？", RIGHT, WRONG, "改革开放", "A", "党章", 2, "见党章总纲。"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def write_item(page, column: str, kind: str, title: str, body: str, tags: str) -> None:
    """Fill 内容发布's editor and press 保存并提交."""
    page.locator("#item-column").select_option(label=column)   # a select's name includes its chosen option
    page.locator("#item-kind").select_option(kind)
    page.get_by_label("标题", exact=True).fill(title)
    page.get_by_label("正文", exact=True).fill(body)
    page.get_by_label("标签（用空格或逗号分隔，如：党章 党史）").fill(tags)
    page.get_by_role("button", name="保存并提交").click()


def points_total(page) -> int:
    """The member's points on its home page; 0 while it has none."""
    page.goto("/m/")
    card = page.locator("#points")
    expect(card).to_be_visible()
    total = card.locator("#points-total")
    return int(total.inner_text()) if total.count() else 0


def test_the_issue_31_journey_through_the_pages(rpc, city, new_context, scoring_service, screenshot):
    county, branch = city.counties[0], city.branches[0][0]
    reader = city.add_member(branch, "赵学习")
    city.member_login(reader, "journey-reader")
    city.add_member(branch, "钱未读")
    rpc.identity.create_account(scope=city.admin, username="journey-sec", password=PASSWORD,
                                role="branch_secretary", org_id=branch["id"])
    month = datetime.now(BEIJING).strftime("%Y-%m")

    # --- a county admin writes an article; the city admin reviews and publishes it ---------------------------
    county_page = new_context(**DESKTOP).new_page()
    console_login(county_page, city, "county1", f"/console/content?org={county['id']}")
    write_item(county_page, "要闻动态", "article", "学习党章心得", "认真学习党章，做合格党员。\n对照党章查找差距。", "党章")
    expect(county_page.locator("#status")).to_have_text("已提交审核")
    screenshot(county_page, "journey-1-county-article-submitted")

    admin = new_context(**DESKTOP).new_page()
    console_login(admin, city, "city-admin", f"/console/content?org={county['id']}&status=submitted")
    pending = admin.locator("#item-rows tbody tr").filter(has_text="学习党章心得")
    pending.get_by_role("button", name="通过").click()
    expect(admin.locator("#status")).to_have_text("操作成功")
    expect(admin.locator("#no-items")).to_be_visible()
    admin.locator("#status-filter").select_option("published")
    published = admin.locator("#item-rows tbody tr").filter(has_text="学习党章心得")
    expect(published.locator(".item-status")).to_contain_text("已发布")
    article_id = re.fullmatch(r"编号 (\S+)", published.locator(".item-id").inner_text()).group(1)

    # --- the city admin publishes a pinned notice and a second article at the city level ---------------------
    admin.locator("#org").select_option(city.root["id"])
    expect(admin.locator("#column-rows tbody tr")).to_have_count(5)
    write_item(admin, "通知公告", "notice", "关于开展党章学习月活动的通知", "各支部于本月组织党章学习。", "党章")
    expect(admin.locator("#status")).to_have_text("已发布")
    notice_row = admin.locator("#item-rows tbody tr").filter(has_text="关于开展党章学习月活动的通知")
    notice_row.get_by_role("button", name="置顶").click()
    until = (datetime.now(BEIJING) + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    admin.get_by_label("置顶截止时间").fill(until)
    admin.get_by_role("button", name="确定").click()
    expect(admin.locator("#status")).to_have_text("已置顶")
    expect(notice_row.locator(".item-status .badge")).to_have_text("置顶")
    write_item(admin, "学习资料", "article", "党章学习辅导", "逐章学习党章的要点。", "党章")
    expect(admin.locator("#status")).to_have_text("已发布")
    screenshot(admin, "journey-2-city-content")

    # --- ... and this month's package with the county's article in it ---------------------------------------
    admin.goto(f"/console/packages?org={city.root['id']}")
    admin.get_by_label("标题", exact=True).fill("本月理论学习套餐")
    admin.get_by_label("截止日期").fill(f"{month}-28")
    admin.get_by_label("名称").fill("学习党章心得")
    admin.get_by_label("类型").select_option("article")
    admin.get_by_label("链接或资讯编号").fill(article_id)
    admin.get_by_label("最少时长（秒）").fill("2")
    admin.get_by_label("计时上限（秒）").fill("60")
    admin.get_by_role("button", name="保存为草稿").click()
    package_row = admin.locator("#package-table tbody tr").filter(has_text="本月理论学习套餐")
    package_row.get_by_role("button", name="发布").click()
    expect(package_row.locator("td").first).to_have_text("已发布")
    screenshot(admin, "journey-3-package-published")

    # --- the city admin imports a question bank and opens a quiz ---------------------------------------------
    admin.goto("/console/questions")
    admin.locator("#import-file").set_input_files({"name": "题库.xlsx", "mimeType": XLSX_TYPE, "buffer": bank_xlsx(6)})
    admin.get_by_role("button", name="开始导入").click()
    expect(admin.locator("#status")).to_have_text("导入成功：共导入 6 道题。")
    admin.goto("/console/quizzes")
    form = admin.locator("#quiz-form")
    form.get_by_label("标题").fill("党章知识测验")
    form.get_by_label("答案公布").select_option("after_submit")
    form.get_by_label("分类").fill("党章")
    form.get_by_label("题数").fill("5")
    form.get_by_role("button", name="发布").click()
    expect(admin.locator("#status")).to_contain_text("已发布“党章知识测验”：共 5 题")
    screenshot(admin, "journey-4-quiz-opened")

    # --- the member on the phone: the pinned notice first, the article, studied with its dwell time ----------
    phone_context = new_context(**PHONE)
    phone = phone_context.new_page()
    phone.clock.install()                                   # the study page's heartbeat timer is fast-forwarded
    phone.goto("/m/")
    log_in(phone, city.code, "journey-reader", PASSWORD)
    expect(phone.locator("#points")).to_be_visible()           # logged in: the home page shows its points card
    points_before = points_total(phone)

    phone.goto("/m/feed")
    first = phone.locator(".feed-item").first
    expect(first).to_contain_text("关于开展党章学习月活动的通知")
    expect(first.locator(".badge-warn")).to_have_text("置顶")
    expect(phone.locator(".feed-item h3 a")).to_have_count(3)
    screenshot(phone, "journey-5-member-feed")
    first.get_by_role("link").click()
    expect(phone.locator("#read-mark")).to_have_text("已读")
    phone.get_by_role("link", name="返回资讯").click()
    phone.locator(".feed-item h3 a").filter(has_text="学习党章心得").click()
    expect(phone.locator("#item-body p")).to_have_text(["认真学习党章，做合格党员。", "对照党章查找差距。"])
    expect(phone.locator("#study-hint")).to_contain_text("本文是学习套餐“本月理论学习套餐”的内容")
    screenshot(phone, "journey-6-member-article")
    phone.get_by_role("link", name="去学习页阅读").click()
    state = phone.locator("#study-state")
    expect(state).to_contain_text("学习中")
    expect(phone.locator("#item-body p").first).to_have_text("认真学习党章，做合格党员。")
    time.sleep(2.5)                                         # the service's own clock must see the time pass
    phone.clock.run_for(16_000)                             # the page's 15-second heartbeat fires
    expect(state).to_contain_text("已完成学习")
    screenshot(phone, "journey-7-member-studied")
    phone.get_by_role("link", name="返回学习").click()
    studied = phone.locator(".study-item").filter(has_text="学习党章心得")
    expect(studied.locator(".badge")).to_have_text("已学")
    expect(phone.locator(".study-package")).to_contain_text("已学 1 / 1 项")
    screenshot(phone, "journey-7b-member-study-list")

    # --- the daily question and the quiz (two right, three wrong) ---------------------------------------------
    phone.get_by_role("link", name="答题", exact=True).click()
    daily = phone.locator("#daily")
    expect(daily.locator("h2")).to_contain_text("每日一题")
    daily.get_by_label(RIGHT).check()
    daily.get_by_role("button", name="提交答案").click()
    expect(daily).to_contain_text("答对了")
    screenshot(phone, "journey-8a-member-quiz-list")
    quiz = phone.locator("li.quiz").filter(has_text="党章知识测验")
    quiz.get_by_role("button", name="开始答题").click()
    phone.get_by_role("button", name="显示全部题目").click()
    questions = phone.locator("section.question")
    expect(questions).to_have_count(5)
    option = questions.first.locator("label.option").first
    assert option.bounding_box()["height"] < 48            # the radio sits beside its text, not above it
    for n in range(5):
        questions.nth(n).get_by_label(RIGHT if n < 2 else WRONG).check()
        expect(questions.nth(n).locator(".saved")).to_have_text("已保存")
    expect(phone.locator("#answered")).to_have_text("已答 5 / 5")
    phone.get_by_role("button", name="交卷").click()
    expect(phone.locator("#score")).to_have_text("4 / 10 分")
    screenshot(phone, "journey-8-member-quiz-result")

    # --- its points move (scoring learns them from content's events: a person reloads) ------------------------
    deadline = time.monotonic() + 30
    points_after = points_total(phone)
    while points_after <= points_before and time.monotonic() < deadline:
        time.sleep(1)
        points_after = points_total(phone)
    assert points_after > points_before
    expect(phone.locator("#points")).to_contain_text("学习套餐")
    expect(phone.locator("#points")).to_contain_text("学习答题")
    screenshot(phone, "journey-9-member-points")

    # --- a recommendation with its reason -------------------------------------------------------------------
    phone.get_by_role("link", name="推荐", exact=True).click()
    first = phone.locator("#recommendations .recommendation").first
    expect(first).to_contain_text("党章学习辅导")
    expect(first.locator(".reason")).to_have_text(re.compile(r"党章 类题目正确率 \d+%"))
    rate = re.search(r"正确率 (\d+)%", first.locator(".reason").inner_text()).group(1)
    screenshot(phone, "journey-10-member-foryou")

    # --- the secretary: who has not read the notice, and the branch's gap report ------------------------------
    secretary = new_context(**DESKTOP).new_page()
    console_login(secretary, city, "journey-sec", f"/console/notices?org={branch['id']}")
    expect(secretary.locator("#notice-title")).to_have_text("关于开展党章学习月活动的通知")
    expect(secretary.locator("#totals")).to_have_text("已读 1 / 2（50%），未读 1 人")
    secretary.locator("#receipt-rows .branch-link").first.click()
    expect(secretary.locator("#unread-list td")).to_have_text(["钱未读"])
    expect(secretary.locator("#read-list tbody tr")).to_have_count(1)
    screenshot(secretary, "journey-11-secretary-receipts")

    secretary.goto(f"/console/gaps?branch={branch['id']}&month={month}")
    expect(secretary.locator("#summary")).to_contain_text(f"薄弱类别：党章（正确率 {rate}%）")
    weakest = secretary.locator("#category-rows tbody tr").first
    expect(weakest.locator("td").nth(0)).to_have_text("党章")
    expect(weakest.locator("td").nth(4)).to_have_text("薄弱")
    behind = secretary.locator("table[id^='behind-'] tbody tr")
    expect(behind).to_have_count(1)
    expect(behind.locator("td").first).to_have_text("钱未读")
    screenshot(secretary, "journey-12-secretary-gaps")
