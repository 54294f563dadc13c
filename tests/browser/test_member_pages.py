"""The member's phone pages (/m/scan, /m/) in headless Chromium against the real platform: a member opens the QR
URL, signs in from 50 m, is refused from 400 m with the distance, is told what to do without location permission,
signs out and posts a reflection; asks for leave before the start; is offered 重试 when the gateway sheds a scan."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import at_service_time, log_in
from tests.support.attendance import point_at
from tests.support.identity import PASSWORD
from tests.support.scoring import wait_for


def open_scan(page, day, direction: str = "in"):
    at_service_time(page, day)
    page.goto(f"/m/scan#{day.token(direction)}")


def test_a_member_scans_from_50_m_and_sees_signed_in(themed_day, phone_at, screenshot):
    day = themed_day
    day.at("start_at", -10)
    page = phone_at(50)
    open_scan(page, day)
    log_in(page, day.city.code, day.member_usernames[0], PASSWORD)
    verdict = page.locator("#verdict")
    expect(verdict).to_contain_text("签到成功")
    expect(verdict).to_contain_text(re.compile(r"签到时间：\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"))
    expect(verdict).to_contain_text(re.compile(r"距活动地点约 (49|50|51) 米"))
    assert "#" not in page.url                        # the token left the address bar
    assert page.evaluate("document.cookie").count("pb_session") == 0      # HttpOnly: no script reads the token
    screenshot(page, "member-scan-signed-in")
    first = verdict.inner_text()
    open_scan(page, day)                              # a repeat scan shows the first record's time
    expect(verdict).to_contain_text("已签到")
    time_of_first = re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", first).group(0)
    expect(verdict).to_contain_text(f"您已于 {time_of_first} 签到")


def test_a_member_400_m_away_sees_the_fence_refusal_with_the_distance(themed_day, phone_at, screenshot):
    day = themed_day
    day.at("start_at", -5)
    page = phone_at(400)
    open_scan(page, day)
    log_in(page, day.city.code, day.member_usernames[1], PASSWORD)
    verdict = page.locator("#verdict")
    expect(verdict).to_contain_text(re.compile(r"超出300米签到范围（距离约 (399|400|401) 米）"))
    expect(page.get_by_role("button", name="重新定位并签到")).to_be_visible()
    screenshot(page, "member-scan-outside-fence")
    lat, lng = point_at(30)                           # walks to the venue and tries again
    page.context.set_geolocation({"latitude": lat, "longitude": lng, "accuracy": 10})
    page.get_by_role("button", name="重新定位并签到").click()
    expect(verdict).to_contain_text("签到成功")


def test_a_member_who_denies_location_is_told_what_to_do_and_can_retry(themed_day, phone, screenshot):
    day = themed_day
    day.at("start_at", -5)
    open_scan(phone, day)
    log_in(phone, day.city.code, day.member_usernames[2], PASSWORD)
    expect(phone.locator("#verdict")).to_contain_text("无法获取您的位置")
    help_text = phone.locator("#help")
    expect(help_text).to_contain_text("允许")
    expect(help_text).to_contain_text("微信")
    screenshot(phone, "member-scan-location-denied")
    lat, lng = point_at(20)
    phone.context.grant_permissions(["geolocation"])
    phone.context.set_geolocation({"latitude": lat, "longitude": lng, "accuracy": 10})
    phone.get_by_role("button", name="已开启，重新定位").click()
    expect(phone.locator("#verdict")).to_contain_text("签到成功")


@pytest.mark.parametrize("status, code, said", [(503, "QUEUE_FULL", "当前使用人数较多，请稍后重试"),
                                               (503, "SERVICE_BUSY", "当前使用人数较多，请稍后重试"),
                                               (504, "PEER_TIMEOUT", "服务响应超时，请稍后再试")])
def test_a_scan_refused_for_overload_offers_a_retry_that_signs_in(themed_day, phone_at, status, code, said):
    """The gateway sheds a scan it cannot take now (503/504, nothing recorded): the page says so in Chinese and its
    重试 sends the same scan again. Only the first answer is the gateway's refusal, made here; the retry is real."""
    day = themed_day
    day.at("start_at", -5)
    page = phone_at(30)
    refused = []

    def shed_once(route):
        if refused:
            return route.continue_()
        refused.append(route.request.post_data_json)
        return route.fulfill(status=status, content_type="application/json", headers={"Retry-After": "1"},
                             body=json.dumps({"error": {"code": code, "message": "busy", "details": []}}))
    page.route("**/v1/scans", shed_once)
    open_scan(page, day)
    log_in(page, day.city.code, day.member_usernames[0], PASSWORD)
    verdict = page.locator("#verdict")
    expect(verdict).to_contain_text(said)
    assert day.rpc.attendance.list_scans(scope=day.secretary, activity_id=day.activity["id"])["scans"] == []
    page.get_by_role("button", name="重试").click()
    expect(verdict).to_contain_text("签到成功")
    assert len(refused) == 1 and refused[0]["token"]
    scans = day.rpc.attendance.list_scans(scope=day.secretary, activity_id=day.activity["id"])["scans"]
    assert len(scans) == 1


