"""Faults that must not spread, on the real broker, store and processes: a stalled identity does not stop the
themed day's scans, and a gateway whose scan queue is full sheds the excess at once with 503 + Retry-After.

The platform here is this module's own (its store, identity, attendance's test build and a gateway on a vhost of
their own): its processes are frozen with SIGSTOP, which the session's must never be. Settings are shortened so the
waits are seconds (attendance waits 6 s on identity, 5 of its 10 workers at most; the gateway 8 s on a service,
4 scans queued at most, 8 HTTP threads of which 4 may wait on one service); the bounds asserted are loose, for a
loaded 2-core machine."""
from __future__ import annotations

import http.client
import json
import os
import signal
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from servicekit.errors import DeadlineExceeded, Unavailable
from servicekit.process.config import nameko_config
from servicekit.storage.embedded_mongo import EmbeddedMongo
from tests.support.attendance import ThemedDay
from tests.support.broker import TestVhost
from tests.support.builds import ATTENDANCE_TEST_BUILD, TEST_BUILD_ENV
from tests.support.identity import PASSWORD, City, scope_of
from tests.support.processes import ChildProcess, free_port

pytestmark = pytest.mark.e2e

PEER_TIMEOUT = 6.0
GATEWAY_TIMEOUT = 8.0
QUEUE_MAX = 4
HTTP_THREADS = 8


@pytest.fixture(scope="module")
def platform(amqp_uri, tmp_path_factory):
    """(identity process, attendance process, rpc proxy config, the gateway's HTTP URL, its admin URL)."""
    logs = tmp_path_factory.mktemp("overload")
    store = EmbeddedMongo(logs / "store", port=free_port()).start()
    children = []
    try:
        with TestVhost() as bus:
            config = {**nameko_config(), "AMQP_URI": bus}
            env = {"AMQP_URI": bus, "MONGO_URI": store.uri, "OUTBOX_POLL_SECONDS": "0.05"}
            with ClusterRpcProxy(config, timeout=60) as rpc:
                identity = ChildProcess("identity", ["-m", "servicekit.process.runner",
                                                     "services.identity.service:IdentityService"],
                                        {**env, "PASSWORD_HASH_PROFILE": "fast", "METRICS_PORT": str(free_port())},
                                        logs)
                children.append(identity)
                identity.wait_until(lambda: rpc.identity.login(tenant_code="", username="operator",
                                                               password=os.environ["OPERATOR_PASSWORD"]))
                attendance = ChildProcess("attendance", ["-m", "servicekit.process.runner", ATTENDANCE_TEST_BUILD],
                                          {**env, **TEST_BUILD_ENV, "METRICS_PORT": str(free_port()),
                                           "PEER_TIMEOUT_SECONDS_IDENTITY": str(PEER_TIMEOUT),
                                           "NAMEKO_MAX_WORKERS": "10"}, logs)
                children.append(attendance)
                attendance.wait_until(lambda: rpc.attendance.set_clock_offset(seconds=0) or True)
            http_port, admin_port = free_port(), free_port()
            gateway = ChildProcess("gateway", ["-m", "gateway"],
                                   {"AMQP_URI": bus, "GATEWAY_HTTP_PORT": str(http_port),
                                    "GATEWAY_GRPC_PORT": str(free_port()), "GATEWAY_ADMIN_PORT": str(admin_port),
                                    "GATEWAY_RPC_TIMEOUT": str(GATEWAY_TIMEOUT),
                                    "GATEWAY_BATCH_QUEUE_MAX": str(QUEUE_MAX),
                                    # the length bound alone here: the queued requests outwait a frozen attendance
                                    "GATEWAY_BATCH_QUEUE_WAIT_SECONDS": "60",
                                    "GATEWAY_HTTP_THREADS": str(HTTP_THREADS)}, logs)
            children.append(gateway)
            url = f"http://127.0.0.1:{http_port}"
            gateway.wait_until(lambda: urllib.request.urlopen(f"{url}/healthz", timeout=2))
            yield identity, attendance, config, url, f"http://127.0.0.1:{admin_port}"
    finally:
        for child in reversed(children):
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGCONT)     # a frozen process cannot stop
            child.stop()
        store.stop()


