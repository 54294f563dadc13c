"""A store that stops answering under a running service: its calls are answered 503 ``STORE_UNAVAILABLE`` with a
Retry-After, over RPC and through the gateway, and the service serves again once the store is back, unrestarted.

The store here is an nx-27017 of this test's own (stopped and started again on the same port and files), the
identity service and the gateway are real processes on a vhost of their own: the session's store and services
must not see the outage."""
from __future__ import annotations

import http.client
import json
import os
import time
import urllib.parse
import urllib.request

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from servicekit.errors import Unavailable
from servicekit.process.config import nameko_config
from servicekit.storage.embedded_mongo import EmbeddedMongo, free_port
from tests.support.broker import TestVhost
from tests.support.processes import ChildProcess

pytestmark = pytest.mark.integration

SELECTION_TIMEOUT_MS = 1500


@pytest.fixture
def outage_platform(amqp_uri, tmp_path):
    """(its store, an RPC proxy, the gateway's HTTP URL)."""
    store = EmbeddedMongo(tmp_path / "store", port=free_port()).start()
    children = []
    try:
        with TestVhost() as bus:
            env = {"AMQP_URI": bus, "MONGO_URI": store.uri, "PASSWORD_HASH_PROFILE": "fast",
                   "MONGO_SERVER_SELECTION_TIMEOUT_MS": str(SELECTION_TIMEOUT_MS), "OUTBOX_POLL_SECONDS": "0.05"}
            proxy = ClusterRpcProxy({**nameko_config(), "AMQP_URI": bus}, timeout=60)
            rpc = proxy.start()
            try:
                identity = ChildProcess("identity", ["-m", "servicekit.process.runner",
                                                     "services.identity.service:IdentityService"],
                                        {**env, "METRICS_PORT": str(free_port())}, tmp_path)
                children.append(identity)
                identity.wait_until(lambda: rpc.identity.login(tenant_code="", username="operator",
                                                               password=os.environ["OPERATOR_PASSWORD"]))
                http_port = free_port()
                gateway = ChildProcess("gateway", ["-m", "gateway"],
                                       {"AMQP_URI": bus, "GATEWAY_HTTP_PORT": str(http_port),
                                        "GATEWAY_GRPC_PORT": str(free_port()), "GATEWAY_ADMIN_PORT": str(free_port())},
                                       tmp_path)
                children.append(gateway)
                url = f"http://127.0.0.1:{http_port}"
                gateway.wait_until(lambda: urllib.request.urlopen(f"{url}/healthz", timeout=2))
                yield store, rpc, url
            finally:
                for child in reversed(children):
                    child.stop()
                proxy.stop()
    finally:
        store.stop()


def login(url: str) -> tuple[int, dict, dict]:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("POST", "/v1/auth/login", json.dumps(
            {"tenant_code": "", "username": "operator", "password": os.environ["OPERATOR_PASSWORD"]}),
            {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read()), {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


def test_a_store_outage_is_answered_503_store_unavailable_and_the_service_recovers(outage_platform):
    store, rpc, url = outage_platform
    status, body, _ = login(url)
    assert status == 200 and body["access_token"]

    store.stop()
    started = time.monotonic()
    status, body, headers = login(url)
    assert status == 503, body
    assert body["error"]["code"] == "STORE_UNAVAILABLE" and body["request_id"]
    assert int(headers["retry-after"]) >= 1
    # answered once no server could be selected, long before the gateway's 30 s RPC timeout
    assert time.monotonic() - started < 20
    with pytest.raises(Unavailable) as refused:
        rpc.identity.login(tenant_code="", username="operator", password=os.environ["OPERATOR_PASSWORD"])
    assert refused.value.code == "STORE_UNAVAILABLE"

    store.start()                                  # the same port and files; the service is not restarted
    deadline = time.monotonic() + 30
    while True:
        status, body, _ = login(url)
        if status == 200 or time.monotonic() > deadline:
            break
        assert status == 503 and body["error"]["code"] == "STORE_UNAVAILABLE"
        time.sleep(0.5)
    assert status == 200 and body["access_token"]
