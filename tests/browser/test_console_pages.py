"""The admin console (电脑管理端) in a real browser against the real platform: a secretary plans, a county admin
reviews, the secretary prints the QR codes; the city admin reads the ranking chart and its table twin; a county
admin sees nothing of another county; a member import with bad rows imports nothing."""
from __future__ import annotations

import io
import os
import re
import uuid
from datetime import date, timedelta

import pytest
from openpyxl import Workbook
from playwright.sync_api import expect

from gateway.client import ApiError
from services.attendance.domain.coords import wgs84_to_gcj02
from services.identity.domain import importing
from tests.browser.conftest import api_client, console_login
from tests.support.attendance import VENUE, ThemedDay
from tests.support.identity import City, new_unique_id_number
from tests.support.scoring import AttendancePublisher
from tests.support.scoring import ThemedDay as ScoredDay
from tests.support.scoring import wait_for


@pytest.fixture
def city(rpc, operator_scope, platform) -> City:
    """A city of its own for each test: two themes of one month cannot be issued to the same county twice."""
    return City(rpc, operator_scope)



def test_a_secretary_plans_the_county_admin_reviews_and_the_secretary_prints_the_codes(
        rpc, city, new_context, base_url, screenshot):
    day = ThemedDay(rpc, city)
    day.issue()
    activity_id = day.activity["id"]

    # the secretary, at the venue, fills the plan with the position of the browser (WGS-84)
    at_venue = new_context(viewport={"width": 1280, "height": 900}, permissions=["geolocation"],
                           geolocation={"latitude": VENUE[0], "longitude": VENUE[1], "accuracy": 8})
    secretary = at_venue.new_page()
    console_login(secretary, city, day.secretary_username, "/console/themed-days")
    secretary.locator(f'button.plan-button[data-activity="{activity_id}"]').click()
    secretary.locator("#plan-date").fill(day.day.isoformat())
    secretary.locator("#plan-start").fill("10:00")
    secretary.locator("#plan-end").fill("11:30")
    secretary.locator("#plan-venue").fill("党员活动室")
    secretary.get_by_role("button", name="使用我的当前位置").click()
    expect(secretary.locator("#plan-status")).to_contain_text("已填入当前位置")
    assert secretary.locator("#plan-crs").input_value() == "wgs84"
    secretary.get_by_role("button", name="提交计划").click()
    expect(secretary.locator("#page-status")).to_contain_text("计划已提交")
    submitted = rpc.attendance.get_activity(scope=day.secretary, activity_id=activity_id)
    assert submitted["status"] == "submitted"
    assert submitted["plan"]["venue_entered"]["crs"] == "wgs84"
    assert submitted["plan"]["venue"]["lat"] == pytest.approx(VENUE[0], abs=1e-6)
    assert submitted["plan"]["venue"]["lng"] == pytest.approx(VENUE[1], abs=1e-6)

    # the county admin rejects it with a reason ...
    county = new_context(viewport={"width": 1280, "height": 900}).new_page()
    console_login(county, city, "county1", "/console/themed-days")
    review = county.locator(f'.review[data-activity="{activity_id}"]')
    expect(review.locator(".reject-reason")).to_be_hidden()          # asked for only when rejecting
    review.get_by_role("button", name="驳回").click()
    review.locator(".reject-reason").fill("场地坐标请按高德地图重新标注")
    review.get_by_role("button", name="驳回").click()
    expect(county.locator("#page-status")).to_contain_text("已驳回")
    assert rpc.attendance.get_activity(scope=day.secretary, activity_id=activity_id)["status"] == "planning"

    # ... the secretary sees why and sends coordinates read off a GCJ-02 map, named as such ...
    secretary.reload()
    expect(secretary.locator("#branch-activities")).to_contain_text("已驳回：场地坐标请按高德地图重新标注")
    secretary.locator(f'button.plan-button[data-activity="{activity_id}"]').click()
    gcj_lat, gcj_lng = wgs84_to_gcj02(*VENUE)
    secretary.locator("#plan-date").fill(day.day.isoformat())
    secretary.locator("#plan-venue").fill("党员活动室")
    secretary.locator("#plan-crs").select_option("gcj02")
    secretary.locator("#plan-lat").fill(f"{gcj_lat:.6f}")
    secretary.locator("#plan-lng").fill(f"{gcj_lng:.6f}")
    secretary.get_by_role("button", name="提交计划").click()
    expect(secretary.locator("#page-status")).to_contain_text("计划已提交")
    resubmitted = rpc.attendance.get_activity(scope=day.secretary, activity_id=activity_id)["plan"]
    assert resubmitted["venue_entered"]["crs"] == "gcj02"
    assert resubmitted["venue"]["lat"] == pytest.approx(VENUE[0], abs=1e-5)    # stored back in WGS-84
    assert resubmitted["venue"]["lng"] == pytest.approx(VENUE[1], abs=1e-5)

    # ... and the county admin approves it
    county.reload()
    screenshot(county, "console-plans-to-review")
    county.locator(f'.review[data-activity="{activity_id}"]').get_by_role("button", name="通过").click()
    expect(county.locator("#page-status")).to_contain_text("已通过")
    assert rpc.attendance.get_activity(scope=day.secretary, activity_id=activity_id)["status"] == "approved"

    # rotating codes only until the superior allows the printed ones for this activity
    secretary.goto(f"/console/activity?id={activity_id}")
    expect(secretary.locator("#screen-in")).to_be_visible()
    expect(secretary.locator("#qr-in")).to_be_hidden()
    expect(secretary.locator("#printed-policy")).to_contain_text("须经上级组织管理员批准")
    expect(secretary.locator("#printed-form")).to_be_hidden()              # the switch is the superior's
    county.goto(f"/console/activity?id={activity_id}")
    county.locator("#printed-reason").fill("无法投屏")
    county.get_by_role("button", name="允许打印签到码").click()
    expect(county.locator("#activity-status")).to_contain_text("已允许使用打印的签到码")
    expect(county.locator("#qr-in")).to_be_visible()
    allowed = rpc.attendance.get_activity(scope=day.secretary, activity_id=activity_id)
    assert (allowed["printed_code_allowed"], allowed["printed_code_reason"]) == (True, "无法投屏")

    # the secretary opens the activity's page again: the printed codes are the API's own PNGs
    secretary.goto(f"/console/activity?id={activity_id}")
    expect(secretary.locator("#printed-policy")).to_contain_text("无法投屏")
    expect(secretary.locator('[data-fact="status"]')).to_have_text("已通过")
    expect(secretary.locator('[data-fact="venue"]')).to_have_text("党员活动室")
    for direction in ("in", "out"):
        image = secretary.locator(f"#qr-{direction}")
        expect(image).to_have_attribute("src", f"data:image/png;base64,"
                                        f"{day.rpc.attendance.get_qr_code(scope=day.secretary, activity_id=activity_id, direction=direction, mode='print')['png']}")
        assert secretary.evaluate(f"document.getElementById('qr-{direction}').naturalWidth") > 100
    secretary.emulate_media(media="print")
    expect(secretary.locator("#console-header")).to_be_hidden()
    expect(secretary.locator("#qr-in")).to_be_visible()
    expect(secretary.locator("#activity-info")).to_be_hidden()
    screenshot(secretary, "console-qr-print")
    secretary.emulate_media(media="screen")

    # the rotating screen mode shows the current code and when it changes
    secretary.goto(f"/console/screen?id={activity_id}&direction=in")
    expect(secretary.locator("#screen-qr")).to_have_attribute("src", re.compile(r"^data:image/png;base64,iVBOR"))
    expect(secretary.locator("#screen-countdown")).to_contain_text("秒后更换")


