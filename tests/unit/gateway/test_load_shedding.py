"""The gateway's bounded waits: an operation's batch queue sheds what it cannot hold (503 ``QUEUE_FULL`` with a
Retry-After, counted), and one timeout setting, the same under ``bin/run`` as in production."""
from __future__ import annotations

import asyncio
import random
import threading

import pytest
from prometheus_client import REGISTRY

from deploy.local.processes import PROCESSES
from gateway import timeouts
from gateway.backend import NamekoBackend
from gateway.batching import DEFAULT_QUEUE_MAX, Batcher
from gateway.errors import GatewayError, describe
from tests.unit.gateway.virtual_time import VirtualTime


@pytest.fixture
def clock():
    virtual = VirtualTime("shedding")
    yield virtual
    virtual.close()


class HeldBackend:
    """Every batch call waits for ``release``; records the items of each."""

    def __init__(self):
        self.calls, self.release, self.entered = [], threading.Event(), threading.Event()

    def call(self, service, method, **kwargs):
        self.entered.set()
        assert self.release.wait(10)
        self.calls.append((method, [item["n"] for item in kwargs["items"]]))
        return [{"result": item["n"]} for item in kwargs["items"]]


def submit(clock, batcher, n, method="record_scans"):
    return asyncio.run_coroutine_threadsafe(batcher.submit("attendance", method, {"n": n}), clock.loop)


def shed(operation="attendance.record_scans") -> float:
    return REGISTRY.get_sample_value("gateway_shed_total", {"operation": operation, "reason": "queue_full"}) or 0.0


def outcome(future):
    try:
        return future.result(10)
    except Exception as error:  # noqa: BLE001
        return error


def test_a_full_queue_sheds_at_once_with_queue_full_and_keeps_what_it_holds(clock):
    backend = HeldBackend()
    batcher = Batcher(backend, max_batch=2, fill=2, max_wait=0.01, senders=1, loop=clock.thread, max_queued=3)
    before = shed()
    in_flight = [submit(clock, batcher, n) for n in range(2)]         # a full batch: sent, held by the service
    assert backend.entered.wait(5)
    queued = [submit(clock, batcher, n) for n in range(2, 5)]         # the queue's three places
    clock.settle()
    assert batcher.queued("attendance", "record_scans") == 3
    refused = [submit(clock, batcher, n) for n in range(5, 8)]
    errors = [outcome(future) for future in refused]                  # answered while the service still holds
    assert all(isinstance(error, GatewayError) and error.code == "QUEUE_FULL" for error in errors)
    reply = describe(errors[0])
    # the service has answered nothing yet: come back after the queue's patience (5 s), or up to twice that
    assert (reply.http_status, reply.grpc_code.name) == (503, "UNAVAILABLE") and 5 <= reply.retry_after <= 10
    assert ("error-code", "QUEUE_FULL") in reply.grpc_trailing_metadata()
    assert reply.details[0]["operation"] == "attendance.record_scans" and reply.details[0]["queue_limit"] == 3
    assert shed() - before == 3
    assert not any(future.done() for future in in_flight + queued)
    backend.release.set()
    assert [outcome(future) for future in in_flight + queued[:2]] == [0, 1, 2, 3]
    clock.settle()
    clock.advance(0.01)                                               # the last one alone: due by its wait
    assert outcome(queued[2]) == 4
    late = submit(clock, batcher, 9)                                  # room again
    clock.settle()
    clock.advance(0.01)
    assert outcome(late) == 9
    batcher.close()


def test_each_operation_has_its_own_bound(clock):
    backend = HeldBackend()
    batcher = Batcher(backend, max_batch=1, fill=1, max_wait=0.01, senders=1, loop=clock.thread, max_queued=1)
    held = submit(clock, batcher, 0)
    assert backend.entered.wait(5)
    queued = submit(clock, batcher, 1)
    clock.settle()
    assert isinstance(outcome(submit(clock, batcher, 2)), GatewayError)
    other = submit(clock, batcher, 3, method="get_feeds")             # another operation is not shed for it
    clock.settle()
    assert batcher.queued("attendance", "get_feeds") in (0, 1) and not other.done()
    backend.release.set()
    assert [outcome(future) for future in (held, queued, other)] == [0, 1, 3]
    batcher.close()


