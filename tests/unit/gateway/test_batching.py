"""Micro-batching in the gateway: many requests, one RPC, each request its own answer."""
from __future__ import annotations

import threading

from gateway.batching import Batcher
from servicekit.errors import Rejected


class RecordingBackend:
    def __init__(self, fail: bool = False):
        self.calls, self.fail = [], fail
        self.release = threading.Event()

    def call(self, service, method, **kwargs):
        self.release.wait(5)
        self.calls.append((service, method, kwargs["items"]))
        if self.fail:
            raise ConnectionError("broker down")
        return [{"error": {"kind": "REJECTED", "code": "OUTSIDE_FENCE", "message": "远"}} if item["n"] % 2
                else {"result": {"n": item["n"]}} for item in kwargs["items"]]


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


def test_a_failed_batch_call_fails_every_request_in_it():
    backend = RecordingBackend(fail=True)
    backend.release.set()
    batcher = Batcher(backend, max_batch=10, max_wait=0.05, senders=1)
    answers, threads = run_concurrently(batcher, 4)
    for thread in threads:
        thread.join(5)
    assert all(isinstance(answer, ConnectionError) for answer in answers)
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
