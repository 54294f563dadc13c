"""Micro-batching in the gateway: many requests, one RPC, each request its own answer.

The batcher runs on a loop whose clock moves only when a test moves it (``virtual_time``), so what is sent when
is exact."""
from __future__ import annotations

import asyncio
import threading
import time

import grpc
import pytest
from prometheus_client import REGISTRY

from gateway.batching import DEFAULT_WAIT_MS, Batcher
from gateway.client import ApiError, GrpcClient
from gateway.dispatch import Dispatcher
from gateway.grpc.server import GrpcGateway
from servicekit.errors import Rejected
from servicekit.security.tokens import TokenVerifier
from tests.unit.gateway.samples import CALLER, REQUESTS, RESULTS
from tests.unit.gateway.virtual_time import VirtualTime

OPERATION = {"operation": "attendance.record_scans"}


@pytest.fixture
def clock():
    virtual = VirtualTime("batching")
    yield virtual
    virtual.close()


class RecordingBackend:
    """Answers odd items with a refusal; every call waits for ``release`` (set it to let calls through)."""

    def __init__(self, fail: bool = False, clock=None):
        self.calls, self.fail, self.clock = [], fail, clock
        self.release, self.entered = threading.Event(), threading.Event()

    def call(self, service, method, **kwargs):
        self.entered.set()
        assert self.release.wait(5)
        self.calls.append((service, method, [item["n"] for item in kwargs["items"]]))
        if self.fail:
            raise ConnectionError("broker down")
        return [{"error": {"kind": "REJECTED", "code": "OUTSIDE_FENCE", "message": "远"}} if item["n"] % 2
                else {"result": {"n": item["n"]}} for item in kwargs["items"]]


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Sent:
    """How many batches the batcher sent, and how long their first requests had waited, since it was made."""

    def __init__(self):
        self.count0, self.sum0 = self._now()

    @staticmethod
    def _now() -> tuple[float, float]:
        return (sample("gateway_batch_wait_seconds_count", **OPERATION),
                sample("gateway_batch_wait_seconds_sum", **OPERATION))

    def batches(self) -> int:
        return int(self._now()[0] - self.count0)

    def waited(self) -> float:
        return self._now()[1] - self.sum0


def submit(clock: VirtualTime, batcher: Batcher, n: int, **extra):
    """A request joining its batch on the batcher's loop; its answer is the returned future's."""
    return asyncio.run_coroutine_threadsafe(batcher.submit("attendance", "record_scans", {"n": n, **extra}),
                                            clock.loop)


def outcome(future):
    try:
        return future.result(5)
    except Exception as error:  # noqa: BLE001
        return error


def test_requests_arriving_together_share_one_call_and_each_gets_its_own_answer(clock):
    backend = RecordingBackend()
    backend.release.set()
    batcher = Batcher(backend, max_batch=100, max_wait=0.25, senders=1, loop=clock.thread)
    sent = Sent()
    futures = [submit(clock, batcher, n, scope={"account_id": str(n)}) for n in range(20)]
    clock.settle()
    assert sent.batches() == 0                          # fewer than ``fill``: waiting for company
    clock.advance(0.25)
    answers = [outcome(future) for future in futures]
    assert backend.calls == [("attendance", "record_scans", list(range(20)))]
    for n, answer in enumerate(answers):
        if n % 2:
            assert isinstance(answer, Rejected) and answer.code == "OUTSIDE_FENCE"
        else:
            assert answer == {"n": n}
    batcher.close()


def test_a_failed_batch_call_fails_every_request_in_it_and_is_timed(clock):
    timed = sample("gateway_batch_seconds_count", **OPERATION)
    backend = RecordingBackend(fail=True)
    backend.release.set()
    batcher = Batcher(backend, max_batch=10, max_wait=0.0625, senders=1, loop=clock.thread)
    futures = [submit(clock, batcher, n) for n in range(4)]
    clock.settle()
    clock.advance(0.0625)
    assert all(isinstance(outcome(future), ConnectionError) for future in futures)
    assert len(backend.calls) == 1
    assert sample("gateway_batch_seconds_count", **OPERATION) - timed == 1
    batcher.close()


