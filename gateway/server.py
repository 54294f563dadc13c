"""Both edges in one process, on the gateway's event loop thread: the gRPC server (grpc.aio) and the
HTTP server (``gateway.http.server``: uvicorn, the WSGI app on worker threads, scans on the loop); beside them,
when given a port, the admin listener (``gateway.http.admin``: /metrics, /docs, /openapi.json) and an admin gRPC
port that also offers reflection, both on ``admin_host`` (loopback by default), with the same TLS as the public side.

    server = GatewayServer(dispatcher, host="127.0.0.1", http_port=0, grpc_port=0, admin_port=0).start()
    server.http_url, server.grpc_target, server.admin_url   # the ports actually bound
    server.stop()
"""
from __future__ import annotations

import logging
import ssl

import grpc

from gateway import metrics
from gateway.dispatch import Dispatcher
from gateway.grpc.server import GrpcGateway
from gateway.http.admin import AdminApp
from gateway.http.app import GatewayApp, max_body_bytes
from gateway.http.server import HttpGateway
from servicekit.process.metrics import watch_collector_pauses

log = logging.getLogger(__name__)

class GatewayServer:
    def __init__(self, dispatcher: Dispatcher, host: str = "127.0.0.1", http_port: int = 8080,
                 grpc_port: int = 50051, http_threads: int = 16, grpc_workers: int = 16,
                 max_body: int | None = None, ssl_context: ssl.SSLContext | None = None,
                 grpc_credentials: grpc.ServerCredentials | None = None, admin_host: str = "127.0.0.1",
                 admin_port: int | None = None, admin_grpc_port: int | None = None, health=None,
                 reuse_port: bool = False):
        max_body = max_body if max_body is not None else max_body_bytes()
        self.host, self.admin_host = host, admin_host
        self.grpc = GrpcGateway(dispatcher, f"{host}:{grpc_port}", max_workers=grpc_workers,
                                max_message_bytes=max_body, credentials=grpc_credentials)
        self.http = HttpGateway(GatewayApp(dispatcher, max_body=max_body), host, http_port, max_body=max_body,
                                workers=http_threads, ssl_context=ssl_context, reuse_port=reuse_port)
        self.admin = None if admin_port is None else HttpGateway(
            AdminApp(health=health), admin_host, admin_port, max_body=0, workers=2, ssl_context=ssl_context)
        self.admin_grpc = None if admin_grpc_port is None else GrpcGateway(
            dispatcher, f"{admin_host}:{admin_grpc_port}", max_workers=4, max_message_bytes=max_body,
            reflection=True, credentials=grpc_credentials)

    @property
    def http_url(self) -> str:
        return f"{self.http.scheme}://{self.host}:{self.http.port}"

    @property
    def grpc_target(self) -> str:
        return f"{self.host}:{self.grpc.port}"

    @property
    def admin_url(self) -> str | None:
        return None if self.admin is None else f"{self.admin.scheme}://{self.admin_host}:{self.admin.port}"

    @property
    def admin_grpc_target(self) -> str | None:
        return None if self.admin_grpc is None else f"{self.admin_host}:{self.admin_grpc.port}"

    def start(self) -> "GatewayServer":
        self.grpc.start()
        self.http.start()
        for listener in (self.admin, self.admin_grpc):
            if listener is not None:
                listener.start()
        self.grpc.loop_thread.watch_lag(metrics.LOOP_LAG.observe)
        watch_collector_pauses()
        log.info("gateway serving gRPC on %s and HTTP on %s/; admin (/metrics, /docs) on %s, gRPC reflection on %s",
                 self.grpc_target, self.http_url, self.admin_url or "no port", self.admin_grpc_target or "no port")
        return self

    def stop(self, grace: float = 5.0) -> None:
        for listener in (self.admin, self.admin_grpc):
            if listener is not None:
                listener.stop(grace)
        self.http.stop(grace)
        self.grpc.stop(grace)
