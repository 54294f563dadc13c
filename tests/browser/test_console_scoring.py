"""The console's scoring pages in a real browser against the real platform: progress, trend and comparison show
the API's numbers in their table twins and charts (a county without a themed day: 暂无数据); the spot check lists
the API's sample; the points ledger shows the API's entries and balance and takes a deduction; a county admin
opening another county's data by URL sees only 无权访问或不存在."""
from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from gateway.client import ApiError
from tests.browser.conftest import api_client, console_login
from tests.browser.test_console_pages import held, last_month, publisher  # noqa: F401 - publisher is a fixture
from tests.support.scoring import ThemedDay as ScoredDay
from tests.support.scoring import wait_for

STAGE_LABELS = ["已下发", "已提交计划", "已审核通过", "已开展", "已结束"]


def month_before(month: str, back: int) -> str:
    year, number = int(month[:4]), int(month[5:]) - back
    while number < 1:
        year, number = year - 1, number + 12
    return f"{year:04d}-{number:02d}"


def cells_of(page, table_id: str) -> list[list[str]]:
    rows = page.locator(f"#{table_id} tbody tr")
    return [[cell.strip() for cell in row.locator("td").all_inner_texts()] for row in rows.all()]


def chart_option(page, box_id: str) -> dict:
    return page.evaluate(f"""() => {{
        const option = echarts.getInstanceByDom(document.getElementById('{box_id}')).getOption();
        return {{x: option.xAxis[0].data, series: option.series.map((s) => ({{name: s.name, data: s.data}}))}};
    }}""")


def scored(admin, org_id: str, month: str, count: int) -> dict:
    """The ranking once ``count`` branches are held and final (the events travel through the broker)."""
    return wait_for(lambda: (lambda answer: answer if sum(row["held"] for row in answer["rows"]) == count
                             and all(row["final"] for row in answer["rows"] if row["held"]) else None)(
        admin.call("GetRanking", {"org_id": org_id, "period": month, "page_size": 500})))


def test_progress_trend_and_comparison_show_the_apis_numbers(city, publisher, new_context, base_url, screenshot):
    month = last_month()
    earlier = month_before(month, 2)
    first, second = city.branches[0]
    held(publisher, city, first, month, 3)
    held(publisher, city, second, month, 1, incomplete=1)
    held(publisher, city, first, earlier, 2)
    admin = api_client(base_url, city, "city-admin")
    scored(admin, city.root["id"], month, 2)
    scored(admin, city.root["id"], earlier, 1)

    page = new_context(viewport={"width": 1280, "height": 900}).new_page()
    # 开展进度 by field
    progress = admin.call("GetProgress", {"org_id": city.root["id"], "period": month, "group_by": "field"})
    console_login(page, city, "city-admin", f"/console/progress?org={city.root['id']}&period={month}&group_by=field")
    expect(page.locator("#progress-rows tbody tr")).to_have_count(len(progress["groups"]))
    table = cells_of(page, "progress-rows")
    assert progress["stages"] == ["issued", "submitted", "approved", "held", "closed"]
    assert [row[:2] for row in table] == [["农村", str(group["branches"])] for group in progress["groups"]]
    for row, group in zip(table, progress["groups"]):
        assert row[2:] == [f"{stage['count']}（{stage['share'] * 100:.1f}%）" for stage in group["stages"]]
    option = chart_option(page, "progress-chart")
    assert option["x"] == ["农村"]
    assert option["series"] == [{"name": label, "data": [group["stages"][index]["count"] for group in progress["groups"]]}
                                for index, label in enumerate(STAGE_LABELS)]
    assert progress["groups"][0]["stages"][4]["count"] == 2          # both closed days are counted
    screenshot(page, "console-progress")

    # 得分趋势 of the first branch over three months: two held, the month between not held (a gap)
    trend = admin.call("GetTrend", {"branch_id": first["id"], "month_from": earlier, "month_to": month})
    page.goto(f"/console/trend?branch={first['id']}&from={earlier}&to={month}")
    expect(page.locator("#trend-rows tbody tr")).to_have_count(3)
    assert cells_of(page, "trend-rows") == [
        [point["month"], f"{point['score']:.2f}" if point["held"] else "—", "已结束" if point["held"] else "未开展"]
        for point in trend["points"]]
    assert [point["held"] for point in trend["points"]] == [True, False, True]
    option = chart_option(page, "trend-chart")
    assert option["x"] == trend["chart"]["labels"] == [earlier, month_before(month, 1), month]
    assert option["series"][0]["data"] == [point["score"] if point["held"] else None for point in trend["points"]]
    screenshot(page, "console-trend")

    # 组织对比: the city and its two counties (the page lists them in tree order); the second county has no themed day
    org_ids = [city.root["id"], city.counties[0]["id"], city.counties[1]["id"]]
    compared = admin.call("CompareOrgs", {"org_ids": org_ids, "period": month})
    page.goto(f"/console/compare?orgs={','.join(org_ids)}&period={month}")
    expect(page.locator("#compare-rows tbody tr")).to_have_count(3)
    table = cells_of(page, "compare-rows")
    assert table == [[item["name"], str(item["branches"]), str(item["not_held"]),
                      *(["暂无数据"] * 3 if item["no_data"] else
                        [f"{item['average']:.2f}", f"{item['best']:.2f}", f"{item['worst']:.2f}"])]
                     for item in compared["items"]]
    assert table[2] == ["第2县", "0", "0", "暂无数据", "暂无数据", "暂无数据"]
    option = chart_option(page, "compare-chart")
    assert option["x"] == compared["chart"]["labels"] == ["测试市", "第1县"]
    assert option["series"][0]["data"] == compared["chart"]["values"]
    assert option["series"][0]["data"][1] == pytest.approx(
        sum(row["score"] for row in admin.call("GetRanking", {"org_id": city.counties[0]["id"], "period": month})["rows"]) / 2,
        abs=0.01)
    expect(page.locator("#org-choices input:checked")).to_have_count(3)
    with page.expect_download() as download:
        page.get_by_role("button", name="导出表格（CSV）").click()
    exported = open(download.value.path(), encoding="utf-8-sig").read().splitlines()
    assert exported[0] == "组织,已开展支部数,未开展支部数,平均分,最高分,最低分" and exported[3] == "第2县,0,0,暂无数据,暂无数据,暂无数据"
    screenshot(page, "console-compare")


