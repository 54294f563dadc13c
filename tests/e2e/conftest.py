"""End-to-end tier: the identity service and the gateway as real processes; tests speak HTTP and gRPC."""
from __future__ import annotations

import os
import urllib.request

import pytest

from gateway.client import GrpcClient, HttpClient
from tests.support.processes import ChildProcess, free_port


@pytest.fixture(scope="session")
def gateway_process(identity_service, bus_uri, tmp_path_factory):
    http_port, grpc_port, admin_port = free_port(), free_port(), free_port()
    # 127.0.0.1 stands for a trusted proxy (its X-Forwarded-For is believed); 127.0.0.2 for a client reached directly
    child = ChildProcess("gateway", ["-m", "gateway"],
                         {"AMQP_URI": bus_uri, "GATEWAY_HTTP_PORT": str(http_port),
                          "GATEWAY_GRPC_PORT": str(grpc_port), "GATEWAY_ADMIN_PORT": str(admin_port),
                          "TRUSTED_PROXIES": "127.0.0.1"},
                         tmp_path_factory.mktemp("gateway-logs"))
    child.wait_until(lambda: urllib.request.urlopen(f"http://127.0.0.1:{http_port}/healthz", timeout=2))
    child.http_url, child.grpc_target = f"http://127.0.0.1:{http_port}", f"127.0.0.1:{grpc_port}"
    child.admin_url = f"http://127.0.0.1:{admin_port}"        # /metrics, /docs, /openapi.json
    yield child
    child.stop()


@pytest.fixture
def http(gateway_process):
    return HttpClient(gateway_process.http_url)


@pytest.fixture
def grpc_client(gateway_process):
    with GrpcClient(gateway_process.grpc_target) as client:
        yield client


@pytest.fixture(scope="session")
def operator_password():
    return os.environ["OPERATOR_PASSWORD"]