def test_batches_never_exceed_the_maximum(clock):
    backend = RecordingBackend()
    backend.release.set()
    batcher = Batcher(backend, max_batch=3, max_wait=0.25, senders=1, loop=clock.thread)
    futures = [submit(clock, batcher, n) for n in range(10)]
    clock.settle()
    clock.advance(0.25)                                 # the last one alone is due only by its wait
    for future in futures:
        outcome(future)
    assert [len(items) for _, _, items in backend.calls] == [3, 3, 3, 1]
    assert sorted(n for _, _, items in backend.calls for n in items) == list(range(10))
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


def test_a_lone_request_waits_for_company_until_its_wait_is_over(clock):
    backend = RecordingBackend()
    backend.release.set()
    batcher = Batcher(backend, max_batch=100, fill=10, max_wait=0.625, senders=1, loop=clock.thread)
    sent = Sent()
    future = submit(clock, batcher, 2)
    clock.settle()
    clock.advance(0.5)
    assert sent.batches() == 0 and not future.done()     # not sent while it may still get company
    clock.advance(0.125)
    assert future.result(5) == {"n": 2}
    assert sent.batches() == 1 and sent.waited() == pytest.approx(0.625)
    batcher.close()


def test_a_group_that_is_full_enough_is_sent_at_once(clock):
    backend = RecordingBackend()
    backend.release.set()
    batcher = Batcher(backend, max_batch=100, fill=4, max_wait=5.0, senders=1, loop=clock.thread)
    futures = [submit(clock, batcher, n) for n in range(4)]
    answers = [outcome(future) for future in futures]   # the clock never moves: sent for being full
    assert backend.calls == [("attendance", "record_scans", [0, 1, 2, 3])]
    assert answers[0] == {"n": 0} and answers[2] == {"n": 2}
    assert all(isinstance(answers[n], Rejected) for n in (1, 3))
    batcher.close()


def test_a_sender_that_frees_up_waits_until_the_next_group_is_due(clock):
    backend = RecordingBackend()
    batcher = Batcher(backend, max_batch=100, fill=100, max_wait=0.25, senders=1, loop=clock.thread)
    sent = Sent()
    first = submit(clock, batcher, 0)
    clock.settle()
    clock.advance(0.25)                                 # the first batch goes at 0.25 and is held
    assert backend.entered.wait(5)
    second = submit(clock, batcher, 2)                  # joins at 0.25
    clock.settle()
    clock.advance(0.125)
    backend.release.set()                               # the sender is free at 0.375
    assert first.result(5) == {"n": 0}
    clock.settle()
    assert sent.batches() == 1 and not second.done()    # not sent when the sender freed
    clock.advance(0.125)
    assert second.result(5) == {"n": 2}
    assert [items for _, _, items in backend.calls] == [[0], [2]]
    assert sent.batches() == 2 and sent.waited() == pytest.approx(0.25 + 0.25)     # each waited its whole max_wait
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
    batcher = Batcher(backend, max_batch=100, fill=12, max_wait=30.0, senders=1)     # sent once all 12 are in
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
    assert [len(items) for items in backend.calls] == [12]
    assert all(item["scope"]["account_id"] == CALLER["account_id"] for items in backend.calls for item in items)
    for n, answer in enumerate(answers):
        if n % 3 == 0:
            assert isinstance(answer, ApiError) and (answer.status, answer.code) == (grpc.StatusCode.FAILED_PRECONDITION,
                                                                                     "OUTSIDE_FENCE")
        else:
            assert answer["record"]["member_id"] == f"m{n}" and answer["message"] == "签到成功"


