"""A whole themed day run from the console (电脑管理端) without curl, against the real platform: the county admin
issues the month's theme (一键下发), the secretary plans, the admin approves, the secretary decides a leave request
and uploads the photo and the written record, members sign in and out (the API, with the service clock shifted),
the day closes; the activity page shows the flags, every member's final status, the back-fill, the rectification
and the chain's verdict as the API answers them; the statistics page and the ranking page show the API's numbers.
A secretary of another branch opening the activity by its URL sees only 无权访问或不存在."""
from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from gateway.client import ApiError
from tests.browser.conftest import api_client, console_login
from tests.support.attendance import VENUE, ThemedDay, photo
from tests.support.identity import PASSWORD
from tests.support.scoring import wait_for

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
STATUS_TEXT = {"present": "出席", "incomplete": "未签退", "excused": "请假", "absent": "缺席",
               "mobile": "流动党员（线上参与）"}



def table_cells(page, selector: str) -> list[list[str]]:
    rows = page.locator(f"{selector} tbody tr")
    return [[cell.strip() for cell in row.locator("td").all_inner_texts()] for row in rows.all()]


def number(value) -> str:
    """A count as the page shows it (the API's Struct rows carry numbers as doubles)."""
    return str(int(value)) if float(value) == int(value) else str(value)


