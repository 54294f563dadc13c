"""The gateway as a process: HTTP (httptools) and grpc.aio on its loop thread, clean stop on SIGTERM."""
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.grpc import build_protos
from gateway.client import ApiError, GrpcClient, HttpClient
from gateway.server import GatewayServer
from tests.unit.gateway.audit_samples import unmarked
from tests.unit.gateway.samples import CALLER, REQUESTS

REPO_ROOT = Path(__file__).resolve().parents[3]
LISTENING = re.compile(r"serving gRPC on [\d.]+:(\d+) and HTTP on http://[\d.]+:(\d+)/")


@pytest.fixture
def served(dispatcher):
    server = GatewayServer(dispatcher, host="127.0.0.1", http_port=0, grpc_port=0,
                           http_threads=2, grpc_workers=2).start()
    yield server
    server.stop(grace=1)


def test_the_http_client_runs_operations_through_a_real_server(served, backend, token):
    client = HttpClient(served.http_url)
    assert client.login("xa", "admin", "s3cret!")["token_type"] == "Bearer"
    client.token = token
    assert client.call("GetOrg", {"org_id": "org-branch-1"})["name"] == "第一党支部"
    assert client.call("ListMembers", {"org_id": "org-city", "mobile": True})["next_page_token"] == ""
    assert client.call("ImportOrgs", dict(REQUESTS["ImportOrgs"]))["imported"] == 3
    assert unmarked(backend.calls[1].kwargs["scope"]) == CALLER and backend.calls[2].kwargs["mobile"] is True


def test_the_http_client_raises_the_error_body(served, backend):
    with pytest.raises(ApiError) as refused:
        HttpClient(served.http_url).call("GetMe", {})
    assert (refused.value.status, refused.value.code) == (401, "TOKEN_MISSING")


def test_the_grpc_client_logs_in_and_calls_through_a_real_server(served, backend, token):
    with GrpcClient(served.grpc_target) as client:
        assert client.login("xa", "admin", "s3cret!")["access_token"]
        assert client.call("GetMe", {}, token)["account"]["username"] == "admin"
    assert backend.calls[1].kwargs == {"scope": CALLER}


def test_importing_the_gateway_does_not_monkey_patch_with_eventlet():
    code = ("import gateway.__main__, gateway.backend, gateway.grpc.server, gateway.http.app; "
            "import eventlet.patcher as p; "
            "assert not any(p.is_monkey_patched(m) for m in ('socket', 'thread', 'select', 'time'))")
    subprocess.run([sys.executable, "-W", "ignore", "-c", code], cwd=REPO_ROOT, check=True, timeout=60)


def test_python_m_gateway_serves_both_protocols_and_stops_on_sigterm(keys, tmp_path):
    build_protos.build()
    public_key = tmp_path / "token_public.pem"
    public_key.write_bytes(keys.public_pem)
    env = {**os.environ, "TOKEN_PUBLIC_KEY_PATH": str(public_key), "GATEWAY_HOST": "127.0.0.1",
           "GATEWAY_HTTP_PORT": "0", "GATEWAY_GRPC_PORT": "0", "GATEWAY_ADMIN_PORT": "0",
           "PYTHONWARNINGS": "ignore"}
    process = subprocess.Popen([sys.executable, "-m", "gateway"], cwd=REPO_ROOT, env=env,
                               stderr=subprocess.PIPE, text=True)
    try:
        log = []
        for line in process.stderr:
            log.append(line)
            if match := LISTENING.search(line):
                grpc_port, http_port = match.groups()
                assert " [-]: " in line          # a line outside any request; inside one it names the request's id
                break
        else:
            pytest.fail("the gateway did not start:\n" + "".join(log))
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/healthz", timeout=5) as response:
            assert response.status == 200
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert health.status == health_pb2.HealthCheckResponse.SERVING
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert "gateway stopped" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
