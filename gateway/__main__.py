"""``python -m gateway``: serve gRPC and HTTP in one process (no eventlet patching), both on one
event loop thread (uvloop by default: grpc.aio, and HTTP/1.1 by uvicorn; scans are batched on that loop), every other
operation's nameko RPC on worker threads.

Environment: TOKEN_PUBLIC_KEY_PATH (required), AMQP_URI, GATEWAY_HOST (127.0.0.1), GATEWAY_HTTP_PORT (8080),
GATEWAY_EVENT_LOOP (uvloop or asyncio), GATEWAY_GRPC_PORT (50051), GATEWAY_TLS_CERT and GATEWAY_TLS_KEY (PEM paths: HTTPS on the HTTP
port, TLS 1.2+; ``gateway.http.tls``), GATEWAY_HTTP_THREADS (32 threads for the HTTP requests that are not scans),
GATEWAY_GRPC_WORKERS (128 threads for the gRPC operations that are not batched), GATEWAY_RPC_TIMEOUT (30 s),
GATEWAY_MAX_BODY_BYTES (64 MiB), TRUSTED_PROXIES (addresses or CIDR networks whose X-Forwarded-For is believed:
none), LOG_LEVEL (INFO); scan micro-batching: GATEWAY_SCAN_BATCH (on|off), GATEWAY_BATCH_MAX (256),
GATEWAY_BATCH_FILL (32: a batch of as many is sent at once), GATEWAY_BATCH_WAIT_MS (40: a smaller one when its
oldest scan has waited as long), GATEWAY_BATCH_SENDERS (1; about attendance instances / gateways); verified access
tokens remembered: GATEWAY_TOKEN_CACHE (250000, about 0.45 KB each).
Stops cleanly on SIGTERM or SIGINT.
"""
from __future__ import annotations

import logging
import signal
import sys
import threading

from gateway.grpc import build_protos
from servicekit.process.config import env

log = logging.getLogger("gateway")


def main() -> int:
    logging.basicConfig(stream=sys.stderr, level=env("LOG_LEVEL", "INFO").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    build_protos.build()

    from gateway.event_loop import event_loop_kind
    from servicekit.process.config import ConfigError
    try:
        event_loop_kind()                           # refused before anything starts
    except ConfigError as error:
        log.error("%s", error)
        return 2

    from gateway.backend import NamekoBackend
    from gateway.batching import Batcher
    from gateway.dispatch import Dispatcher
    from gateway.server import GatewayServer
    from gateway.http.tls import context_from_env
    from servicekit.process.collector import settle_after_start, young_threshold
    from servicekit.security.tokens import CachingTokenVerifier

    young_threshold()                               # GC_YOUNG_THRESHOLD, before anything starts
    backend = NamekoBackend()
    batcher = Batcher.from_env(backend)
    server = GatewayServer(Dispatcher(backend, CachingTokenVerifier(), batcher=batcher),
                           host=env("GATEWAY_HOST", "127.0.0.1"),
                           http_port=int(env("GATEWAY_HTTP_PORT", "8080")),
                           grpc_port=int(env("GATEWAY_GRPC_PORT", "50051")),
                           http_threads=int(env("GATEWAY_HTTP_THREADS", "32")),
                           grpc_workers=int(env("GATEWAY_GRPC_WORKERS", "128")),
                           ssl_context=context_from_env())
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    server.start()
    settle_after_start("gateway")
    stopping.wait()
    log.info("gateway stopping")
    server.stop()
    if batcher is not None:
        batcher.close()
    backend.close()
    log.info("gateway stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
