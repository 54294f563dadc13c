"""Micro-batching in the gateway: many requests, one RPC, each request its own answer."""
from __future__ import annotations

import asyncio
import threading
import time

import grpc
import pytest
from prometheus_client import REGISTRY

from gateway.batching import Batcher
from gateway.client import ApiError, GrpcClient
from gateway.dispatch import Dispatcher
from gateway.grpc_server import GrpcGateway
from servicekit.errors import Rejected
from servicekit.security.tokens import TokenVerifier
from tests.unit.gateway.samples import CALLER, REQUESTS, RESULTS


class RecordingBackend:
    def __init__(self, fail: bool = False):
        self.calls, self.fail = [], fail
        self.release, self.entered = threading.Event(), threading.Event()

    def call(self, service, method, **kwargs):
        self.entered.set()
        self.release.wait(5)
        self.calls.append((service, method, kwargs["items"]))
        if self.fail:
            raise ConnectionError("broker down")
        return [{"error": {"kind": "REJECTED", "code": "OUTSIDE_FENCE", "message": "远"}} if item["n"] % 2
                else {"result": {"n": item["n"]}} for item in kwargs["items"]]


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def run_concurrently(batcher, count):
    answers, threads = [None] * count, []

    def one(n):
        try:
            answers[n] = batcher.call("attendance", "record_scans", {"n": n, "scope": {"account_id": str(n)}})
        except Exception as error:  # noqa: BLE001
            answers[n] = error
    for n in range(count):
        threads.append(threading.Thread(target=one, args=(n,)))
        threads[-1].start()
    return answers, threads


def test_requests_arriving_together_share_one_call_and_each_gets_its_own_answer():
    backend = RecordingBackend()
    batcher = Batcher(backend, max_batch=100, max_wait=0.2, senders=1)
    answers, threads = run_concurrently(batcher, 20)
    backend.release.set()
    for thread in threads:
        thread.join(5)
    assert sum(len(items) for _, _, items in backend.calls) == 20
    assert len(backend.calls) < 20
    assert {(service, method) for service, method, _ in backend.calls} == {("attendance", "record_scans")}
    for n, answer in enumerate(answers):
        if n % 2:
            assert isinstance(answer, Rejected) and answer.code == "OUTSIDE_FENCE"
        else:
            assert answer == {"n": n}
    batcher.close()


def test_a_failed_batch_call_fails_every_request_in_it_and_is_timed():
    timed = sample("gateway_batch_seconds_count", operation="attendance.record_scans")
    backend = RecordingBackend(fail=True)
    backend.release.set()
    batcher = Batcher(backend, max_batch=10, max_wait=0.05, senders=1)
    answers, threads = run_concurrently(batcher, 4)
    for thread in threads:
        thread.join(5)
    assert all(isinstance(answer, ConnectionError) for answer in answers)
    assert sample("gateway_batch_seconds_count", operation="attendance.record_scans") - timed == len(backend.calls) >= 1
    batcher.close()


def test_batches_never_exceed_the_maximum():
    backend = RecordingBackend()
    batcher = Batcher(backend, max_batch=3, max_wait=0.2, senders=1)
    answers, threads = run_concurrently(batcher, 10)
    backend.release.set()
    for thread in threads:
        thread.join(5)
    assert max(len(items) for _, _, items in backend.calls) <= 3
    assert sum(len(items) for _, _, items in backend.calls) == 10
    batcher.close()


def test_batching_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("GATEWAY_SCAN_BATCH", "off")
    assert Batcher.from_env(RecordingBackend()) is None


def test_one_batch_is_in_flight_unless_more_senders_are_configured(monkeypatch):
    monkeypatch.delenv("GATEWAY_BATCH_SENDERS", raising=False)
    batcher = Batcher.from_env(RecordingBackend())
    assert batcher.senders == 1
    batcher.close()
    monkeypatch.setenv("GATEWAY_BATCH_SENDERS", "2")
    batcher = Batcher.from_env(RecordingBackend())
    assert batcher.senders == 2
    batcher.close()


