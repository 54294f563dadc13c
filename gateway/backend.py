"""The real backend: nameko RPC through one standalone ClusterRpcProxy per thread.

The gateway is a plain-threads process (grpcio does not run under eventlet), so each
HTTP or gRPC worker thread lazily starts its own proxy and keeps it. A proxy whose
broker connection failed is dropped and started afresh on the thread's next call.

A bulkhead per service and thread pool (``ServiceBulkheads``) keeps one stalled service from holding every thread:
at most ``GATEWAY_SERVICE_SHARE`` (half) of the HTTP threads, and of the gRPC ones, wait on one service at once; a
call beyond that waits ``GATEWAY_SERVICE_BUSY_WAIT_SECONDS`` (1 s) for a place, then is answered 503
``SERVICE_BUSY`` with a Retry-After, and the other services' calls keep their threads.
"""
from __future__ import annotations

import logging
import threading

from gateway import metrics, timeouts
from gateway.errors import GatewayError
from gateway.timeouts import rpc_timeout
from servicekit.errors import Unavailable
from servicekit.messaging.broker_errors import BROKER_GONE
from servicekit.messaging.peer_calls import Bulkhead
from servicekit.process.config import ConfigError, env, nameko_config
from servicekit.messaging.kombu_fixes import skip_missing_librabbitmq
from servicekit.messaging.signed_calls import sign_outgoing_calls
from servicekit.messaging.standalone_rpc import named_cluster_rpc_proxy

skip_missing_librabbitmq()
sign_outgoing_calls()       # each call carries the gateway's proof, which the services check
# its reply queues are rpc.reply-gateway-<uuid>, which only the gateway's broker user may read
ClusterRpcProxy = named_cluster_rpc_proxy("gateway")

log = logging.getLogger(__name__)

BUSY_RETRY_AFTER_SECONDS = 1


class ServiceBulkheads:
    """At most ``share`` of each pool's threads (``{pool name: size}``; a thread's pool is its name's prefix, as
    ``ThreadPoolExecutor(thread_name_prefix=...)`` names it) waiting on one service at once. Threads of no pool
    named here (the batch senders, which the batcher bounds itself) pass freely."""

    def __init__(self, pools: dict[str, int], share: float = 0.5, wait: float = 1.0):
        self.limits = {pool: max(1, int(size * share)) for pool, size in pools.items() if size > 0}
        self.wait = wait
        self._heads: dict[tuple[str, str], Bulkhead] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, pools: dict[str, int]) -> "ServiceBulkheads":
        raw_share, raw_wait = env("GATEWAY_SERVICE_SHARE", "0.5"), env("GATEWAY_SERVICE_BUSY_WAIT_SECONDS", "1")
        try:
            share, wait = float(raw_share), float(raw_wait)
        except ValueError:
            share = wait = -1.0
        if not 0 < share <= 1 or wait < 0:
            raise ConfigError(f"GATEWAY_SERVICE_SHARE must be above 0 and at most 1 ({raw_share!r}) and "
                              f"GATEWAY_SERVICE_BUSY_WAIT_SECONDS 0 or more ({raw_wait!r})")
        return cls(pools, share, wait)

    def bulkhead(self, service: str) -> Bulkhead | None:
        """The bulkhead of ``service`` for the calling thread's pool (None: a thread of no pool named)."""
        return self.bulkhead_of(service, threading.current_thread().name.partition("_")[0])

    def bulkhead_of(self, service: str, pool: str) -> Bulkhead | None:
        limit = self.limits.get(pool)
        if limit is None:
            return None
        key = (service, pool)
        head = self._heads.get(key)
        if head is None:
            with self._lock:
                head = self._heads.setdefault(key, Bulkhead(service, limit, self.wait))
        return head


class NamekoBackend:
    def __init__(self, config: dict | None = None, timeout: float | None = None,
                 long_calls: dict[tuple[str, str], float] | None = None, bulkheads: ServiceBulkheads | None = None):
        self.config = config or nameko_config()
        self.bulkheads = bulkheads
        self.timeout = timeout if timeout is not None else rpc_timeout()
        # the few calls that may wait longer (imports, exports: gateway.timeouts), by (service, method)
        self.long_calls = dict(timeouts.long_calls() if long_calls is None else long_calls)
        self._local = threading.local()
        self._proxies: set[ClusterRpcProxy] = set()
        self._lock = threading.Lock()

    def call(self, service: str, method: str, **kwargs):
        bulkhead = self.bulkheads.bulkhead(service) if self.bulkheads is not None else None
        if bulkhead is None:
            return self._call(service, method, kwargs)
        holder = threading.get_ident()
        try:
            bulkhead.enter(holder)
        except Unavailable:
            metrics.SHED.labels(f"{service}.{method}", "service_busy").inc()
            raise GatewayError("UNAVAILABLE", "SERVICE_BUSY",
                               f"too many requests are waiting on the {service} service; try again shortly",
                               details=[{"service": service, "concurrency": bulkhead.limit,
                                         "retry_after_seconds": BUSY_RETRY_AFTER_SECONDS}]) from None
        try:
            return self._call(service, method, kwargs)
        finally:
            bulkhead.leave(holder)

    def _call(self, service: str, method: str, kwargs: dict):
        cluster = self._cluster()
        longer = self.long_calls.get((service, method))
        try:
            if longer is None:
                return getattr(getattr(cluster, service), method)(**kwargs)
            # the thread's own proxy: its reply consumer's timeout is set for this one call
            consumer = self._local.proxy._reply_listener.queue_consumer
            consumer.timeout = longer
            try:
                return getattr(getattr(cluster, service), method)(**kwargs)
            finally:
                consumer.timeout = self.timeout
        except BROKER_GONE as exc:
            log.warning("broker connection failed calling %s.%s: %s", service, method, exc)
            self._discard()
            raise GatewayError("UNAVAILABLE", "BROKER_UNAVAILABLE", "the message broker is unreachable") from None

    def _cluster(self):
        cluster = getattr(self._local, "cluster", None)
        if cluster is None:
            proxy = ClusterRpcProxy(self.config, timeout=self.timeout)
            try:
                cluster = proxy.start()
            except BROKER_GONE as exc:
                log.warning("cannot reach the message broker: %s", exc)
                raise GatewayError("UNAVAILABLE", "BROKER_UNAVAILABLE",
                                   "the message broker is unreachable") from None
            self._local.proxy, self._local.cluster = proxy, cluster
            with self._lock:
                self._proxies.add(proxy)
        return cluster

    def _discard(self) -> None:
        proxy = getattr(self._local, "proxy", None)
        self._local.proxy = self._local.cluster = None
        if proxy is not None:
            with self._lock:
                self._proxies.discard(proxy)
            self._stop(proxy)

    @staticmethod
    def _stop(proxy: ClusterRpcProxy) -> None:
        try:
            proxy.stop()
        except Exception:  # a dead connection may fail to close; it is being dropped anyway
            log.debug("error stopping an rpc proxy", exc_info=True)

    def close(self) -> None:
        """Stop every thread's proxy (at shutdown, once no request is in flight)."""
        with self._lock:
            proxies, self._proxies = list(self._proxies), set()
        for proxy in proxies:
            self._stop(proxy)