def test_the_spot_check_lists_the_apis_sample_and_the_ledger_its_entries(
        city, publisher, new_context, base_url, screenshot):
    month = last_month()
    members = [f"mem_{uuid.uuid4().hex}" for _ in range(3)]
    branches = [city.branches[0][0], city.branches[0][1], city.branches[1][0]]
    day = ScoredDay(city.tenant_id, branches[0], month, members)
    events = [day.issued(), *day.planned_and_opened()]
    for member in members[:2]:
        events += [day.scan(member), day.scan(member, "out"), day.reflection(member)]
    events.append(day.closed({members[0]: "present", members[1]: "present", members[2]: "absent"}))
    publisher.publish(events)
    held(publisher, city, branches[1], month, 1)
    held(publisher, city, branches[2], month, 2)
    admin = api_client(base_url, city, "city-admin")
    scored(admin, city.root["id"], month, 3)

    page = new_context(viewport={"width": 1280, "height": 900}).new_page()
    console_login(page, city, "city-admin", "/console/")
    for size in (2, 3):
        with page.expect_response(lambda response: "/spot-checks" in response.url) as answer:
            page.goto(f"/console/spot-check?org={city.root['id']}&month={month}&size={size}")
        sample = answer.value.json()
        expect(page.locator("#spot-rows tbody tr")).to_have_count(size)
        table = cells_of(page, "spot-rows")
        assert [(row[0], row[3]) for row in table] == [
            (item["score"]["branch_name"], f"{item['score']['score']:.2f}") for item in sample["items"]]
        assert all(row[4].startswith("签到 ") for row in table)          # the breakdown of each score
        expect(page.locator("#summary")).to_contain_text(f"从 {sample['population']} 个")
    assert sample["population"] == 3
    with page.expect_response(lambda response: "/spot-checks" in response.url) as answer:   # 重新抽取: a new draw
        page.get_by_role("button", name="重新抽取").click()
    expect(page.locator("#spot-rows tbody tr")).to_have_count(3)
    assert sorted(row[0] for row in cells_of(page, "spot-rows")) == sorted(
        item["score"]["branch_name"] for item in answer.value.json()["items"])
    screenshot(page, "console-spot-check")

    # 督导通报: the month's list and the quarter's best branches are the API's, with the three XLSX downloads
    quarter = f"{month[:4]}-Q{(int(month[5:]) - 1) // 3 + 1}"
    supervision = admin.call("SupervisionList", {"org_id": city.root["id"], "month": month})
    bulletin = admin.call("QuarterlyBulletin", {"org_id": city.root["id"], "quarter": quarter})
    page.goto(f"/console/supervision?org={city.root['id']}&month={month}&quarter={quarter}&year={month[:4]}")
    expect(page.locator("#supervision-rows tbody tr")).to_have_count(len(supervision["items"]))
    assert [row[0] for row in cells_of(page, "supervision-rows")] == [item["branch_name"] for item in supervision["items"]]
    expect(page.locator("#bulletin-best-rows tbody tr")).to_have_count(len(bulletin["best"]))
    assert [(row[0], row[1], row[3]) for row in cells_of(page, "bulletin-best-rows")] == [
        (str(row["rank"]), row["branch_name"], f"{row['score']:.2f}") for row in bulletin["best"]]
    expect(page.locator("#bulletin-summary")).to_contain_text(f"{bulletin['branches']} 个支部有得分")
    for kind, period in (("supervision", month), ("bulletin", quarter), ("assessment", month[:4])):
        expect(page.locator(f"#download-{kind}")).to_have_attribute(
            "href", f"/v1/orgs/{city.root['id']}/reports/{kind}?period={period}&download=1")
    with page.expect_download() as download:
        page.locator("#download-bulletin").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    screenshot(page, "console-supervision")

    # the ledger of a member present: the attendance (and reflection) entries of the closing
    county = api_client(base_url, city, "county1")
    cycle = month[:4]
    ledger = wait_for(lambda: (lambda found: found if any(e["category"] == "attendance" for e in found["entries"])
                               else None)(county.call("GetLedger", {"member_id": members[0], "cycle": cycle})))
    clerk = new_context(viewport={"width": 1280, "height": 900}).new_page()
    console_login(clerk, city, "county1", f"/console/points?member={members[0]}&cycle={cycle}")
    expect(clerk.locator("#ledger-rows tbody tr")).to_have_count(len(ledger["entries"]))
    expect(clerk.locator("#ledger-total")).to_have_text(f"{ledger['total']:g}")
    shown = cells_of(clerk, "ledger-rows")
    assert [float(row[2]) for row in shown] == [entry["points"] for entry in ledger["entries"]]
    assert [row[3] for row in shown] == [entry["reason"] for entry in ledger["entries"]]
    rules = county.call("GetPointsRules", {})
    expect(clerk.locator("#negative-rows tbody tr")).to_have_count(len(rules["negative_list"]))

    # a deduction from the negative list, entered on the page, is the API's next entry and moves the balance
    item = rules["negative_list"][0]
    clerk.locator("#deduction-code").select_option(item["code"])
    clerk.locator("#deduction-reason").fill("无故缺席组织生活")
    clerk.get_by_role("button", name="扣分").click()
    expect(clerk.locator("#deduction-status")).to_contain_text("已扣分")
    after = county.call("GetLedger", {"member_id": members[0], "cycle": cycle})
    assert len(after["entries"]) == len(ledger["entries"]) + 1
    assert after["entries"][-1]["points"] == item["points"] and "无故缺席组织生活" in after["entries"][-1]["reason"]
    assert after["total"] == pytest.approx(ledger["total"] + item["points"])
    expect(clerk.locator("#ledger-total")).to_have_text(f"{after['total']:g}")
    expect(clerk.locator("#ledger-rows tbody tr")).to_have_count(len(after["entries"]))

    # the talk list of the county is the API's
    talk = county.call("ListTalkCandidates", {"org_id": city.counties[0]["id"], "cycle": cycle, "page_size": 500})
    clerk.goto(f"/console/points?org={city.counties[0]['id']}&cycle={cycle}")
    expect(clerk.locator("#talk-summary")).to_contain_text(f"共 {talk['total']} 名")
    expect(clerk.locator("#talk-rows tbody tr")).to_have_count(len(talk["members"]))
    screenshot(clerk, "console-points")


