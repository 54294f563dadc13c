"""The development record pages (发展党员纪实) in a real browser: the secretary records an applicant's talk in the
console, is told the political review must wait for the development-target step, records it once the applicant is
one; the county admin sees the record with its publicity; a member of another branch cannot see it, and the
applicant reads its own record on the phone."""
from __future__ import annotations

import uuid

from playwright.sync_api import expect

from gateway.client import ApiError
from tests.browser.conftest import api_client, console_login, log_in
from tests.support.identity import PASSWORD
from tests.support.scoring import today, wait_for

DESKTOP = {"viewport": {"width": 1280, "height": 900}}


def test_a_secretary_records_a_talk_and_the_political_review_and_the_county_sees_them(
        rpc, city, new_context, phone, base_url, screenshot):
    county, branch, neighbour = city.counties[0], city.branches[0][0], city.branches[0][1]
    candidate = city.add_member(branch, "陆申请", status="activist",
                                status_dates={"applicant": "2020-03-01", "activist": "2021-03-01"})
    rpc.identity.create_account(scope=city.admin, username="sec-fz", password=PASSWORD, role="branch_secretary",
                                org_id=branch["id"])

    page = new_context(**DESKTOP).new_page()
    console_login(page, city, "sec-fz", f"/console/development?org={branch['id']}")
    expect(page.locator("#console-nav a[aria-current='page']")).to_have_text("发展党员纪实")
    row = page.locator(f"#applicants tbody tr[data-member='{candidate['id']}']")
    expect(row).to_contain_text("入党积极分子")
    row.get_by_role("button", name="查看纪实").click()
    expect(page.locator("#record-title")).to_have_text("陆申请的发展纪实")

    # a talk with the applicant
    page.locator("#entry-kind").select_option("talk")
    page.locator("#entry-on").fill("2020-03-20")
    page.locator("#entry-purpose").select_option("application")
    page.get_by_label("谈话人").fill("孙书记")
    page.get_by_label("谈话内容").fill("了解入党动机，勉励其加强理论学习。")
    page.get_by_role("button", name="保存记录").click()
    expect(page.locator("#development-status-line")).to_have_text("已记入陆申请的发展纪实：谈话")
    talk = page.locator("#record-entries tbody tr[data-kind='talk']")
    expect(talk).to_contain_text("入党申请人谈话；谈话人：孙书记")
    expect(talk).to_contain_text("sec-fz")

    # the political review before the development-target step: refused, in Chinese, nothing recorded
    page.locator("#entry-kind").select_option("political_review")
    page.get_by_label("审查意见").fill("政治历史清楚，现实表现良好。")
    page.get_by_role("button", name="保存记录").click()
    expect(page.locator("#entry-status")).to_contain_text("发展对象阶段才能记录政治审查")
    expect(page.locator("#record-entries tbody tr")).to_have_count(1)

    rpc.identity.change_member_status(scope=city.admin, member_id=candidate["id"], status="development_target",
                                      on=today())
    page.reload()
    expect(page.locator("#record-title")).to_have_text("陆申请的发展纪实")
    expect(page.locator("#record-outstanding")).to_contain_text("政治审查")
    page.locator("#entry-kind").select_option("political_review")
    page.locator("#entry-outcome").select_option("passed")
    page.get_by_label("审查意见").fill("政治历史清楚，现实表现良好。")
    page.get_by_role("button", name="保存记录").click()
    expect(page.locator("#development-status-line")).to_have_text("已记入陆申请的发展纪实：政治审查")
    expect(page.locator("#record-entries tbody tr[data-kind='political_review']")).to_contain_text("审查结论：合格")
    screenshot(page, "console-development-secretary")

    # the county admin sees the record, with the step's publicity once the content service opened it
    county_api = api_client(base_url, city, "county1")
    wait_for(lambda: county_api.call("GetDevelopmentRecord", {"member_id": candidate["id"]})["publicity"][0]["state"]
             == "open" or None)
    superior = new_context(**DESKTOP).new_page()
    console_login(superior, city, "county1", f"/console/development?org={county['id']}&member={candidate['id']}")
    expect(superior.locator("#record-title")).to_have_text("陆申请的发展纪实")
    expect(superior.locator("#record-entries tbody tr")).to_have_count(2)
    expect(superior.locator("#record-steps")).to_contain_text("发展对象")
    expect(superior.locator("#publicity-rows tbody tr")).to_contain_text("确定为发展对象")
    expect(superior.locator("#publicity-rows .publicity-state")).to_have_text("公示中")
    expect(superior.locator("#publicity-rows tbody tr")).to_contain_text("0 条")
    expect(superior.locator(f"#applicants tbody tr[data-member='{candidate['id']}']")).to_contain_text("2 条")
    screenshot(superior, "console-development-county")

    # a member of another branch: its own record on the phone, never the applicant's
    outsider_name = f"m{uuid.uuid4().hex[:6]}"
    city.member_login(city.add_member(neighbour, "钱邻居"), outsider_name)
    outsider = api_client(base_url, city, outsider_name)
    assert _refused(outsider, candidate["id"]) == 404
    phone.goto("/m/development")
    log_in(phone, city.code, outsider_name, PASSWORD)
    expect(phone.locator("#my-steps")).to_contain_text("正式党员")
    expect(phone.locator("#app")).not_to_contain_text("陆申请")
    expect(phone.locator("#app")).not_to_contain_text("了解入党动机")

    # another branch's secretary opening the applicant's record by its link is refused
    rpc.identity.create_account(scope=city.admin, username="sec-lin", password=PASSWORD, role="branch_secretary",
                                org_id=neighbour["id"])
    other = new_context(**DESKTOP).new_page()
    console_login(other, city, "sec-lin", f"/console/development?org={neighbour['id']}&member={candidate['id']}")
    expect(other.locator("#record-error")).to_contain_text("党员不存在或无权访问")
    expect(other.locator("#development-record")).not_to_contain_text("了解入党动机")


def test_the_applicant_reads_its_own_record_on_the_phone(rpc, city, phone, screenshot):
    branch = city.branches[0][0]
    candidate = city.add_member(branch, "华申请", status="activist",
                                status_dates={"applicant": "2020-03-01", "activist": "2021-03-01"})
    rpc.identity.record_development_entry(scope=city.admin, member_id=candidate["id"], kind="training",
                                          on="2021-05-10", stage="activist", course="入党积极分子培训班", hours=24)
    username = f"m{uuid.uuid4().hex[:6]}"
    city.member_login(candidate, username)
    phone.goto("/m/development")
    log_in(phone, city.code, username, PASSWORD)
    expect(phone.locator("#my-steps")).to_contain_text("入党积极分子")
    expect(phone.locator("#my-steps")).to_contain_text("2021-03-01")
    expect(phone.locator("#my-entries .entry")).to_contain_text("入党积极分子培训：入党积极分子培训班，24 学时")
    expect(phone.locator("#my-publicity")).to_contain_text("将在上级党组织公示")
    screenshot(phone, "m-development")


def _refused(client, member_id: str) -> int:
    try:
        client.request("GET", f"/v1/members/{member_id}/development-record")
    except ApiError as refused:
        return refused.status
    return 200
