"""The real backend: nameko RPC through one standalone ClusterRpcProxy per thread.

The gateway is a plain-threads process (grpcio does not run under eventlet), so each
HTTP or gRPC worker thread lazily starts its own proxy and keeps it. A proxy whose
broker connection failed is dropped and started afresh on the thread's next call.
"""
from __future__ import annotations

import logging
import threading

from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu.exceptions import OperationalError

from gateway import timeouts
from gateway.errors import GatewayError
from gateway.timeouts import rpc_timeout
from servicekit.process.config import nameko_config
from servicekit.messaging.kombu_fixes import skip_missing_librabbitmq
from servicekit.messaging.signed_calls import sign_outgoing_calls
from servicekit.messaging.standalone_rpc import named_cluster_rpc_proxy

skip_missing_librabbitmq()
sign_outgoing_calls()       # each call carries the gateway's proof, which the services check
# its reply queues are rpc.reply-gateway-<uuid>, which only the gateway's broker user may read
ClusterRpcProxy = named_cluster_rpc_proxy("gateway")

log = logging.getLogger(__name__)

BROKER_ERRORS = (OSError, OperationalError, AmqpConnectionError)


class NamekoBackend:
    def __init__(self, config: dict | None = None, timeout: float | None = None,
                 long_calls: dict[tuple[str, str], float] | None = None):
        self.config = config or nameko_config()
        self.timeout = timeout if timeout is not None else rpc_timeout()
        # the few calls that may wait longer (imports, exports: gateway.timeouts), by (service, method)
        self.long_calls = dict(timeouts.long_calls() if long_calls is None else long_calls)
        self._local = threading.local()
        self._proxies: set[ClusterRpcProxy] = set()
        self._lock = threading.Lock()

    def call(self, service: str, method: str, **kwargs):
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
        except BROKER_ERRORS as exc:
            log.warning("broker connection failed calling %s.%s: %s", service, method, exc)
            self._discard()
            raise GatewayError("UNAVAILABLE", "BROKER_UNAVAILABLE", "the message broker is unreachable") from None

    def _cluster(self):
        cluster = getattr(self._local, "cluster", None)
        if cluster is None:
            proxy = ClusterRpcProxy(self.config, timeout=self.timeout)
            try:
                cluster = proxy.start()
            except BROKER_ERRORS as exc:
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
