"""党员检索 on the console's members page in a real browser against the real platform: what a search shows is
what the API answers to the same caller, the search survives a reload, and a refused search says why."""
from __future__ import annotations

import urllib.parse

from playwright.sync_api import expect

from tests.browser.conftest import api_client, console_login

DESKTOP = {"viewport": {"width": 1280, "height": 900}}


def shown_names(page) -> list[str]:
    return page.locator("#members a.member-link").all_inner_texts()


def test_a_county_admin_searches_members_by_name_and_phone(city, new_context, base_url, screenshot):
    found = city.add_member(city.branches[0][0], "张小明", phone="13911110001")
    city.add_member(city.branches[0][1], "张伟", phone="13922220002")
    city.add_member(city.branches[1][0], "李小明", phone="13933330003")          # the other county
    county = api_client(base_url, city, "county1")
    county_id = city.counties[0]["id"]
    page = new_context(**DESKTOP).new_page()
    console_login(page, city, "county1", f"/console/members?org={county_id}")
    expect(page.locator("#members")).to_contain_text("张伟")

    search = page.get_by_placeholder("搜索姓名或手机号")
    search.fill("小明")
    search.press("Enter")
    expect(page.locator("#members a.member-link")).to_have_count(1)
    expect(page.locator(f'a.member-link[data-member="{found["id"]}"]')).to_have_text("张小明")
    api = county.call("ListMembers", {"org_id": county_id, "q": "小明"})["members"]
    assert shown_names(page) == [member["name"] for member in api] == ["张小明"]
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)["q"] == ["小明"]
    screenshot(page, "console-member-search")

    # the search is in the URL: a reload shows the same list with the text still in the box
    page.reload()
    expect(page.get_by_placeholder("搜索姓名或手机号")).to_have_value("小明")
    expect(page.locator("#members a.member-link")).to_have_count(1)
    assert shown_names(page) == ["张小明"]

    search = page.get_by_placeholder("搜索姓名或手机号")
    search.fill("0002")
    search.press("Enter")
    expect(page.locator("#members a.member-link")).to_have_text(["张伟"])

    # a name only the other county has: nothing, said so
    search.fill("李小明")
    search.press("Enter")
    expect(page.locator("#members-empty")).to_have_text("未找到匹配的党员。")
    assert county.call("ListMembers", {"org_id": county_id, "q": "李小明"})["members"] == []

    # a refused search says why, in Chinese; the next good one clears it
    search.fill("12345")
    search.press("Enter")
    expect(page.locator("#member-list-status")).to_contain_text("请输入完整的 11 位手机号或其后 4 位")
    expect(page.locator("#members")).to_have_count(0)
    search.fill("")
    search.press("Enter")
    expect(page.locator("#member-list-status")).to_be_hidden()
    expect(page.locator("#members a.member-link")).to_have_count(2)
    assert "q=" not in page.url
