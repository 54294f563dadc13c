"""Learning packages in a real browser: the city admin puts a package together on /console/packages, publishes it
and sees its progress; a member studies an item on /m/study: the page reports start and heartbeats, and the item
counts as studied once the service observed its minimum time (a short one; the page's timers are fast-forwarded,
the service's clock is real)."""
from __future__ import annotations

import time

from playwright.sync_api import expect

from tests.browser.conftest import api_client, console_login, log_in
from tests.support.identity import PASSWORD


def this_month() -> str:
    return time.strftime("%Y-%m", time.gmtime(time.time() + 8 * 3600))


def test_the_city_admin_creates_publishes_and_follows_a_package(rpc, city, new_context, base_url, screenshot):
    branch = city.branches[0][0]
    member = city.add_member(branch, "王学习")
    page = new_context(viewport={"width": 1280, "height": 900}).new_page()
    console_login(page, city, "city-admin", f"/console/packages?org={city.root['id']}")
    page.get_by_label("标题").fill("本月理论学习")
    page.get_by_label("截止日期").fill(f"{this_month()}-28")
    page.get_by_label("名称").fill("党章学习视频")
    page.get_by_label("类型").select_option("video")
    page.get_by_label("链接或资讯编号").fill("https://example.org/v1.mp4")
    page.get_by_label("最少时长（秒）").fill("2")
    page.get_by_label("计时上限（秒）").fill("5")
    page.get_by_role("button", name="保存为草稿").click()
    expect(page.locator("#create-status")).to_contain_text("已保存草稿“本月理论学习”")
    row = page.locator("#package-table tbody tr").filter(has_text="本月理论学习")
    expect(row.locator("td").first).to_have_text("草稿")
    row.get_by_role("button", name="发布").click()
    expect(row.locator("td").first).to_have_text("已发布")

    admin = api_client(base_url, city, "city-admin")
    [package] = admin.call("ListPackages", {"org_id": city.root["id"]})["packages"]
    assert (package["status"], package["items"][0]["min_seconds"], package["items"][0]["url"]) == (
        "published", 2, "https://example.org/v1.mp4")

    # the member studies by the API; the console's progress shows it per branch and per county
    studier = city.member_login(member, "page-studier")
    session = rpc.content.start_study(scope=studier, package_id=package["id"], item_key="i1")
    time.sleep(2.2)
    assert rpc.content.end_study(scope=studier, session_id=session["session_id"])["studied"] is True
    row.get_by_role("button", name="查看进度").click()
    rows = page.locator("#progress-rows tbody tr")
    expect(rows.first.locator("td").nth(1)).to_have_text(branch["name"])
    expect(rows.first.locator("td").nth(6)).to_have_text("100.0%")
    page.locator("#by").select_option("county")
    expect(rows.first.locator("td").nth(1)).to_have_text(city.counties[0]["name"])
    screenshot(page, "console-packages-progress")


def test_a_member_studies_an_item_and_sees_it_counted(rpc, city, new_context, screenshot):
    branch = city.branches[0][0]
    member = city.add_member(branch, "李学员")
    city.member_login(member, "phone-studier")
    month = this_month()
    package = rpc.content.create_package(scope=city.admin, org_id=city.root["id"], month=month, title="手机学习套餐",
                                         due_on=f"{month}-28", items=[
                                             {"key": "a1", "title": "学习链接", "kind": "article",
                                              "url": "https://example.org/a1", "min_seconds": 2}])
    rpc.content.publish_package(scope=city.admin, package_id=package["id"])

    page = new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
    page.clock.install()
    page.goto("/m/study")
    log_in(page, city.code, "phone-studier", PASSWORD)
    item = page.locator(".study-item[data-key='a1']")
    expect(item).to_contain_text("未学")
    expect(page.locator("nav.tabs a[aria-current='page']")).to_have_text("学习")
    item.get_by_role("link", name="学习链接").click()
    state = page.locator("#study-state")
    expect(state).to_contain_text("学习中")
    time.sleep(2.5)                                   # the service's own clock must see the time pass
    page.clock.run_for(16_000)                        # the page's 15-second heartbeat fires
    expect(state).to_contain_text("已完成学习")
    screenshot(page, "member-study-done")
    page.get_by_role("link", name="返回学习").click()
    expect(page.locator(".study-item[data-key='a1']")).to_contain_text("已学")
