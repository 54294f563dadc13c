"""改期 and 取消 of a planned meeting on the console's 三会一课 page, against the real platform: the secretary moves a
party lesson to another day and venue (the form filled with the current plan), sees the refusal of a time in the
past in Chinese (the pages' table of codes, gateway/web/common/messages.js), then cancels it with a reason (required
by the form and the service); the list shows it as 已取消 with its reason and offers no more actions, and the
member's page shows it cancelled. A member's leave approved for the old day shows 已失效（会议已改期） on the member's
page once the meeting moved, which offers the leave form again."""
from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, console_login, log_in
from tests.support.identity import PASSWORD
from tests.support.meetings import meeting_branch


@pytest.fixture
def branch(rpc, city):
    yield from meeting_branch(rpc, city, members=2)


def test_a_secretary_reschedules_then_cancels_a_planned_meeting(branch, rpc, new_context, screenshot):
    meeting = branch.plan("lesson")
    leave = rpc.attendance.request_leave(scope=branch.member_scopes[0], activity_id=meeting["id"], reason="周二出差")
    rpc.attendance.decide_leave(scope=branch.secretary, leave_id=leave["id"], decision="approved")
    page = new_context(**DESKTOP).new_page()
    console_login(page, branch.city, branch.secretary_username, "/console/meetings")
    row = page.locator(f'#meeting-table tbody tr[data-meeting="{meeting["id"]}"]')
    expect(row).to_contain_text("待召开")

    row.locator("button.reschedule-button").click()
    form = page.locator("#reschedule-form")
    expect(form).to_be_visible()
    expect(form.locator("#reschedule-date")).to_have_value(branch.day.isoformat())
    expect(form.locator("#reschedule-start")).to_have_value("14:00")
    expect(form.locator("#reschedule-venue")).to_have_value("党员活动室")
    form.locator("#reschedule-date").fill("2020-01-01")
    form.get_by_role("button", name="确认改期").click()
    expect(page.locator("#reschedule-status")).to_have_text("活动日期不能早于今天")      # PLAN_IN_PAST
    later = (branch.day + timedelta(days=1)).isoformat()
    form.locator("#reschedule-date").fill(later)
    form.locator("#reschedule-start").fill("15:00")
    form.locator("#reschedule-end").fill("16:00")
    form.locator("#reschedule-venue").fill("村委会会议室")
    form.locator("#reschedule-reason").fill("与全县大会冲突")
    form.get_by_role("button", name="确认改期").click()
    expect(page.locator("#page-status")).to_contain_text(f"改期至 {later} 15:00–16:00，地点：村委会会议室")
    expect(form).to_be_hidden()
    expect(row).to_contain_text(f"{later} 15:00–16:00")
    expect(row.locator(".reschedule-note")).to_have_text("已改期 1 次，最近一次原因：与全县大会冲突")
    moved = branch.get()
    assert (moved["date"], moved["venue_name"]) == (later, "村委会会议室")
    assert moved["reschedules"][0]["reason"] == "与全县大会冲突"

    # the leave approved for the old day lapsed with the move: the member sees it and may ask again
    member = new_context(**PHONE).new_page()
    member.goto("/m/meetings")
    log_in(member, branch.city.code, branch.member_usernames[0], PASSWORD)
    card = member.locator(f'article.meeting[data-id="{meeting["id"]}"]')
    expect(card.locator(".my-meeting-status")).to_have_text("请假已失效（会议已改期）")
    expect(card.locator(".leave-lapsed")).to_contain_text("原请假申请已失效")
    card.locator("details.leave summary").click()
    card.locator("textarea[name=reason]").fill("周三仍在外地")
    card.get_by_role("button", name="提交请假申请").click()
    expect(card.locator(".my-meeting-status")).to_have_text("请假待审批")
    expect(card.locator("details.leave")).to_have_count(0)
    assert [(item["state"], item["reason"]) for item in rpc.attendance.list_leaves(
        scope=branch.secretary, activity_id=meeting["id"])["leaves"]] == [("pending", "周三仍在外地")]

    row.locator("button.cancel-button").click()
    cancel = page.locator("#cancel-form")
    expect(cancel).to_be_visible()
    expect(page.locator("#reschedule-form")).to_be_hidden()
    cancel.locator("#cancel-reason").fill("   ")
    cancel.get_by_role("button", name="确认取消会议").click()
    expect(page.locator("#cancel-status")).to_have_text("请填写取消会议的原因。")
    assert branch.get()["state"] == "planned"
    cancel.locator("#cancel-reason").fill("书记外出培训，另行安排")
    cancel.get_by_role("button", name="确认取消会议").click()
    expect(page.locator("#page-status")).to_contain_text(f"已取消 {later} 的党课")
    expect(row).to_contain_text("已取消")
    expect(row.locator(".cancel-reason")).to_contain_text("取消原因：书记外出培训，另行安排")
    expect(row).to_contain_text("—")
    expect(row.locator("button")).to_have_count(0)
    expect(row.locator("a.screen-in")).to_have_count(0)
    assert branch.get()["cancellation"]["reason"] == "书记外出培训，另行安排"
    page.locator("#filter-state").select_option("cancelled")
    page.get_by_role("button", name="筛选").click()
    expect(page.locator("#meeting-table tbody tr")).to_have_count(1)
    screenshot(page, "console-meeting-cancelled")

    phone = new_context(**PHONE).new_page()       # the member page, at phone width
    phone.goto("/m/meetings")
    log_in(phone, branch.city.code, branch.member_usernames[0], PASSWORD)
    card = phone.locator(f'article.meeting[data-id="{meeting["id"]}"]')
    expect(card).to_contain_text("已取消")
    expect(card.locator(".cancel-reason")).to_have_text("书记外出培训，另行安排")


def test_a_meeting_whose_sign_in_has_begun_offers_no_change_and_the_service_refuses_one(branch, rpc, new_context):
    meeting = branch.plan("assembly")
    page = new_context(**DESKTOP).new_page()
    console_login(page, branch.city, branch.secretary_username, "/console/meetings")
    row = page.locator(f'#meeting-table tbody tr[data-meeting="{meeting["id"]}"]')
    row.locator("button.reschedule-button").click()
    branch.at("checkin_opens_at", -5)            # meanwhile the roster is frozen: members may scan
    page.locator("#reschedule-start").fill("16:00")
    page.locator("#reschedule-end").fill("17:00")
    page.get_by_role("button", name="确认改期").click()
    expect(page.locator("#reschedule-status")).to_have_text("会议签到已开始或会议已结束，不能再改期或取消")
    assert branch.get()["reschedules"] == []