def test_a_thread_and_a_coroutine_share_the_loop_batches(clock):
    backend = RecordingBackend()
    backend.release.set()
    batcher = Batcher(backend, max_batch=10, fill=1, senders=1, loop=clock.thread)
    assert batcher.call("attendance", "record_scans", {"n": 2}) == {"n": 2}
    with pytest.raises(Rejected):
        batcher.call("attendance", "record_scans", {"n": 3})
    assert asyncio.run(batcher.submit("attendance", "record_scans", {"n": 4})) == {"n": 4}   # from another loop
    batcher.close()


def test_each_batch_call_is_measured_its_wait_its_round_trip_and_its_size(clock):
    """``gateway_batch_*``: where a batched request's time went (operations read these to tell the gateway's
    queue from the service's call)."""
    calls_before = sample("gateway_batch_seconds_count", **OPERATION)
    seconds_before = sample("gateway_batch_seconds_sum", **OPERATION)
    sizes_before = sample("gateway_batch_size_sum", **OPERATION)
    backend = RecordingBackend()
    batcher = Batcher(backend, max_batch=100, max_wait=0.0625, senders=1, loop=clock.thread, clock=clock.time)
    sent = Sent()
    futures = [submit(clock, batcher, n) for n in range(12)]
    clock.settle()
    clock.advance(0.0625)
    assert backend.entered.wait(5)
    clock.advance(0.25)                                 # the call is held 0.25 s in the backend
    backend.release.set()
    for future in futures:
        outcome(future)
    assert sample("gateway_batch_seconds_count", **OPERATION) - calls_before == 1
    assert sample("gateway_batch_seconds_sum", **OPERATION) - seconds_before == pytest.approx(0.25)
    assert sample("gateway_batch_size_sum", **OPERATION) - sizes_before == 12
    assert sent.batches() == 1 and sent.waited() == pytest.approx(0.0625)
    batcher.close()


def test_operations_do_not_wait_for_each_other(clock):
    """A batch of one operation in flight holds its own sender only: another operation's full group goes at once,
    while a second group of the first waits for that operation's sender."""
    class Entering(RecordingBackend):
        def __init__(self):
            super().__init__()
            self.entries, self.two_in = [], threading.Event()

        def call(self, service, method, **kwargs):
            self.entries.append((method, [item["n"] for item in kwargs["items"]]))
            if len(self.entries) == 2:
                self.two_in.set()
            return super().call(service, method, **kwargs)

    backend = Entering()
    batcher = Batcher(backend, max_batch=100, fill=2, max_wait=5.0, senders=1, loop=clock.thread)
    scans = [submit(clock, batcher, n) for n in (0, 2)]
    assert backend.entered.wait(5)                       # the scans' batch is in flight, held by the backend
    more_scans = [submit(clock, batcher, n) for n in (8, 10)]
    feeds = [asyncio.run_coroutine_threadsafe(batcher.submit("content", "get_feeds", {"n": n}), clock.loop)
             for n in (4, 6)]
    assert backend.two_in.wait(5)                        # the feeds went while the scans' sender was busy
    clock.settle()
    assert backend.entries == [("record_scans", [0, 2]), ("get_feeds", [4, 6])]
    backend.release.set()
    assert [outcome(f) for f in feeds] == [{"n": 4}, {"n": 6}]
    assert [outcome(f) for f in scans + more_scans] == [{"n": 0}, {"n": 2}, {"n": 8}, {"n": 10}]
    assert backend.entries[2] == ("record_scans", [8, 10])   # the scans' second group, once their sender was back
    batcher.close()