class TimedBackend:
    """Notes when each batch call starts and what it carries; the first call is held until ``release``."""

    def __init__(self):
        self.calls: list[tuple[float, list]] = []
        self.release = threading.Event()

    def call(self, service, method, **kwargs):
        self.calls.append((time.monotonic(), [item["n"] for item in kwargs["items"]]))
        if len(self.calls) == 1:
            self.release.wait(5)
        return [{"result": {"n": item["n"]}} for item in kwargs["items"]]


def submit_at(batcher, n: int, submitted: dict, answers: dict) -> threading.Thread:
    def one():
        submitted[n] = time.monotonic()
        answers[n] = batcher.call("attendance", "record_scans", {"n": n})
    thread = threading.Thread(target=one)
    thread.start()
    return thread


def test_a_lone_request_waits_for_company_until_its_wait_is_over():
    backend = TimedBackend()
    backend.release.set()
    batcher = Batcher(backend, max_batch=100, fill=10, max_wait=0.6, senders=1)
    submitted, answers = {}, {}
    thread = submit_at(batcher, 1, submitted, answers)
    time.sleep(0.15)
    assert backend.calls == []                          # not sent while it may still get company
    thread.join(5)
    assert answers == {1: {"n": 1}}
    assert backend.calls[0][0] - submitted[1] >= 0.6
    batcher.close()


def test_a_group_that_is_full_enough_is_sent_at_once():
    backend = TimedBackend()
    backend.release.set()
    batcher = Batcher(backend, max_batch=100, fill=4, max_wait=5.0, senders=1)
    submitted, answers = {}, {}
    started = time.monotonic()
    threads = [submit_at(batcher, n, submitted, answers) for n in range(4)]
    for thread in threads:
        thread.join(5)
    assert time.monotonic() - started < 2.0             # not the 5 s wait
    assert sorted(n for _, items in backend.calls for n in items) == [0, 1, 2, 3]
    assert answers == {n: {"n": n} for n in range(4)}
    batcher.close()


def test_a_sender_that_frees_up_waits_until_the_next_group_is_due():
    backend = TimedBackend()
    batcher = Batcher(backend, max_batch=100, fill=100, max_wait=0.3, senders=1)
    submitted, answers = {}, {}
    first = submit_at(batcher, 1, submitted, answers)
    while not backend.calls:                            # the first batch goes after 0.3 s and is held
        time.sleep(0.01)
    second = submit_at(batcher, 2, submitted, answers)
    time.sleep(0.05)
    backend.release.set()                               # the sender is free 0.05 s after the second request
    first.join(5)
    second.join(5)
    assert answers == {1: {"n": 1}, 2: {"n": 2}}
    assert [items for _, items in backend.calls] == [[1], [2]]
    assert backend.calls[1][0] - submitted[2] >= 0.3    # waited for company, not sent when the sender freed
    batcher.close()


def test_batch_settings_come_from_the_environment(monkeypatch):
    for name in ("GATEWAY_BATCH_FILL", "GATEWAY_BATCH_WAIT_MS", "GATEWAY_BATCH_MAX"):
        monkeypatch.delenv(name, raising=False)
    batcher = Batcher.from_env(RecordingBackend())
    assert (batcher.fill, batcher.max_wait, batcher.max_batch) == (32, 0.04, 256)
    batcher.close()
    monkeypatch.setenv("GATEWAY_BATCH_FILL", "8")
    monkeypatch.setenv("GATEWAY_BATCH_WAIT_MS", "10")
    batcher = Batcher.from_env(RecordingBackend())
    assert (batcher.fill, batcher.max_wait) == (8, 0.01)
    batcher.close()


