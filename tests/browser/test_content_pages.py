"""Publishing and reading in a real browser: a county admin writes and submits an article on 内容发布, the city
admin approves it there, a member finds it in its feed on the phone and reads it; a notice read by some members
shows its receipts on 通知已读, where the secretary sees who has not read it and reminds them."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import api_client, console_login, log_in
from tests.support.identity import PASSWORD

BODY = "各支部要认真组织学习。\n结合实际撰写心得体会。"


def test_an_article_is_written_reviewed_and_read_on_the_phone(rpc, city, new_context, base_url, phone, screenshot):
    county_org, branch = city.counties[0], city.branches[0][0]
    city.member_login(city.add_member(branch, "孙阅读"), "reader-b")

    page = new_context(viewport={"width": 1280, "height": 900}).new_page()
    console_login(page, city, "county1", f"/console/content?org={county_org['id']}")
    expect(page.locator("#column-rows tbody tr")).to_have_count(5)
    page.get_by_label("标题", exact=True).fill("学习党章心得")
    page.get_by_label("正文", exact=True).fill(BODY)
    page.get_by_label("标签（用空格或逗号分隔，如：党章 党史）").fill("党章 党史")
    page.get_by_role("button", name="保存并提交").click()
    expect(page.locator("#status")).to_have_text("已提交审核")
    row = page.locator("#item-rows tbody tr").filter(has_text="学习党章心得")
    expect(row.locator(".item-status")).to_contain_text("待审核")
    screenshot(page, "console-content-submitted")

    reviewer = new_context(viewport={"width": 1280, "height": 900}).new_page()
    console_login(reviewer, city, "city-admin", f"/console/content?org={county_org['id']}&status=submitted")
    pending = reviewer.locator("#item-rows tbody tr").filter(has_text="学习党章心得")
    pending.get_by_role("button", name="通过").click()
    expect(reviewer.locator("#status")).to_have_text("操作成功")
    expect(reviewer.locator("#no-items")).to_be_visible()        # the queue of 待审核 is empty now
    [item] = api_client(base_url, city, "county1").call("ListItems", {"org_id": county_org["id"]})["items"]
    assert (item["status"], item["tags"]) == ("published", ["党章", "党史"])

    phone.goto("/m/feed")
    log_in(phone, city.code, "reader-b", PASSWORD)
    link = phone.locator(".feed-item h3 a").filter(has_text="学习党章心得")
    expect(link).to_be_visible()
    expect(phone.locator("nav.tabs a[aria-current='page']")).to_have_text("资讯")
    link.click()
    expect(phone.locator("#item-title")).to_have_text("学习党章心得")
    expect(phone.locator("#item-body p")).to_have_text(["各支部要认真组织学习。", "结合实际撰写心得体会。"])
    screenshot(phone, "member-item")


def test_the_secretary_sees_who_has_not_read_a_notice_and_reminds_them(rpc, city, new_context, base_url, phone,
                                                                        screenshot):
    branch = city.branches[0][0]
    for n, name in enumerate(("周一", "周二", "周三")):
        city.member_login(city.add_member(branch, name), f"notice-{n}")
    rpc.identity.create_account(scope=city.admin, username="sec-notice", password=PASSWORD, role="branch_secretary",
                                org_id=branch["id"])
    admin = api_client(base_url, city, "city-admin")
    columns = admin.call("ListColumns", {"org_id": city.root["id"]})["columns"]
    notice = admin.call("CreateItem", {"column_id": next(c["id"] for c in columns if c["key"] == "notices"),
                                       "kind": "notice", "title": "关于学习党章的通知", "body": "请按时学习。"})
    admin.call("SubmitItem", {"item_id": notice["id"]})
    api_client(base_url, city, "notice-1").call("GetItem", {"item_id": notice["id"]})

    phone.goto(f"/m/item?id={notice['id']}")
    log_in(phone, city.code, "notice-0", PASSWORD)
    expect(phone.locator("#read-mark")).to_have_text("已读")

    page = new_context(viewport={"width": 1280, "height": 900}).new_page()
    console_login(page, city, "sec-notice", f"/console/notices?org={branch['id']}")
    expect(page.locator("#notice-title")).to_have_text("关于学习党章的通知")
    expect(page.locator("#totals")).to_have_text("已读 2 / 3（67%），未读 1 人")
    page.locator("#receipt-rows .branch-link").first.click()
    expect(page.locator("#unread-list td")).to_have_text(["周三"])
    expect(page.locator("#read-list tbody tr")).to_have_count(2)
    page.get_by_role("button", name="提醒本支部未读党员").click()
    expect(page.locator("#status")).to_have_text("已提醒 1 名未读党员")
    screenshot(page, "console-notice-receipts")