def test_a_county_admin_sees_no_other_countys_scoring_data_by_url(city, publisher, new_context, base_url):
    month = last_month()
    members = [f"mem_{uuid.uuid4().hex}" for _ in range(3)]
    branch = city.branches[0][0]
    day = ScoredDay(city.tenant_id, branch, month, members)
    events = [day.issued(), *day.planned_and_opened()]
    events += [day.scan(members[0]), day.scan(members[0], "out")]
    events.append(day.closed({members[0]: "present", members[1]: "absent", members[2]: "absent"}))
    publisher.publish(events)
    admin = api_client(base_url, city, "city-admin")
    scored(admin, city.root["id"], month, 1)
    wait_for(lambda: admin.call("GetLedger", {"member_id": members[0], "cycle": month[:4]})["entries"])

    other = city.counties[0]["id"]
    page = new_context(viewport={"width": 1280, "height": 900}).new_page()
    console_login(page, city, "county2", "/console/")
    for path in (f"/console/progress?org={other}&period={month}",
                 f"/console/trend?branch={branch['id']}&from={month}&to={month}",
                 f"/console/compare?orgs={other}&period={month}",
                 f"/console/spot-check?org={other}&month={month}",
                 f"/console/supervision?org={other}&month={month}",
                 f"/console/points?member={members[0]}&cycle={month[:4]}",
                 f"/console/points?org={other}"):
        page.goto(path)
        expect(page.locator("#denied")).to_contain_text("无权访问或不存在")
        expect(page.locator("#main")).not_to_contain_text(branch["name"])
        expect(page.locator("#main")).not_to_contain_text("第1县")
        assert page.locator("#main table").count() == 0, path