@pytest.fixture(scope="module")
def publisher(scoring_service, mongo_uri, bus_uri):
    sender = AttendancePublisher(mongo_uri, bus_uri, os.environ["DB_PREFIX"] + "_scratch_console_attendance")
    yield sender
    sender.close()


def held(publisher, city, branch: dict, month: str, attending: int, incomplete: int = 0) -> None:
    """A closed themed day of three members of whom ``attending`` came, signed out and reflected, and the next
    ``incomplete`` signed in only (half a sign-in: a score with decimals)."""
    members = [f"mem_{uuid.uuid4().hex}" for _ in range(3)]
    day = ScoredDay(city.tenant_id, branch, month, members)
    events = [day.issued(), *day.planned_and_opened()]
    for member in members[:attending]:
        events += [day.scan(member), day.scan(member, "out"), day.reflection(member)]
    events += [day.scan(member) for member in members[attending:attending + incomplete]]
    statuses = ["present"] * attending + ["incomplete"] * incomplete
    events.append(day.closed({m: statuses[i] if i < len(statuses) else "absent" for i, m in enumerate(members)}))
    publisher.publish(events)


def last_month() -> str:
    first = date.today().replace(day=1) - timedelta(days=1)
    return first.strftime("%Y-%m")


def test_the_city_admin_reads_the_ranking_chart_and_its_table_twin_with_the_apis_numbers(
        city, publisher, new_context, base_url, screenshot):
    month = last_month()
    for branch, attending, incomplete in zip([city.branches[0][0], city.branches[0][1], city.branches[1][0]],
                                             (3, 1, 2), (0, 1, 0)):
        held(publisher, city, branch, month, attending, incomplete)
    admin = api_client(base_url, city, "city-admin")
    api = wait_for(lambda: (lambda answer: answer if sum(row["held"] for row in answer["rows"]) == 3
                            and all(row["final"] for row in answer["rows"] if row["held"]) else None)(
        admin.call("GetRanking", {"org_id": city.root["id"], "period": month, "page_size": 500})))

    page = new_context(viewport={"width": 1280, "height": 900}).new_page()
    console_login(page, city, "city-admin", f"/console/ranking?org={city.root['id']}&period={month}")
    rows = page.locator("#ranking-rows tbody tr")
    expect(rows).to_have_count(len(api["rows"]))
    table = [[cell.strip() for cell in row.locator("td").all_inner_texts()] for row in rows.all()]
    assert [(cells[0], cells[1], cells[3], cells[4]) for cells in table] == [
        (str(row["rank"]) if row["held"] else "—", row["branch_name"],
         f"{row['score']:.2f}" if row["held"] else "—", "已开展" if row["held"] else "未开展") for row in api["rows"]]
    held_rows = [row for row in api["rows"] if row["held"]]
    assert any(row["score"] != int(row["score"]) for row in held_rows)    # decimals, as most scores have
    assert [float(cells[3]) for cells in table[:len(held_rows)]] == [row["score"] for row in held_rows]

    option = page.evaluate("""() => {
        const option = echarts.getInstanceByDom(document.getElementById('ranking-chart')).getOption();
        return {labels: option.yAxis[0].data, values: option.series[0].data};
    }""")
    assert option == {"labels": api["chart"]["labels"], "values": api["chart"]["values"]}
    assert option["values"] == [row["score"] for row in held_rows]
    assert option["labels"] == [cells[1] for cells in table[:len(held_rows)]]
    expect(page.locator("#export-xlsx")).to_have_attribute(
        "href", f"/v1/orgs/{city.root['id']}/reports/supervision?period={month}&download=1")
    with page.expect_download() as download:
        page.get_by_role("button", name="导出表格（CSV）").click()
    exported = open(download.value.path(), encoding="utf-8-sig").read().splitlines()
    assert exported[0] == "排名,支部,领域,得分,开展情况" and len(exported) == len(api["rows"]) + 1
    screenshot(page, "console-ranking")


