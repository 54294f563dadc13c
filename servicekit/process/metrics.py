"""Prometheus metrics every service process serves on METRICS_PORT.

``Metrics`` is a nameko dependency: add ``metrics = Metrics()`` to a service and
each entrypoint call is timed by operation and outcome without further code.
"""
from __future__ import annotations

import gc
import threading
import time
from wsgiref.simple_server import make_server

from nameko.extensions import DependencyProvider
from prometheus_client import REGISTRY, Counter, Gauge, Histogram, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer, _get_best_family, _SilentHandler

from servicekit.process.config import env
from servicekit.process.health import HEALTH
from servicekit.errors import ServiceError

RPC_SECONDS = Histogram("service_rpc_seconds", "Time to answer an RPC or handle an event, by operation and outcome",
                        ["service", "operation", "outcome"],
                        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120))
EVENTS_PUBLISHED = Counter("events_published_total", "Events published to the broker with a confirm",
                           ["service", "event_type"])
EVENTS_CONSUMED = Counter("events_consumed_total", "Events received, by outcome (handled, duplicate, failed, refused)",
                          ["service", "event_type", "outcome"])
OUTBOX_BACKLOG = Gauge("outbox_backlog", "Outbox entries not yet published", ["service"])
OUTBOX_OLDEST_AGE = Gauge("outbox_oldest_age_seconds", "Age of the oldest unpublished outbox entry", ["service"])
EVENTS_UNROUTABLE = Counter("events_unroutable_total", "Events the broker returned unroutable (no queue bound) though "
                            "a consumer subscribes to them; kept in the outbox and published again",
                            ["service", "event_type"])
OUTBOX_UNROUTABLE = Gauge("outbox_unroutable_entries", "Outbox entries waiting for a queue to be bound", ["service"])

COLLECTOR_PAUSE = Histogram("process_gc_pause_seconds", "Time each run of Python's cyclic garbage collector held "
                            "the process (every thread waits), by generation.", ["generation"],
                            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1))

# The samples a family's name stands for, by type (prometheus_client's own table): ``?name[]=`` filters samples
SAMPLE_SUFFIXES = ("_total", "_created", "_bucket", "_sum", "_count", "_gsum", "_gcount", "_info")


def sample_names(names) -> set[str]:
    """The sample names ``?name[]=`` asks for: each name as given (a sample's, such as ``x_count``) and, for a family's
    name (``gateway_request_seconds``), every sample of that family. prometheus_client filters by sample name only,
    so a family's name alone answered an empty page."""
    names = set(names)
    return names | {name + suffix for name in names for suffix in SAMPLE_SUFFIXES}


class FamilyNames:
    """The default registry as prometheus_client's server reads it, its ``?name[]=`` also taking families' names."""

    def __init__(self, registry=REGISTRY):
        self.registry = registry

    def collect(self):
        return self.registry.collect()

    def restricted_registry(self, names):
        return self.registry.restricted_registry(sample_names(names))


_server_lock = threading.Lock()
_server_started = False
_callbacks_lock = threading.Lock()


def serve_metrics(port: int | None = None) -> None:
    """Start the HTTP endpoint once per process (METRICS_PORT; 0 or unset: none): /metrics, and the process's
    /livez and /readyz (``servicekit.process.health``)."""
    global _server_started
    port = port if port is not None else int(env("METRICS_PORT", "0"))
    with _server_lock:
        if port and not _server_started:
            start_server(port, env("METRICS_HOST", "127.0.0.1"), HEALTH.wsgi(make_wsgi_app(FamilyNames())))
            _server_started = True
    if port:
        watch_collector_pauses()


def start_server(port: int, host: str, app) -> None:
    """prometheus_client's ``start_http_server`` serving ``app`` (its metrics app wrapped) on a daemon thread."""
    class Server(ThreadingWSGIServer):
        pass

    Server.address_family, host = _get_best_family(host, port)
    server = make_server(host, port, app, Server, handler_class=_SilentHandler)
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()


def watch_collector_pauses() -> None:
    """Time every run of the cyclic collector into ``process_gc_pause_seconds`` (once per process). CPython starts
    no collection while one runs, its callbacks included, so one start time serves every thread. A generation 0 run
    takes microseconds, a full one over a large heap tens of milliseconds in which no thread of the process moves
    (docs/performance.md#how-to-measure)."""
    with _callbacks_lock:
        if _time_collection in gc.callbacks:
            return
        gc.callbacks.append(_time_collection)


_pause_series = [COLLECTOR_PAUSE.labels(str(generation)) for generation in range(3)]
_collection_started = [0.0]


def _time_collection(phase: str, info: dict) -> None:
    if phase == "start":
        _collection_started[0] = time.perf_counter()
    else:
        _pause_series[info["generation"]].observe(time.perf_counter() - _collection_started[0])


def outcome_of(exc: BaseException | None) -> str:
    if exc is None:
        return "ok"
    if isinstance(exc, ServiceError):
        return exc.kind.lower()
    return "error"


class Metrics(DependencyProvider):
    def __init__(self):
        self._started: dict = {}

    def setup(self):
        serve_metrics()

    def worker_setup(self, worker_ctx):
        self._started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self._started.pop(worker_ctx, None)
        if started is None:
            return
        outcome = outcome_of(exc_info[1] if exc_info else None)
        RPC_SECONDS.labels(self.container.service_name, worker_ctx.entrypoint.method_name,
                           outcome).observe(time.perf_counter() - started)
