import threading

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
