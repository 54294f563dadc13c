import threading
import time

import pytest
from nameko.exceptions import RpcTimeout

from gateway import backend as backend_module
from gateway.backend import NamekoBackend
from gateway.errors import GatewayError, describe


class FakeProxy:
    """Stands in for nameko's ClusterRpcProxy: records who started it and answers calls."""
    started: list["FakeProxy"] = []

    def __init__(self, config, timeout=None):
        self.config, self.timeout = config, timeout
        self.thread = None
        self.stopped = False
        self.raise_next: BaseException | None = None

    def start(self):
        self.thread = threading.current_thread().name
        FakeProxy.started.append(self)
        return self

    def stop(self):
        self.stopped = True

    def __getattr__(self, service):
        proxy = self

        class Service:
            def __getattr__(self, method):
                def call(**kwargs):
                    if proxy.raise_next is not None:
                        error, proxy.raise_next = proxy.raise_next, None
                        raise error
                    return {"service": service, "method": method, "kwargs": kwargs}
                return call
        return Service()


@pytest.fixture
def proxies(monkeypatch):
    FakeProxy.started = []
    monkeypatch.setattr(backend_module, "ClusterRpcProxy", FakeProxy)
    return FakeProxy.started


def test_a_call_goes_to_the_named_service_method_with_keyword_arguments(proxies):
    answer = NamekoBackend({"AMQP_URI": "memory://"}, timeout=3).call("identity", "get_org", org_id="o", scope={})
    assert answer == {"service": "identity", "method": "get_org", "kwargs": {"org_id": "o", "scope": {}}}


def test_each_thread_starts_its_own_proxy_once_and_keeps_it(proxies):
    backend = NamekoBackend({"AMQP_URI": "memory://"}, timeout=3)
    backend.call("identity", "get_me")
    backend.call("identity", "get_me")
    worker = threading.Thread(target=backend.call, args=("identity", "get_me"), name="worker")
    worker.start()
    worker.join()
    assert [proxy.thread for proxy in proxies] == ["MainThread", "worker"]


def test_no_proxy_is_started_before_the_first_call(proxies):
    NamekoBackend({"AMQP_URI": "memory://"})
    assert proxies == []


def test_the_rpc_timeout_comes_from_the_environment(proxies, monkeypatch):
    monkeypatch.setenv("GATEWAY_RPC_TIMEOUT", "7.5")
    NamekoBackend({"AMQP_URI": "memory://"}).call("identity", "get_me")
    assert proxies[0].timeout == 7.5


def test_the_rpc_timeout_defaults_to_30_seconds(proxies, monkeypatch):
    monkeypatch.delenv("GATEWAY_RPC_TIMEOUT", raising=False)
    NamekoBackend({"AMQP_URI": "memory://"}).call("identity", "get_me")
    assert proxies[0].timeout == 30


def test_a_timeout_becomes_deadline_exceeded(proxies):
    backend = NamekoBackend({"AMQP_URI": "memory://"}, timeout=3)
    backend.call("identity", "get_me")
    proxies[0].raise_next = RpcTimeout(3)
    with pytest.raises(RpcTimeout) as raised:
        backend.call("identity", "get_me")
    reply = describe(raised.value)
    assert (reply.http_status, reply.grpc_code.name) == (504, "DEADLINE_EXCEEDED")


def test_a_broken_broker_connection_is_unavailable_and_the_proxy_is_replaced(proxies):
    backend = NamekoBackend({"AMQP_URI": "memory://"}, timeout=3)
    backend.call("identity", "get_me")
    proxies[0].raise_next = ConnectionResetError("broker went away")
    with pytest.raises(GatewayError) as raised:
        backend.call("identity", "get_me")
    assert describe(raised.value).http_status == 503 and proxies[0].stopped
    backend.call("identity", "get_me")
    assert len(proxies) == 2


def test_closing_stops_every_threads_proxy(proxies):
    backend = NamekoBackend({"AMQP_URI": "memory://"}, timeout=3)
    backend.call("identity", "get_me")
    worker = threading.Thread(target=backend.call, args=("identity", "get_me"))
    worker.start()
    worker.join()
    backend.close()
    assert all(proxy.stopped for proxy in proxies) and len(proxies) == 2