class Frozen:
    """A process stopped with SIGSTOP (it keeps its connections and queues, and answers nothing) until the block
    ends."""

    def __init__(self, child: ChildProcess):
        self.child = child

    def __enter__(self):
        self.child.process.send_signal(signal.SIGSTOP)
        return self

    def __exit__(self, *exc):
        self.child.process.send_signal(signal.SIGCONT)


@pytest.fixture(scope="module")
def day(platform):
    _, _, config, _, _ = platform
    with ClusterRpcProxy(config, timeout=60) as rpc:
        operator = scope_of(rpc.identity.login(tenant_code="", username="operator",
                                               password=os.environ["OPERATOR_PASSWORD"]))
        themed = ThemedDay(rpc, City(rpc, operator), members=4).prepared()
        themed.at("start_at", -5)
        themed.tokens = [rpc.identity.login(tenant_code=themed.city.code, username=username,
                                            password=PASSWORD)["access_token"]
                         for username in themed.member_usernames]
        themed.qr = themed.token("in")
        themed.rpc = None                                # its proxy stops here; the tests use their own
        yield themed


def get(url: str, path: str, token: str) -> tuple[float, int, dict, dict]:
    """(seconds, status, body, headers in lower case) of one GET over HTTP."""
    parts = urllib.parse.urlsplit(url)
    started = time.monotonic()
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        answer = json.loads(response.read() or b"{}")
        return time.monotonic() - started, response.status, answer, {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


def post_scan(url: str, token: str, body: dict) -> tuple[float, int, dict, dict]:
    """(seconds, status, body, headers in lower case) of one scan over HTTP."""
    parts = urllib.parse.urlsplit(url)
    started = time.monotonic()
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request("POST", "/v1/scans", json.dumps(body),
                           {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        answer = json.loads(response.read() or b"{}")
        return time.monotonic() - started, response.status, answer, {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


def statistics(config: dict, scope: dict, org_id: str) -> tuple[float, object]:
    started = time.monotonic()
    with ClusterRpcProxy(config, timeout=60) as rpc:
        try:
            answer = rpc.attendance.get_statistics(scope=scope, org_id=org_id)
        except Exception as error:  # noqa: BLE001
            answer = error
    return time.monotonic() - started, answer


def test_scans_are_answered_while_identity_is_stalled_and_callers_of_identity_are_bounded(platform, day):
    identity, _, config, url, _ = platform
    with Frozen(identity), ThreadPoolExecutor(12) as pool:
        # more calls that need identity than attendance has workers: without a bulkhead they would hold them all
        waiting = [pool.submit(statistics, config, day.county_admin, day.county["id"]) for _ in range(12)]
        time.sleep(1.0)
        scans = [post_scan(url, token, {"token": day.qr, "fix": day.fix(20, device_id=f"phone-{n}")})
                 for n, token in enumerate(day.tokens)]
        answers = [future.result() for future in waiting]

    for seconds, status, body, _ in scans:
        assert status == 200, body
        assert body["record"]["direction"] == "in" and not body["repeat"]
        assert seconds < PEER_TIMEOUT - 1                                 # not behind identity's deadline
    timed_out = [seconds for seconds, answer in answers
                 if isinstance(answer, DeadlineExceeded) and answer.code == "PEER_TIMEOUT"]
    busy = [seconds for seconds, answer in answers if isinstance(answer, Unavailable) and answer.code == "PEER_BUSY"]
    assert len(timed_out) + len(busy) == 12, answers
    # at most half of attendance's 10 workers waited (its sweep timer may hold one of those places)
    assert 1 <= len(timed_out) <= 5 and len(busy) >= 7
    assert all(PEER_TIMEOUT - 0.5 < seconds < PEER_TIMEOUT + 15 for seconds in timed_out)
    assert all(seconds < PEER_TIMEOUT - 1 for seconds in busy)


def test_a_full_scan_queue_is_shed_at_once_with_503_queue_full_and_retry_after(platform, day):
    _, attendance, _, url, admin_url = platform
    shed_before, batches_before = metric(admin_url, SHED), metric(admin_url, BATCHES)

    def scan(n: int):
        return post_scan(url, day.tokens[n % len(day.tokens)],
                         {"token": day.qr, "fix": day.fix(20, device_id=f"late-{n}")})
    with Frozen(attendance), ThreadPoolExecutor(16) as pool:
        first = pool.submit(scan, 0)                    # its batch is sent, and held by the frozen service
        deadline = time.monotonic() + 10
        while metric(admin_url, BATCHES) == batches_before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert metric(admin_url, BATCHES) == batches_before + 1
        started = time.monotonic()
        rest = [pool.submit(scan, n) for n in range(1, 16)]     # 4 wait behind it; the other 11 cannot wait
        shed = []
        while time.monotonic() - started < GATEWAY_TIMEOUT - 2 and len(shed) < 15 - QUEUE_MAX:
            shed = [future.result() for future in rest if future.done()]
            time.sleep(0.05)
    answers = [future.result() for future in [first, *rest]]   # the held and the queued: answered, not stuck
    assert len(shed) == 15 - QUEUE_MAX, answers
    for seconds, status, body, headers in shed:
        assert status == 503 and body["error"]["code"] == "QUEUE_FULL", body
        assert int(headers["retry-after"]) >= 1 and body["request_id"]
        assert body["error"]["details"][0]["operation"] == "attendance.record_scans"
        assert seconds < GATEWAY_TIMEOUT - 2                      # at once, not after the held batch's wait
    # only those: the held one and the queued four are answered by the service once it runs again
    assert sum(1 for _, _, body, _ in answers if body.get("error", {}).get("code") == "QUEUE_FULL") == 15 - QUEUE_MAX
    assert metric(admin_url, SHED) - shed_before == 15 - QUEUE_MAX


SHED = 'gateway_shed_total{operation="attendance.record_scans",reason="queue_full"}'
BATCHES = 'gateway_batch_size_count{operation="attendance.record_scans"}'


def metric(admin_url: str, series: str) -> float:
    with urllib.request.urlopen(f"{admin_url}/metrics", timeout=10) as page:
        for line in page.read().decode().splitlines():
            if line.startswith(series + " "):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_a_stalled_service_holds_half_the_gateways_threads_and_other_services_are_still_answered(platform, day):
    identity, _, _, url, admin_url = platform
    token = day.tokens[0]
    busy_before = metric(admin_url, BUSY)
    with Frozen(identity), ThreadPoolExecutor(HTTP_THREADS + 4) as pool:
        stalled = [pool.submit(get, url, "/v1/me", token) for _ in range(HTTP_THREADS + 2)]
        time.sleep(2.0)
        # without the bulkhead every HTTP thread would be waiting on identity, and this would wait behind them
        other = get(url, f"/v1/activities/{day.activity['id']}", token)
        answers = [future.result() for future in stalled]

    seconds, status, body, _ = other
    assert status == 200 and body["id"] == day.activity["id"], body
    assert seconds < GATEWAY_TIMEOUT - 3
    timed_out = [a for a in answers if a[1] == 504]
    busy = [a for a in answers if a[1] == 503 and a[2]["error"]["code"] == "SERVICE_BUSY"]
    assert len(timed_out) == HTTP_THREADS // 2 and len(busy) == HTTP_THREADS // 2 + 2, [a[:3] for a in answers]
    for seconds, _, body, headers in busy:
        assert int(headers["retry-after"]) >= 1 and body["error"]["details"][0]["service"] == "identity"
        assert seconds < GATEWAY_TIMEOUT - 3                      # refused after the short wait, not the deadline
    assert metric(admin_url, BUSY) - busy_before == len(busy)
    assert get(url, "/v1/me", token)[1] == 200                   # identity back: its calls pass again


BUSY = 'gateway_shed_total{operation="identity.get_me",reason="service_busy"}'
