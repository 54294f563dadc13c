"""Page sessions past their access token, and cutting sessions off from the console, in Chromium against a platform
of their own (identity and a gateway on their own vhost and databases) whose access tokens live 3 seconds
(TOKEN_LIFETIME_SECONDS): a page keeps working across many expiries by refreshing; a refresh token presented a second
time ends the whole session and the page goes to its login; logout ends everything; an admin's 注销 of a session,
停用 of an account and a password change log the other pages out within seconds; the API client (gateway.client)
refreshes its own login."""
from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.request

import pymongo
import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from playwright.sync_api import expect

from gateway.client import ApiError, HttpClient
from servicekit.process.config import nameko_config
from tests.browser.conftest import DESKTOP, PHONE, TIMEOUT_MS, log_in
from tests.support.broker import TestVhost
from tests.support.identity import PASSWORD, City, scope_of
from tests.support.processes import ChildProcess, free_port

LIFETIME = 3                    # seconds an access token lives on this platform
PAST_LIFETIME_MS = 4_000        # a wait after which the page's access token has expired
LOGGED_OUT_MS = 20_000          # poll of revocations (2 s) + the console's session check (5 s), on a loaded machine
NEW_PASSWORD = "Neues-Passw0rt"


class ShortPlatform:
    def __init__(self, rpc, operator_scope, http_url):
        self.rpc, self.operator_scope, self.http_url = rpc, operator_scope, http_url


@pytest.fixture(scope="module")
def short_platform(mongo_uri, amqp_uri, tmp_path_factory):
    prefix = os.environ["DB_PREFIX"] + "short"
    logs = tmp_path_factory.mktemp("short-platform")
    with TestVhost() as bus:
        identity = ChildProcess("identity", ["-m", "servicekit.process.runner",
                                             "services.identity.service:IdentityService"],
                                {"AMQP_URI": bus, "MONGO_URI": mongo_uri, "DB_PREFIX": prefix,
                                 "PASSWORD_HASH_PROFILE": "fast", "TOKEN_LIFETIME_SECONDS": str(LIFETIME),
                                 "OUTBOX_POLL_SECONDS": "0.05", "METRICS_PORT": str(free_port())}, logs)
        http_port = free_port()
        gateway = ChildProcess("gateway", ["-m", "gateway"],
                               {"AMQP_URI": bus, "GATEWAY_HTTP_PORT": str(http_port),
                                "GATEWAY_GRPC_PORT": str(free_port()), "GATEWAY_ADMIN_PORT": str(free_port())}, logs)
        proxy = ClusterRpcProxy({**nameko_config(), "AMQP_URI": bus}, timeout=60)
        rpc = proxy.start()
        try:
            def operator():
                return scope_of(rpc.identity.login(tenant_code="", username="operator",
                                                   password=os.environ["OPERATOR_PASSWORD"]))
            identity.wait_until(operator)
            gateway.wait_until(lambda: urllib.request.urlopen(f"http://127.0.0.1:{http_port}/healthz", timeout=2))
            yield ShortPlatform(rpc, operator(), f"http://127.0.0.1:{http_port}")
        finally:
            proxy.stop()
            gateway.stop()
            identity.stop()
            with pymongo.MongoClient(mongo_uri) as client:
                for name in client.list_database_names():
                    if name.startswith(prefix + "_"):
                        client.drop_database(name)


@pytest.fixture
def city(short_platform) -> City:
    return City(short_platform.rpc, short_platform.operator_scope)


@pytest.fixture
def console(browser, short_platform):
    """``console()``: a new desktop page of its own browser context (own cookies: another device) on the platform."""
    contexts = []

    def make():
        context = browser.new_context(base_url=short_platform.http_url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                      **DESKTOP)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()
    yield make
    for context in contexts:
        context.close()


def logged_in(page, city: City, username: str, path: str = "/console/accounts", password: str = PASSWORD):
    page.goto(path)
    log_in(page, city.code, username, password)
    expect(page.locator("#whoami")).to_be_visible()
    return page


def cookie(page, name: str) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == name)


def pause_session_checks(page) -> None:
    """The page's periodic session check acts only while the page is shown: report it hidden, so that the next API
    call meets the expired token itself (the 401 TOKEN_EXPIRED path, not the early refresh)."""
    page.evaluate("Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'})")