def test_a_too_coarse_position_is_explained_before_anything_is_sent(themed_day, phone_at):
    day = themed_day
    day.at("start_at", -5)
    page = phone_at(20, accuracy=450)
    open_scan(page, day)
    log_in(page, day.city.code, day.member_usernames[0], PASSWORD)
    expect(page.locator("#verdict")).to_contain_text("定位精度不足")
    expect(page.locator("#help")).to_contain_text("开阔处")
    assert day.rpc.attendance.list_scans(scope=day.secretary, activity_id=day.activity["id"])["scans"] == []


def test_a_member_signs_out_then_posts_a_reflection_on_the_home_page(themed_day, phone_at, screenshot):
    day = themed_day
    day.at("start_at", -10)
    page = phone_at(40)
    open_scan(page, day, "in")
    log_in(page, day.city.code, day.member_usernames[0], PASSWORD)
    expect(page.locator("#verdict")).to_contain_text("签到成功")
    page.goto("/m/")
    card = page.locator("section.activity")
    expect(card.locator(".my-status")).to_contain_text("已签到，待签退")
    expect(card).to_contain_text("记得签退")
    day.at("end_at", 2)
    open_scan(page, day, "out")                       # the session is still open: no login this time
    expect(page.locator("#verdict")).to_contain_text("签退成功")
    expect(page.locator("#verdict")).to_contain_text(re.compile(r"签退时间：\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"))
    screenshot(page, "member-scan-signed-out")
    page.goto("/m/")
    expect(card.locator(".my-status")).to_contain_text("已签退")
    card.get_by_label("心得体会").fill("重温入党誓词，深受教育。")
    card.get_by_role("button", name="发表心得体会").click()
    expect(page.locator("#flash")).to_contain_text("心得体会已发表")
    expect(card.locator(".reflection")).to_contain_text("重温入党誓词，深受教育。")
    posted = day.rpc.attendance.list_reflections(scope=day.secretary, activity_id=day.activity["id"])["reflections"]
    assert [r["text"] for r in posted] == ["重温入党誓词，深受教育。"]
    screenshot(page, "member-home")


def test_a_member_asks_for_leave_before_the_start_and_logs_out(themed_day, phone):
    day = themed_day
    day.at("start_at", -120)
    at_service_time(phone, day)
    phone.goto("/m/")
    log_in(phone, day.city.code, day.member_usernames[1], PASSWORD)
    card = phone.locator("section.activity")
    expect(card).to_contain_text(day.activity["title"])
    expect(card.locator(".plan-venue")).to_contain_text("党员活动室")
    card.get_by_text("不能参加？活动开始前可以请假").click()
    card.get_by_label("请假事由").fill("出差在外")
    card.get_by_role("button", name="提交请假申请").click()
    expect(phone.locator("#flash")).to_contain_text("请假申请已提交")
    expect(card.locator(".my-status")).to_contain_text("请假待审批")
    leaves = day.rpc.attendance.list_leaves(scope=day.secretary, activity_id=day.activity["id"])["leaves"]
    assert [(leave["reason"], leave["state"]) for leave in leaves] == [("出差在外", "pending")]
    phone.locator("#logout").click()
    expect(phone.get_by_role("button", name="登录")).to_be_visible()
    assert phone.context.cookies() == [] or all(c["value"] == "" for c in phone.context.cookies())