def test_an_operation_may_keep_more_batches_in_flight_than_the_default(clock):
    backend = RecordingBackend()
    batcher = Batcher(backend, max_batch=100, fill=2, max_wait=5.0, senders=1, loop=clock.thread)
    feeds = [asyncio.run_coroutine_threadsafe(batcher.submit("content", "get_feeds", {"n": n}, senders=2), clock.loop)
             for n in (0, 2, 4, 6)]
    clock.settle()
    deadline = time.monotonic() + 5
    while batcher._busy.get(("content", "get_feeds")) != 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert batcher._busy[("content", "get_feeds")] == 2       # both groups in flight, not one after the other
    backend.release.set()
    assert [outcome(f) for f in feeds] == [{"n": 0}, {"n": 2}, {"n": 4}, {"n": 6}]
    batcher.close()


def test_an_operation_may_wait_longer_for_company_than_the_default(clock):
    backend = RecordingBackend()
    backend.release.set()
    batcher = Batcher(backend, max_batch=100, fill=100, max_wait=0.25, senders=1, loop=clock.thread)
    saves = [asyncio.run_coroutine_threadsafe(batcher.submit("content", "save_quiz_answers", {"n": n}, wait=1.0),
                                              clock.loop) for n in (0, 2)]
    feeds = [asyncio.run_coroutine_threadsafe(batcher.submit("content", "get_feeds", {"n": n}), clock.loop)
             for n in (4, 6)]
    clock.settle()
    clock.advance(0.25)
    assert [outcome(f) for f in feeds] == [{"n": 4}, {"n": 6}]      # the default wait
    assert backend.calls == [("content", "get_feeds", [4, 6])]      # the answers still wait for company
    clock.advance(0.5)
    assert len(backend.calls) == 1
    clock.advance(0.25)                                              # their own second, from the first answer
    assert [outcome(f) for f in saves] == [{"n": 0}, {"n": 2}]
    assert backend.calls[1] == ("content", "save_quiz_answers", [0, 2])
    batcher.close()


def test_contents_batched_writes_wait_longer_than_its_feed_and_the_dispatcher_says_so():
    from gateway.operations import CONTENT_WRITES_WAIT, OPERATIONS

    class Asked:
        def __init__(self):
            self.asked = []

        async def submit(self, service, batch_method, kwargs, senders=0, wait=0.0):
            self.asked.append((batch_method, wait))
            return {}

    batcher = Asked()
    dispatcher = Dispatcher(None, None, batcher=batcher)
    by_rpc = {operation.rpc: operation for operation in OPERATIONS}
    for rpc in ("GetFeed", "GetItem", "StartQuizAttempt", "SaveQuizAnswer", "SubmitQuizAttempt"):
        asyncio.run(dispatcher.call_async(by_rpc[rpc], {}, dict(CALLER), plain=True))
    assert batcher.asked == [("get_feeds", 0.0), ("get_items", CONTENT_WRITES_WAIT),
                             ("start_quiz_attempts", CONTENT_WRITES_WAIT), ("save_quiz_answers", CONTENT_WRITES_WAIT),
                             ("submit_quiz_attempts", CONTENT_WRITES_WAIT)]
    assert CONTENT_WRITES_WAIT > DEFAULT_WAIT_MS / 1000


def test_a_wake_up_under_a_millisecond_on_uvloop_is_kept_and_replaced():
    """uvloop answers call_later under a millisecond with a plain Handle (no ``when``): a later wake-up must still
    compare with it and a request arriving meanwhile must still be answered."""
    from gateway.event_loop import LoopThread

    thread = LoopThread(name="test-uvloop-wake", kind="uvloop")
    backend = RecordingBackend()
    backend.release.set()
    batcher = Batcher(backend, max_batch=100, fill=100, max_wait=0.05, senders=1, loop=thread)
    try:
        async def wakes():
            batcher._wake_in(0.0003)
            batcher._wake_in(0.01)                 # later than the one pending: kept as it is
            batcher._wake_in(0.0002)               # sooner: replaces it
            return await batcher.submit("attendance", "record_scans", {"n": 4})
        assert thread.run(wakes(), timeout=5) == {"n": 4}
    finally:
        batcher.close()
        thread.loop.call_soon_threadsafe(thread.loop.stop)
