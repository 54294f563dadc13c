"""The console's 动态验证码 in a real browser against the real platform: a county admin binds TOTP on 账号安全
(the secret shown once, confirmed by a first code), then its next login asks for the 6-digit code after the
password; a wrong code is refused on the page, a right one opens the console."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, console_login, log_in
from tests.support.identity import PASSWORD
from tests.support.totp import code


def test_a_county_admin_binds_totp_and_then_logs_in_with_a_code(city, new_context, screenshot):
    page = new_context(**DESKTOP).new_page()
    console_login(page, city, "county1", "/console/security")
    expect(page.locator("#totp-state")).to_contain_text("未启用")
    page.locator("#totp-begin").click()
    secret = page.locator("#totp-secret").inner_text()
    expect(page.locator("#totp-uri")).to_contain_text(f"secret={secret}")
    page.locator("#totp-body input[name=code]").fill(code(secret, -1))
    page.get_by_role("button", name="确认绑定").click()
    expect(page.locator("#totp-state")).to_contain_text("已启用")
    assert city.rpc.identity.get_totp_status(scope=city.county_admins[0])["totp_enabled"] is True

    fresh = new_context(**DESKTOP).new_page()
    fresh.goto("/console/")
    log_in(fresh, city.code, "county1", PASSWORD)
    expect(fresh.locator("#totp-form")).to_contain_text("动态验证码")
    wrong = next(c for c in ("000000", "111111", "222222") if c not in {code(secret, o) for o in (-1, 0, 1)})
    fresh.locator("#totp-code").fill(wrong)
    fresh.get_by_role("button", name="验证并登录").click()
    expect(fresh.locator("#totp-form .form-error")).to_have_text("动态验证码错误")
    screenshot(fresh, "console-totp-login")
    fresh.locator("#totp-code").fill(code(secret))
    fresh.get_by_role("button", name="验证并登录").click()
    expect(fresh.locator("#whoami")).to_be_visible()
    expect(fresh).not_to_have_url(re.compile(r"/console/login"))
