"""Both edges in one process: the gRPC server (grpc.aio on the gateway's event loop thread) and the
HTTP app under waitress (plain threads).

    server = GatewayServer(dispatcher, host="127.0.0.1", http_port=0, grpc_port=0).start()
    server.http_url, server.grpc_target   # the ports actually bound
    server.stop()
"""
from __future__ import annotations

import logging
import threading

import waitress

from gateway.dispatch import Dispatcher
from gateway.grpc_server import GrpcGateway
from gateway.http_app import GatewayApp, max_body_bytes

log = logging.getLogger(__name__)


class GatewayServer:
    def __init__(self, dispatcher: Dispatcher, host: str = "127.0.0.1", http_port: int = 8080,
                 grpc_port: int = 50051, http_threads: int = 16, grpc_workers: int = 16,
                 max_body: int | None = None):
        max_body = max_body if max_body is not None else max_body_bytes()
        self.host = host
        self.grpc = GrpcGateway(dispatcher, f"{host}:{grpc_port}", max_workers=grpc_workers,
                                max_message_bytes=max_body)
        self.http = waitress.create_server(GatewayApp(dispatcher, max_body=max_body), host=host, port=http_port,
                                           threads=http_threads, max_request_body_size=max_body + 1024,
                                           ident="partybuilding-gateway")
        self._http_thread = threading.Thread(target=self.http.run, name="http-loop", daemon=True)

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.http.effective_port}"

    @property
    def grpc_target(self) -> str:
        return f"{self.host}:{self.grpc.port}"

    def start(self) -> "GatewayServer":
        self.grpc.start()
        self._http_thread.start()
        log.info("gateway serving gRPC on %s and HTTP on %s/ (docs at /docs)", self.grpc_target, self.http_url)
        return self

    def stop(self, grace: float = 5.0) -> None:
        self.grpc.stop(grace)
        self.http.task_dispatcher.shutdown(timeout=grace)
        self.http.close()
        self._http_thread.join(timeout=grace)