def test_the_queue_bound_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("GATEWAY_BATCH_QUEUE_MAX", raising=False)
    batcher = Batcher.from_env(HeldBackend())
    assert batcher.max_queued == DEFAULT_QUEUE_MAX == 4096
    batcher.close()
    monkeypatch.setenv("GATEWAY_BATCH_QUEUE_MAX", "16")
    monkeypatch.setenv("GATEWAY_RPC_TIMEOUT", "12")
    batcher = Batcher.from_env(HeldBackend())
    assert (batcher.max_queued, batcher.answer_timeout) == (16, 17)
    batcher.close()


def test_bin_run_gives_the_gateway_no_timeouts_of_its_own():
    gateway = next(process for process in PROCESSES if process.name == "gateway")
    assert not {name for name in gateway.env if "TIMEOUT" in name}      # production's defaults apply


def test_imports_and_exports_wait_the_long_timeout_everything_else_the_short_one(monkeypatch):
    for name in ("GATEWAY_RPC_TIMEOUT", "GATEWAY_LONG_RPC_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    assert timeouts.rpc_timeout() == 30
    calls = timeouts.long_calls()
    assert calls[("identity", "import_members")] == calls[("identity", "import_orgs")] == 600
    assert ("attendance", "record_scan") not in calls and ("identity", "login") not in calls
    monkeypatch.setenv("GATEWAY_LONG_RPC_TIMEOUT", "5")
    monkeypatch.setenv("GATEWAY_RPC_TIMEOUT", "20")
    assert timeouts.long_rpc_timeout() == 20          # never shorter than every call's


class Consumer:
    timeout = 30.0


class TimedProxy:
    """A started ClusterRpcProxy's stand-in: what its reply consumer's timeout was during each call."""

    def __init__(self, config, timeout=None):
        self.timeout, self.seen = timeout, []
        self._reply_listener = type("Listener", (), {"queue_consumer": Consumer()})()
        self._reply_listener.queue_consumer.timeout = timeout

    def start(self):
        return self

    def stop(self):
        pass

    def __getattr__(self, service):
        proxy = self

        class Service:
            def __getattr__(self, method):
                def call(**kwargs):
                    proxy.seen.append((method, proxy._reply_listener.queue_consumer.timeout))
                    return method
                return call
        return Service()


def test_a_long_call_waits_longer_on_the_threads_proxy_and_the_next_call_does_not(monkeypatch):
    monkeypatch.setattr("gateway.backend.ClusterRpcProxy", TimedProxy)
    backend = NamekoBackend({"AMQP_URI": "memory://"}, timeout=30, long_calls={("identity", "import_members"): 600})
    backend.call("identity", "import_members")
    backend.call("identity", "get_me")
    assert backend._local.proxy.seen == [("import_members", 600), ("get_me", 30)]


def test_requests_queued_longer_than_a_client_waits_are_shed_instead_of_sent(clock):
    backend = HeldBackend()
    batcher = Batcher(backend, max_batch=2, fill=2, max_wait=0.01, senders=1, loop=clock.thread, max_queued=4,
                      max_queue_wait=5.0)
    before = shed()
    in_flight = [submit(clock, batcher, n) for n in range(2)]         # sent, and held by the service
    assert backend.entered.wait(5)
    stale = [submit(clock, batcher, n) for n in range(2, 4)]
    clock.settle()
    clock.advance(6.0)                                                # they have waited past any client's patience
    fresh = [submit(clock, batcher, n) for n in range(4, 6)]
    clock.settle()
    assert not any(future.done() for future in stale + fresh)         # nothing is shed while there is room
    backend.release.set()
    assert [outcome(future) for future in in_flight] == [0, 1]
    clock.settle()
    errors = [outcome(future) for future in stale]                    # shed when their turn came, never sent
    assert all(isinstance(error, GatewayError) and error.code == "QUEUE_FULL" for error in errors)
    # two answered in the last 5 s, two left queued: the queue drains in 5 s at that pace
    assert all(5 <= describe(error).retry_after <= 10 for error in errors)
    assert [outcome(future) for future in fresh] == [4, 5]
    assert [items for _, items in backend.calls] == [[0, 1], [4, 5]]
    assert shed() - before == 2


def test_a_full_queue_makes_room_by_shedding_its_stale_head_first(clock):
    backend = HeldBackend()
    batcher = Batcher(backend, max_batch=1, fill=1, max_wait=0.01, senders=1, loop=clock.thread, max_queued=2,
                      max_queue_wait=5.0)
    held = submit(clock, batcher, 0)
    assert backend.entered.wait(5)
    stale = [submit(clock, batcher, n) for n in (1, 2)]               # the queue full
    clock.settle()
    clock.advance(6.0)
    newest = submit(clock, batcher, 3)                                # takes a stale request's place, not refused
    clock.settle()
    assert all(outcome(future).code == "QUEUE_FULL" for future in stale)
    backend.release.set()
    assert outcome(held) == 0
    clock.settle()
    clock.advance(0.01)
    assert outcome(newest) == 3


class PacedBackend:
    """Answers every batch at once."""

    def call(self, service, method, **kwargs):
        return [{"result": item["n"]} for item in kwargs["items"]]


def shed_retry_afters(clock, batcher, answered: int, queued: int, refused: int) -> list[int]:
    """The Retry-Afters of ``refused`` requests shed from a full queue of ``queued`` after the service answered
    ``answered`` requests in the last second, then stopped answering."""
    for n in range(answered):
        assert outcome(submit(clock, batcher, n)) == n
    batcher.backend = HeldBackend()
    held = submit(clock, batcher, -1)
    assert batcher.backend.entered.wait(5)
    waiting = [submit(clock, batcher, n) for n in range(queued)]
    clock.settle()
    errors = [outcome(submit(clock, batcher, n)) for n in range(refused)]
    batcher.backend.release.set()
    assert [outcome(future) for future in [held, *waiting]] == [-1, *range(queued)]
    return [describe(error).retry_after for error in errors]


def test_a_shed_request_is_told_to_wait_as_long_as_the_queue_takes_to_drain_spread_over_twice_that(clock):
    batcher = Batcher(PacedBackend(), max_batch=1, fill=1, max_wait=0.01, senders=1, loop=clock.thread,
                      max_queued=100, rng=random.Random(3))

    waits = shed_retry_afters(clock, batcher, answered=100, queued=100, refused=200)

    # 100 answered in the last 5 s: 20 a second; 100 queued drain in 5 s
    assert min(waits) == 5 and max(waits) == 10 and len(set(waits)) == 6
    batcher.close()


def test_a_slow_service_sends_shed_clients_away_longer_but_never_past_30_s(clock):
    batcher = Batcher(PacedBackend(), max_batch=1, fill=1, max_wait=0.01, senders=1, loop=clock.thread,
                      max_queued=50, rng=random.Random(3))

    waits = shed_retry_afters(clock, batcher, answered=5, queued=50, refused=50)

    # 1 answered a second: 50 queued take 50 s, more than any client should be told to wait
    assert set(waits) == {30}
    batcher.close()


def test_a_fast_service_sends_shed_clients_back_within_a_second_or_two(clock):
    batcher = Batcher(PacedBackend(), max_batch=1, fill=1, max_wait=0.01, senders=1, loop=clock.thread,
                      max_queued=10, rng=random.Random(3))

    waits = shed_retry_afters(clock, batcher, answered=500, queued=10, refused=40)

    assert set(waits) == {1, 2}
    batcher.close()


def test_what_the_service_answered_long_ago_does_not_count(clock):
    batcher = Batcher(PacedBackend(), max_batch=1, fill=1, max_wait=0.01, senders=1, loop=clock.thread,
                      max_queued=10, max_queue_wait=5.0, rng=random.Random(3))
    for n in range(500):
        assert outcome(submit(clock, batcher, n)) == n
    clock.advance(6.0)                                                # a fast pace, but no longer recent

    waits = shed_retry_afters(clock, batcher, answered=0, queued=10, refused=20)

    assert min(waits) >= 5                                            # the queue's patience, as if nothing answered
    batcher.close()
