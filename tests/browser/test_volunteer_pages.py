"""The volunteer pages one at a time, in headless Chromium against the real platform: a guest's tracking code shown
once (copied, then used to find and cancel the order), a taken phone number refused in Chinese, the community's
profile opened from the console, 双报到 and a team event on the member's phone, a rejected order's reason shown to
its guest, a dispute decided by the community, a duplicate merged and an order given to a team, the settings kept for
the city admin, another county's order refused by URL, the XLSX export."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta

from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, console_login, log_in
from tests.browser.test_volunteer_journey import Community, fix_at, member_phone
from tests.support.attendance import VENUE, point_at
from tests.support.identity import PASSWORD


def test_a_guest_keeps_the_tracking_code_shown_once_and_cancels_with_it(
        rpc, city, base_url, new_context, volunteer_service, screenshot):
    community = Community(rpc, city, base_url)
    context = new_context(**PHONE, permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(f"/v/?tenant={city.code}")
    page.locator(f"article.community[data-id='{community.org['id']}']").get_by_role("button", name="向该社区点单").click()
    form = page.locator("#order-form")
    expect(form.locator("#guest-note")).to_contain_text("游客身份")
    form.get_by_label("服务类别").select_option(label="健康服务")
    form.get_by_label("需求描述").fill("老人需要定期测量血压。")
    form.get_by_label("服务地址").fill("幸福小区 1 号楼 101")
    form.get_by_text("手动填写经纬度").click()
    form.get_by_label("纬度").fill(str(VENUE[0]))
    form.get_by_label("经度").fill(str(VENUE[1]))
    form.get_by_label("联系人").fill("刘先生")
    form.get_by_label("联系电话").fill("13700001234")
    form.get_by_role("button", name="提交订单").click()
    code = page.locator("#tracking-code")
    expect(code).to_have_text(re.compile(r"^\S{10}$"))
    tracking_code = code.inner_text()
    expect(page.locator("#placed")).to_contain_text("订单已提交")
    expect(page.locator(".notice-warn")).to_contain_text("查询码只显示这一次")
    page.get_by_role("button", name="复制查询码").click()
    expect(page.locator("#copied")).to_have_text("已复制查询码")
    assert page.evaluate("navigator.clipboard.readText()") == tracking_code
    screenshot(page, "volunteer-guest-tracking-code")
    page.reload()                                             # shown once: a reload shows the form again
    expect(page.locator("#tracking-code")).to_have_count(0)
    assert tracking_code not in page.content()

    page.goto(f"/v/track?tenant={city.code}")
    track = page.locator("#track-form")
    track.get_by_label("查询码").fill(tracking_code)
    track.get_by_label("联系电话后 4 位").fill("9999")
    track.get_by_role("button", name="查询").click()
    expect(track.locator(".form-error")).not_to_be_empty()
    track.get_by_label("联系电话后 4 位").fill("1234")
    track.get_by_role("button", name="查询").click()
    card = page.locator("article.order")
    expect(card.locator(".status")).to_have_text("待审核")
    expect(card).to_contain_text("老人需要定期测量血压。")
    card.get_by_text("不需要了？派单前可以取消").click()
    card.get_by_label("取消原因（选填）").fill("家人已经帮忙了")
    card.get_by_role("button", name="取消订单").click()
    expect(page.locator("#flash")).to_contain_text("订单已取消")
    expect(page.locator("article.order .status")).to_have_text("已取消")
    order = community.manager.call("ListOrders", {"org_id": community.org["id"]})["orders"][0]
    assert order["status"] == "cancelled" and order["contact_phone"] == "13700001234"


def test_a_rejected_order_shows_its_reason_to_the_guest(rpc, city, base_url, new_context, volunteer_service):
    community = Community(rpc, city, base_url)
    placed = community.guest_order(phone="13600005678")
    console = new_context(**DESKTOP).new_page()
    console_login(console, city, community.secretary_username,
                  f"/console/volunteer-order?id={placed['order']['order_id']}")
    review = console.locator("#review-form")
    review.get_by_role("button", name="驳回").click()
    expect(console.locator("#status")).to_have_text("驳回请填写原因")
    review.get_by_label(re.compile("审核意见")).fill("该事项请联系物业处理。")
    review.get_by_role("button", name="驳回").click()
    expect(console.locator("#status")).to_have_text("已驳回")
    expect(console.locator("#history-table")).to_contain_text("该事项请联系物业处理。")

    page = new_context(**PHONE).new_page()
    page.goto(f"/v/track?tenant={city.code}")
    page.get_by_label("查询码").fill(placed["tracking_code"])
    page.get_by_label("联系电话后 4 位").fill("5678")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("article.order")).to_contain_text("原因：该事项请联系物业处理。")
    expect(page.locator("article.order")).not_to_contain_text("取消订单")


def test_a_phone_already_registered_is_refused_in_chinese(rpc, city, base_url, new_context, volunteer_service):
    phone_number = f"138{uuid.uuid4().int % 10**8:08d}"
    for attempt in range(2):
        page = new_context(**PHONE).new_page()
        page.goto(f"/v/account?tenant={city.code}")
        page.get_by_text("还没有账号？注册一个").click()
        register = page.locator("#citizen-register")
        register.get_by_label("姓名").fill("周群众")
        register.get_by_label("手机号").fill(phone_number)
        register.get_by_label("设置密码").fill(PASSWORD)
        register.get_by_role("button", name="注册并登录").click()
        if attempt == 0:
            expect(page.locator("#my-orders")).to_contain_text("您还没有提交过订单")
    expect(register.locator(".form-error")).to_contain_text("已注册")


def test_a_secretary_opens_the_community_for_orders_in_the_console(rpc, city, base_url, new_context, volunteer_service,
                                                                   screenshot):
    community = Community(rpc, city, base_url, name="和平社区党支部", open_=False)
    guest = new_context(**PHONE).new_page()
    guest.goto(f"/v/?tenant={city.code}")
    expect(guest.locator("#communities")).to_contain_text("暂无开放点单的社区")

    page = new_context(**DESKTOP).new_page()
    console_login(page, city, community.secretary_username,
                  f"/console/volunteer-community?org={community.org['id']}")
    form = page.locator("#profile-form")
    expect(page.locator("#status")).to_contain_text("尚未设置点单资料")
    form.get_by_label("开放群众点单").check()
    form.get_by_label("社区地址").fill("汉台区和平路 1 号")
    form.get_by_label("纬度（WGS-84）").fill(str(VENUE[0]))
    form.get_by_label("经度（WGS-84）").fill(str(VENUE[1]))
    form.get_by_label("健康服务").uncheck()
    form.get_by_role("button", name="保存").click()
    expect(page.locator("#status")).to_have_text("已保存，本社区已开放群众点单")
    screenshot(page, "volunteer-console-community")
    profile = community.manager.call("GetCommunityProfile", {"org_id": community.org["id"]})
    assert profile["open"] and profile["address"] == "汉台区和平路 1 号"

    guest.reload()
    card = guest.locator(f"article.community[data-id='{community.org['id']}']")
    expect(card).to_contain_text("汉台区和平路 1 号")
    expect(card).to_contain_text("技能服务、生活服务")
    expect(card).not_to_contain_text("健康服务")


def test_a_member_reports_to_a_community_and_serves_a_team_event(rpc, city, base_url, new_context, volunteer_service,
                                                                screenshot):
    community = Community(rpc, city, base_url)
    community.member("吴报到", report=False)
    page = member_phone(new_context, 800)
    page.goto("/m/volunteer")
    log_in(page, city.code, community.usernames["吴报到"], PASSWORD)
    expect(page.locator("nav.tabs a[aria-current='page']")).to_have_text("志愿")
    report = page.locator("#community-report")
    expect(report).to_contain_text("您还没有向居住地社区报到")
    report.get_by_label("居住地社区").select_option(label="幸福社区党支部")
    report.get_by_role("button", name="向社区报到").click()
    expect(page.locator("#flash")).to_contain_text("报到成功")
    expect(page.locator("#current-report")).to_contain_text("已向 幸福社区党支部 报到")
    screenshot(page, "volunteer-member-home")

    team = community.manager.call("CreateTeam", {"org_id": community.org["id"], "name": "幸福社区志愿服务队",
                                                 "description": "助老助残"})
    starts = datetime.utcnow() + timedelta(minutes=10)
    community.manager.call("CreateTeamEvent", {
        "team_id": team["team_id"], "title": "楼道清洁", "description": "", "address": "幸福小区", "lat": VENUE[0],
        "lng": VENUE[1], "fence_radius_m": 300, "starts_at": starts.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ends_at": (starts + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"), "capacity": 5, "hours_cap": 2})
    page.get_by_role("link", name=re.compile("我的志愿队伍与活动")).click()
    card = page.locator(f"article.team[data-id='{team['team_id']}']")
    card.get_by_role("button", name="加入队伍").click()
    expect(page.locator("#flash")).to_contain_text("已加入“幸福社区志愿服务队”")
    event = page.locator("#events article.event")
    expect(event).to_contain_text("楼道清洁")
    event.get_by_role("button", name="报名").click()
    expect(page.locator("#flash")).to_contain_text("已报名“楼道清洁”")
    page.locator("#events article.event").get_by_role("button", name="到达现场，签到").click()
    expect(page.locator("#flash")).to_contain_text(re.compile(r"超出300米.*距离约 (799|800|801) 米"))
    lat, lng = point_at(30)
    page.context.set_geolocation({"latitude": lat, "longitude": lng, "accuracy": 10})
    page.locator("#events article.event").get_by_role("button", name="到达现场，签到").click()
    expect(page.locator("#flash")).to_contain_text("签到成功")
    expect(page.locator("#events article.event .my-signup")).to_contain_text("已签到")
    screenshot(page, "volunteer-member-teams")

    console = new_context(**DESKTOP).new_page()
    console_login(console, city, community.secretary_username,
                  f"/console/volunteer-reports?org={community.org['id']}")
    expect(console.locator("#reported-table")).to_contain_text("吴报到")


def test_another_countys_order_is_refused_by_url_and_the_settings_are_the_city_admins(
        rpc, city, base_url, new_context, volunteer_service):
    community = Community(rpc, city, base_url)           # under the first county's committee
    placed = community.guest_order()
    page = new_context(**DESKTOP).new_page()
    console_login(page, city, "county2", f"/console/volunteer-order?id={placed['order']['order_id']}")
    expect(page.locator("#denied")).to_contain_text("无权访问或不存在")
    expect(page.locator("#order-facts")).to_have_count(0)
    page.goto("/console/volunteer-settings")
    form = page.locator("#settings-form")
    form.get_by_label("审单时限（小时）").fill("12")
    form.get_by_role("button", name="保存设置").click()
    expect(page.locator("#status")).to_have_class(re.compile("notice-error"))

    admin = new_context(**DESKTOP).new_page()
    console_login(admin, city, "city-admin", "/console/volunteer-settings")
    form = admin.locator("#settings-form")
    expect(form.get_by_label("审单时限（小时）")).to_have_value("24")
    form.get_by_label("审单时限（小时）").fill("12")
    admin.get_by_role("button", name="添加类别").click()
    row = form.locator(".category").last
    row.get_by_label("代码").fill("culture")
    row.get_by_label("名称").fill("文化服务")
    form.get_by_role("button", name="保存设置").click()
    expect(admin.locator("#status")).to_have_text("设置已保存")
    settings = community.manager.call("GetVolunteerSettings", {})
    assert settings["review_hours"] == 12
    assert {"code": "culture", "label": "文化服务"} in settings["categories"]


def test_the_statistics_download_as_xlsx(rpc, city, base_url, new_context, volunteer_service):
    community = Community(rpc, city, base_url)
    community.guest_order()
    page = new_context(**DESKTOP).new_page()
    console_login(page, city, "county1", f"/console/volunteer-statistics?org={city.counties[0]['id']}")
    expect(page.locator("#stat-orders")).to_have_text("1")
    expect(page.locator("#status-table")).to_contain_text("待审核")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载志愿统计（XLSX）").click()
    path = download.value.path()
    with open(path, "rb") as file:
        assert file.read(2) == b"PK"


def test_a_guest_disputes_the_service_and_reads_the_communitys_decision(rpc, city, base_url, new_context,
                                                                        volunteer_service):
    community = Community(rpc, city, base_url)
    volunteer = community.member("郑服务")
    placed = community.guest_order(phone="13500002468")
    order_id = placed["order"]["order_id"]
    community.opened(order_id)
    volunteer.call("ClaimOrder", {"order_id": order_id})
    volunteer.call("CheckInService", {"order_id": order_id, **fix_at(30)})
    volunteer.call("CheckOutService", {"order_id": order_id, **fix_at(30)})
    assert volunteer.call("GetOrder", {"order_id": order_id})["status"] == "completed"

    page = new_context(**PHONE).new_page()
    page.goto(f"/v/track?tenant={city.code}")
    page.get_by_label("查询码").fill(placed["tracking_code"])
    page.get_by_label("联系电话后 4 位").fill("2468")
    page.get_by_role("button", name="查询").click()
    card = page.locator("article.order")
    expect(card.locator(".status")).to_have_text("待评价")
    card.get_by_text("对服务有异议？").click()
    card.get_by_label("异议内容").fill("志愿者没有上门。")
    card.get_by_role("button", name="提交异议").click()
    expect(page.locator("#flash")).to_contain_text("异议已提交")
    expect(page.locator("article.order .status")).to_have_text("有异议")

    console = new_context(**DESKTOP).new_page()
    console_login(console, city, community.secretary_username, f"/console/volunteer-order?id={order_id}")
    expect(console.locator("#order-facts")).to_contain_text("志愿者没有上门。")
    resolve = console.locator("#resolve-form")
    resolve.get_by_label(re.compile("处理意见")).fill("经核实志愿者未到场，不计时长。")
    resolve.get_by_role("button", name="提交处理结果").click()
    expect(console.locator("#status")).to_have_text("异议已处理")
    expect(console.locator("#history-table")).to_contain_text("经核实志愿者未到场，不计时长。")

    page.goto(f"/v/track?tenant={city.code}")
    page.get_by_label("查询码").fill(placed["tracking_code"])
    page.get_by_label("联系电话后 4 位").fill("2468")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("article.order")).to_contain_text("经核实志愿者未到场，不计时长。")
    expect(page.locator("article.order .status")).to_have_text("已结案")
    assert volunteer.call("GetMyHours", {})["total_hours"] == 0


def test_a_duplicate_is_merged_and_the_order_goes_to_a_team(rpc, city, base_url, new_context, volunteer_service):
    community = Community(rpc, city, base_url)
    first = community.guest_order(phone="13600001111", description="楼道灯坏了。")
    duplicate = community.guest_order(phone="13600002222", description="楼道灯不亮，请帮忙。")
    team = community.manager.call("CreateTeam", {"org_id": community.org["id"], "name": "电工志愿队", "description": ""})
    electrician = community.member("冯电工")
    electrician.call("JoinTeam", {"team_id": team["team_id"]})

    console = new_context(**DESKTOP).new_page()
    console_login(console, city, community.secretary_username,
                  f"/console/volunteer-order?id={duplicate['order']['order_id']}")
    merge = console.locator("#merge-form")
    merge.get_by_label("合并到").select_option(first["order"]["order_id"])
    merge.get_by_label("说明").fill("同一楼道的需求")
    merge.get_by_role("button", name="合并").click()
    expect(console.locator("#status")).to_have_text("已合并")
    expect(console.locator("#order-facts")).to_contain_text(first["order"]["order_id"])

    console.goto(f"/console/volunteer-order?id={first['order']['order_id']}")
    console.locator("#review-form").get_by_role("button", name="通过").click()
    expect(console.locator("#status")).to_have_text("已通过，请派单")
    dispatch = console.locator("#dispatch-form")
    dispatch.get_by_label("派给志愿队伍（队员认领）").check()
    dispatch.get_by_role("button", name="派单").click()
    expect(console.locator("#status")).to_have_text("请选择志愿队伍")
    dispatch.locator("select[name=team_id]").select_option(label="电工志愿队")
    dispatch.get_by_role("button", name="派单").click()
    expect(console.locator("#status")).to_have_text("已派单，党员可以认领了")
    expect(console.locator("#order-facts")).to_contain_text("派给队伍：电工志愿队")
    offered = electrician.call("ListClaimableOrders", {})["orders"]
    assert [order["order_id"] for order in offered] == [first["order"]["order_id"]]

    console.goto(f"/console/volunteer-orders?org={community.org['id']}&status=merged")
    expect(console.locator("#orders-table tbody tr")).to_have_count(1)
    expect(console.locator("#orders-table")).to_contain_text("楼道灯不亮")


def test_a_member_withdraws_a_claim_and_the_place_opens_again(rpc, city, base_url, new_context, volunteer_service):
    community = Community(rpc, city, base_url)
    community.member("褚撤回")
    order_id = community.guest_order()["order"]["order_id"]
    community.opened(order_id)
    page = member_phone(new_context, 50)
    page.goto("/m/volunteer")
    log_in(page, city.code, community.usernames["褚撤回"], PASSWORD)
    page.locator(f"article.claimable[data-id='{order_id}']").get_by_role("button", name="认领").click()
    expect(page.locator("#flash")).to_contain_text("认领成功")
    expect(page.locator(f"#claimable article.claimable[data-id='{order_id}']")).to_have_count(0)
    page.locator(f"#my-claims li[data-id='{order_id}'] a").click()
    page.get_by_text("不能按时到场？签到前可以撤回").click()
    page.get_by_label("撤回原因").fill("临时加班")
    page.get_by_role("button", name="撤回接单").click()
    expect(page.locator("#flash")).to_contain_text("已撤回")
    expect(page.get_by_role("button", name="认领")).to_be_visible()         # the place is open again
    order = community.manager.call("GetOrder", {"order_id": order_id})
    assert (order["claimed"], order["places_left"]) == (0, 1)
    assert [c["status"] for c in order["claimants"]] in ([], ["withdrawn"])


def test_a_secretary_runs_a_team_event_from_the_console(rpc, city, base_url, new_context, volunteer_service):
    community = Community(rpc, city, base_url)
    member = community.member("卫队员")
    community.member("蒋未报", report=False)
    page = new_context(**DESKTOP).new_page()
    console_login(page, city, community.secretary_username, f"/console/volunteer-teams?org={community.org['id']}")
    expect(page.locator("#teams-table")).to_contain_text("还没有志愿队伍")
    team_form = page.locator("#team-form")
    team_form.get_by_label("队伍名称").fill("幸福助老队")
    team_form.get_by_label("队伍简介").fill("陪伴独居老人")
    team_form.get_by_role("button", name="新建队伍").click()
    expect(page.locator("#status")).to_have_text("队伍“幸福助老队”已建立")
    expect(page.locator("#team-title")).to_have_text("幸福助老队")
    team_id = page.locator("#team-detail").get_attribute("data-id")
    member.call("JoinTeam", {"team_id": team_id})

    page.reload()
    expect(page.locator("#members-table")).to_contain_text("卫队员")
    event_form = page.locator("#event-form")
    starts = datetime.utcnow() + timedelta(hours=8, minutes=5)              # Beijing time in the datetime fields
    event_form.get_by_label("活动名称").fill("陪老人聊天")
    event_form.get_by_label("活动地点").fill("幸福小区活动室")
    event_form.get_by_label("纬度（WGS-84）").fill(str(VENUE[0]))
    event_form.get_by_label("经度（WGS-84）").fill(str(VENUE[1]))
    event_form.get_by_label("开始时间").fill(starts.strftime("%Y-%m-%dT%H:%M"))
    event_form.get_by_label("结束时间").fill((starts + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    event_form.get_by_label("招募人数").fill("3")
    event_form.get_by_role("button", name="发布活动").click()
    expect(page.locator("#status")).to_have_text("活动已发布，队员可在手机端报名")
    row = page.locator("#events-table tbody tr", has_text="陪老人聊天")
    expect(row).to_contain_text("0/3")
    [event] = member.call("ListMyEvents", {})["events"]
    member.call("SignUpEvent", {"event_id": event["event_id"]})
    member.call("CheckInEvent", {"event_id": event["event_id"], **fix_at(20)})
    member.call("CheckOutEvent", {"event_id": event["event_id"], **fix_at(20)})
    page.reload()
    expect(row).to_contain_text("卫队员（已签退")
    row.get_by_role("button", name="结束并计入时长").click()
    expect(page.locator("#status")).to_contain_text("活动“陪老人聊天”已结束")
    expect(page.locator("#events-table tbody tr", has_text="陪老人聊天")).to_contain_text("已结束")

    reports = new_context(**DESKTOP).new_page()
    console_login(reports, city, "county1", f"/console/volunteer-reports?org={city.branches[0][0]['id']}")
    expect(reports.locator("#unreported-table")).to_contain_text("蒋未报")
    expect(reports.locator("#unreported-table")).not_to_contain_text("卫队员")
