"""三会一课 in the console and on the phone, against the real platform: a secretary plans a party lesson, a member
signs in on the member page by scanning its QR code, the meeting closes as held and the secretary records it; the
county admin's ledger shows a branch pending, then yellow once half its quarter passed with nothing held, then red
once the quarter ended short (the attendance service's clock shifted, as the themed-day tests do)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

from servicekit.timestamps import LOCAL_ZONE
from tests.browser.conftest import api_client, at_service_time, console_login, log_in
from tests.support.attendance import VENUE
from tests.support.identity import PASSWORD
from tests.support.meetings import meeting_branch

DESKTOP = {"viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def branch(rpc, city):
    yield from meeting_branch(rpc, city, members=3)


def test_a_secretary_records_a_meeting_held_with_qr_sign_in(branch, rpc, new_context, phone_at, base_url, screenshot):
    secretary = new_context(**DESKTOP).new_page()
    console_login(secretary, branch.city, branch.secretary_username, "/console/meetings")
    expect(secretary.locator("#console-nav")).to_contain_text("三会一课台账")
    form = secretary.locator("#meeting-form")
    form.locator("#meeting-type").select_option("lesson")
    form.locator("#meeting-title").fill("学习新修订的党章")
    form.locator("#meeting-date").fill(branch.day.isoformat())
    form.locator("#meeting-start").fill("14:00")
    form.locator("#meeting-end").fill("15:30")
    form.locator("#meeting-venue").fill("党员活动室")
    form.locator("#meeting-lat").fill(str(VENUE[0]))
    form.locator("#meeting-lng").fill(str(VENUE[1]))
    form.get_by_role("button", name="安排会议").click()
    expect(secretary.locator("#meeting-status")).to_contain_text(f"已安排 {branch.day.isoformat()} 14:00 的党课")
    listed = api_client(base_url, branch.city, branch.secretary_username).call(
        "ListMeetings", {"org_id": branch.branch["id"]})["meetings"]
    assert [(m["meeting_type"], m["title"], m["state"]) for m in listed] == [("lesson", "学习新修订的党章", "planned")]
    branch.meeting = listed[0]
    branch.activity = {"id": branch.meeting["id"], "plan": {name: branch.meeting[name] for name in (
        "start_at", "end_at", "checkin_opens_at", "checkin_closes_at", "checkout_closes_at")}}
    meeting_id = branch.meeting["id"]
    screen = secretary.locator(f'a.screen-in[href*="{meeting_id}"]')
    expect(screen).to_have_attribute("href", f"/console/screen?id={meeting_id}&direction=in")

    # the member scans the projected code with the phone: the member page signs it in, as for a themed day
    branch.at("start_at", -10)
    phone = phone_at(40)
    at_service_time(phone, branch)
    phone.goto(f"/m/scan#{branch.token('in')}")
    log_in(phone, branch.city.code, branch.member_usernames[0], PASSWORD)
    expect(phone.locator("#verdict")).to_contain_text("签到成功")
    phone.goto("/m/meetings")
    card = phone.locator(f'article.meeting[data-id="{meeting_id}"]')
    expect(card.locator(".my-meeting-status")).to_have_text("已签到，待签退")
    expect(card).to_contain_text("党课：学习新修订的党章")
    scans = rpc.attendance.list_scans(scope=branch.secretary, activity_id=meeting_id)["scans"]
    assert [(s["member_id"], s["direction"]) for s in scans] == [(branch.members[0]["id"], "in")]

    branch.at("end_at", 3)
    branch.scan(branch.member_scopes[0], "out")
    branch.at("checkout_closes_at", 1)
    assert branch.get()["state"] == "held"

    # the secretary records it: host, recorder, topics and resolutions; the attendance is the sign-in's
    secretary.reload()
    secretary.locator(f'button.record-button[data-meeting="{meeting_id}"]').click()
    expect(secretary.locator("#record-attendance")).to_have_text("签到结果：应到 3 人，出席 1 人，请假 0 人，缺席 2 人。")
    expect(secretary.locator("#record-backfill-label")).to_be_hidden()
    secretary.locator("#record-host").fill("王书记")
    secretary.locator("#record-recorder").fill("李委员")
    secretary.locator("#record-topics").fill("学习新修订的党章\n讨论本季度发展党员计划")
    secretary.locator("#record-resolutions").fill("每月集中学习一次")
    secretary.get_by_role("button", name="保存记录").click()
    expect(secretary.locator("#page-status")).to_contain_text("已保存 学习新修订的党章 的会议记录")
    row = secretary.locator(f'#meeting-table tbody tr[data-meeting="{meeting_id}"]')
    expect(row).to_contain_text("已记录")
    expect(row).to_contain_text("主持：王书记　记录：李委员")
    expect(row).to_contain_text("1/3")
    expect(secretary.locator("#no-backfilled")).to_be_visible()
    recorded = branch.get()
    assert recorded["state"] == "recorded" and recorded["attendance"] == {"expected": 3, "present": 1, "excused": 0,
                                                                          "absent": 2}
    assert recorded["record"]["topics"] == ["学习新修订的党章", "讨论本季度发展党员计划"]
    assert recorded["record"]["resolutions"] == ["每月集中学习一次"] and not recorded["record"]["backfilled"]
    screenshot(secretary, "console-meetings-recorded")
    # its sign-in details are the themed day's activity page (the status table of a themed month left out)
    row.get_by_role("link", name="签到明细、请假与照片").click()
    expect(secretary.locator("#activity-title")).to_contain_text("学习新修订的党章")
    expect(secretary.locator("#scan-table")).to_contain_text("签到")
    expect(secretary.locator("#statuses-section")).to_be_hidden()

    phone.goto("/m/meetings")
    expect(card.locator(".my-meeting-status")).to_have_text("出席")
    expect(card).to_contain_text("议题：学习新修订的党章；讨论本季度发展党员计划")
    screenshot(phone, "member-meetings")


def quarter_after(day: date) -> date:
    """The first day of the quarter after ``day``'s."""
    index = (day.month - 1) // 3 + 1
    return date(day.year + index // 4, (index % 4) * 3 + 1, 1)


def set_service_date(rpc, day: date) -> None:
    """The attendance service's clock at noon, Beijing time, on ``day``."""
    target = datetime(day.year, day.month, day.day, 12, 0, tzinfo=LOCAL_ZONE)
    rpc.attendance.set_clock_offset(seconds=(target - datetime.now(timezone.utc)).total_seconds())


def test_the_county_admin_sees_a_branch_turn_yellow_then_red_in_the_ledger(rpc, city, new_context, base_url,
                                                                          screenshot):
    try:
        county, target = city.counties[0], city.branches[0][0]
        start = quarter_after(datetime.now(LOCAL_ZONE).date())
        month = (start + timedelta(days=62)).strftime("%Y-%m")        # the quarter's last month
        admin_api = api_client(base_url, city, "county1")
        admin = new_context(**DESKTOP).new_page()
        rpc.attendance.set_clock_offset(seconds=0)
        # every owed type quarterly, so that a branch's state is its quarter's whatever today's date
        rpc.attendance.set_meeting_settings(scope=city.admin, frequencies={"life": "quarterly"})
        console_login(admin, city, "county1", f"/console/meeting-ledger?org={county['id']}&month={month}")
        branch_row = admin.locator(f'#ledger-rows tbody tr[data-branch="{target["id"]}"]')
        row_state = branch_row.locator("td").nth(2)
        expect(row_state).to_have_text("未到期")              # the quarter has not begun

        set_service_date(rpc, start + timedelta(days=50))      # more than half the quarter passed, nothing held
        admin.get_by_role("button", name="查询").click()
        expect(row_state).to_have_text("黄灯")
        lesson = branch_row.locator('.ledger-item[data-type="lesson"]')
        expect(lesson).to_contain_text(f"党课（{start.year}-Q{(start.month - 1) // 3 + 1}）应开 1 次，已开 0 次")
        expect(lesson).to_have_attribute("data-state", "yellow")
        ledger = admin_api.call("GetMeetingLedger", {"org_id": county["id"], "month": month})
        assert (ledger["branches"], ledger["yellow"], ledger["red"]) == (2, 2, 0)
        expect(admin.locator("#ledger-summary")).to_contain_text("共 2 个支部，落后 2 个，其中黄灯 2 个、红灯 0 个")
        expect(admin.locator("#ledger-field-table tbody tr")).to_have_count(1)
        expect(admin.locator("#ledger-field-table tbody tr")).to_contain_text("农村")
        cells = admin.locator("#ledger-field-table tbody tr td").all_inner_texts()
        assert cells == ["农村", "2", "2", "0", "2"]
        expect(admin.locator("#ledger-chart canvas").first).to_be_visible()
        screenshot(admin, "console-meeting-ledger-yellow")

        set_service_date(rpc, quarter_after(start) + timedelta(days=1))      # the quarter ended short
        admin.get_by_role("button", name="查询").click()
        expect(row_state).to_have_text("红灯")
        expect(lesson).to_have_attribute("data-state", "red")
        ledger = admin_api.call("GetMeetingLedger", {"org_id": county["id"], "month": month, "state": "behind"})
        assert (ledger["red"], [row["state"] for row in ledger["rows"]]) == (2, ["red", "red"])
        assert admin.locator("#ledger-field-table tbody tr td").all_inner_texts() == ["农村", "2", "0", "2", "2"]
        screenshot(admin, "console-meeting-ledger-red")
    finally:
        rpc.attendance.set_clock_offset(seconds=0)
