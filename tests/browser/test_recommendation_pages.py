"""Recommendations in a real browser: a member whose quiz answers show a gap opens /m/foryou and sees the item of
that category first with the reason, and opens it; the county admin's /console/gaps shows the branch's weakest
category with its rate and who has not finished this month's package."""
from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from tests.browser.conftest import console_login, log_in
from tests.integration.content.test_recommendations import publish, take_quiz_with_two_right
from tests.support.identity import PASSWORD


def test_a_member_sees_its_gap_first_and_the_secretary_sees_the_branch_report(rpc, city, new_context, phone,
                                                                                screenshot):
    branch = city.branches[0][0]
    member = city.add_member(branch, "王推荐")
    login = city.member_login(member, "foryou-member")
    charter = publish(rpc, city, "学习党章心得", ["党章"])
    publish(rpc, city, "乡村振兴经验", ["乡村振兴"])
    take_quiz_with_two_right(rpc, city, login)
    month = time.strftime("%Y-%m", time.gmtime(time.time() + 8 * 3600))
    package = rpc.content.create_package(scope=city.admin, org_id=city.root["id"], month=month, title="本月套餐",
                                         due_on=f"{month}-28", items=[{"key": "v1", "title": "视频", "kind": "video",
                                                                       "url": "https://example.org/v.mp4"}])
    rpc.content.publish_package(scope=city.admin, package_id=package["id"])

    phone.goto("/m/foryou")
    log_in(phone, city.code, "foryou-member", PASSWORD)
    first = phone.locator("#recommendations .recommendation").first
    expect(first).to_contain_text("学习党章心得")
    expect(first.locator(".reason")).to_contain_text("党章 类题目正确率 33%")
    expect(phone.locator("#gaps")).to_contain_text("党章 类题目正确率 33%（已答 6 道）")
    expect(phone.locator("nav.tabs a[aria-current=page]")).to_have_text("推荐")
    screenshot(phone, "member-foryou")
    first.get_by_role("link").click()
    expect(phone).to_have_url(re.compile(rf"/m/item\?id={charter['id']}$"))

    page = new_context(viewport={"width": 1280, "height": 900}).new_page()
    console_login(page, city, "county1", f"/console/gaps?branch={branch['id']}&month={month}")
    expect(page.locator("#summary")).to_contain_text("薄弱类别：党章（正确率 33%）")
    row = page.locator("#category-rows tbody tr").first
    expect(row.locator("td").nth(0)).to_have_text("党章")
    expect(row.locator("td").nth(3)).to_have_text("33%")
    expect(row.locator("td").nth(4)).to_have_text("薄弱")
    expect(page.locator(f"#behind-{package['id']} tbody tr")).to_have_count(1)
    expect(page.locator(f"#behind-{package['id']} tbody tr td").first).to_have_text("王推荐")
    screenshot(page, "console-gaps")