def rules_cells(page) -> dict[str, list[str]]:
    return {row[0]: row[1:] for row in cells_of(page, "rules-rows")}


def test_the_city_admin_edits_the_points_rules_and_a_county_admin_cannot(city, new_context, base_url, screenshot):
    admin = api_client(base_url, city, "city-admin")
    before = admin.call("GetPointsRules", {})
    page = new_context(viewport={"width": 1280, "height": 900}).new_page()
    console_login(page, city, "city-admin", "/console/points")
    form = page.locator("#rules-form")
    expect(form).to_be_visible()
    expect(page.locator("#rules-edit-rows tbody tr")).to_have_count(len(before["rules"]))
    expect(page.locator("#negative-edit-rows tbody tr")).to_have_count(len(before["negative_list"]))

    # one rule's points and a new negative-list item, entered on the page, are what the API then answers
    reflection = page.locator("#rules-edit-rows tbody tr[data-category=reflection]")
    expect(reflection.locator("[name=points]")).to_have_value(f"{rules_by(before)['reflection']['points']:g}")
    reflection.locator("[name=points]").fill("3")
    page.get_by_role("button", name="添加事项").click()
    added = page.locator("#negative-edit-rows tbody tr").last
    added.locator("[name=code]").fill("LATE_MEETING")
    added.locator("[name=name]").fill("无故迟到组织生活会")
    added.locator("[name=points]").fill("-2")
    page.get_by_role("button", name="保存规则").click()
    expect(page.locator("#rules-status")).to_contain_text("积分规则已保存")
    after = admin.call("GetPointsRules", {})
    expected = {**before, "rules": [{**rule, "points": 3} if rule["category"] == "reflection" else rule
                                    for rule in before["rules"]],
                "negative_list": [*before["negative_list"],
                                  {"code": "LATE_MEETING", "name": "无故迟到组织生活会", "points": -2}]}
    assert after == expected
    expect(page.locator("#negative-rows tbody tr")).to_have_count(len(expected["negative_list"]))
    assert cells_of(page, "negative-rows")[-1] == ["LATE_MEETING", "无故迟到组织生活会", "-2"]
    assert rules_cells(page)["心得体会"][0] == "+3"

    # a negative cap: the API's refusal, in Chinese, names the cell, and nothing changes
    page.locator("#rules-edit-rows tbody tr[data-category=attendance] [name=daily_cap]").fill("-1")
    page.get_by_role("button", name="保存规则").click()
    expect(page.locator("#rules-status")).to_contain_text("积分规则无效，未作任何修改")
    bad = {**after, "rules": [{**rule, "daily_cap": -1} if rule["category"] == "attendance" else rule
                              for rule in after["rules"]]}
    with pytest.raises(ApiError) as refused:
        admin.call("SetPointsRules", {"rules": bad})
    assert refused.value.code == "RULES_INVALID"
    problem = refused.value.details[0]
    assert problem["field"] == "rules[0].daily_cap"
    expect(page.locator("#rules-problems li")).to_have_count(len(refused.value.details))
    expect(page.locator("#rules-problems li").first).to_have_text(
        "参加主题党日·每日上限：" + problem["message"].removeprefix(problem["field"] + " "))
    assert "必须在" in page.locator("#rules-problems").inner_text()
    assert admin.call("GetPointsRules", {}) == after
    assert rules_cells(page)["参加主题党日"][1] == f"{rules_by(after)['attendance']['daily_cap']:g}"
    screenshot(page, "console-points-rules")

    # a county admin reads the rules but has no form, and the API refuses the change
    clerk = new_context(viewport={"width": 1280, "height": 900}).new_page()
    console_login(clerk, city, "county1", "/console/points")
    expect(clerk.locator("#negative-rows tbody tr")).to_have_count(len(after["negative_list"]))
    expect(clerk.locator("#rules-form")).to_be_hidden()
    expect(clerk.locator("#rules-save")).to_be_hidden()
    county = api_client(base_url, city, "county1")
    with pytest.raises(ApiError) as refused:
        county.call("SetPointsRules", {"rules": before})
    assert (refused.value.status, refused.value.code) == (403, "NOT_CITY_ADMIN")
    assert admin.call("GetPointsRules", {}) == after


