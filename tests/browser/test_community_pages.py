"""The mailbox, development publicity and role-model pages in a real browser: a member writes an anonymous letter on
the phone, the secretary's console shows it as 匿名 and answers it, the member sees the answer; the county admin
handles an objection to a publicity and names the branch's monthly star."""
from __future__ import annotations

import uuid

from playwright.sync_api import expect

from tests.browser.conftest import api_client, console_login, log_in
from tests.support.identity import PASSWORD
from tests.support.scoring import today, wait_for


def test_an_anonymous_letter_is_written_answered_and_read(rpc, city, phone, new_context, screenshot):
    branch = city.branches[0][0]
    username = f"m{uuid.uuid4().hex[:6]}"
    city.member_login(city.add_member(branch, "蒋写信"), username)
    rpc.identity.create_account(scope=city.admin, username="sec-box", password=PASSWORD, role="branch_secretary",
                                org_id=branch["id"])

    page = phone
    page.goto("/m/mailbox")
    log_in(page, city.code, username, PASSWORD)
    expect(page.locator("nav.tabs a[aria-current='page']")).to_have_text("信箱")
    expect(page.locator("#anonymous-note")).to_contain_text("上级党组织的管理员仍能看到写信人")
    page.get_by_label("标题").fill("关于学习时间的建议")
    page.get_by_label("内容", exact=True).fill("希望把集中学习安排在周六上午。")
    page.get_by_label("对支部书记匿名").check()
    page.get_by_role("button", name="提交").click()
    expect(page.locator("#flash")).to_contain_text("信件已提交")
    expect(page.locator("#my-letters .letter")).to_have_count(1)
    expect(page.locator("#my-letters .letter .badge")).to_have_text("待答复")

    console = new_context(viewport={"width": 1280, "height": 900}).new_page()
    console_login(console, city, "sec-box", f"/console/mailbox?org={branch['id']}")
    letter = console.locator("article.letter")
    expect(letter).to_have_count(1)
    expect(letter).to_contain_text("来信人：匿名")
    expect(letter).not_to_contain_text("蒋写信")
    letter.get_by_label("答复内容").fill("感谢建议，下月起调整。")
    letter.get_by_role("button", name="答复").click()
    expect(console.locator("#status")).to_have_text("已答复")
    expect(console.locator("article.letter .notice-ok")).to_contain_text("感谢建议，下月起调整。")
    screenshot(console, "console-mailbox")

    page.reload()
    expect(page.locator("#my-letters .letter .letter-answer")).to_contain_text("感谢建议，下月起调整。")
    screenshot(page, "m-mailbox")


def test_the_county_handles_an_objection_and_names_a_monthly_star(rpc, city, new_context, base_url, screenshot):
    committee, branch = city.committees[0], city.branches[0][1]
    candidate = city.add_member(branch, "韩发展", status="activist",
                                status_dates={"applicant": "2020-03-01", "activist": "2021-03-01"})
    star = city.add_member(branch, "杨先锋")
    rpc.identity.change_member_status(scope=city.admin, member_id=candidate["id"], status="development_target",
                                      on=today())
    county = api_client(base_url, city, "county1")
    [publicity] = wait_for(lambda: county.call("ListPublicities", {"org_id": committee["id"]})["publicities"])
    objector = city.member_login(city.add_member(branch, "秦异议"), f"m{uuid.uuid4().hex[:6]}")
    rpc.content.object_to_publicity(scope=objector, publicity_id=publicity["id"], reason="请核实其考勤情况。",
                                    anonymous=True)

    page = new_context(viewport={"width": 1280, "height": 900}).new_page()
    console_login(page, city, "county1", f"/console/publicity?org={committee['id']}")
    card = page.locator(f"article.publicity[data-id='{publicity['id']}']")
    expect(card).to_contain_text("韩发展（拟发展对象）")
    expect(card).to_contain_text("异议 1 条（待处理 1）")
    card.get_by_role("button", name="查看异议").click()
    row = card.locator("table.objections tbody tr")
    expect(row).to_contain_text(f"匿名（账号 {objector['account_id']}）")
    row.locator("input[name=note]").fill("经核实，考勤情况正常。")
    row.get_by_role("button", name="记录处理").click()
    expect(page.locator("#status")).to_have_text("已记录处理情况")
    expect(page.locator(f"article.publicity[data-id='{publicity['id']}']")).to_contain_text("待处理 0")
    screenshot(page, "console-publicity")

    page.goto(f"/console/role-models?branch={branch['id']}&kind=monthly_star")
    expect(page.locator("#proposal h2")).to_contain_text("每月一星")
    assert rpc.content.name_role_model(scope=city.county_admins[0], branch_id=branch["id"], kind="monthly_star",
                                       member_id=star["id"], citation="主动承担支部宣传工作。")["published"]
    page.get_by_role("button", name="推荐人选").click()
    expect(page.locator("#named")).to_contain_text("本期已确认：杨先锋")
    screenshot(page, "console-role-models")