def post(base: str, path: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(base + path, data=json.dumps(body or {}).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def get(base: str, path: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def eventually(check, seconds: float = 15.0):
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.3)


def test_a_page_keeps_working_past_its_access_token_by_refreshing(console, city):
    page = logged_in(console(), city, "city-admin")
    answers = []
    page.on("response", lambda response: answers.append((response.request.method, response.url, response.status)))
    first_refresh = cookie(page, "pb_refresh")
    pause_session_checks(page)

    page.wait_for_timeout(PAST_LIFETIME_MS)
    before = len(answers)
    with page.expect_response(lambda answer: "/accounts?" in answer.url and answer.status == 200):
        page.locator("#account-filters").get_by_role("button", name="查询").click()
    expect(page.locator("#accounts")).to_contain_text("county1")
    listing = [(status, url) for method, url, status in answers[before:] if "/accounts?" in url and method == "GET"]
    assert [status for status, _ in listing] == [401, 200]              # expired, refreshed, sent once more
    assert any(url.endswith("/v1/auth/session:refresh") and status == 200 for _, url, status in answers)
    assert cookie(page, "pb_refresh") != first_refresh                    # rotated

    page.wait_for_timeout(PAST_LIFETIME_MS)                                # a write (CSRF header) past the next expiry
    page.locator("#account-username").fill("newcomer")
    page.locator("#account-password").fill(PASSWORD)
    page.locator("#account-role").select_option("org_admin")
    page.locator("#account-submit").click()
    expect(page.locator("#account-status")).to_contain_text("已创建账号 newcomer")

    # with the checks running again, the page keeps itself refreshed: still logged in after several lifetimes
    page.evaluate("Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'visible'})")
    page.wait_for_timeout(4 * LIFETIME * 1000)
    page.reload()
    expect(page.locator("#whoami")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/console/accounts"))


def test_a_refresh_token_presented_again_ends_the_session_and_the_page_logs_out(console, city, short_platform):
    page = logged_in(console(), city, "county1")
    stolen = cookie(page, "pb_refresh")
    pause_session_checks(page)
    page.wait_for_timeout(PAST_LIFETIME_MS)
    page.locator("#account-filters").get_by_role("button", name="查询").click()
    expect(page.locator("#account-list")).to_be_visible()
    assert eventually(lambda: cookie(page, "pb_refresh") != stolen)         # the page refreshed: the copy is retired
    current = cookie(page, "pb_refresh")

    # a thief's copy of the retired refresh cookie, presented again: refused, and the whole session ends
    status, answer = post(short_platform.http_url, "/v1/auth/session:refresh",
                          headers={"Cookie": f"pb_refresh={stolen}; pb_csrf=x", "X-CSRF-Token": "x"})
    assert (status, answer["error"]["code"]) == (401, "REFRESH_INVALID")
    page.evaluate("Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'visible'})")
    expect(page).to_have_url(re.compile(r"/console/login"), timeout=LOGGED_OUT_MS)
    # and the page's own current refresh token is dead too: the session is over, not just one token
    status, answer = post(short_platform.http_url, "/v1/auth/refresh", {"refresh_token": current})
    assert (status, answer["error"]["code"]) == (401, "REFRESH_INVALID")


def test_logout_with_an_expired_access_token_still_ends_the_session(console, city, short_platform):
    page = logged_in(console(), city, "county1")
    pause_session_checks(page)
    page.wait_for_timeout(PAST_LIFETIME_MS)
    refresh_token = cookie(page, "pb_refresh")
    page.locator("#logout").click()
    expect(page).to_have_url(re.compile(r"/console/login"))
    assert not [c for c in page.context.cookies() if c["name"] in ("pb_session", "pb_refresh")]
    status, answer = post(short_platform.http_url, "/v1/auth/refresh", {"refresh_token": refresh_token})
    assert (status, answer["error"]["code"]) == (401, "REFRESH_INVALID")
    page.goto("/console/accounts")
    expect(page).to_have_url(re.compile(r"/console/login"))


def manage(admin_page, username: str):
    """Open 管理 for ``username`` in the admin's account list (the whole city)."""
    admin_page.locator("#account-filters").get_by_role("button", name="查询").click()
    row = admin_page.locator("#accounts tbody tr", has=admin_page.locator(".account-username", has_text=re.compile(
        rf"^{re.escape(username)}")))
    row.get_by_role("button", name="管理").click()
    expect(admin_page.locator("#account-detail-name")).to_have_text(username)
    return row


def test_an_admin_ends_a_session_then_disables_the_account_and_its_page_logs_out(console, city, short_platform,
                                                                              screenshot):
    other = logged_in(console(), city, "county1", "/console/orgs")
    admin = logged_in(console(), city, "city-admin")

    manage(admin, "county1")
    sessions = admin.locator("#account-sessions #sessions tbody tr")
    expect(sessions).to_have_count(2)                   # the page's, and the test's own login over RPC (no address)
    screenshot(admin, "console-account-sessions")
    sessions.filter(has_text="127.0.0.1").get_by_role("button", name="注销").click()
    expect(admin.locator("#account-sessions-status")).to_contain_text("已注销")
    expect(sessions).to_have_count(1)
    expect(sessions.filter(has_text="127.0.0.1")).to_have_count(0)
    expect(other).to_have_url(re.compile(r"/console/login"), timeout=LOGGED_OUT_MS)

    logged_in(other, city, "county1", "/console/orgs")
    admin.locator("#account-disable-reason").fill("离岗")
    admin.locator("#account-disable").click()
    expect(admin.locator("#account-detail-status")).to_contain_text("已停用账号 county1")
    expect(admin.locator("#account-detail-state")).to_have_text("已停用")
    expect(manage(admin, "county1").locator(".account-state")).to_have_text("已停用")
    expect(other).to_have_url(re.compile(r"/console/login"), timeout=LOGGED_OUT_MS)
    log_in(other, city.code, "county1", PASSWORD)                       # a disabled account: as a wrong password
    expect(other.locator("form.login")).to_contain_text("单位代码、用户名或密码错误")

    admin.locator("#account-enable").click()
    expect(admin.locator("#account-detail-status")).to_contain_text("已启用账号 county1")
    log_in(other, city.code, "county1", PASSWORD)
    expect(other.locator("#whoami")).to_be_visible()

    # never one's own account: the refusal in Chinese from its code, nothing changed
    manage(admin, "city-admin")
    admin.locator("#account-disable").click()
    expect(admin.locator("#account-detail-status")).to_have_text("不能停用或删除自己的账号")
    accounts = short_platform.rpc.identity.list_accounts(scope=city.admin, org_id=city.root["id"], role="org_admin",
                                                         page_size=50, page_token="")["accounts"]
    assert [account["disabled"] for account in accounts if account["username"] in ("city-admin", "county1")] == \
        [False, False]


def test_an_admin_resets_a_password_and_removes_an_account(console, city, short_platform):
    other = logged_in(console(), city, "county2", "/console/orgs")
    admin = logged_in(console(), city, "city-admin")
    manage(admin, "county2")
    admin.locator("#account-reset").click()
    status = admin.locator("#account-detail-status")
    expect(status).to_contain_text("新密码：")
    generated = re.search(r"新密码：(\S+?)（", status.inner_text()).group(1)
    expect(other).to_have_url(re.compile(r"/console/login"), timeout=LOGGED_OUT_MS)
    log_in(other, city.code, "county2", generated)
    expect(other.locator("#whoami")).to_be_visible()

    admin.locator("#account-remove").click()
    admin.locator("#account-remove-yes").click()
    expect(admin.locator("#account-list-status")).to_contain_text("已删除账号 county2")
    expect(admin.locator("#accounts")).not_to_contain_text("county2")
    expect(other).to_have_url(re.compile(r"/console/login"), timeout=LOGGED_OUT_MS)


def test_a_user_changes_its_password_and_its_other_devices_are_logged_out(console, city, short_platform):
    phone = logged_in(console(), city, "county1", "/console/orgs")
    laptop = logged_in(console(), city, "county1", "/console/security")
    # the laptop's, the phone's and the test's own login over RPC
    expect(laptop.locator("#my-session-list #sessions tbody tr")).to_have_count(3)
    expect(laptop.locator("#my-session-list .session-current")).to_contain_text("当前会话")

    form = laptop.locator("#password-form")

    def change(old: str, new: str, again: str | None = None):
        form.locator("#password-old").fill(old)
        form.locator("#password-new").fill(new)
        form.locator("#password-again").fill(new if again is None else again)
        form.get_by_role("button", name="修改密码").click()

    status = laptop.locator("#password-status")
    change(PASSWORD, NEW_PASSWORD, "something-else")
    expect(status).to_have_text("两次输入的新密码不一致")
    change("wrong-Passw0rd", NEW_PASSWORD)
    expect(status).to_contain_text("原密码不正确")
    change(PASSWORD, "short")
    expect(status).to_contain_text("密码强度不够")
    change(PASSWORD, NEW_PASSWORD)
    expect(status).to_contain_text("密码已修改，其他设备上的 2 个登录已注销")

    expect(phone).to_have_url(re.compile(r"/console/login"), timeout=LOGGED_OUT_MS)
    expect(laptop.locator("#my-session-list #sessions tbody tr")).to_have_count(1)
    laptop.reload()                                                       # its own session goes on
    expect(laptop.locator("#whoami")).to_be_visible()
    log_in(phone, city.code, "county1", PASSWORD)
    expect(phone.locator("form.login")).to_contain_text("单位代码、用户名或密码错误")
    log_in(phone, city.code, "county1", NEW_PASSWORD)
    expect(phone.locator("#whoami")).to_be_visible()

    # 注销 of one's own current session is a logout
    laptop.locator("#my-session-list .session-current").get_by_role("button", name="注销").click()
    expect(laptop).to_have_url(re.compile(r"/console/login"))


def test_the_api_client_refreshes_its_own_login_past_the_access_token(short_platform, city):
    client = HttpClient(short_platform.http_url)
    client.login(city.code, "county1", PASSWORD)
    first_access, first_refresh = client.token, client.refresh_token
    time.sleep(PAST_LIFETIME_MS / 1000)
    assert get(short_platform.http_url, "/v1/me", first_access)[1]["error"]["code"] == "TOKEN_EXPIRED"
    assert client.call("GetMe")["account"]["username"] == "county1"
    assert client.token != first_access and client.refresh_token != first_refresh
    with pytest.raises(ApiError) as explicit:          # a token given by the caller is the caller's to renew
        client.call("GetMe", token=first_access)
    assert explicit.value.code == "TOKEN_EXPIRED"


def shows_login_after_reloads(page) -> None:
    """The page, opened again, shows the login: within the gateways' revocation poll (2 s), here up to 20 s."""
    heading = page.get_by_role("heading", name="党员登录")
    deadline = time.monotonic() + LOGGED_OUT_MS / 1000
    while True:
        page.reload()
        expect(page.locator("#my-account").or_(heading)).to_be_visible()
        if heading.is_visible() or time.monotonic() > deadline:
            break
        page.wait_for_timeout(500)
    expect(heading).to_be_visible()


def test_a_member_changes_its_password_and_ends_another_phone_on_its_account_page(browser, short_platform, city):
    member = city.add_member(city.branches[0][0], "李四")
    city.member_login(member, "lisi")                       # a login over RPC: the test's own session (no address)
    phones = []
    for _ in range(2):
        context = browser.new_context(base_url=short_platform.http_url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                      **PHONE)
        context.set_default_timeout(TIMEOUT_MS)
        phone = context.new_page()
        phone.goto("/m/account")
        log_in(phone, city.code, "lisi", PASSWORD)
        expect(phone.locator("#my-account")).to_have_text("李四")
        phones.append(phone)
    mine, other = phones
    try:
        mine.reload()
        items = mine.locator("#my-sessions .session-item")
        expect(items).to_have_count(3)
        expect(mine.locator("#my-sessions .session-current")).to_contain_text("本机")

        # another phone ended from this one: that phone's page shows the login at its next call
        items.filter(has_text="127.0.0.1").filter(has_not=mine.locator(".badge")).get_by_role("button").click()
        expect(mine.locator("#flash")).to_contain_text("已退出")
        expect(items).to_have_count(2)
        shows_login_after_reloads(other)
        log_in(other, city.code, "lisi", PASSWORD)
        expect(other.locator("#my-account")).to_be_visible()

        form = mine.locator("#password-form")
        form.get_by_label("原密码").fill("wrong-Passw0rd")
        form.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
        form.get_by_label("确认新密码").fill(NEW_PASSWORD)
        form.get_by_role("button", name="修改密码").click()
        expect(form.locator(".form-error")).to_have_text("原密码不正确")
        form.get_by_label("原密码").fill(PASSWORD)
        form.get_by_role("button", name="修改密码").click()
        expect(mine.locator("#flash")).to_contain_text("密码已修改，其他设备上的 2 个登录已退出")
        expect(items).to_have_count(1)
        shows_login_after_reloads(other)
        log_in(other, city.code, "lisi", NEW_PASSWORD)
        expect(other.locator("#my-account")).to_be_visible()
    finally:
        for phone in phones:
            phone.context.close()
