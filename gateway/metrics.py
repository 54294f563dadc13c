"""Request metrics in the process's default prometheus registry."""
from __future__ import annotations

import functools
import time

from prometheus_client import Counter, Gauge, Histogram

from gateway.errors import describe

LABELS = ("protocol", "operation", "outcome")
UNROUTED = "unrouted"

REQUESTS = Counter("gateway_requests_total", "Requests answered, by protocol, operation and outcome "
                   "(ok or the error kind).", LABELS)
LATENCY = Histogram("gateway_request_seconds", "Time to answer a request.", LABELS,
                    buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60))
IN_FLIGHT = Gauge("gateway_requests_in_flight", "Requests being answered now.", ("protocol",))


class track:
    """Count and time one request: ``with track(protocol, operation) as outcome:``; the body sets
    ``outcome.value`` to an error kind when it answers with one. The labelled series are looked up
    once per label set (``labels()`` takes a lock and builds a key on every call)."""

    __slots__ = ("protocol", "operation", "value", "started")
    _series: dict[tuple[str, str, str], tuple] = {}

    def __init__(self, protocol: str, operation: str):
        self.protocol, self.operation, self.value = protocol, operation, "ok"

    def __enter__(self) -> "track":
        self.started = time.perf_counter()
        _in_flight(self.protocol).inc()
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc is not None:
            self.value = describe(exc).kind if isinstance(exc, Exception) else "INTERNAL"
        _in_flight(self.protocol).dec()
        key = (self.protocol, self.operation, self.value)
        series = self._series.get(key)
        if series is None:
            series = self._series.setdefault(key, (REQUESTS.labels(*key), LATENCY.labels(*key)))
        series[0].inc()
        series[1].observe(time.perf_counter() - self.started)


@functools.cache
def _in_flight(protocol: str):
    return IN_FLIGHT.labels(protocol)
