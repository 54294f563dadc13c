"""The party dues pages (党费) in headless Chromium against the real platform: a secretary's bank statement with a bad
row imports nothing and shows every row's error; the corrected file imports; the arrears list flags a member six
months behind; the member reads its own dues on the phone and opens a receipt; the county reads its totals."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from playwright.sync_api import expect

from services.identity.domain import dues
from tests.browser.conftest import api_client, console_login, log_in
from tests.support.identity import PASSWORD, login

CHINA = timezone(timedelta(hours=8))


def month(back: int) -> str:
    return dues.shift(datetime.now(CHINA).strftime("%Y-%m"), -back)


def dues_branch(rpc, city):
    branch = city.branches[0][0]
    rpc.identity.create_account(scope=city.admin, username="dues-sec", password=PASSWORD, role="branch_secretary",
                                org_id=branch["id"])
    secretary = login(rpc, city.code, "dues-sec")
    first = city.add_member(branch, "陈一")
    second = city.add_member(branch, "陈二")
    rpc.identity.set_dues_standard(scope=secretary, member_id=first["id"], category="employed", income_fen=450_000,
                                   from_month=month(3))
    rpc.identity.set_dues_standard(scope=secretary, member_id=second["id"], category="student", from_month=month(8))
    return branch, first, second


def statement(tmp_path, name: str, lines: list[str]):
    path = tmp_path / name
    path.write_text("交易流水号,党员编号,姓名,缴费月份,金额（元）,交易日期\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_dues_import_with_a_bad_row_imports_nothing_and_shows_the_row_errors(rpc, city, desktop, base_url,
                                                                                   tmp_path, screenshot):
    branch, first, second = dues_branch(rpc, city)
    today = datetime.now(CHINA).date().isoformat()
    good = [f"BK-1,{first['id']},陈一,{month(3)}至{month(1)},135.00,{today}"]
    bad = [*good, f"BK-2,{second['id']},陈三,{month(8)},0.20,{today}",          # not the member's name
           f"BK-3,{second['id']},陈二,{month(8)},0.50,{today}"]                 # not the standard
    console_login(desktop, city, "dues-sec", "/console/dues-import")
    desktop.locator("#dues-import-file").set_input_files(statement(tmp_path, "bad.csv", bad))
    desktop.get_by_role("button", name="开始导入").click()
    expect(desktop.locator("#dues-import-status")).to_contain_text("未导入任何数据")
    table = desktop.locator("#dues-import-error-table")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table.locator("tbody tr").nth(0)).to_contain_text("姓名与党员信息不一致")
    expect(table.locator("tbody tr").nth(1)).to_contain_text("金额（元）")
    screenshot(desktop, "console-dues-import-rejected")
    secretary = api_client(base_url, city, "dues-sec")
    assert secretary.call("ListDuesPayments", {"org_id": branch["id"]})["payments"] == []

    desktop.locator("#dues-import-file").set_input_files(statement(tmp_path, "good.csv", good))
    desktop.get_by_role("button", name="开始导入").click()
    expect(desktop.locator("#dues-import-status")).to_contain_text("新登记 1 笔缴费，合计 135.00 元")
    expect(desktop.locator("#dues-import-error-table")).to_have_count(0)
    desktop.locator("#dues-import-file").set_input_files(statement(tmp_path, "good-again.csv", good))
    desktop.get_by_role("button", name="开始导入").click()
    expect(desktop.locator("#dues-import-status")).to_contain_text("1 笔交易此前已导入，已跳过")
    assert len(secretary.call("ListDuesPayments", {"org_id": branch["id"]})["payments"]) == 1

    # the student has paid nothing for eight months: flagged for the branch, first in the list
    desktop.goto("/console/dues-arrears")
    rows = desktop.locator("#arrears-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_contain_text("陈二")
    expect(rows.nth(0).locator(".arrears-flag")).to_contain_text("连续8个月未交")
    screenshot(desktop, "console-dues-arrears")


def test_the_member_sees_its_dues_and_a_receipt_and_the_county_its_totals(rpc, city, desktop, phone, screenshot):
    branch, first, second = dues_branch(rpc, city)
    paid = rpc.identity.record_dues_payment(scope=login(rpc, city.code, "dues-sec"), member_id=first["id"],
                                            months=[month(3), month(2)], amount_fen=9_000, payment_method="cash")
    city.member_login(first, "chenyi")
    phone.goto("/m/dues")
    log_in(phone, city.code, "chenyi", PASSWORD)
    expect(phone.locator("#dues-amount")).to_have_text("45.00 元")
    expect(phone.locator("#dues-owed")).to_contain_text(month(1))
    expect(phone.locator("#dues-paid")).to_contain_text(month(3))
    phone.get_by_role("link", name=paid["receipt_no"]).click()
    expect(phone.locator("#receipt-table")).to_contain_text(paid["receipt_no"])
    expect(phone.locator("#receipt-table")).to_contain_text("人民币 90.00 元")
    screenshot(phone, "member-dues-receipt")

    rpc.identity.create_account(scope=city.admin, username="dues-county", password=PASSWORD, role="org_admin",
                                org_id=city.counties[0]["id"])
    console_login(desktop, city, "dues-county", "/console/dues-totals")
    desktop.locator("#totals-month").fill(month(2))
    desktop.get_by_role("button", name="查看").click()
    expect(desktop.locator("#totals-status")).to_contain_text("实缴 45.00 元，缴费 1 人次")
    expect(desktop.locator("#totals-table-body tbody tr")).to_have_count(2)       # the county and its committee
    href = desktop.locator("#totals-xlsx").get_attribute("href")
    assert href.startswith(f"/v1/orgs/{city.counties[0]['id']}/dues-totals.xlsx") and "download=1" in href
    screenshot(desktop, "console-dues-totals")


def test_a_secretary_sets_a_standard_records_a_payment_and_prints_its_receipt(rpc, city, desktop, base_url,
                                                                              screenshot):
    branch = city.branches[0][0]
    rpc.identity.create_account(scope=city.admin, username="dues-sec", password=PASSWORD, role="branch_secretary",
                                org_id=branch["id"])
    city.add_member(branch, "林一")
    console_login(desktop, city, "dues-sec", "/console/dues")
    row = desktop.locator("#dues-table tbody tr", has_text="林一")
    expect(row).to_contain_text("未核定")
    row.get_by_role("button", name="核定标准").click()
    desktop.locator("#standard-category").select_option("employed")
    desktop.locator("#standard-income").fill("6000")
    desktop.get_by_role("button", name="保存标准").click()
    expect(desktop.locator("#dues-status")).to_contain_text("已保存林一的党费标准：每月 90.00 元")
    expect(row).to_contain_text("在岗职工")

    row.get_by_role("button", name="登记缴费").click()
    expect(desktop.locator("#payment-amount")).to_have_value("90.00")
    desktop.locator("#payment-submit").click()
    expect(desktop.locator("#dues-status")).to_contain_text("党费 90.00 元，收据号")
    secretary = api_client(base_url, city, "dues-sec")
    [payment] = secretary.call("ListDuesPayments", {"org_id": branch["id"]})["payments"]
    assert (payment["amount_fen"], payment["months"]) == (9_000, [month(0)])
    desktop.locator("#dues-status a.receipt-link").click()
    expect(desktop.locator("#receipt-table")).to_contain_text(payment["receipt_no"])
    expect(desktop.locator("#receipt-table")).to_contain_text("人民币 90.00 元")
    screenshot(desktop, "console-dues-receipt")
