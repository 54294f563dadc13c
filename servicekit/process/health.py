"""Liveness and readiness of a service process, served beside /metrics on METRICS_PORT.

``/livez``: 200 while the process and its nameko container are alive; 503 once the container has died or stopped
(the runner then exits non-zero, so that bin/run or Kubernetes starts it again). ``/readyz``: 200 when the
container runs, its broker connection is up and its store answers a ping; otherwise 503, the body naming what is
not ready::

    {"status": "not ready", "not_ready": ["store"],
     "checks": {"container": "running", "broker": "connected", "store": "no answer within 1.0 s: ..."}}

The runner (``servicekit.process.runner``) watches its containers here before starting them. Each check is
bounded: the store's ping and a broker handshake give up after ``HEALTH_CHECK_TIMEOUT_SECONDS`` (1 s).
"""
from __future__ import annotations

import json
import os
import threading
import time
from typing import Callable

from servicekit.process.config import env

LIVE, READY = "/livez", "/readyz"
EXIT_CONTAINER_DIED = 3             # the runner's exit code when its container died or stopped by itself
JSON_TYPE = "application/json"
BROKER_PROBE_KEPT_SECONDS = 5.0      # a broker handshake's answer is reused this long: probes stay cheap


def check_timeout() -> float:
    return float(env("HEALTH_CHECK_TIMEOUT_SECONDS", "1"))


Check = Callable[[], tuple[bool, str]]      # () -> (ok, what it found)


class Health:
    """The process's containers and the checks of its readiness."""

    def __init__(self):
        self.containers: list = []
        self.started = False            # the runner's start() has returned
        self.stopping = False           # SIGTERM: finishing what runs, taking nothing new
        self.checks: dict[str, Check] = {}
        self._connections: dict[int, object] = {}   # id(QueueConsumer) -> its live kombu connection

    # ------------------------------------------------------------------ set-up
    def watch(self, containers) -> "Health":
        """Watch these (not yet started) containers: their state and their consumers' broker connections; add the
        store's ping when MONGO_URI is set."""
        from nameko.messaging import QueueConsumer

        for container in containers:
            self.containers.append(container)
            for extension in container.subextensions:
                if isinstance(extension, QueueConsumer):
                    self._track(extension)
        self.checks.setdefault("container", self.container_check)
        if self._connections:
            self.checks["broker"] = self.broker_check
        elif self.containers:           # consumes through connections of its own (a batch consumer): a handshake
            config = self.containers[0].config
            self.checks.setdefault("broker", BrokerProbe(config["AMQP_URI"], config.get("AMQP_SSL")))
        if os.environ.get("MONGO_URI") and "store" not in self.checks:
            self.checks["store"] = StorePing(os.environ["MONGO_URI"])
        return self

    def _track(self, consumer) -> None:
        """Remember the connection a consumer consumes on: kombu's ConsumerMixin opens a new one at every
        reconnection and keeps it in a local variable only; ``on_consume_ready`` is handed each."""
        original = consumer.on_consume_ready

        def on_consume_ready(connection, channel, consumers, **kwargs):
            self._connections[id(consumer)] = connection
            return original(connection, channel, consumers, **kwargs)

        consumer.on_consume_ready = on_consume_ready
        self._connections.setdefault(id(consumer), None)

    # ------------------------------------------------------------------ checks
    def container_state(self) -> tuple[str, str]:
        """``(state, detail)``: ``starting``, ``running``, ``stopping`` or ``dead`` (the worst of the containers)."""
        for container in self.containers:
            died = container._died          # nameko's own event: sent when the container stopped or was killed
            if died.ready() or getattr(container, "_being_killed", False):
                return "dead", f"{container.service_name}: {_death_of(container)}"
        if self.stopping:
            return "stopping", "stopping on a signal"
        if not self.started:
            return "starting", "starting"
        return "running", "running"

    def container_check(self) -> tuple[bool, str]:
        state, detail = self.container_state()
        return state == "running", detail

    def broker_check(self) -> tuple[bool, str]:
        """Every nameko consumer of the containers has a live connection (nameko reconnects by itself; meanwhile
        the process is not ready)."""
        down = sum(1 for connection in self._connections.values() if not _connected(connection))
        if down:
            return False, f"{down} of {len(self._connections)} consumer connection(s) down (reconnecting)"
        return True, "connected"

    def live(self) -> tuple[int, dict]:
        state, detail = self.container_state()
        if state == "dead":
            return 503, {"status": "dead", "container": detail}
        return 200, {"status": "ok", "container": state}

    def ready(self) -> tuple[int, dict]:
        results = {name: _run(check) for name, check in self.checks.items()}
        not_ready = [name for name, (ok, _) in results.items() if not ok]
        body = {"status": "not ready" if not_ready else "ready", "checks": {name: detail for name, (_, detail)
                                                                           in results.items()}}
        if not_ready:
            body["not_ready"] = not_ready
        return (503 if not_ready else 200), body

    # ------------------------------------------------------------------ HTTP
    def wsgi(self, fallback) -> Callable:
        """A WSGI app answering /livez and /readyz, everything else by ``fallback`` (the metrics)."""
        def app(environ, start_response):
            path = environ.get("PATH_INFO", "")
            if path not in (LIVE, READY):
                return fallback(environ, start_response)
            status, body = self.live() if path == LIVE else self.ready()
            payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
            start_response(f"{status} {'OK' if status == 200 else 'Service Unavailable'}",
                           [("Content-Type", JSON_TYPE), ("Content-Length", str(len(payload))),
                            ("Cache-Control", "no-store")])
            return [payload] if environ.get("REQUEST_METHOD") != "HEAD" else [b""]
        return app


