"""Whether other instances of a service are running: the consumers of its nameko RPC queue.

Every instance of a nameko service consumes the shared ``rpc-<service>`` queue, so the broker's
consumer count on it is the number of instances alive. A cache that exists only to see what other
instances wrote (the scan desk's device book) can skip re-reading the store while its process is
the only one. ``refresh()`` asks the broker at most every ``interval`` seconds (from a timer, never on a
request's path: it opens a connection); ``others_running()`` only reads the last answer. Until the first
answer, and when the broker cannot say, the answer is "yes, others may be running", which keeps the
re-reads.
"""
from __future__ import annotations

import logging
import time

from servicekit.process.config import AMQP_SSL_FROM_ENV, amqp_connection

log = logging.getLogger(__name__)


class ServicePeers:
    def __init__(self, amqp_uri: str, service_name: str, interval: float = 30.0, ssl_options=AMQP_SSL_FROM_ENV):
        self.uri, self.queue, self.interval = amqp_uri, f"rpc-{service_name}", interval
        self.ssl_options = ssl_options      # as nameko's AMQP_SSL (config.amqp_ssl); the environment's by default
        self._others = True
        self._asked_at = float("-inf")

    def others_running(self) -> bool:
        return self._others

    def refresh(self) -> bool:
        if time.monotonic() - self._asked_at >= self.interval:
            self._asked_at = time.monotonic()
            self._others = self._ask()
        return self._others

    def _ask(self) -> bool:
        try:
            with amqp_connection(self.uri, self.ssl_options, connect_timeout=2) as connection:
                _, _, consumers = connection.default_channel.queue_declare(queue=self.queue, passive=True)
            return consumers != 1
        except Exception:  # noqa: BLE001  no answer: assume others may be writing
            log.warning("cannot count the consumers of %s; assuming other instances run", self.queue, exc_info=True)
            return True