def test_a_county_admin_reaches_nothing_of_another_county(rpc, city, publisher, new_context, base_url):
    month = last_month()
    other_county = city.counties[0]
    held(publisher, city, city.branches[0][0], month, 2)
    day = ThemedDay(rpc, city)                # an activity in the first county
    day.issue()
    stranger = api_client(base_url, city, "county2")
    for rpc_name, request in (("GetRanking", {"org_id": other_county["id"], "period": month}),
                              ("GetActivity", {"activity_id": day.activity["id"]})):
        with pytest.raises(ApiError) as refused:
            stranger.call(rpc_name, request)
        assert refused.value.status == 404, rpc_name

    page = new_context(viewport={"width": 1280, "height": 900}).new_page()
    console_login(page, city, "county2", f"/console/ranking?org={other_county['id']}&period={month}")
    expect(page.locator("#denied")).to_contain_text("无权访问或不存在")
    expect(page.locator("#ranking-rows")).to_have_count(0)
    expect(page.locator("#main")).not_to_contain_text(city.branches[0][0]["name"])

    page.goto(f"/console/activity?id={day.activity['id']}")
    expect(page.locator("#denied")).to_contain_text("无权访问或不存在")
    expect(page.locator("#qr-in")).to_have_count(0)
    expect(page.locator("#main")).not_to_contain_text(day.branch["name"])

    page.goto("/console/themed-days")                 # its own lists hold nothing of the other county
    expect(page.locator("#subtree-activities > *")).to_have_count(1)
    expect(page.locator("#main")).not_to_contain_text(day.branch["name"])