def rules_by(table: dict) -> dict[str, dict]:
    return {rule["category"]: rule for rule in table["rules"]}


def test_a_correction_on_the_ledger_page_is_the_apis_next_entry(city, publisher, new_context, base_url):
    month = last_month()
    members = [f"mem_{uuid.uuid4().hex}" for _ in range(2)]
    day = ScoredDay(city.tenant_id, city.branches[0][0], month, members)
    events = [day.issued(), *day.planned_and_opened(), day.scan(members[0]), day.scan(members[0], "out")]
    events.append(day.closed({members[0]: "present", members[1]: "absent"}))
    publisher.publish(events)
    county = api_client(base_url, city, "county1")
    cycle = month[:4]

    def attended():
        try:    # the member is unknown to scoring until the closing's event is consumed
            found = county.call("GetLedger", {"member_id": members[0], "cycle": cycle})
        except ApiError as error:
            if error.code == "MEMBER_NOT_FOUND":
                return None
            raise
        return found if any(e["category"] == "attendance" for e in found["entries"]) else None

    ledger = wait_for(attended)
    entry = next(e for e in ledger["entries"] if e["category"] == "attendance")

    page = new_context(viewport={"width": 1280, "height": 900}).new_page()
    console_login(page, city, "county1", f"/console/points?member={members[0]}&cycle={cycle}")
    expect(page.locator("#ledger-rows tbody tr")).to_have_count(len(ledger["entries"]))
    page.once("dialog", lambda dialog: dialog.accept("签到记录有误"))
    page.locator(f"button.correct[data-entry='{entry['id']}']").click()
    expect(page.locator("#status")).to_contain_text("已更正")
    after = county.call("GetLedger", {"member_id": members[0], "cycle": cycle})
    assert len(after["entries"]) == len(ledger["entries"]) + 1
    correction = next(e for e in after["entries"] if e.get("corrects") == entry["id"])
    assert correction["points"] == -entry["points"] and "签到记录有误" in correction["reason"]
    assert after["total"] == pytest.approx(ledger["total"] - entry["points"])
    expect(page.locator("#ledger-rows tbody tr")).to_have_count(len(after["entries"]))
    expect(page.locator("#ledger-total")).to_have_text(f"{after['total']:g}")
    shown = cells_of(page, "ledger-rows")
    assert [float(row[2]) for row in shown] == [e["points"] for e in after["entries"]]
    assert sum(row[4] == "更正" for row in shown) == 1
    expect(page.locator(f"button.correct[data-entry='{entry['id']}']")).to_have_count(0)
