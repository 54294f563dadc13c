"""Calls between services (servicekit.messaging.peer_calls): the bulkhead's count, the settings, the deadline of an
answer, and the errors callers and the gateway see."""
from __future__ import annotations

import gc
import time
from types import SimpleNamespace

import eventlet
import pytest

from gateway.errors import describe
from servicekit.errors import DeadlineExceeded, Unavailable, error_from_dict
from servicekit.messaging.peer_calls import (DEFAULT_TIMEOUT_SECONDS, Bulkhead, PeerReply, PeerRpcProxy, peer,
                                             peer_busy, peer_concurrency, peer_timed_out, peer_timeout,
                                             peer_unavailable)
from servicekit.process.config import ConfigError


def test_the_bulkhead_lets_in_its_limit_of_workers_and_refuses_the_next_at_once():
    bulkhead = Bulkhead("identity", 2)
    bulkhead.enter("w1")
    bulkhead.enter("w2")
    started = time.monotonic()
    with pytest.raises(Unavailable) as refused:
        bulkhead.enter("w3")
    assert time.monotonic() - started < 1          # refused, never queued
    assert refused.value.code == "PEER_BUSY"
    assert refused.value.details == [{"peer": "identity", "concurrency": 2, "retry_after_seconds": 1}]
    bulkhead.leave("w1")
    bulkhead.enter("w3")                           # a place given back is taken
    assert bulkhead.holders == 2


def test_a_full_bulkhead_lets_a_worker_wait_its_while_for_a_place_given_back():
    import threading

    bulkhead = Bulkhead("identity", 1, wait=5.0)
    bulkhead.enter("w1")
    threading.Timer(0.2, bulkhead.leave, ("w1",)).start()      # a healthy peer answers w1 meanwhile
    started = time.monotonic()
    bulkhead.enter("w2")
    assert 0.1 < time.monotonic() - started < 4
    assert bulkhead.holders == 1


def test_a_full_bulkhead_refuses_after_its_wait_when_no_place_is_given_back():
    bulkhead = Bulkhead("identity", 1, wait=0.3)
    bulkhead.enter("w1")
    started = time.monotonic()
    with pytest.raises(Unavailable) as refused:
        bulkhead.enter("w2")
    assert 0.25 < time.monotonic() - started < 3
    assert refused.value.code == "PEER_BUSY"


def test_the_busy_wait_setting_is_checked():
    from servicekit.messaging.peer_calls import peer_busy_wait

    assert peer_busy_wait("identity") == 1.0
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PEER_BUSY_WAIT_SECONDS_IDENTITY", "0")
        assert peer_busy_wait("identity") == 0.0
        patch.setenv("PEER_BUSY_WAIT_SECONDS_IDENTITY", "soon")
        with pytest.raises(ConfigError):
            peer_busy_wait("identity")


def test_a_worker_inside_counts_once_however_many_calls_it_has_in_flight():
    bulkhead = Bulkhead("identity", 1)
    for _ in range(5):                             # a batch's items asking the peer from one worker
        bulkhead.enter("w1")
    with pytest.raises(Unavailable):
        bulkhead.enter("w2")
    for _ in range(4):
        bulkhead.leave("w1")
    with pytest.raises(Unavailable):               # one call of w1 still in flight
        bulkhead.enter("w2")
    bulkhead.leave("w1")
    bulkhead.enter("w2")
    assert bulkhead.holders == 1


def test_settings_default_per_peer_and_refuse_nonsense(monkeypatch):
    for name in ("PEER_TIMEOUT_SECONDS", "PEER_TIMEOUT_SECONDS_IDENTITY", "PEER_CONCURRENCY",
                 "PEER_CONCURRENCY_IDENTITY"):
        monkeypatch.delenv(name, raising=False)
    assert peer_timeout("identity") == DEFAULT_TIMEOUT_SECONDS == 10
    assert peer_concurrency("identity", max_workers=10) == 5 and peer_concurrency("identity", max_workers=1) == 1
    monkeypatch.setenv("PEER_TIMEOUT_SECONDS", "4")
    monkeypatch.setenv("PEER_TIMEOUT_SECONDS_IDENTITY", "2.5")
    monkeypatch.setenv("PEER_CONCURRENCY", "3")
    assert (peer_timeout("identity"), peer_timeout("scoring")) == (2.5, 4)
    assert (peer_concurrency("identity", 10), peer_concurrency("scoring", 10)) == (3, 3)
    for value in ("0", "-1", "soon"):
        monkeypatch.setenv("PEER_TIMEOUT_SECONDS_IDENTITY", value)
        with pytest.raises(ConfigError):
            peer_timeout("identity")
        monkeypatch.setenv("PEER_CONCURRENCY_IDENTITY", value)
        with pytest.raises(ConfigError):
            peer_concurrency("identity", 10)


