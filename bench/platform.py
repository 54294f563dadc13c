"""What the service benchmarks (bench.content_morning, bench.volunteer_claims) share: their processes, each in a
session of its own as bin/run starts them, the gateway in front, and a direct RPC proxy signed as the gateway's.
"""
from __future__ import annotations

import os
import random
import tempfile
import time
from pathlib import Path

from nameko.standalone.rpc import ClusterRpcProxy

from bench.themed_day import BENCH_TOKEN_LIFETIME, wait_http
from servicekit.errors import Unauthenticated
from servicekit.process.config import nameko_config
from tests.support.processes import ChildProcess, free_port


def answers_without_scope(call) -> bool:
    """Whether a service is up: an entry point called with an empty scope answers Unauthenticated."""
    try:
        call(scope={})
    except Unauthenticated:
        return True
    return False


class BenchPlatform:
    def __init__(self, args, prefix: str):
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix=prefix))
        self.children: list[ChildProcess] = []
        self.rng = random.Random(args.seed)
        self.rpc_proxy: ClusterRpcProxy | None = None

    def log(self, text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    def child(self, name: str, args: list[str], env: dict) -> ChildProcess:
        child = ChildProcess(name, args, env, self.work, own_session=True)
        self.children.append(child)
        return child

    def service(self, name: str, target: str, env: dict) -> ChildProcess:
        """``python -m servicekit.process.runner <target>`` as a child."""
        return self.child(name, ["-m", "servicekit.process.runner", target], env)

    def start_identity(self, common: dict) -> None:
        self.identity = self.service("identity", "services.identity.service:IdentityService",
                                     {**common, "METRICS_PORT": str(free_port()), "PASSWORD_HASH_PROFILE": "fast",
                                      **BENCH_TOKEN_LIFETIME})

    def start_gateway(self, bus: str, instances: int = 1) -> None:
        """``instances`` gateways sharing one HTTP and one gRPC port (SO_REUSEPORT: the kernel spreads the
        connections), each with its own admin listener (``gateway_metrics``: their /metrics)."""
        http, grpc_port = free_port(), free_port()
        shared = {"GATEWAY_REUSE_PORT": "on"} if instances > 1 else {}
        self.gateways, self.gateway_metrics = [], []
        for number in range(1, instances + 1):
            admin = free_port()
            self.gateways.append(self.child("gateway" if number == 1 else f"gateway{number}", ["-m", "gateway"],
                                            {"AMQP_URI": bus, "GATEWAY_HTTP_PORT": str(http),
                                             "GATEWAY_GRPC_PORT": str(grpc_port), "GATEWAY_RPC_TIMEOUT": "600",
                                             "GATEWAY_ADMIN_PORT": str(admin), **shared}))
            self.gateway_metrics.append(f"http://127.0.0.1:{admin}/metrics")
        self.gateway = self.gateways[0]
        self.http, self.target = f"http://127.0.0.1:{http}", f"127.0.0.1:{grpc_port}"

    def connect(self, bus: str) -> None:
        """The bench's own RPC proxy, once identity answers the operator's login."""
        self.rpc_proxy = ClusterRpcProxy({**nameko_config(), "AMQP_URI": bus}, timeout=900)
        self.rpc = self.rpc_proxy.start()
        self.identity.wait_until(lambda: self.rpc.identity.login(tenant_code="", username="operator",
                                                                 password=os.environ["OPERATOR_PASSWORD"]))

    def wait_gateway(self) -> None:
        wait_http(self.http + "/healthz", self.gateway)
        for gateway, metrics in zip(self.gateways, self.gateway_metrics):
            wait_http(metrics.replace("/metrics", "/healthz"), gateway)

    def stop(self) -> None:
        if self.rpc_proxy is not None:
            try:
                self.rpc_proxy.stop()
            except Exception:  # noqa: BLE001  stopping anyway
                pass
        for child in reversed(self.children):
            child.stop()
