"""The gateway's one asyncio loop, on a thread of its own.

The gRPC edge (``grpc.aio``) and the scan batches both run on it, so a request waiting for its
batch's answer is a future on the same loop: no thread wakes for it. Blocking work (every nameko
RPC, every operation that is not batched) goes to thread pools.
One loop per process: grpc.aio shares one completion queue among loops, and several loops in
several threads wake each other for nothing (grpc/grpc#25364), so every server and batcher of
a process uses ``shared_loop()``.
"""
from __future__ import annotations

import asyncio
import threading
from typing import Awaitable, Callable, TypeVar

from servicekit.process.config import ConfigError, env

T = TypeVar("T")

_shared: "LoopThread | None" = None
_shared_lock = threading.Lock()


EVENT_LOOPS = ("asyncio", "uvloop")


def event_loop_kind(value: str | None = None) -> str:
    """Which loop implementation the gateway runs: ``value``, else ``GATEWAY_EVENT_LOOP``; ``uvloop`` (the
    default: libuv, what keeps uvicorn level with a hand-written server, docs/performance.md) or ``asyncio``."""
    raw = env("GATEWAY_EVENT_LOOP", "uvloop") if value is None else value
    kind = (raw or "uvloop").strip().lower()
    if kind not in EVENT_LOOPS:
        raise ConfigError(f"GATEWAY_EVENT_LOOP must be one of {', '.join(EVENT_LOOPS)}, not {raw!r}")
    return kind


def new_event_loop(kind: str | None = None) -> asyncio.AbstractEventLoop:
    if event_loop_kind(kind) == "uvloop":
        import uvloop
        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


class LoopThread:
    def __init__(self, name: str = "gateway-loop", kind: str | None = None,
                 loop: asyncio.AbstractEventLoop | None = None):
        self.loop = loop if loop is not None else new_event_loop(kind)       # ``loop``: a test's, with its own clock
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._lag_watched = False

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, awaitable: Awaitable[T], timeout: float | None = None) -> T:
        """Run a coroutine on the loop from another thread and return its result."""
        if self.on_loop():
            raise RuntimeError("LoopThread.run called from its own loop (it would wait for itself)")
        return asyncio.run_coroutine_threadsafe(awaitable, self.loop).result(timeout)

    def on_loop(self) -> bool:
        return threading.current_thread() is self._thread

    def watch_lag(self, observe: Callable[[float], None], every: float = 0.1) -> None:
        """Call ``observe`` with how late the loop ran a timer due every ``every`` seconds: the time any callback
        waits for the loop (a long callback, the collector, the GIL held by another thread). Once per loop."""
        if self._lag_watched:
            return
        self._lag_watched = True

        def probe(due: float) -> None:
            now = self.loop.time()
            observe(max(0.0, now - due))
            self.loop.call_at(now + every, probe, now + every)

        self.loop.call_soon_threadsafe(lambda: probe(self.loop.time()))


def shared_loop() -> LoopThread:
    """The process's gateway loop, started on first use (a daemon thread: it ends with the process)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = LoopThread()
        return _shared