class ScanBackend:
    """record_scans answers each item on its own: a fix far away is refused, the rest counted."""

    def __init__(self):
        self.calls = []

    def call(self, service, method, **kwargs):
        assert (service, method) == ("attendance", "record_scans")
        self.calls.append(kwargs["items"])
        return [{"error": {"kind": "REJECTED", "code": "OUTSIDE_FENCE", "message": "不在活动范围内"}}
                if item["fix"]["lat"] > 40 else
                {"result": {"record": {**RESULTS["record_scan"]["record"], "member_id": item["fix"]["device_id"]},
                            "repeat": False, "message": "签到成功"}}
                for item in kwargs["items"]]


def test_grpc_scans_in_flight_together_share_one_call_and_each_gets_its_own_answer(keys, token):
    backend = ScanBackend()
    batcher = Batcher(backend, max_batch=100, max_wait=0.3, senders=1)
    gateway = GrpcGateway(Dispatcher(backend, TokenVerifier(keys.public_pem), batcher=batcher),
                          "127.0.0.1:0", max_workers=2).start()
    answers = [None] * 12

    def scan(n):
        fix = {**REQUESTS["RecordScan"]["fix"], "device_id": f"m{n}", "lat": 50.0 if n % 3 == 0 else 33.07}
        try:
            with GrpcClient(f"127.0.0.1:{gateway.port}", timeout=10) as client:
                answers[n] = client.call("RecordScan", {**REQUESTS["RecordScan"], "fix": fix}, token)
        except ApiError as error:
            answers[n] = error
    threads = [threading.Thread(target=scan, args=(n,)) for n in range(12)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    finally:
        gateway.stop(grace=0)
        batcher.close()
    assert sum(map(len, backend.calls)) == 12 and len(backend.calls) < 12
    assert all(item["scope"]["account_id"] == CALLER["account_id"] for items in backend.calls for item in items)
    for n, answer in enumerate(answers):
        if n % 3 == 0:
            assert isinstance(answer, ApiError) and (answer.status, answer.code) == (grpc.StatusCode.FAILED_PRECONDITION,
                                                                                     "OUTSIDE_FENCE")
        else:
            assert answer["record"]["member_id"] == f"m{n}" and answer["message"] == "签到成功"


def test_a_thread_and_a_coroutine_share_the_loop_batches():
    backend = RecordingBackend()
    backend.release.set()
    batcher = Batcher(backend, max_batch=10, max_wait=0.01, senders=1)
    assert batcher.call("attendance", "record_scans", {"n": 2}) == {"n": 2}
    with pytest.raises(Rejected):
        batcher.call("attendance", "record_scans", {"n": 3})
    assert asyncio.run(batcher.submit("attendance", "record_scans", {"n": 4})) == {"n": 4}   # from another loop
    batcher.close()


def test_each_batch_call_is_measured_its_wait_its_round_trip_and_its_size():
    """``gateway_batch_*``: where a batched request's time went (operations read these to tell the gateway's
    queue from the service's call)."""
    operation = {"operation": "attendance.record_scans"}
    calls_before = sample("gateway_batch_seconds_count", **operation)
    seconds_before = sample("gateway_batch_seconds_sum", **operation)
    sizes_before = sample("gateway_batch_size_sum", **operation)
    waits_before = sample("gateway_batch_wait_seconds_count", **operation)
    backend = RecordingBackend()
    batcher = Batcher(backend, max_batch=100, max_wait=0.05, senders=1)
    answers, threads = run_concurrently(batcher, 12)
    assert backend.entered.wait(5)
    time.sleep(0.3)                                 # the call is held 0.3 s in the backend
    backend.release.set()
    for thread in threads:
        thread.join(5)
    calls = len(backend.calls)
    assert sample("gateway_batch_seconds_count", **operation) - calls_before == calls
    assert sample("gateway_batch_seconds_sum", **operation) - seconds_before >= 0.25
    assert sample("gateway_batch_size_sum", **operation) - sizes_before == 12
    assert sample("gateway_batch_wait_seconds_count", **operation) - waits_before == calls
    batcher.close()
