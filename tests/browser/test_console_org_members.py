"""The console's organisation and member pages (组织架构, 党员, 党员详情, 组织关系转接, 账号) in a real browser against
the real platform: what each page shows is compared with what the API answers to the same caller."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from gateway.client import ApiError, HttpClient
from tests.browser.conftest import api_client, console_login
from tests.support.identity import PASSWORD, new_unique_id_number

DESKTOP = {"viewport": {"width": 1280, "height": 900}}



def subtree_names(client: HttpClient, org_id: str) -> dict[str, dict]:
    answer = client.call("ListSubtree", {"org_id": org_id, "page_size": 500})
    return {org["name"]: org for org in answer["orgs"]}


def test_a_county_admin_creates_renames_and_sees_a_branch_and_the_apis_refusals_in_chinese(
        city, new_context, base_url, screenshot):
    county = api_client(base_url, city, "county1")
    committee = city.committees[0]
    page = new_context(**DESKTOP).new_page()
    console_login(page, city, "county1", "/console/orgs")
    expect(page.locator("#org-table")).to_contain_text(committee["name"])
    # the tree is the API's subtree, every node once, in the API's order
    api_names = [org["name"] for org in county.call("ListSubtree", {"org_id": city.counties[0]["id"],
                                                                    "page_size": 100})["orgs"]]
    shown = [text.strip().lstrip("　").removeprefix("└ ") for text in
             page.locator("#org-table .org-name").all_inner_texts()]
    assert shown == api_names

    # create a branch under the committee
    page.locator("#create-parent").select_option(committee["id"])
    page.locator("#create-name").fill("第1镇新建支部")
    page.locator("#create-kind").select_option("branch")
    page.locator("#create-field").select_option("rural")
    page.locator("#create-submit").click()
    expect(page.locator("#org-status")).to_contain_text("已新建：第1县 / 第1镇党委 / 第1镇新建支部（党支部）")
    created = subtree_names(county, committee["id"])["第1镇新建支部"]
    assert created["parent_id"] == committee["id"] and created["kind"] == "branch" and created["field"] == "rural"
    expect(page.locator(f'#org-table tr[data-org-id="{created["id"]}"]')).to_contain_text("第1镇新建支部")

    # rename it: the tree shows the new name, the API has it
    page.locator(f'button.edit-org[data-org="{created["id"]}"]').click()
    page.locator("#rename-name").fill("第1镇第3支部")
    page.locator("#rename-submit").click()
    expect(page.locator("#org-status")).to_contain_text("已将“第1镇新建支部”更名为“第1镇第3支部”")
    row = page.locator(f'#org-table tr[data-org-id="{created["id"]}"]')
    expect(row).to_contain_text("第1镇第3支部")
    expect(row).to_contain_text("党支部")
    assert county.call("GetOrg", {"org_id": created["id"]})["name"] == "第1镇第3支部"
    expect(page.locator("#org-table")).not_to_contain_text("第1镇新建支部")

    # the API's refusals, in Chinese: a committee with branches cannot be dissolved; a county admin cannot
    # dissolve its own county
    page.locator(f'button.edit-org[data-org="{committee["id"]}"]').click()
    page.locator("#dissolve-button").click()
    page.get_by_role("button", name="确认撤销“第1镇党委”").click()
    expect(page.locator("#org-status")).to_contain_text("该组织下还有下级组织，不能撤销")
    assert committee["name"] in subtree_names(county, city.counties[0]["id"])
    page.locator(f'button.edit-org[data-org="{city.counties[0]["id"]}"]').click()
    page.locator("#dissolve-button").click()
    page.locator("#dissolve-button").click()
    expect(page.locator("#org-status")).to_contain_text("不能修改您所在的最上级组织")

    # the county admin names a secretary of the new branch, who can then log in
    page.goto("/console/accounts")
    page.locator("#account-username").fill("secretary-new")
    page.locator("#account-password").fill(PASSWORD)
    page.locator("#account-role").select_option("branch_secretary")
    page.locator("#account-org").select_option(created["id"])
    page.locator("#account-submit").click()
    expect(page.locator("#account-status")).to_contain_text("已创建账号 secretary-new：党支部书记（第1县 / 第1镇党委 / 第1镇第3支部）")
    secretary = api_client(base_url, city, "secretary-new")
    assert secretary.call("GetMe")["account"]["roles"] == [{"role": "branch_secretary", "org_id": created["id"]}]
    page.locator("#account-username").fill("secretary-new")     # the same name again: refused in Chinese
    page.locator("#account-password").fill(PASSWORD)
    page.locator("#account-submit").click()
    expect(page.locator("#account-status")).to_contain_text("用户名已被使用")
    screenshot(page, "console-accounts")


def test_a_member_page_shows_the_masked_id_and_refuses_a_too_early_step_in_chinese(
        city, new_context, base_url, screenshot):
    activist_on = date.today() - timedelta(days=400)
    id_number = new_unique_id_number(date(1995, 3, 8))
    member = city.add_member(city.branches[0][0], "李四", id_number=id_number,
                             birth_date=f"{id_number[6:10]}-{id_number[10:12]}-{id_number[12:14]}",
                             status="activist",
                             status_dates={"applicant": (activist_on - timedelta(days=200)).isoformat(),
                                           "activist": activist_on.isoformat()})
    county = api_client(base_url, city, "county1")
    seen = county.call("GetMember", {"member_id": member["id"]})
    page = new_context(**DESKTOP).new_page()
    console_login(page, city, "county1", f"/console/members?org={city.branches[0][0]['id']}")
    link = page.locator(f'a.member-link[data-member="{member["id"]}"]')
    expect(link).to_have_text("李四")
    expect(page.locator("#members")).to_contain_text("入党积极分子")
    link.click()

    expect(page.locator('[data-fact="id_number"]')).to_have_text(seen["id_number_masked"])
    assert "*" in seen["id_number_masked"]
    expect(page.locator("#main")).not_to_contain_text(id_number)        # the full number is never shown
    expect(page.locator('[data-fact="status"]')).to_have_text("入党积极分子")
    expect(page.locator('[data-fact="branch"]')).to_have_text("第1县 / 第1镇党委 / 第1镇第1支部")
    expect(page.locator('#lifecycle-steps li[data-step="activist"]')).to_contain_text(activist_on.isoformat())
    expect(page.locator('#lifecycle-steps li[data-step="development_target"]')).to_contain_text("未到此步")

    # too early: less than a year as an activist
    too_early = activist_on + timedelta(days=100)
    page.locator("#step-date").fill(too_early.isoformat())
    page.locator("#step-submit").click()
    expect(page.locator("#step-result")).to_contain_text("距上一步的时间间隔不足")
    expect(page.locator("#step-result")).to_contain_text("确定为入党积极分子满一年后才能确定为发展对象")
    assert county.call("GetMember", {"member_id": member["id"]})["status"] == "activist"
    screenshot(page, "console-member-refused")

    # a valid step: a year and a day later
    valid = activist_on + timedelta(days=366)
    page.locator("#step-date").fill(valid.isoformat())
    page.locator("#step-submit").click()
    expect(page.locator("#step-result")).to_contain_text(f"已转为发展对象（{valid.isoformat()}）")
    expect(page.locator('[data-fact="status"]')).to_have_text("发展对象")
    expect(page.locator('#lifecycle-steps li[data-step="development_target"]')).to_contain_text(valid.isoformat())
    after = county.call("GetMember", {"member_id": member["id"]})
    assert after["status"] == "development_target"
    assert {"status": "development_target", "on": valid.isoformat()} in after["status_history"]
    expect(page.locator("#step-submit")).to_have_text("确认转为预备党员")


def test_a_transfer_requested_from_the_member_page_is_accepted_by_the_receiving_county(
        city, new_context, base_url, screenshot):
    source, target = city.branches[0][0], city.branches[1][0]
    member = city.add_member(source, "王五")
    sender = new_context(**DESKTOP).new_page()
    console_login(sender, city, "county1", f"/console/member?id={member['id']}")
    expect(sender.locator('[data-fact="name"]')).to_have_text("王五")
    sender.locator("#transfer-branch-id").fill(target["id"])     # outside the county: by its id
    sender.locator("#transfer-reason").fill("工作调动")
    sender.locator("#transfer-submit").click()
    expect(sender.locator("#transfer-result")).to_contain_text(f"已申请转往“{target['name']}”")
    sender.locator("#transfer-submit").click()                    # a second request: refused in Chinese
    expect(sender.locator("#transfer-result")).to_contain_text("该党员已有待处理的组织关系转接")

    receiver_api = api_client(base_url, city, "county2")
    pending = receiver_api.call("ListTransfers", {"org_id": city.counties[1]["id"], "side": "incoming",
                                                  "state": "pending"})["transfers"]
    assert [item["member_id"] for item in pending] == [member["id"]]
    transfer = pending[0]

    receiver = new_context(**DESKTOP).new_page()
    console_login(receiver, city, "county2", "/console/transfers")
    row = receiver.locator(f'#transfers tr[data-transfer="{transfer["id"]}"]')
    expect(row).to_contain_text("王五")
    expect(row).to_contain_text(source["name"])
    expect(row).to_contain_text(target["name"])
    expect(row).to_contain_text("工作调动")
    expect(row).to_contain_text("待办理")
    row.get_by_role("button", name="接收").click()
    expect(receiver.locator("#transfer-status")).to_contain_text(f"已接收：王五 转入{target['name']}")
    expect(receiver.locator("#transfers-empty")).to_be_visible()

    # the API agrees: the member is in the new branch, the transfer done
    moved = receiver_api.call("GetMember", {"member_id": member["id"]})
    assert moved["branch_id"] == target["id"]
    listed = receiver_api.call("ListMembers", {"org_id": target["id"]})["members"]
    assert member["id"] in [item["id"] for item in listed]
    done = receiver_api.call("ListTransfers", {"org_id": city.counties[1]["id"], "side": "incoming",
                                               "state": "done"})["transfers"]
    assert [(item["id"], item["state"]) for item in done] == [(transfer["id"], "accepted")]

    # the receiving county's member list shows the member under the new branch
    receiver.goto(f"/console/members?org={target['id']}")
    link = receiver.locator(f'a.member-link[data-member="{member["id"]}"]')
    expect(link).to_have_text("王五")
    expect(receiver.locator("#members tbody tr").filter(has=link)).to_contain_text("第2县 / 第2镇党委 / 第2镇第1支部")
    screenshot(receiver, "console-members-after-transfer")

    # the sending county sees it done, and no longer reaches the member
    sender.goto(f"/console/transfers?org={city.counties[0]['id']}&side=outgoing&state=done")
    expect(sender.locator(f'#transfers tr[data-transfer="{transfer["id"]}"]')).to_contain_text("已接收")
    sender.goto(f"/console/member?id={member['id']}")
    expect(sender.locator("#denied")).to_contain_text("无权访问或不存在")


def test_a_county_admin_cannot_open_another_countys_org_or_member_by_url(city, new_context, base_url):
    other_county, other_branch = city.counties[0], city.branches[0][0]
    member = city.add_member(other_branch, "赵六")
    stranger = api_client(base_url, city, "county2")
    for rpc_name, request in (("ListSubtree", {"org_id": other_county["id"]}),
                              ("GetMember", {"member_id": member["id"]}),
                              ("ListMembers", {"org_id": other_branch["id"]}),
                              ("ListTransfers", {"org_id": other_county["id"], "side": "incoming",
                                                 "state": "pending"})):
        with pytest.raises(ApiError) as refused:
            stranger.call(rpc_name, request)
        assert refused.value.status == 404, rpc_name

    page = new_context(**DESKTOP).new_page()
    console_login(page, city, "county2", f"/console/orgs?org={other_county['id']}")
    expect(page.locator("#denied")).to_contain_text("无权访问或不存在")
    expect(page.locator("#org-table")).to_have_count(0)
    expect(page.locator("#main")).not_to_contain_text(other_county["name"])

    for path in (f"/console/member?id={member['id']}", f"/console/members?org={other_branch['id']}",
                 f"/console/transfers?org={other_county['id']}"):
        page.goto(path)
        expect(page.locator("#denied")).to_contain_text("无权访问或不存在")
        expect(page.locator("#main")).not_to_contain_text("赵六")
        expect(page.locator("#main")).not_to_contain_text(other_branch["name"])
