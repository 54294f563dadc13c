"""Browser tier: headless Chromium (Debian's, driven by Playwright's sync API) against the real platform: the
identity, attendance and scoring processes and the gateway (the e2e tier's fixtures).

Fixtures: ``base_url`` (the gateway), ``browser``, ``phone`` (a 360 px wide mobile page, no location permission),
``phone_at(distance_m)`` (a mobile page whose emulated position is that far east of the venue), ``desktop`` (a
1280 px page for the console), ``city`` (a tenant: ``tests.support.identity.City``), ``themed_day`` (an approved
activity in ``city``, its clock control: ``tests.support.attendance.ThemedDay``), ``screenshot(page, name)``.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.e2e.conftest import gateway_process  # noqa: F401 - the same gateway process fixture as the e2e tier
from tests.support.attendance import ThemedDay, point_at
from gateway.client import HttpClient
from tests.support.identity import PASSWORD, City

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PHONE = {"viewport": {"width": 360, "height": 760}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "user_agent": "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
                       "Chrome/120.0 Mobile Safari/537.36"}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
TIMEOUT_MS = 30_000                         # a loaded 2-core machine: generous, never a timing assertion
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
def platform(gateway_process, attendance_service, scoring_service, content_service):  # noqa: F811
    return gateway_process


@pytest.fixture(scope="session")
def base_url(platform) -> str:
    return platform.http_url


@pytest.fixture(scope="package")     # stopped after this tier: Playwright's loop would stay the main thread's
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not installed: run bin/setup (it installs Debian's chromium)", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable,
                                             args=["--headless=new", "--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


@pytest.fixture
def new_context(browser, base_url):
    """``new_context(**options)``: a fresh browser context (own cookies and storage) on the gateway, zh-CN,
    Asia/Shanghai; closed after the test."""
    contexts = []

    def make(**options):
        context = browser.new_context(base_url=base_url, locale="zh-CN", timezone_id="Asia/Shanghai", **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def phone(new_context):
    """A member's phone without location permission (a page asking for it is refused)."""
    return new_context(**PHONE).new_page()


@pytest.fixture
def phone_at(new_context):
    """``phone_at(distance_m, accuracy=15)``: a phone page whose position is ``distance_m`` east of the venue."""
    def make(distance_m: float, accuracy: float = 15.0):
        lat, lng = point_at(distance_m)
        context = new_context(**PHONE, geolocation={"latitude": lat, "longitude": lng, "accuracy": accuracy},
                              permissions=["geolocation"])
        return context.new_page()
    return make


@pytest.fixture
def desktop(new_context):
    return new_context(**DESKTOP).new_page()


@pytest.fixture
def city(rpc, operator_scope, platform) -> City:
    """A new tenant per test: a county issues one theme a month, so tests never share one."""
    return City(rpc, operator_scope)


@pytest.fixture
def themed_day(rpc, city) -> ThemedDay:
    """An approved themed day in ``city`` (3 members, 1 mobile member); the service clock reset afterwards."""
    day = ThemedDay(rpc, city).prepared()
    yield day
    rpc.attendance.set_clock_offset(seconds=0)


def at_service_time(page, day: ThemedDay) -> None:
    """Give the page the attendance service's (shifted) clock, so the position's taken_at agrees with it."""
    page.clock.set_fixed_time(day.now())


def log_in(page, tenant_code: str, username: str, password: str) -> None:
    """Fill and send the pages' login form (``ui.loginForm``)."""
    page.get_by_label("单位代码").fill(tenant_code)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def console_login(page, city: City, username: str, path: str = "/console/") -> None:
    """Open a console page; the console sends a caller without a session to its login form, then back."""
    page.goto(path)
    log_in(page, city.code, username, PASSWORD)
    expect(page.locator("#whoami")).to_be_visible()


def api_client(base_url: str, city: City, username: str) -> HttpClient:
    """The API as ``username`` sees it, to compare with what a page shows."""
    client = HttpClient(base_url)
    client.login(city.code, username, PASSWORD)
    return client


@pytest.fixture
def screenshot(request):
    """``screenshot(page, name)``: var/screenshots/<name>.png (git-ignored), for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path
    return take

