"""The talk list on the console's points page in a real browser: the branch secretary records the talk with a
member (记录谈话: date and what was said), the row then shows 已谈话（date）and the record is the API's; a talk
recorded meanwhile by someone else is refused on the page in Chinese."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import api_client, console_login
from tests.browser.test_console_pages import last_month, publisher  # noqa: F401 - publisher is a fixture
from tests.support.identity import PASSWORD
from tests.support.scoring import ThemedDay as ScoredDay
from tests.support.scoring import today, wait_for

NOTE = "指出其两次无故缺席主题党日。\n本人表示接受批评，今后按时参加组织生活。"


def test_the_secretary_records_a_talk_and_the_list_shows_it_talked(rpc, city, publisher, new_context, base_url,
                                                                    screenshot):
    month, branch = last_month(), city.branches[0][0]
    cycle = month[:4]
    members = [city.add_member(branch, name) for name in ("张明", "李华")]
    day = ScoredDay(city.tenant_id, branch, month, [member["id"] for member in members])
    publisher.publish([day.issued(), *day.planned_and_opened(),
                       day.closed({member["id"]: "absent" for member in members})])      # -5 each: both listed
    rpc.identity.create_account(scope=city.admin, username="sec-talk", password=PASSWORD, role="branch_secretary",
                                org_id=branch["id"])
    secretary = api_client(base_url, city, "sec-talk")
    wait_for(lambda: secretary.call("ListTalkCandidates", {"org_id": branch["id"], "cycle": cycle})["total"] == 2)
    zhang, li = (member["id"] for member in members)

    page = new_context(viewport={"width": 1280, "height": 900}).new_page()
    console_login(page, city, "sec-talk", f"/console/points?org={branch['id']}&cycle={cycle}")
    row = {member: page.locator(f"#talk-rows tbody tr[data-member='{member}']") for member in (zhang, li)}
    expect(row[zhang].locator("td").nth(3)).to_have_text("未谈话")
    expect(row[li].locator("td").nth(3)).to_have_text("未谈话")
    expect(page.locator("#talks-rows tbody tr")).to_have_count(0)

    # 记录谈话 on 张明's row: the date defaults to today, what was said is typed in
    row[zhang].get_by_role("button", name="记录谈话").click()
    form = page.locator("form.talk-form")
    expect(form.get_by_label("谈话日期")).to_have_value(today())
    form.get_by_label("谈话内容").fill(NOTE)
    form.get_by_role("button", name="保存谈话记录").click()
    expect(page.locator("#talk-status")).to_have_text(f"已记录与 张明 的诫勉谈话（{today()}）。")
    expect(row[zhang].locator("td").nth(3)).to_have_text(f"已谈话（{today()}）")
    expect(row[zhang].get_by_role("button", name="记录谈话")).to_have_count(0)
    expect(row[li].locator("td").nth(3)).to_have_text("未谈话")
    expect(page.locator("form.talk-form")).to_have_count(0)

    talks = secretary.call("ListTalks", {"org_id": branch["id"], "cycle": cycle})
    [talk] = talks["talks"]
    me = secretary.call("GetMe", {})["account"]["id"]
    assert (talk["member_id"], talk["held_on"], talk["note"], talk["recorded_by"]) == (zhang, today(), NOTE, me)
    candidates = {m["member_id"]: m for m in secretary.call("ListTalkCandidates",
                                                            {"org_id": branch["id"], "cycle": cycle})["members"]}
    assert candidates[zhang]["talked"] and not candidates[li]["talked"]
    expect(page.locator("#talks-rows tbody tr")).to_have_count(1)
    cells = page.locator("#talks-rows tbody tr").first.locator("td")
    expect(cells.nth(0)).to_have_text(today())
    expect(cells.nth(1)).to_have_text("张明")
    expect(cells.nth(3)).to_have_text(NOTE)
    expect(page.locator("#talk-summary")).to_contain_text("已谈话 1 名")
    screenshot(page, "console-points-talks")

    # 李华's form is open when the county admin records her talk: the page's save is refused in Chinese
    row[li].get_by_role("button", name="记录谈话").click()
    page.locator("form.talk-form").get_by_label("谈话内容").fill("另一次谈话")
    county = api_client(base_url, city, "county1")
    county.call("RecordTalk", {"member_id": li, "cycle": cycle, "held_on": today(), "note": "县委组织部谈话"})
    page.locator("form.talk-form").get_by_role("button", name="保存谈话记录").click()
    expect(page.locator("form.talk-form .notice")).to_have_text("本周期已记录过该党员的诫勉谈话，每个周期只记录一次")
    screenshot(page, "console-points-talk-refused")
    notes = {t["member_id"]: t["note"] for t in secretary.call("ListTalks", {"org_id": branch["id"],
                                                                             "cycle": cycle})["talks"]}
    assert notes == {zhang: NOTE, li: "县委组织部谈话"}
    page.get_by_role("button", name="查询").click()
    expect(row[li].locator("td").nth(3)).to_have_text(f"已谈话（{today()}）")
    expect(page.locator("#talks-rows tbody tr")).to_have_count(2)
