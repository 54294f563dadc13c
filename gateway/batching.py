"""Micro-batching: requests of a batchable operation that arrive together travel as one RPC.

A member's scan is one small request; thousands arrive within seconds at the start and the
end of a themed day. Each request adds its keyword arguments and a future to the pending group
of its operation, on the gateway's event loop (``gateway.event_loop``). A group is due when it holds
``fill`` requests (32) or its oldest request has waited ``max_wait`` (40 ms), and a due group is sent,
up to ``max_batch`` (256) at a time, by one of ``senders`` threads, which makes one call of the
operation's batch method with every request's keyword arguments, its caller's scope included. While
every sender is busy the groups keep growing; a sender that finishes takes the oldest group once it
is due, not before. A call costs the gateway, the broker, the attendance service and its store about as
much as a dozen scans do (its messages, the transaction, the outbox entry), so the size of a batch is
most of what a scan costs while the load is moderate: sent 4 ms after their first request, or as soon as
the sender was free, the batches at a 900-branch sign-out held 6.7 scans and a sign-out cost the platform
2.8 ms of CPU; held to 32 or 40 ms they held 18 and it cost 2.0 ms (README, session 15). The price is
latency where there is CPU to spare: a lone scan waits up to 40 ms more. One sender by default, for one
attendance process (the embedded deployment): with two, two batches shared that process and its store,
each was smaller and took longer, and at a city's sign-out peak the scans cost 5 % more CPU and the
branch scores fell further behind (README, sessions 10-11); give a gateway as many senders as the
attendance instances it shares with the other gateways can take at once. The service answers each item
on its own (``{"result": ...}`` or ``{"error": ...}``), so one bad scan never fails another.

gRPC and HTTP requests, on the loop already (``gateway.grpc_server``, ``gateway.http_server``),
``await submit(...)``; a caller on another thread uses ``call(...)``. A request waits on a future of
the loop, not on a thread of its own: with
hundreds of scans in flight, the thread hand-offs of the earlier queue-and-lock design cost
the gateway more CPU than the gRPC machinery itself (0.49 against 0.28 ms per scan, measured).
The batch call's own timeout (the nameko proxy's) bounds every wait. This is transport, not
business: every rule stays in the service.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from servicekit.process.config import env, switched_off
from servicekit.errors import error_from_dict

from gateway import metrics
from gateway.event_loop import LoopThread, shared_loop

log = logging.getLogger(__name__)

DEFAULT_WAIT_MS = 40
DEFAULT_FILL = 32


class Batcher:
    def __init__(self, backend, max_batch: int = 256, max_wait: float = DEFAULT_WAIT_MS / 1000, senders: int = 1,
                 answer_timeout: float = 60.0, loop: LoopThread | None = None, fill: int = DEFAULT_FILL):
        self.backend = backend
        self.max_batch, self.max_wait, self.senders = max_batch, max_wait, senders
        self.fill = min(fill, max_batch)
        self.answer_timeout = answer_timeout
        self.loop_thread = loop or shared_loop()
        self._pool = ThreadPoolExecutor(max_workers=senders, thread_name_prefix="batch-sender")
        # touched on the loop only: each group's requests, and the loop time its oldest request arrived
        self._pending: dict[tuple[str, str], list[tuple[dict, asyncio.Future]]] = {}
        self._first_at: dict[tuple[str, str], float] = {}
        self._busy = 0
        self._timer: asyncio.TimerHandle | None = None

    @classmethod
    def from_env(cls, backend) -> "Batcher | None":
        if switched_off("GATEWAY_SCAN_BATCH"):
            return None
        return cls(backend, max_batch=int(env("GATEWAY_BATCH_MAX", "256")),
                   max_wait=float(env("GATEWAY_BATCH_WAIT_MS", str(DEFAULT_WAIT_MS))) / 1000,
                   senders=int(env("GATEWAY_BATCH_SENDERS", "1")),
                   fill=int(env("GATEWAY_BATCH_FILL", str(DEFAULT_FILL))),
                   answer_timeout=float(env("GATEWAY_RPC_TIMEOUT", "30")) + 5)

    # --- entry points ---------------------------------------------------------------
    async def submit(self, service: str, batch_method: str, kwargs: dict):
        """One request's own answer (or its own error raised), awaited on any event loop."""
        if not self.loop_thread.on_loop():
            concurrent = asyncio.run_coroutine_threadsafe(self.submit(service, batch_method, kwargs),
                                                          self.loop_thread.loop)
            return await asyncio.wrap_future(concurrent)
        future = self.loop_thread.loop.create_future()
        key = (service, batch_method)
        if key not in self._pending:
            self._pending[key], self._first_at[key] = [], self.loop_thread.loop.time()
        self._pending[key].append((kwargs, future))
        self._send_due()
        return unwrap(await future)

    def call(self, service: str, batch_method: str, kwargs: dict):
        """The same from a thread that is not the loop's (the HTTP side)."""
        return self.loop_thread.run(self.submit(service, batch_method, kwargs), timeout=self.answer_timeout)

    def close(self) -> None:
        self._pool.shutdown(wait=False)

    # --- on the loop ---------------------------------------------------------------------
    def _send_due(self) -> None:
        """Send every group that is due (full, or its oldest request has waited ``max_wait``) while a sender
        is free, oldest first; otherwise wake up when the oldest group falls due."""
        loop = self.loop_thread.loop
        while self._pending and self._busy < self.senders:
            key = min(self._first_at, key=self._first_at.__getitem__)
            due_in = self._first_at[key] + self.max_wait - loop.time()
            if len(self._pending[key]) < self.fill and due_in > 0:
                self._wake_in(due_in)
                return
            self._send(key)

    def _wake_in(self, delay: float) -> None:
        loop = self.loop_thread.loop
        if self._timer is not None and self._timer.when() <= loop.time() + delay:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._send_due()

    def _send(self, key: tuple[str, str]) -> None:
        group = self._pending[key]
        batch, rest = group[:self.max_batch], group[self.max_batch:]
        waited = self.loop_thread.loop.time() - self._first_at[key]
        if rest:
            self._pending[key] = rest               # backlog beyond max_batch: due as soon as a sender is free
        else:
            del self._pending[key], self._first_at[key]
        wait_series, _, size_series = _series(key)
        wait_series.observe(waited)
        size_series.observe(len(batch))
        self._busy += 1
        sent = self.loop_thread.loop.run_in_executor(self._pool, self._call_backend, key, [kw for kw, _ in batch])
        sent.add_done_callback(lambda outcome: self._answered(batch, outcome))

    def _answered(self, batch: list[tuple[dict, asyncio.Future]], outcome: asyncio.Future) -> None:
        self._busy -= 1
        error = outcome.exception()
        for index, (_, future) in enumerate(batch):
            if future.done():                       # its request was cancelled meanwhile
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(outcome.result()[index])
        self._send_due()                            # what gathered while every sender was busy, once due

    # --- on a sender thread --------------------------------------------------------------
    def _call_backend(self, key: tuple[str, str], items: list[dict]) -> list:
        service, method = key
        started = time.perf_counter()
        try:
            answers = self.backend.call(service, method, items=items)
        finally:
            _series(key)[1].observe(time.perf_counter() - started)
        if not isinstance(answers, list) or len(answers) != len(items):
            raise RuntimeError(f"{service}.{method} answered {len(answers or [])} items for {len(items)}")
        return answers


@functools.cache
def _series(key: tuple[str, str]) -> tuple:
    """An operation's batch wait, round trip and size series, looked up once (``labels()`` locks on every call)."""
    operation = ".".join(key)
    return (metrics.BATCH_WAIT.labels(operation), metrics.BATCH_SECONDS.labels(operation),
            metrics.BATCH_SIZE.labels(operation))


def unwrap(answer: dict):
    if "error" in answer:
        raise error_from_dict(answer["error"])
    return answer["result"]