def test_the_errors_name_the_peer_and_reach_clients_as_504_and_503_with_retry_after():
    timed_out = describe(peer_timed_out("identity", 10.0))
    assert (timed_out.http_status, timed_out.grpc_code.name, timed_out.code) == (504, "DEADLINE_EXCEEDED",
                                                                                  "PEER_TIMEOUT")
    assert timed_out.details == [{"peer": "identity", "timeout_seconds": 10.0}] and timed_out.retry_after is None
    for error, code, seconds in ((peer_busy("identity", 5), "PEER_BUSY", 1),
                                 (peer_unavailable("identity"), "PEER_UNAVAILABLE", 5)):
        reply = describe(error)
        assert (reply.http_status, reply.grpc_code.name, reply.code, reply.retry_after) == (503, "UNAVAILABLE", code,
                                                                                            seconds)
        assert ("retry-after", str(seconds)) in reply.grpc_trailing_metadata()
    # one item of a batch answer keeps its kind (servicekit.messaging.rpc.answer_each, gateway.batching.unwrap)
    rebuilt = error_from_dict(peer_timed_out("identity", 10.0).to_dict())
    assert isinstance(rebuilt, DeadlineExceeded) and rebuilt.code == "PEER_TIMEOUT"


class Guard:
    def __init__(self, timeout: float, limit: int = 1):
        self.timeout, self.bulkhead, self.reasons = timeout, Bulkhead("identity", limit), []

    def refused(self, reason: str) -> None:
        self.reasons.append(reason)


class SlowReply:
    """nameko's RpcReply waiting on an eventlet event that is sent after ``seconds`` (never, for None)."""

    def __init__(self, seconds: float | None):
        self.reply_event = eventlet.Event()
        if seconds is not None:
            eventlet.spawn_after(seconds, self.reply_event.send, {"result": "answered", "error": None})

    def result(self):
        return self.reply_event.wait()["result"]


def method_of(guard: Guard, reply: SlowReply):
    listener = SimpleNamespace(_reply_events={"correlation-1": reply.reply_event, "other": eventlet.Event()})
    return SimpleNamespace(guard=guard, service_name="identity", method_name="get_org", reply_listener=listener)


def test_an_answer_not_come_by_the_deadline_raises_peer_timeout_and_gives_the_place_back():
    guard = Guard(timeout=0.2)
    reply = SlowReply(None)
    method = method_of(guard, reply)
    guard.bulkhead.enter("w1")
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded) as raised:
        PeerReply(method, reply, "w1").result()
    assert 0.15 < time.monotonic() - started < 5    # the deadline, generously bounded for a loaded machine
    assert raised.value.code == "PEER_TIMEOUT" and raised.value.details[0]["peer"] == "identity"
    assert guard.reasons == ["timeout"] and guard.bulkhead.holders == 0
    assert list(method.reply_listener._reply_events) == ["other"]     # the wait is forgotten, no other


def test_an_answer_within_the_deadline_is_returned_and_an_outer_timeout_stays_the_callers():
    guard = Guard(timeout=5)
    reply = SlowReply(0.05)
    guard.bulkhead.enter("w1")
    assert PeerReply(method_of(guard, reply), reply, "w1").result() == "answered"
    assert guard.bulkhead.holders == 0 and guard.reasons == []
    guard.bulkhead.enter("w1")
    never = SlowReply(None)
    outer = eventlet.Timeout(0.05)
    try:
        with pytest.raises(eventlet.Timeout) as raised:        # the caller's own shorter wait (identity's audit)
            PeerReply(method_of(guard, never), never, "w1").result()
        assert raised.value is outer
    finally:
        outer.cancel()
    assert guard.bulkhead.holders == 0 and guard.reasons == []


def test_the_deadline_counts_from_when_the_call_was_sent():
    guard = Guard(timeout=0.3)
    reply = SlowReply(None)
    guard.bulkhead.enter("w1")
    pending = PeerReply(method_of(guard, reply), reply, "w1")
    eventlet.sleep(0.3)                              # the caller did other work meanwhile (call_async)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        pending.result()
    assert time.monotonic() - started < 0.25 + 2     # no second full timeout


def test_a_reply_dropped_unread_gives_its_place_back():
    guard = Guard(timeout=5)
    guard.bulkhead.enter("w1")
    reply = SlowReply(None)
    PeerReply(method_of(guard, reply), reply, "w1")
    gc.collect()
    assert guard.bulkhead.holders == 0


def test_peer_is_nameko_rpc_proxy_of_the_named_service():
    dependency = peer("identity")
    assert isinstance(dependency, PeerRpcProxy) and dependency.target_service == "identity"