def rate_text(rate) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def test_an_admin_and_a_secretary_run_a_whole_themed_day_from_the_console(rpc, city, new_context, base_url, screenshot):
    day = ThemedDay(rpc, city, members=4, mobile=1)
    county, branch = city.counties[0], day.branch
    admin_api = api_client(base_url, city, "county1")

    # 一键下发: the county admin issues the month's theme to the county's subtree from the themed-days page
    admin = new_context(**DESKTOP).new_page()
    console_login(admin, city, "county1", "/console/themed-days")
    form = admin.locator("#theme-form")
    expect(form.locator(f'#theme-org option[value="{county["id"]}"]')).to_have_count(1)
    form.locator("#theme-org").select_option(county["id"])
    form.locator("#theme-month").fill(day.month)
    form.locator("#theme-title").fill("学习党章 重温入党誓词")
    form.locator("#theme-due-from").fill((day.day - timedelta(days=2)).isoformat())
    form.locator("#theme-due-to").fill((day.day + timedelta(days=2)).isoformat())
    form.get_by_role("button", name="一键下发").click()
    expect(admin.locator("#theme-status")).to_contain_text("下发成功")
    issued = admin_api.call("ListActivities", {"org_id": county["id"], "month": day.month, "page_size": 100})
    expect(admin.locator("#theme-status")).to_contain_text(f"{len(issued['activities'])} 个支部收到了")
    assert len(issued["activities"]) == 2 == len(city.branches[0])
    assert {a["title"] for a in issued["activities"]} == {"学习党章 重温入党誓词"}
    day.activity = next(a for a in issued["activities"] if a["branch_id"] == branch["id"])
    activity_id = day.activity["id"]
    form.get_by_role("button", name="一键下发").click()          # a second time: nothing more to issue
    expect(admin.locator("#theme-status")).to_contain_text("本月主题已下发")

    # the secretary fills the plan; the county admin approves it
    secretary = new_context(**DESKTOP).new_page()
    console_login(secretary, city, day.secretary_username, "/console/themed-days")
    secretary.locator(f'button.plan-button[data-activity="{activity_id}"]').click()
    secretary.locator("#plan-date").fill(day.day.isoformat())
    secretary.locator("#plan-start").fill("10:00")
    secretary.locator("#plan-end").fill("11:30")
    secretary.locator("#plan-venue").fill("党员活动室")
    secretary.locator("#plan-lat").fill(str(VENUE[0]))
    secretary.locator("#plan-lng").fill(str(VENUE[1]))
    secretary.get_by_role("button", name="提交计划").click()
    expect(secretary.locator("#page-status")).to_contain_text("计划已提交")
    admin.reload()
    admin.locator(f'.review[data-activity="{activity_id}"]').get_by_role("button", name="通过").click()
    expect(admin.locator("#page-status")).to_contain_text("已通过")
    day.activity = rpc.attendance.get_activity(scope=day.secretary, activity_id=activity_id)
    assert day.activity["status"] == "approved"

    # a member asks for leave before the start; the secretary approves it on the activity page
    leave = rpc.attendance.request_leave(scope=day.member_scopes[2], activity_id=activity_id, reason="外出务工")
    secretary.goto(f"/console/activity?id={activity_id}")
    decision = secretary.locator(f'.leave-decision[data-leave="{leave["id"]}"]')
    decision.locator(".leave-note").fill("同意，请会后补学")
    decision.get_by_role("button", name="批准", exact=True).click()
    expect(secretary.locator("#leaves-status")).to_contain_text("已批准 党员2 的请假申请")
    expect(secretary.locator("#leave-table")).to_contain_text("已批准")
    assert rpc.attendance.list_leaves(scope=day.secretary, activity_id=activity_id)["leaves"][0]["state"] == "approved"

    # the day: member 0 signs in with a mock location (flagged) and out; member 1 never signs out; 3 stays away
    day.at("start_at", -10)
    day.scan(day.member_scopes[0], "in", mock_location=True, device_id="phone-0")
    day.scan(day.member_scopes[1], "in", device_id="phone-1")

    # photos and the written record from the page; a file that is no image is refused by the API's decoder
    secretary.reload()
    secretary.locator("#photo-file").set_input_files(
        {"name": "假照片.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n" + b"not an image" * 20})
    secretary.get_by_role("button", name="上传照片").click()
    expect(secretary.locator("#uploads-status")).to_contain_text("照片未上传：不是有效的图片")
    secretary.locator("#photo-file").set_input_files(
        {"name": "现场.png", "mimeType": "image/png", "buffer": photo("PNG", (320, 240))})
    secretary.get_by_role("button", name="上传照片").click()
    expect(secretary.locator("#uploads-status")).to_contain_text("照片 现场.png 已上传")
    secretary.locator("#text-record").fill("会议由支部书记主持，全体党员重温入党誓词。")
    secretary.get_by_role("button", name="提交记录").click()
    expect(secretary.locator("#uploads-summary")).to_have_text("共 1 张照片，文字记录 21 字。")
    uploads = rpc.attendance.list_uploads(scope=day.secretary, activity_id=activity_id)["uploads"]
    assert sorted(upload["kind"] for upload in uploads) == ["photo", "text"]
    assert next(u for u in uploads if u["kind"] == "photo")["size"] == len(photo("PNG", (320, 240)))

    day.at("end_at", 5)
    day.scan(day.member_scopes[0], "out", device_id="phone-0")
    day.at("checkout_closes_at", 1)          # the sweep closes the activity
    closed = rpc.attendance.get_activity(scope=day.secretary, activity_id=activity_id)
    assert closed["status"] == "closed"

    # the admin's activity page: flags with their records, and every member's final status as the API has it
    admin.goto(f"/console/activity?id={activity_id}")
    expect(admin.locator("#flag-table")).to_contain_text("模拟定位")
    flags = table_cells(admin, "#flag-table")
    assert [(cells[1], cells[2], cells[5]) for cells in flags] == [("党员0", "签到", "模拟定位")]
    expected = {"党员0": "present", "党员1": "incomplete", "党员2": "excused", "党员3": "absent", "流动党员0": "mobile"}
    statuses = admin.locator("#status-table tbody tr")
    expect(statuses).to_have_count(5)
    api_rows = rpc.attendance.get_statistics(scope=day.secretary, org_id=branch["id"], month_from=day.month,
                                             month_to=day.month, by="member")["rows"]
    api_status = {row["member_name"]: next(s for s in STATUS_TEXT if row[s]) for row in api_rows}
    assert api_status == expected
    shown = {cells[0]: cells[1] for cells in table_cells(admin, "#status-table")}
    assert shown == {name: STATUS_TEXT[status] for name, status in expected.items()}
    totals = closed["totals"]
    expect(admin.locator('[data-fact="present"]')).to_have_text(str(totals["present"]))
    assert (totals["present"], totals["incomplete"], totals["excused"], totals["absent"], totals["mobile"]) == (
        1, 1, 1, 1, 1)

    # 补录: member 3's sign-in back-filled with a reason; the status and the totals follow
    absent_id = day.members[3]["id"]
    admin.locator("#backfill-member").select_option(absent_id)
    admin.locator("#backfill-direction").select_option("in")
    admin.locator("#backfill-reason").fill("手机没电，书记现场核实到会")
    admin.get_by_role("button", name="补录", exact=True).click()
    expect(admin.locator("#backfill-status")).to_contain_text("已为 党员3 补录签到")
    expect(admin.locator(f'#status-table tr[data-member="{absent_id}"]')).to_contain_text("未签退")
    after = rpc.attendance.get_activity(scope=day.secretary, activity_id=activity_id)["totals"]
    assert (after["incomplete"], after["absent"]) == (2, 0)
    expect(admin.locator("#scan-table")).to_contain_text("补录：手机没电，书记现场核实到会")

    # 整改: opened and closed by the admin
    admin.locator("#rectification-title").fill("补齐会议记录签字")
    admin.locator("#rectification-due").fill((day.day + timedelta(days=7)).isoformat())
    admin.get_by_role("button", name="下达整改").click()
    expect(admin.locator("#rectification-table")).to_contain_text("整改中")
    admin.locator("#rectification-table .close-note").fill("已补签")
    admin.get_by_role("button", name="办结").click()
    expect(admin.locator("#rectification-table")).to_contain_text("已办结")
    items = admin_api.call("ListRectifications", {"org_id": branch["id"]})["rectifications"]
    assert [(item["title"], item["state"], item["closing_note"]) for item in items] == [
        ("补齐会议记录签字", "closed", "已补签")]

    # the chain verifies: 完整, with the API's count of records
    admin.get_by_role("button", name="校验记录链").click()
    chain = admin_api.call("VerifyChain", {"activity_id": activity_id})
    assert chain["ok"] and chain["sealed"]
    expect(admin.locator("#chain-verdict")).to_contain_text("完整")
    expect(admin.locator("#chain-verdict")).to_contain_text(f"共校验 {chain['checked']} 条记录，链头序号 {chain['head_seq']}")
    screenshot(admin, "console-activity-closed")

    # 考勤统计: the page's tables are the API's rows, by branch and by member, and the XLSX downloads
    admin.goto(f"/console/statistics?org={county['id']}&month_from={day.month}&month_to={day.month}")
    by_branch = admin_api.call("GetStatistics", {"org_id": county["id"], "month_from": day.month,
                                                 "month_to": day.month, "by": "branch"})["rows"]
    by_member = admin_api.call("GetStatistics", {"org_id": county["id"], "month_from": day.month,
                                                 "month_to": day.month, "by": "member"})["rows"]
    expect(admin.locator("#branch-table tbody tr")).to_have_count(len(by_branch))
    assert table_cells(admin, "#branch-table") == [
        [row["branch_name"], *(number(row[key]) for key in ("activities", "closed", "roster", "on_site_expected",
                                                            "present", "incomplete", "excused", "absent", "mobile")),
         rate_text(row["attendance_rate"])] for row in by_branch]
    ours = next(row for row in by_branch if row["branch_id"] == branch["id"])
    assert (ours["present"], ours["incomplete"], ours["excused"], ours["absent"], ours["mobile"]) == (1, 2, 1, 0, 1)
    assert table_cells(admin, "#member-table") == [
        [row["member_name"], row["branch_name"], *(number(row[key]) for key in (
            "activities", "present", "incomplete", "excused", "absent", "mobile")), rate_text(row["attendance_rate"])]
        for row in by_member]
    assert {row["member_name"] for row in by_member} == set(expected)
    xlsx = admin.locator("#export-xlsx").get_attribute("href")
    assert xlsx == f"/v1/orgs/{county['id']}/attendance-statistics.xlsx?month_from={day.month}&month_to={day.month}&download=1"
    answer = admin.request.get(xlsx)
    assert answer.status == 200 and answer.body()[:2] == b"PK"
    assert "spreadsheetml" in answer.headers["content-type"]
    screenshot(admin, "console-statistics")

    # the ranking page: the branch's score is the API's, once scoring has taken in the closed day
    def settled():
        first = admin_api.call("GetRanking", {"org_id": county["id"], "period": day.month, "page_size": 500})
        row = next((r for r in first["rows"] if r["branch_id"] == branch["id"] and r["held"]), None)
        if row is None or row.get("score") is None:
            return None
        again = admin_api.call("GetRanking", {"org_id": county["id"], "period": day.month, "page_size": 500})
        return again if again["rows"] == first["rows"] else None
    ranking = wait_for(settled, timeout=90)
    ranked = next(row for row in ranking["rows"] if row["branch_id"] == branch["id"])
    admin.goto(f"/console/ranking?org={county['id']}&period={day.month}")
    row = admin.locator("#ranking-rows tbody tr").filter(has_text=branch["name"])
    expect(row).to_have_count(1)
    cells = [cell.strip() for cell in row.locator("td").all_inner_texts()]
    assert cells[0] == str(ranked["rank"]) and cells[3] == f"{ranked['score']:.2f}"


def test_a_secretary_of_another_branch_sees_nothing_of_the_activity(rpc, city, themed_day, new_context, base_url):
    other = city.branches[0][1]
    rpc.identity.create_account(scope=city.admin, username="sec-other", password=PASSWORD, role="branch_secretary",
                                org_id=other["id"])
    activity_id = themed_day.activity["id"]
    page = new_context(**DESKTOP).new_page()
    console_login(page, city, "sec-other", f"/console/activity?id={activity_id}")
    expect(page.locator("#denied")).to_contain_text("无权访问或不存在")
    expect(page.locator("body")).not_to_contain_text(themed_day.activity["title"])
    expect(page.locator("#activity-records")).to_have_count(0)
    # the API's own answer to the same caller
    with pytest.raises(ApiError) as refused:
        api_client(base_url, city, "sec-other").call("GetActivity", {"activity_id": activity_id})
    assert (refused.value.status, refused.value.code) == (404, "ACTIVITY_NOT_FOUND")