def _run(check: Check) -> tuple[bool, str]:
    try:
        return check()
    except Exception as error:  # noqa: BLE001  a check that fails is a check not passed, with its reason
        return False, f"{type(error).__name__}: {error}"


def _connected(connection) -> bool:
    try:
        return connection is not None and bool(connection.connected)
    except Exception:  # noqa: BLE001  a connection torn down while asked
        return False


def _death_of(container) -> str:
    """Why a dead container died: its exception, or ``stopped``."""
    died = container._died
    if not died.ready():
        return "being killed"
    try:
        died.wait()
    except Exception as error:  # noqa: BLE001  the exception it died of
        return f"died: {type(error).__name__}: {error}"
    return "stopped"


class StorePing:
    """``ping`` on the store at ``uri`` through a client of its own with short timeouts: the services' shared
    client waits 10 s to select a server, far longer than a probe may take."""

    def __init__(self, uri: str, timeout: float | None = None):
        self.uri, self.timeout = uri, timeout if timeout is not None else check_timeout()
        self._client = None
        self._lock = threading.Lock()

    def client(self):
        with self._lock:
            if self._client is None:
                import pymongo

                ms = int(self.timeout * 1000)
                self._client = pymongo.MongoClient(self.uri, connect=False, serverSelectionTimeoutMS=ms,
                                                   connectTimeoutMS=ms, socketTimeoutMS=ms, maxPoolSize=2)
            return self._client

    def __call__(self) -> tuple[bool, str]:
        from pymongo.errors import PyMongoError

        started = time.perf_counter()
        try:
            self.client().admin.command("ping")
        except PyMongoError as error:
            return False, f"no answer within {self.timeout:.1f} s: {str(error).splitlines()[0][:200]}"
        return True, f"ok ({(time.perf_counter() - started) * 1000:.0f} ms)"


class BrokerProbe:
    """An AMQP handshake with the broker (the caller's URI and TLS options), its answer kept
    ``BROKER_PROBE_KEPT_SECONDS``: for a process that holds no consuming connection of its own to look at."""

    def __init__(self, uri: str, ssl_options=None, timeout: float | None = None,
                 kept: float = BROKER_PROBE_KEPT_SECONDS, clock=time.monotonic):
        self.uri, self.ssl_options = uri, ssl_options
        self.timeout = timeout if timeout is not None else check_timeout()
        self.kept, self.clock = kept, clock
        self._answer: tuple[float, tuple[bool, str]] | None = None
        self._lock = threading.Lock()

    def __call__(self) -> tuple[bool, str]:
        with self._lock:        # concurrent probes share one handshake
            if self._answer is not None and self.clock() - self._answer[0] < self.kept:
                return self._answer[1]
            answer = self._handshake()
            self._answer = (self.clock(), answer)
            return answer

    def _handshake(self) -> tuple[bool, str]:
        from servicekit.process.config import amqp_connection

        try:
            with amqp_connection(self.uri, self.ssl_options, connect_timeout=self.timeout) as connection:
                connection.ensure_connection(max_retries=0)     # one attempt: TCP, TLS and login, each bounded
        except Exception as error:  # noqa: BLE001  refused, timed out, login refused: all unreachable
            return False, f"unreachable: {type(error).__name__}: {str(error)[:200]}"
        return True, "reachable"


HEALTH = Health()           # the process's one: the runner watches its containers, the metrics server answers