def test_after_closing_the_member_sees_the_attendance_history_and_the_points_entries(themed_day, phone):
    day = themed_day
    member_scope = day.member_scopes[0]
    day.at("start_at", -10)
    day.scan(member_scope, "in")
    day.at("end_at", 2)
    day.scan(member_scope, "out")
    day.at("checkout_closes_at", 1)                   # the sweep closes the day: final statuses, then points

    def ledger():
        answer = day.rpc.scoring.get_ledger(scope=member_scope)
        return answer if answer["entries"] else None
    expected = wait_for(ledger)
    at_service_time(phone, day)
    phone.goto("/m/")
    log_in(phone, day.city.code, day.member_usernames[0], PASSWORD)
    history = phone.locator("#history")
    expect(history).to_contain_text(day.activity["title"])
    expect(history).to_contain_text("出席")
    points = phone.locator("#points")
    expect(points.locator("#points-total")).to_have_text(f"{expected['total']:g}")
    expect(points.locator("tbody tr")).to_have_count(len(expected["entries"]))
    expect(points).to_contain_text("参加活动")


def test_a_mobile_member_likes_the_activity_and_posts_a_reflection_without_scanning(themed_day, phone):
    day = themed_day
    day.at("start_at", 5)                             # the roster is frozen once the day is under way
    mobile_username = "m" + day.member_usernames[0]   # ThemedDay names its mobile members' logins mm<tag>-<i>
    at_service_time(phone, day)
    phone.goto("/m/")
    log_in(phone, day.city.code, mobile_username, PASSWORD)
    card = phone.locator("section.activity")
    expect(card).to_contain_text("流动党员")
    card.get_by_role("button", name="为本次活动点赞").click()
    expect(phone.locator("#flash")).to_contain_text("点赞成功")
    card.get_by_label("心得体会").fill("线上学习党章，收获很大。")
    card.get_by_role("button", name="发表心得体会").click()
    expect(card.locator(".reflection")).to_contain_text("线上学习党章，收获很大。")
    card.get_by_role("button", name="为本次活动点赞").click()
    expect(phone.locator("#flash")).to_contain_text("您已点过赞")


def test_a_sign_in_is_flagged_unless_the_phone_saw_the_member_earlier_that_day(themed_day, phone_at):
    """The member page keeps the phone's positions of the day and sends them with the scan (fix.history)."""
    day = themed_day
    day.at("start_at", -10)
    seen = phone_at(2000)                             # member 0's phone showed the home page at breakfast, 2 km away
    seen.clock.set_fixed_time(day.now() - timedelta(minutes=40))
    seen.goto("/m/")
    log_in(seen, day.city.code, day.member_usernames[0], PASSWORD)
    seen.wait_for_function("(localStorage.getItem('pb_positions') || '').includes('taken_at')")
    lat, lng = point_at(30)
    seen.context.set_geolocation({"latitude": lat, "longitude": lng, "accuracy": 10})
    open_scan(seen, day)
    expect(seen.locator("#verdict")).to_contain_text("签到成功")
    fresh = phone_at(30)                              # member 1 opens the code with nothing earlier that day
    open_scan(fresh, day)
    log_in(fresh, day.city.code, day.member_usernames[1], PASSWORD)
    expect(fresh.locator("#verdict")).to_contain_text("签到成功")
    flags = {scan["member_id"]: scan["flags"] for scan in
             day.rpc.attendance.list_scans(scope=day.secretary, activity_id=day.activity["id"])["scans"]}
    assert flags == {day.members[0]["id"]: [], day.members[1]["id"]: ["NO_MOVEMENT_TODAY"]}