def test_an_unreachable_broker_is_unavailable():
    backend = NamekoBackend({"AMQP_URI": "amqp://guest:guest@127.0.0.1:1/", "serializer": "json"}, timeout=1)
    with pytest.raises(GatewayError) as raised:
        backend.call("identity", "get_me")
    assert raised.value.kind == "UNAVAILABLE"


class HeldProxy(FakeProxy):
    """A proxy whose calls to ``identity`` wait until ``release`` is set (a stalled service); other services answer."""
    release = threading.Event()

    def __getattr__(self, service):
        if service != "identity":
            return super().__getattr__(service)

        class Stalled:
            def __getattr__(self, method):
                def call(**kwargs):
                    HeldProxy.release.wait(10)
                    return {"service": service}
                return call
        return Stalled()


def run_in_pool(pool: str, function) -> tuple[threading.Thread, list]:
    """``function()`` on a thread named as the pool's threads are (``http_3``); its outcome in the list."""
    outcome: list = []

    def target():
        try:
            outcome.append(function())
        except GatewayError as error:
            outcome.append(error)
    thread = threading.Thread(target=target, name=f"{pool}_{len(threading.enumerate())}")
    thread.start()
    return thread, outcome


def test_a_stalled_service_holds_at_most_its_share_of_a_pool_and_the_rest_are_refused_busy(monkeypatch):
    monkeypatch.setattr(backend_module, "ClusterRpcProxy", HeldProxy)
    HeldProxy.release = threading.Event()
    bulkheads = backend_module.ServiceBulkheads({"http": 4, "grpc": 8}, share=0.5, wait=0.2)
    backend = NamekoBackend({"AMQP_URI": "memory://"}, timeout=3, bulkheads=bulkheads)
    try:
        held = [run_in_pool("http", lambda: backend.call("identity", "get_me")) for _ in range(2)]
        deadline = time.monotonic() + 5
        while bulkheads.bulkhead_of("identity", "http").holders < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        busy_thread, busy = run_in_pool("http", lambda: backend.call("identity", "get_me"))
        busy_thread.join(5)
        waited = time.monotonic() - started
        # the same pool's threads still reach another service, and the gRPC pool has its own share of identity
        other_thread, other = run_in_pool("http", lambda: backend.call("attendance", "get_activity"))
        other_thread.join(5)
        grpc_thread, grpc_call = run_in_pool("grpc", lambda: backend.call("identity", "get_me"))
        time.sleep(0.3)
        assert not grpc_call                              # waiting on identity, not refused
    finally:
        HeldProxy.release.set()
    for thread, _ in held:
        thread.join(5)
    grpc_thread.join(5)
    assert isinstance(busy[0], GatewayError) and busy[0].code == "SERVICE_BUSY"
    reply = describe(busy[0])
    assert reply.http_status == 503 and reply.retry_after == 1
    assert 0.15 < waited < 3
    assert other == [{"service": "attendance", "method": "get_activity", "kwargs": {}}]
    assert [outcome for _, outcome in held] == [[{"service": "identity"}]] * 2
    assert grpc_call == [{"service": "identity"}]
    assert bulkheads.bulkhead_of("identity", "http").holders == 0


def test_threads_of_no_named_pool_are_not_bounded(monkeypatch):
    monkeypatch.setattr(backend_module, "ClusterRpcProxy", FakeProxy)
    bulkheads = backend_module.ServiceBulkheads({"http": 2}, share=0.5, wait=0.0)
    backend = NamekoBackend({"AMQP_URI": "memory://"}, timeout=3, bulkheads=bulkheads)
    thread, outcome = run_in_pool("batch-sender", lambda: backend.call("attendance", "record_scans"))
    thread.join(5)
    assert outcome[0]["method"] == "record_scans"
    assert bulkheads.bulkhead("attendance") is None      # this (main) thread belongs to no pool either


@pytest.mark.parametrize("share, wait", [("0", "1"), ("1.5", "1"), ("half", "1"), ("0.5", "-1")])
def test_bulkhead_settings_out_of_range_are_refused(monkeypatch, share, wait):
    monkeypatch.setenv("GATEWAY_SERVICE_SHARE", share)
    monkeypatch.setenv("GATEWAY_SERVICE_BUSY_WAIT_SECONDS", wait)
    with pytest.raises(backend_module.ConfigError):
        backend_module.ServiceBulkheads.from_env({"http": 32})
