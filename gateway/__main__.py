"""``python -m gateway``: serve gRPC and HTTP in one process (no eventlet patching), both on one
event loop thread (uvloop by default: grpc.aio, and HTTP/1.1 by uvicorn; scans are batched on that loop), every other
operation's nameko RPC on worker threads.

Environment: TOKEN_PUBLIC_KEY_PATH and CALL_KEYS_DIR (required: servicekit.security.proofs), AMQP_URI
(guest only to a broker on this machine; amqps:// or AMQP_SSL_CA, AMQP_SSL_CERT, AMQP_SSL_KEY for TLS:
``servicekit.process.config.amqp_ssl``), GATEWAY_HOST (127.0.0.1), GATEWAY_HTTP_PORT (8080),
GATEWAY_EVENT_LOOP (uvloop or asyncio), GATEWAY_GRPC_PORT (50051), GATEWAY_TLS_CERT and GATEWAY_TLS_KEY (PEM paths: HTTPS on the HTTP
port and TLS on the gRPC port, 1.2+; ``gateway.http.tls``), GATEWAY_ADMIN_HOST (127.0.0.1) and GATEWAY_ADMIN_PORT
(8081, ``off`` for none: /metrics, /docs, /openapi.json, /livez and /readyz; ``gateway.http.admin``),
GATEWAY_ADMIN_GRPC_PORT (none: a gRPC port on the admin host that also offers reflection), GATEWAY_HTTP_THREADS
(32 threads for the HTTP requests that are not scans), GATEWAY_GRPC_WORKERS (128 threads for the gRPC operations
that are not batched), GATEWAY_SERVICE_SHARE (0.5 of each pool may wait on one service; beyond, after
GATEWAY_SERVICE_BUSY_WAIT_SECONDS, 1, 503 SERVICE_BUSY: ``gateway.backend``), GATEWAY_RPC_TIMEOUT (30 s) and GATEWAY_LONG_RPC_TIMEOUT (600 s, imports and exports:
``gateway.timeouts``), GATEWAY_MAX_BODY_BYTES (64 MiB: caps every operation's own
limit, ``gateway.limits``), TRUSTED_PROXIES (addresses or CIDR networks whose X-Forwarded-For and X-Request-Id are
believed: none), LOG_LEVEL (INFO, each line naming its request's id); scan micro-batching: GATEWAY_SCAN_BATCH
(on|off), GATEWAY_BATCH_MAX (256),
GATEWAY_BATCH_FILL (32: a batch of as many is sent at once), GATEWAY_BATCH_WAIT_MS (40: a smaller one when its
oldest scan has waited as long), GATEWAY_BATCH_SENDERS (1; about attendance instances / gateways), GATEWAY_BATCH_QUEUE_MAX (4096 requests of an
operation waiting to be sent; beyond, 503 QUEUE_FULL), GATEWAY_BATCH_QUEUE_WAIT_SECONDS (5: a request that waited as
long is shed, not sent); verified access
tokens remembered: GATEWAY_TOKEN_CACHE (250000, about 0.45 KB each); revoked sessions and accounts read from
identity every GATEWAY_REVOCATION_POLL_SECONDS (2; ``gateway.revocations``); GATEWAY_REUSE_PORT (off; ``on``: the
public HTTP port is bound with SO_REUSEPORT, so several gateways on one machine share it and the kernel spreads the
connections; gRPC's port always is, by grpc's own default on Linux).
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
DEFAULT_ADMIN_PORT = 8081


def optional_port(value: str) -> int | None:
    """A port setting: a number (0: any free port), or empty / ``off`` for no listener."""
    value = value.strip().lower()
    return None if value in ("", "off", "none") else int(value)


def main() -> int:
    from gateway.request_ids import log_request_ids
    logging.basicConfig(stream=sys.stderr, level=env("LOG_LEVEL", "INFO").upper(),
                        format="%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s")
    log_request_ids()                               # every line a request causes names its id
    build_protos.build()

    from gateway.event_loop import event_loop_kind
    from servicekit.process.config import ConfigError, check_amqp_settings
    try:
        event_loop_kind()                           # refused before anything starts
        check_amqp_settings()                       # no guest on a remote broker, TLS files that load
    except ConfigError as error:
        log.error("%s", error)
        return 2

    from gateway.backend import NamekoBackend
    from gateway.batching import Batcher
    from gateway.dispatch import Dispatcher
    from gateway.server import GatewayServer
    from gateway.http.tls import context_from_env, grpc_credentials_from_env
    from servicekit.process.collector import settle_after_start, young_threshold
    from gateway.revocations import RevocationPoller
    from gateway.health import GatewayHealth
    from servicekit.process.health import BrokerProbe
    from servicekit.security.revocations import RevocationList
    from servicekit.security.tokens import CachingTokenVerifier

    from servicekit.security.proofs import use_principal
    try:
        use_principal("gateway", load=True)         # every call it makes carries the gateway's proof
    except RuntimeError as error:
        log.error("%s", error)
        return 2
    young_threshold()                               # GC_YOUNG_THRESHOLD, before anything starts
    from gateway.backend import ServiceBulkheads
    http_threads, grpc_workers = int(env("GATEWAY_HTTP_THREADS", "32")), int(env("GATEWAY_GRPC_WORKERS", "128"))
    try:
        bulkheads = ServiceBulkheads.from_env({"http": http_threads, "grpc": grpc_workers})
    except ConfigError as error:
        log.error("%s", error)
        return 2
    backend = NamekoBackend(bulkheads=bulkheads)
    batcher = Batcher.from_env(backend)
    revocations = RevocationList()
    poller = RevocationPoller(backend, revocations).start()     # its first round at once, on its own thread
    # readiness: the broker as its RPC proxies reach it; identity's answers to the poller, reported
    health = GatewayHealth(BrokerProbe(backend.config["AMQP_URI"], backend.config.get("AMQP_SSL")), poller)
    server = GatewayServer(Dispatcher(backend, CachingTokenVerifier(revocations=revocations), batcher=batcher),
                           host=env("GATEWAY_HOST", "127.0.0.1"),
                           http_port=int(env("GATEWAY_HTTP_PORT", "8080")),
                           grpc_port=int(env("GATEWAY_GRPC_PORT", "50051")),
                           http_threads=http_threads, grpc_workers=grpc_workers,
                           ssl_context=context_from_env(), grpc_credentials=grpc_credentials_from_env(),
                           admin_host=env("GATEWAY_ADMIN_HOST", "127.0.0.1"),
                           admin_port=optional_port(env("GATEWAY_ADMIN_PORT", str(DEFAULT_ADMIN_PORT))),
                           admin_grpc_port=optional_port(env("GATEWAY_ADMIN_GRPC_PORT", "off")), health=health,
                           reuse_port=env("GATEWAY_REUSE_PORT", "off").lower() in ("on", "1", "true"))
    health.server = server
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    server.start()
    settle_after_start("gateway")
    stopping.wait()
    log.info("gateway stopping")
    server.stop()
    poller.stop()
    if batcher is not None:
        batcher.close()
    backend.close()
    log.info("gateway stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
