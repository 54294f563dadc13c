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

# where a batched request's time goes (gateway.batching): waiting for its batch to be sent, the batch's round trip
# to the service and back, and the loop that hands the answers out
BATCH_WAIT = Histogram("gateway_batch_wait_seconds", "How long the oldest request of a batch waited before the "
                       "batch was sent (to fill it, or for a free sender).", ("operation",),
                       buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5))
BATCH_SECONDS = Histogram("gateway_batch_seconds", "Round trip of one batch call, from its sender thread: the "
                          "request through the broker, the service's work, the reply.", ("operation",),
                          buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30))
BATCH_SIZE = Histogram("gateway_batch_size", "Requests per batch call.", ("operation",),
                       buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512))
SHED = Counter("gateway_shed_total", "Requests refused at once, 503 with a Retry-After, because the gateway's "
               "queue for their operation was full (reason queue_full; gateway.batching) or the threads that may wait on its "
               "service were all waiting (reason service_busy; gateway.backend).", ("operation", "reason"))
LOOP_LAG = Histogram("gateway_event_loop_lag_seconds", "How late the gateway's event loop ran a timer due every "
                     "100 ms: the time a callback waited for the loop (every request's parsing and answer is on it).",
                     buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1))


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
