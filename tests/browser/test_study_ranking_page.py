"""本支部学习榜 on the member's /m/study page: absent while the tenant keeps study private (the API answers
STUDY_RANKING_OFF), shown with the member's own line once the city admin turns study_points_public on."""
from __future__ import annotations

import time

from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.support.identity import PASSWORD


def test_the_branch_ranking_appears_only_when_public(rpc, city, new_context, screenshot):
    branch = city.branches[0][0]
    studier = city.member_login(city.add_member(branch, "陈学习"), "ranking-studier")
    month = time.strftime("%Y-%m", time.gmtime(time.time() + 8 * 3600))
    package = rpc.content.create_package(scope=city.admin, org_id=city.root["id"], month=month, title="本月学习套餐",
                                         due_on=f"{month}-28", items=[
                                             {"key": "a1", "title": "学习链接", "kind": "article",
                                              "url": "https://example.org/a1", "min_seconds": 1}])
    rpc.content.publish_package(scope=city.admin, package_id=package["id"])
    session = rpc.content.start_study(scope=studier, package_id=package["id"], item_key="a1")
    time.sleep(1.2)
    assert rpc.content.end_study(scope=studier, session_id=session["session_id"])["studied"] is True

    page = new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
    page.goto("/m/study")
    log_in(page, city.code, "ranking-studier", PASSWORD)
    expect(page.locator(".study-item[data-key='a1']")).to_contain_text("已学")
    expect(page.locator("#study-ranking")).to_have_count(0)

    rpc.content.set_settings(scope=city.admin, settings={"study_points_public": True})
    page.reload()
    ranking = page.locator("#study-ranking")
    expect(ranking.get_by_role("heading", name="本支部学习榜")).to_be_visible()
    expect(ranking.locator("li.me")).to_contain_text("第 1 名")
    expect(ranking.locator("li.me")).to_contain_text("陈学习（我）")
    expect(ranking.locator("li.me")).to_contain_text("已学 1 项")
    screenshot(page, "member-study-ranking")
