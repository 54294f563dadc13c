"""The console's 账号与角色 page in a real browser against the real platform: the list is what ListAccounts answers the
same caller (scope, role filter, pages), and an account created in the form appears in it."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, api_client, console_login
from tests.support.identity import PASSWORD

ROLE_LABELS = {"org_admin": "组织管理员", "branch_secretary": "党支部书记", "member": "党员"}


def api_rows(client, org_id: str, **filters) -> list[dict]:
    rows, token = [], ""
    while True:
        answer = client.call("ListAccounts", {"org_id": org_id, "page_size": 500, "page_token": token, **filters})
        rows += answer["accounts"]
        token = answer["next_page_token"]
        if not token:
            return rows


def shown_ids(page) -> set[str]:
    return set(page.locator("#accounts tbody tr").evaluate_all("rows => rows.map(row => row.dataset.account)"))


def test_a_county_admin_lists_filters_pages_and_sees_the_account_it_creates(city, new_context, base_url, screenshot):
    county_one, (east_first, east_second) = city.counties[0], city.branches[0]
    for number in range(52):        # more than a page of the list (50)
        city.rpc.identity.create_account(scope=city.admin, username=f"sec-{number:02d}", password=PASSWORD,
                                         role="branch_secretary", org_id=east_first["id"])
    city.rpc.identity.create_account(scope=city.admin, username="sec-west", password=PASSWORD,
                                     role="branch_secretary", org_id=city.branches[1][0]["id"])
    linked = city.add_member(east_second, "孙九")
    city.member_login(linked, "member-sun")
    county = api_client(base_url, city, "county1")
    expected = api_rows(county, county_one["id"])
    assert len(expected) == 54 and "sec-west" not in {row["username"] for row in expected}

    page = new_context(**DESKTOP).new_page()
    console_login(page, city, "county1", "/console/accounts")
    expect(page.locator("#accounts tbody tr")).to_have_count(50)
    first_page = shown_ids(page)
    page.locator("#account-pager .pager-next").click()
    expect(page.locator("#account-pager .pager-info")).to_have_text("第 2 页")
    expect(page.locator("#accounts tbody tr")).to_have_count(4)
    assert first_page | shown_ids(page) == {row["id"] for row in expected}
    assert not first_page & shown_ids(page)
    expect(page.locator("#accounts")).not_to_contain_text("sec-west")
    # each row as the API has it: role in Chinese, the organisation's path, the member's name, the time
    sun = next(row for row in expected if row["username"] == "member-sun")
    if sun["id"] in first_page:
        page.locator("#account-pager .pager-previous").click()
        expect(page.locator("#account-pager .pager-info")).to_have_text("第 1 页")
    row = page.locator(f'#accounts tr[data-account="{sun["id"]}"]')
    expect(row).to_contain_text("member-sun")
    expect(row).to_contain_text("党员")
    expect(row).to_contain_text("第1县 / 第1镇党委 / 第1镇第2支部")
    expect(row.get_by_role("link", name="孙九")).to_have_attribute("href", f"/console/member?id={linked['id']}")
    expect(row.locator("td").nth(4)).to_have_text(re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$"))

    # the role filter: the county's own admin only
    page.locator("#account-list-role").select_option("org_admin")
    page.locator("#account-filters button[type=submit]").click()
    expect(page.locator("#accounts tbody tr")).to_have_count(1)
    admin_row = page.locator("#accounts tbody tr")
    expect(admin_row).to_contain_text("county1")
    expect(admin_row).to_contain_text("组织管理员")
    expect(admin_row).to_contain_text("第1县")
    assert "role=org_admin" in page.url

    # a member account created in the form appears in the list (role filter 党员), as the API lists it
    newcomer = city.add_member(east_first, "周十")
    page.locator("#account-list-role").select_option("member")
    page.locator("#account-filters button[type=submit]").click()
    expect(page.locator("#accounts tbody tr")).to_have_count(1)
    page.locator("#account-username").fill("member-zhou")
    page.locator("#account-password").fill(PASSWORD)
    page.locator("#account-role").select_option("member")
    page.locator("#account-member").fill(newcomer["id"])
    page.locator("#account-submit").click()
    expect(page.locator("#account-status")).to_contain_text("已创建账号 member-zhou：党员（第1县 / 第1镇党委 / 第1镇第1支部）")
    created = next(row for row in api_rows(county, county_one["id"], role="member") if row["username"] == "member-zhou")
    new_row = page.locator(f'#accounts tr[data-account="{created["id"]}"]')
    expect(new_row).to_contain_text("周十")
    expect(new_row).to_contain_text("第1县 / 第1镇党委 / 第1镇第1支部")
    expect(page.locator("#accounts tbody tr")).to_have_count(2)
    screenshot(page, "console-accounts-list")
    page.reload()                   # the page's filter is in its address; the list is the API's alone
    expect(page.locator("#account-list-role")).to_have_value("member")
    expect(page.locator(f'#accounts tr[data-account="{created["id"]}"]')).to_contain_text("member-zhou")
    assert shown_ids(page) == {row["id"] for row in api_rows(county, county_one["id"], role="member")}


def test_an_account_created_off_the_first_page_is_shown_first_as_new(city, new_context, base_url):
    """The list is in the API's order (by account id), so a new account may land on any page: on the page shown it
    stays in its place; otherwise it is shown first, marked 新建. Accounts are created until one lands off the first
    page (each does with a chance of 2 in 3 among 150 others)."""
    branch = city.branches[0][0]
    for number in range(150):
        city.rpc.identity.create_account(scope=city.admin, username=f"sec-{number:03d}", password=PASSWORD,
                                         role="branch_secretary", org_id=branch["id"])
    county = api_client(base_url, city, "county1")
    page = new_context(**DESKTOP).new_page()
    console_login(page, city, "county1", "/console/accounts")
    expect(page.locator("#accounts tbody tr")).to_have_count(50)
    landed = []
    for attempt in range(8):
        username = f"sec-new-{attempt}"
        page.locator("#account-username").fill(username)
        page.locator("#account-password").fill(PASSWORD)
        page.locator("#account-role").select_option("branch_secretary")
        page.locator("#account-org").select_option(branch["id"])
        page.locator("#account-submit").click()
        expect(page.locator("#account-status")).to_contain_text(f"已创建账号 {username}")
        rows = api_rows(county, city.counties[0]["id"])
        created = next(row for row in rows if row["username"] == username)
        row = page.locator(f'#accounts tr[data-account="{created["id"]}"]')
        expect(row).to_contain_text("党支部书记")
        expect(row).to_contain_text("第1县 / 第1镇党委 / 第1镇第1支部")
        if created["id"] in [row["id"] for row in rows[:50]]:      # on the page shown: in its place, unmarked
            expect(page.locator("#accounts tbody tr")).to_have_count(50)
            expect(page.locator("#accounts tr.account-new")).to_have_count(0)
            landed.append("first page")
            continue
        expect(page.locator("#accounts tbody tr")).to_have_count(51)
        expect(page.locator("#accounts tbody tr").first).to_have_attribute("data-account", created["id"])
        expect(page.locator("#accounts tr.account-new")).to_contain_text("新建")
        assert shown_ids(page) == {created["id"]} | {row["id"] for row in rows[:50]}
        break
    else:
        raise AssertionError(f"every new account landed on the first page: {landed}")
    page.locator("#account-filters button[type=submit]").click()     # a new query: the API's page alone
    expect(page.locator("#accounts tbody tr")).to_have_count(50)
    expect(page.locator("#accounts tr.account-new")).to_have_count(0)


def test_a_secretary_sees_its_branch_and_a_county_admin_not_another_county(city, new_context, base_url):
    branch = city.branches[0][0]
    city.rpc.identity.create_account(scope=city.admin, username="sec-east", password=PASSWORD,
                                     role="branch_secretary", org_id=branch["id"])
    city.member_login(city.add_member(branch, "吴一"), "member-wu")
    city.member_login(city.add_member(city.branches[0][1], "郑二"), "member-zheng")
    page = new_context(**DESKTOP).new_page()
    console_login(page, city, "sec-east", "/console/accounts")
    expect(page.locator("#accounts tbody tr")).to_have_count(2)
    expect(page.locator("#accounts")).to_contain_text("member-wu")
    expect(page.locator("#accounts")).to_contain_text("吴一")
    expect(page.locator("#accounts")).not_to_contain_text("member-zheng")
    expect(page.locator("#account-list-org option")).to_have_count(1)
    secretary = api_client(base_url, city, "sec-east")
    assert shown_ids(page) == {row["id"] for row in api_rows(secretary, branch["id"])}

    other = new_context(**DESKTOP).new_page()
    console_login(other, city, "county2", f"/console/accounts?org={city.counties[0]['id']}")
    expect(other.locator("#denied")).to_contain_text("无权访问或不存在")
    expect(other.locator("#main")).not_to_contain_text("sec-east")