def member_row(branch_name: str, name: str, id_number: str, phone: str = "13800138000"):
    """A row of the template's columns for an applicant; the birth date is the ID number's."""
    born = f"{id_number[6:10]}-{id_number[10:12]}-{id_number[12:14]}"
    return [branch_name, name, "男", born, id_number, phone, "本科", "入党申请人", "2024-03-01",
            "", "", "", "", "", "否"]


def test_an_xlsx_import_with_two_bad_rows_shows_both_and_imports_nothing(city, new_context, base_url, screenshot):
    branch = city.branches[1][1]
    county_admin = api_client(base_url, city, "county2")
    before = county_admin.call("ListMembers", {"org_id": branch["id"], "page_size": 500})["members"]

    page = new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True).new_page()
    console_login(page, city, "county2", "/console/import")
    with page.expect_download() as download:
        page.get_by_role("button", name="党员导入模板（CSV）").click()
    template = open(download.value.path(), "rb").read()
    header = template.decode("utf-8-sig").splitlines()[0].split(",")
    [(line, parsed)] = importing.read_table("csv", template + ",".join(["x"] * len(header)).encode() + b"\r\n",
                                            importing.MEMBER_REQUIRED_COLUMNS)
    assert line == 2 and list(parsed) == list(importing.MEMBER_COLUMNS)       # every column the importer reads

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    sheet.append(member_row(branch["name"], "王五", new_unique_id_number(date(1990, 5, 17))))
    valid = new_unique_id_number(date(1990, 5, 17))
    wrong_check_digit = valid[:-1] + ("0" if valid[-1] != "0" else "1")
    sheet.append(member_row(branch["name"], "赵六", wrong_check_digit))
    sheet.append(member_row(branch["name"], "钱七", new_unique_id_number(date(1991, 1, 2)), phone="12345"))
    content = io.BytesIO()
    workbook.save(content)

    page.locator("#import-org").select_option(branch["id"])
    page.locator("#import-file").set_input_files({
        "name": "党员名单.xlsx", "buffer": content.getvalue(),
        "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
    page.get_by_role("button", name="开始导入").click()
    expect(page.locator("#import-status")).to_contain_text("导入文件有 2 行存在错误，未导入任何数据")
    rows = page.locator("#import-error-table tbody tr")
    expect(rows).to_have_count(2)
    cells = [row.locator("td").all_inner_texts() for row in rows.all()]
    assert [(c[0], c[1]) for c in cells] == [("3", "身份证号"), ("4", "手机号")]
    assert all(c[2] for c in cells)                   # the reason, in Chinese, from the API
    screenshot(page, "console-import-errors")
    after = county_admin.call("ListMembers", {"org_id": branch["id"], "page_size": 500})["members"]
    assert [m["id"] for m in after] == [m["id"] for m in before]
