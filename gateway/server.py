"""Both edges in one process, on the gateway's event loop thread: the gRPC server (grpc.aio) and the
HTTP server (``gateway.http.server``: uvicorn, the WSGI app on worker threads, scans on the loop).

    server = GatewayServer(dispatcher, host="127.0.0.1", http_port=0, grpc_port=0).start()
    server.http_url, server.grpc_target   # the ports actually bound
    server.stop()
"""
from __future__ import annotations

import logging
import ssl

from gateway import metrics
from gateway.dispatch import Dispatcher
from gateway.grpc.server import GrpcGateway
from gateway.http.app import GatewayApp, max_body_bytes
from gateway.http.server import HttpGateway
from servicekit.process.metrics import watch_collector_pauses

log = logging.getLogger(__name__)

class GatewayServer:
    def __init__(self, dispatcher: Dispatcher, host: str = "127.0.0.1", http_port: int = 8080,
                 grpc_port: int = 50051, http_threads: int = 16, grpc_workers: int = 16,
                 max_body: int | None = None, ssl_context: ssl.SSLContext | None = None):
        max_body = max_body if max_body is not None else max_body_bytes()
        self.host = host
        self.grpc = GrpcGateway(dispatcher, f"{host}:{grpc_port}", max_workers=grpc_workers,
                                max_message_bytes=max_body)
        self.http = HttpGateway(GatewayApp(dispatcher, max_body=max_body), host, http_port, max_body=max_body,
                                workers=http_threads, ssl_context=ssl_context)

    @property
    def http_url(self) -> str:
        return f"{self.http.scheme}://{self.host}:{self.http.port}"

    @property
    def grpc_target(self) -> str:
        return f"{self.host}:{self.grpc.port}"

    def start(self) -> "GatewayServer":
        self.grpc.start()
        self.http.start()
        self.grpc.loop_thread.watch_lag(metrics.LOOP_LAG.observe)
        watch_collector_pauses()
        log.info("gateway serving gRPC on %s and HTTP on %s/ (docs at /docs)", self.grpc_target, self.http_url)
        return self

    def stop(self, grace: float = 5.0) -> None:
        self.http.stop(grace)
        self.grpc.stop(grace)
