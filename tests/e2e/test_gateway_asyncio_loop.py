"""The gateway on asyncio's own loop (GATEWAY_EVENT_LOOP=asyncio, the fallback to uvloop) as a real process: a
page's session login, a member's scan by cookie with and without the CSRF header, pages and health."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from gateway.client import HttpClient
from tests.support.attendance import ThemedDay
from tests.support.identity import PASSWORD, City
from tests.support.processes import ChildProcess, free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def asyncio_gateway(identity_service, attendance_service, bus_uri, tmp_path_factory):
    http_port, grpc_port = free_port(), free_port()
    child = ChildProcess("gateway-asyncio", ["-m", "gateway"],
                         {"AMQP_URI": bus_uri, "GATEWAY_HTTP_PORT": str(http_port),
                          "GATEWAY_GRPC_PORT": str(grpc_port), "GATEWAY_EVENT_LOOP": "asyncio",
                          "GATEWAY_ADMIN_PORT": "0"},
                         tmp_path_factory.mktemp("gateway-asyncio-logs"))
    child.wait_until(lambda: urllib.request.urlopen(f"http://127.0.0.1:{http_port}/healthz", timeout=2))
    child.http_url = f"http://127.0.0.1:{http_port}"
    yield child
    child.stop()


def post(url: str, body: dict, headers: dict):
    request = urllib.request.Request(url, json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.headers, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read())


def test_a_session_login_and_a_scan_by_cookie_on_asyncios_loop(asyncio_gateway, rpc, operator_scope):
    day = ThemedDay(rpc, City(rpc, operator_scope))
    base = asyncio_gateway.http_url
    admin = HttpClient(base)
    admin.login(day.city.code, "county1", PASSWORD)
    issued = admin.call("IssueTheme", {"org_id": day.city.counties[0]["id"], "month": day.month,
                                       "title": "学习党章", "due_from": day.day.isoformat(),
                                       "due_to": day.day.isoformat()})
    secretary = HttpClient(base)
    secretary.login(day.city.code, day.secretary_username, PASSWORD)
    activity = next(a for a in secretary.call("ListActivities", {"org_id": day.branch["id"]})["activities"]
                    if a["theme_id"] == issued["theme"]["id"])
    secretary.call("SubmitPlan", {"activity_id": activity["id"], "date": day.day.isoformat(), "start_time": "10:00",
                                  "end_time": "11:30", "venue_name": "党员活动室", "venue_lat": 33.0676,
                                  "venue_lng": 107.0238})
    day.activity = admin.call("ReviewPlan", {"activity_id": activity["id"], "decision": "approved"})
    day.at("start_at", -10)
    token = secretary.call("GetQrCode", {"activity_id": activity["id"], "direction": "in"})["token"]

    status, headers, session = post(f"{base}/v1/auth/session",
                                    {"tenant_code": day.city.code, "username": day.member_usernames[0],
                                     "password": PASSWORD}, {})
    assert status == 200 and headers["Server"] == "partybuilding-gateway"
    cookies = "; ".join(value.split(";", 1)[0] for value in headers.get_all("Set-Cookie"))
    assert "pb_session=" in cookies and "pb_csrf=" in cookies
    scan = {"token": token, "fix": day.fix(30)}
    status, _, refused = post(f"{base}/v1/scans", scan, {"Cookie": cookies})
    assert (status, refused["error"]["code"]) == (403, "CSRF_FAILED")
    status, _, signed_in = post(f"{base}/v1/scans", scan, {"Cookie": cookies, "X-CSRF-Token": session["csrf_token"]})
    assert status == 200 and signed_in["record"]["direction"] == "in"
    with urllib.request.urlopen(f"{base}/m/", timeout=10) as page:
        assert page.status == 200 and "Content-Security-Policy" in page.headers
