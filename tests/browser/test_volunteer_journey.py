"""Volunteer service ordering tried as new users would, in headless Chromium against the real platform: a citizen
registers and places an order on the public page (/v/); the community's secretary approves and opens it in the
console; two members on their phones race for the last place and exactly one gets it (the other is told 名额已满);
the winner checks in (refused from 500 m, then inside the fence), checks out and reports with a photo; the citizen
confirms and rates; the member's hours and points move; the community's statistics show it.

Also the helpers the other volunteer page tests use (``Community``)."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta

from playwright.sync_api import expect

from gateway.client import HttpClient
from tests.browser.conftest import PHONE, api_client, console_login, log_in
from tests.support.attendance import VENUE, photo, point_at
from tests.support.identity import PASSWORD, City
from tests.support.scoring import wait_for
from tests.support.volunteer import served_for

SHANGHAI_OFFSET = timedelta(hours=8)


def china_now() -> datetime:
    """Now as a naive Beijing time (what a datetime-local field on a zh-CN phone holds)."""
    return datetime.utcnow() + SHANGHAI_OFFSET


def local_field(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


class Community:
    """A community (a branch whose field is 社区) in ``city``, open for orders at VENUE, with its secretary's
    account and API client; ``member(name)`` adds a member of an ordinary branch who reported to it (双报到)."""

    def __init__(self, rpc, city: City, base_url: str, name: str = "幸福社区党支部", county: int = 0, open_: bool = True):
        self.rpc, self.city, self.base_url = rpc, city, base_url
        self.tag = uuid.uuid4().hex[:6]
        self.org = rpc.identity.create_org(scope=city.admin, parent_id=city.committees[county]["id"], name=name,
                                           kind="branch", field="community")
        self.secretary_username = f"sq-{self.tag}"
        rpc.identity.create_account(scope=city.admin, username=self.secretary_username, password=PASSWORD,
                                    role="branch_secretary", org_id=self.org["id"])
        self.manager = api_client(base_url, city, self.secretary_username)
        if open_:
            self.manager.call("SetCommunityProfile", {"org_id": self.org["id"], "address": "汉台区幸福路 8 号社区服务站",
                                                      "lat": VENUE[0], "lng": VENUE[1], "open": True})
        self.usernames: dict[str, str] = {}

    def member(self, name: str, report: bool = True, county: int = 0) -> HttpClient:
        username = f"v{self.tag}{len(self.usernames)}"
        self.city.member_login(self.city.add_member(self.city.branches[county][0], name), username)
        self.usernames[name] = username
        client = api_client(self.base_url, self.city, username)
        if report:
            client.call("ReportToCommunity", {"community_id": self.org["id"], "reported_on": ""})
        return client

    def guest_order(self, phone: str = "13912345678", minutes_ahead: int = 10, **fields) -> dict:
        """A guest's order through the public API: ``{order, tracking_code}``."""
        start = datetime.utcnow() + timedelta(minutes=minutes_ahead)
        body = {"tenant_code": self.city.code, "community_id": self.org["id"], "category": "services",
                "description": "家里的灯坏了，希望有志愿者帮忙更换。", "address": "幸福小区 2 号楼 301",
                "lat": VENUE[0], "lng": VENUE[1], "wished_start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "wished_end": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "contact_name": "王阿姨", "contact_phone": phone, **fields}
        return HttpClient(self.base_url).call("PlaceGuestOrder", body)

    def opened(self, order_id: str, needed: int = 1) -> dict:
        """Approve and dispatch an order for claiming by reported members (the secretary, through the API)."""
        self.manager.call("ReviewOrder", {"order_id": order_id, "decision": "approve", "reason": ""})
        return self.manager.call("DispatchOrder", {"order_id": order_id, "mode": "claim", "volunteers_needed": needed})


def fix_at(distance_m: float) -> dict:
    lat, lng = point_at(distance_m)
    return {"lat": lat, "lng": lng, "accuracy_m": 10, "mock_location": False}


def member_phone(new_context, distance_m: float):
    lat, lng = point_at(distance_m)
    return new_context(**PHONE, geolocation={"latitude": lat, "longitude": lng, "accuracy": 10},
                       permissions=["geolocation"]).new_page()


def test_a_citizens_order_is_served_by_the_member_who_won_the_last_place(
        rpc, city, base_url, new_context, volunteer_service, screenshot):
    community = Community(rpc, city, base_url)
    early = community.member("陈先到")
    racers = ["赵志愿", "钱志愿"]
    for name in racers:
        community.member(name)

    # a citizen registers on the public page and places an order from its phone's position
    citizen = new_context(**PHONE, geolocation={"latitude": VENUE[0], "longitude": VENUE[1], "accuracy": 12},
                          permissions=["geolocation"]).new_page()
    citizen.goto(f"/v/?tenant={city.code}")
    expect(citizen.locator("#communities article.community")).to_have_count(1)
    citizen.locator("#login-link").click()
    citizen.get_by_text("还没有账号？注册一个").click()
    register = citizen.locator("#citizen-register")
    register.get_by_label("姓名").fill("孙大妈")
    phone_number = f"139{uuid.uuid4().int % 10**8:08d}"
    register.get_by_label("手机号").fill(phone_number)
    register.get_by_label("设置密码").fill(PASSWORD)
    register.get_by_role("button", name="注册并登录").click()
    expect(citizen.locator("#citizen-who")).to_have_text("孙大妈")           # logged in, back on the order page
    card = citizen.locator("article.community", has_text="幸福社区党支部")
    card.get_by_role("button", name="向该社区点单").click()
    form = citizen.locator("#order-form")
    form.get_by_label("服务类别").select_option(label="生活服务")
    form.get_by_label("需求描述").fill("独居老人家中水管漏水，想请志愿者上门帮忙看看。")
    form.get_by_label("服务地址").fill("幸福小区 5 号楼 2 单元 402")
    form.get_by_role("button", name="使用我当前的位置").click()
    expect(citizen.locator("#position-status")).to_contain_text("已获取当前位置")
    start = china_now() + timedelta(minutes=10)
    form.get_by_label("期望开始时间").fill(local_field(start))
    form.get_by_label("期望结束时间").fill(local_field(start + timedelta(hours=2)))
    form.get_by_label("联系人").fill("孙大妈")
    form.get_by_label("联系电话").fill(phone_number)
    form.get_by_role("button", name="提交订单").click()
    expect(citizen.locator("#flash")).to_contain_text("订单已提交")
    order_card = citizen.locator("#my-orders article.order")
    expect(order_card).to_have_count(1)
    expect(order_card.locator(".status")).to_have_text("待审核")
    screenshot(citizen, "volunteer-citizen-placed")
    order_id = order_card.get_attribute("data-id")
    placed = community.manager.call("GetOrder", {"order_id": order_id})
    assert abs(placed["lat"] - VENUE[0]) < 1e-5 and abs(placed["lng"] - VENUE[1]) < 1e-5
    assert placed["contact_phone"] == phone_number

    # the community's secretary approves and dispatches it in the console: two volunteers needed
    console = new_context(viewport={"width": 1280, "height": 900}).new_page()
    console_login(console, city, community.secretary_username,
                  f"/console/volunteer-orders?org={community.org['id']}")
    row = console.locator(f"#orders-table tbody tr[data-id='{order_id}']")
    expect(row).to_contain_text("待审核")
    row.get_by_role("link", name="处理").click()
    console.locator("#review-form").get_by_role("button", name="通过").click()
    expect(console.locator("#status")).to_have_text("已通过，请派单")
    dispatch = console.locator("#dispatch-form")
    dispatch.get_by_label("需要志愿者（人）").fill("2")
    dispatch.get_by_role("button", name="派单").click()
    expect(console.locator("#status")).to_have_text("已派单，党员可以认领了")
    expect(console.locator("#order-facts")).to_contain_text("需要 2 人，已接 0 人")
    screenshot(console, "volunteer-console-order")
    early.call("ClaimOrder", {"order_id": order_id})            # one place is taken before the race

    # two members race on their phones for the last place: exactly one gets it
    phones = []
    for name in racers:
        page = member_phone(new_context, 60)
        page.goto("/m/volunteer")
        log_in(page, city.code, community.usernames[name], PASSWORD)
        offer = page.locator(f"#claimable article.claimable[data-id='{order_id}']")
        expect(offer).to_contain_text("还剩 1 个名额")
        phones.append(page)
    buttons = [page.locator(f"#claimable article.claimable[data-id='{order_id}']").get_by_role("button", name="认领")
               for page in phones]
    for button in buttons:
        button.click()
    for page in phones:
        expect(page.locator("#flash .notice")).to_be_visible()
    outcomes = [page.locator("#flash").inner_text() for page in phones]
    assert sorted("认领成功" in text for text in outcomes) == [False, True], outcomes
    winner_index = next(index for index, text in enumerate(outcomes) if "认领成功" in text)
    winner, loser = phones[winner_index], phones[1 - winner_index]
    expect(loser.locator("#flash")).to_contain_text("名额已满")
    screenshot(loser, "volunteer-member-order-full")
    claims = community.manager.call("GetOrder", {"order_id": order_id})["claimants"]
    assert sorted(c["name"] for c in claims if c["status"] == "claimed") == sorted(["陈先到", racers[winner_index]])

    # the winner checks in: refused from 500 m with the distance, then inside the fence
    winner.locator("#my-claims").get_by_role("link").first.click()
    expect(winner.locator("#my-claim")).to_contain_text("已接单，待签到")
    expect(winner.locator(".order")).to_contain_text(phone_number)            # the contact, once it holds a claim
    far_lat, far_lng = point_at(500)
    winner.context.set_geolocation({"latitude": far_lat, "longitude": far_lng, "accuracy": 10})
    winner.get_by_role("button", name="到达现场，签到").click()
    expect(winner.locator("#flash")).to_contain_text(re.compile(r"超出300米.*（距离约 (499|500|501) 米）"))
    near_lat, near_lng = point_at(40)
    winner.context.set_geolocation({"latitude": near_lat, "longitude": near_lng, "accuracy": 10})
    winner.get_by_role("button", name="到达现场，签到").click()
    expect(winner.locator("#flash")).to_contain_text("签到成功")
    early.call("CheckInService", {"order_id": order_id, **fix_at(20)})
    expect(winner.locator("#my-claim")).to_contain_text("服务中，待签退")
    winner_client = api_client(base_url, city, community.usernames[racers[winner_index]])
    for volunteer in (winner_client, early):                # both served for an hour and a half
        served_for("order", order_id, volunteer.call("GetMe", {})["member"]["id"], minutes=90)
    winner.get_by_role("button", name="服务结束，签退").click()
    expect(winner.locator("#flash")).to_contain_text("签退成功，本次服务 1.50 小时")
    early.call("CheckOutService", {"order_id": order_id, **fix_at(20)})
    winner.reload()
    report = winner.locator("#report-form")
    report.get_by_label("服务情况").fill("已更换漏水的水管接头，试水正常。")
    report.get_by_label(re.compile("现场照片")).set_input_files(
        files=[{"name": "现场.png", "mimeType": "image/png", "buffer": photo()}])
    report.get_by_role("button", name="提交完成报告").click()
    expect(winner.locator("#flash")).to_contain_text("完成报告已提交（照片 1 张）")
    expect(winner.locator("#completion img")).to_have_count(1)
    screenshot(winner, "volunteer-member-order-done")

    # the citizen sees the volunteers by name only, confirms and rates
    citizen.goto(f"/v/orders?tenant={city.code}")
    expect(order_card.locator(".status")).to_have_text("待评价")
    expect(order_card.locator(".claimants")).to_contain_text(racers[winner_index])
    expect(order_card.locator(".claimants")).to_contain_text("陈先到")
    assert "13800138000" not in order_card.inner_text()                   # the members' phone never shows
    expect(order_card.locator(".photos img")).to_have_count(1)              # the volunteer's photo, loaded
    wait_for(lambda: order_card.locator(".photos img").evaluate("img => img.complete && img.naturalWidth > 0"))
    order_card.get_by_label("5 星").check()
    order_card.get_by_label("评价（选填）").fill("志愿者很专业，谢谢！")
    order_card.get_by_role("button", name="确认完成并评价").click()
    expect(citizen.locator("#flash")).to_contain_text("感谢您的评价")
    expect(order_card.locator(".status")).to_have_text("已完成")
    expect(order_card.locator(".my-rating")).to_contain_text("★★★★★")
    screenshot(citizen, "volunteer-citizen-confirmed")

    # the member's hours and points move (points through scoring's consumer)
    hours = wait_for(lambda: winner_client.call("GetMyHours", {})["total_hours"])
    assert hours == 1.5
    winner.goto("/m/volunteer")
    expect(winner.locator("#hours-total")).to_have_text(f"{hours:.2f}")
    points = wait_for(lambda: [e for e in winner_client.request("GET", "/v1/points/ledger")["entries"]
                               if e["category"] == "volunteer_hours"])
    assert points[0]["points"] > 0
    winner.goto("/m/")
    expect(winner.locator("#points")).to_contain_text("志愿服务")
    screenshot(winner, "volunteer-member-points")

    # the community's statistics show the order, its hours, its rating and the member in the ranking
    console.goto(f"/console/volunteer-statistics?org={community.org['id']}")
    expect(console.locator("#stat-orders")).to_have_text("1")
    expect(console.locator("#stat-rating")).to_have_text("5.00")
    expect(console.locator("#stat-hours")).not_to_have_text("0.00")
    expect(console.locator("#status-table")).to_contain_text("已完成")
    statistics = community.manager.call("GetVolunteerStatistics", {"org_id": community.org["id"]})
    expect(console.locator("#stat-hours")).to_have_text(f"{statistics['hours_total']:.2f}")
    console.get_by_label("排行对象").select_option(label="社区")
    expect(console.locator("#ranking-table")).to_contain_text("幸福社区党支部")
    screenshot(console, "volunteer-console-statistics")
    console.goto(f"/console/volunteer-reports?org={community.org['id']}")        # 双报到: hours served here
    served = console.locator("#reported-table tr", has_text=racers[winner_index])
    expect(served).to_contain_text(f"{hours:.2f}")
