"""The console's 审计日志 page in a real browser against the real platform: an auditor sees the entries the API
answers (an admin's write through the gateway, with its address), the export link, and every chain verified; the
navigation offers the auditor nothing else; an admin opening the page sees only 无权访问或不存在."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import api_client, console_login
from tests.support.identity import PASSWORD


def test_an_auditor_searches_exports_and_verifies_the_audit_log(city, desktop, base_url, screenshot,
                                                              volunteer_service):
    admin = api_client(base_url, city, "city-admin")
    admin.call("CreateAccount", {"username": "auditor", "password": PASSWORD, "role": "auditor",
                                 "org_id": city.root["id"]})
    admin.call("CreateOrg", {"parent_id": city.committees[0]["id"], "name": "审计测试支部", "kind": "branch"})
    auditor = api_client(base_url, city, "auditor")
    expected = auditor.call("SearchAuditLog", {"operation": "CreateOrg"})["entries"]
    assert len(expected) == 1 and expected[0]["account_id"] == admin.call("GetMe")["account"]["id"]

    page = desktop
    console_login(page, city, "auditor", "/console/audit-log?operation=CreateOrg")
    expect(page.locator("#whoami")).to_contain_text("审计员")
    assert page.locator("#console-nav a").all_inner_texts() == ["账号安全", "审计日志"]     # its own password and sessions
    expect(page.locator("#entry-rows tbody tr")).to_have_count(1)
    cells = [cell.strip() for cell in page.locator("#entry-rows tbody tr td").all_inner_texts()]
    assert cells[1:5] == ["组织与党员", "CreateOrg", "写操作", expected[0]["account_id"]]
    assert cells[7:] == ["127.0.0.1", "成功"]
    assert f"result_id={expected[0]['targets']['result_id']}" in cells[6]
    expect(page.locator("#download")).to_have_attribute("href", "/v1/audit-log.xlsx?operation=CreateOrg&download=1")

    page.get_by_role("button", name="校验全部服务").click()
    expect(page.locator("#chain-rows tbody tr")).to_have_count(5)          # every service answered
    rows = {row.locator("td").first.inner_text(): row.locator("td").nth(1).inner_text()
            for row in page.locator("#chain-rows tbody tr").all()}
    assert rows["组织与党员"] == "完整"
    screenshot(page, "console-audit-log")


def test_an_admin_is_refused_the_audit_log_page(city, desktop):
    console_login(desktop, city, "city-admin", "/console/audit-log")
    expect(desktop.locator("#denied")).to_contain_text("无权访问或不存在")
    assert "审计日志" not in desktop.locator("#console-nav a").all_inner_texts()
