"""Request metrics in the process's default prometheus registry."""
from __future__ import annotations

import time
from contextlib import contextmanager

from prometheus_client import Counter, Gauge, Histogram

from gateway.errors import describe

LABELS = ("protocol", "operation", "outcome")
UNROUTED = "unrouted"

REQUESTS = Counter("gateway_requests_total", "Requests answered, by protocol, operation and outcome "
                   "(ok or the error kind).", LABELS)
LATENCY = Histogram("gateway_request_seconds", "Time to answer a request.", LABELS,
                    buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60))
IN_FLIGHT = Gauge("gateway_requests_in_flight", "Requests being answered now.", ("protocol",))


class Outcome:
    def __init__(self):
        self.value = "ok"


@contextmanager
def track(protocol: str, operation: str):
    """Count and time one request; the body sets ``outcome.value`` to an error kind when it answers with one."""
    outcome = Outcome()
    started = time.perf_counter()
    IN_FLIGHT.labels(protocol).inc()
    try:
        yield outcome
    except BaseException as exc:
        outcome.value = describe(exc).kind if isinstance(exc, Exception) else "INTERNAL"
        raise
    finally:
        IN_FLIGHT.labels(protocol).dec()
        REQUESTS.labels(protocol, operation, outcome.value).inc()
        LATENCY.labels(protocol, operation, outcome.value).observe(time.perf_counter() - started)
