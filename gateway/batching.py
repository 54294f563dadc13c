"""Micro-batching: requests of a batchable operation that arrive together travel as one RPC.

Each request adds its keyword arguments and a future to the pending group of its operation, on the gateway's event
loop (``gateway.event_loop``). A group is due when it holds ``fill`` requests (32) or its oldest request has waited
``max_wait`` (40 ms; an operation may have its own, ``Row.batch_wait``); a due group is sent, up to ``max_batch``
(256) at a time, as one call of the operation's batch method, with at most ``senders`` calls of each operation in
flight (operations never wait for each other: a member's feed does not queue behind a batch of scans). While an
operation's senders are busy its group keeps growing, and when one comes back it takes the group once it is due, not
before: a call costs the platform about as much as a dozen scans, so a batch's size is most of what a scan costs
(docs/performance.md#scan-batching-at-the-gateway). The service answers each item on its own (``{"result": ...}`` or
``{"error": ...}``), so one bad scan never fails another.

A request on the loop already (gRPC, and HTTP scans) ``await``s ``submit(...)`` and holds no thread; a caller on
another thread uses ``call(...)``. The batch call's own timeout (the nameko proxy's) bounds every wait.

Each operation's queue (its requests not yet sent) holds at most ``max_queued`` (GATEWAY_BATCH_QUEUE_MAX, 4096:
seconds of a themed day's peak). A request beyond it is shed at once, 503 ``QUEUE_FULL`` with a Retry-After (gRPC
UNAVAILABLE, the same code), and counted in ``gateway_shed_total``: a backlog the service cannot drain only grows the
wait of every request behind it until the clients give up on answers still coming. A request that has waited
``max_queue_wait`` (GATEWAY_BATCH_QUEUE_WAIT_SECONDS, 5 s) is shed the same way when its turn comes, never sent: its
answer would find its client gone, and the fresh requests behind it would wait past their own patience in turn.

A shed request's Retry-After is the time its operation's queue takes to drain at the rate the service answered it
over the last ``DRAIN_WINDOW_SECONDS`` (``max_queue_wait`` when it answered nothing lately), each request's drawn
between that and twice that, within 1 and ``MAX_RETRY_AFTER_SECONDS``: a fixed second sent every shed client back in
the same second, to the same full queue.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import math
import random
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from servicekit.process.config import env, switched_off
from servicekit.errors import error_from_dict

from gateway import metrics, request_ids
from gateway.errors import GatewayError
from gateway.event_loop import LoopThread, shared_loop
from gateway.timeouts import rpc_timeout
from servicekit import request_ids as servicekit_request_ids

log = logging.getLogger(__name__)

DEFAULT_WAIT_MS = 40
DEFAULT_FILL = 32
DEFAULT_QUEUE_MAX = 4096
DEFAULT_QUEUE_WAIT_SECONDS = 5.0   # under a phone's patience: an answer later than that finds no one
MAX_RETRY_AFTER_SECONDS = 30
DRAIN_WINDOW_SECONDS = 5.0        # the service's recent pace: what its batches answered in this long
MAX_BATCHED_OPERATIONS = 8        # sender threads are made for this many batched operations
MAX_OPERATION_SENDERS = 4         # ... each with at most this many batches in flight (``Row.batch_senders``)


class Batcher:
    def __init__(self, backend, max_batch: int = 256, max_wait: float = DEFAULT_WAIT_MS / 1000, senders: int = 1,
                 answer_timeout: float = 60.0, loop: LoopThread | None = None, fill: int = DEFAULT_FILL,
                 clock: Callable[[], float] = time.perf_counter, max_queued: int = DEFAULT_QUEUE_MAX,
                 max_queue_wait: float = DEFAULT_QUEUE_WAIT_SECONDS, rng: random.Random | None = None):
        self.backend = backend
        self.rng = rng or random.Random()
        self.max_queued = max(1, max_queued)
        self.max_queue_wait = max_queue_wait
        self.clock = clock                  # times each batch call (the waits go by the loop's own time)
        self.max_batch, self.max_wait, self.senders = max_batch, max_wait, senders
        self.fill = min(fill, max_batch)
        self.answer_timeout = answer_timeout
        self.loop_thread = loop or shared_loop()
        # threads for every batched operation's senders (a batched operation is a row of the operation table)
        self._pool = ThreadPoolExecutor(max_workers=max(senders, MAX_OPERATION_SENDERS) * MAX_BATCHED_OPERATIONS,
                                        thread_name_prefix="batch-sender")
        # touched on the loop only: each group's requests, and the loop time its oldest request arrived
        self._pending: dict[tuple[str, str], list[tuple[dict, asyncio.Future]]] = {}
        self._first_at: dict[tuple[str, str], float] = {}
        self._busy: dict[tuple[str, str], int] = {}       # batch calls in flight, by operation
        self._senders: dict[tuple[str, str], int] = {}    # an operation's own limit, when it has one
        self._waits: dict[tuple[str, str], float] = {}     # an operation's own ``max_wait``, when it has one
        self._timer: asyncio.Handle | None = None
        self._timer_at = 0.0
        # by operation, on the loop: (loop time, requests) of each batch answered in the last DRAIN_WINDOW_SECONDS
        self._drained: dict[tuple[str, str], deque[tuple[float, int]]] = {}
        self._drained_total: dict[tuple[str, str], int] = {}

    @classmethod
    def from_env(cls, backend) -> "Batcher | None":
        if switched_off("GATEWAY_SCAN_BATCH"):
            return None
        return cls(backend, max_batch=int(env("GATEWAY_BATCH_MAX", "256")),
                   max_wait=float(env("GATEWAY_BATCH_WAIT_MS", str(DEFAULT_WAIT_MS))) / 1000,
                   senders=int(env("GATEWAY_BATCH_SENDERS", "1")),
                   fill=int(env("GATEWAY_BATCH_FILL", str(DEFAULT_FILL))),
                   max_queued=int(env("GATEWAY_BATCH_QUEUE_MAX", str(DEFAULT_QUEUE_MAX))),
                   max_queue_wait=float(env("GATEWAY_BATCH_QUEUE_WAIT_SECONDS", str(DEFAULT_QUEUE_WAIT_SECONDS))),
                   answer_timeout=rpc_timeout() + 5)

    # --- entry points ---------------------------------------------------------------
    async def submit(self, service: str, batch_method: str, kwargs: dict, senders: int = 0, wait: float = 0.0):
        """One request's own answer (or its own error raised), awaited on any event loop; ``senders``: the batch
        calls of this operation that may be in flight at once (0: the batcher's ``senders``); ``wait``: how long its
        oldest request may wait for others, in seconds (0: the batcher's ``max_wait``)."""
        if not self.loop_thread.on_loop():
            concurrent = asyncio.run_coroutine_threadsafe(self.submit(service, batch_method, kwargs, senders, wait),
                                                          self.loop_thread.loop)
            return await asyncio.wrap_future(concurrent)
        future = self.loop_thread.loop.create_future()
        key = (service, batch_method)
        if senders:
            self._senders[key] = senders
        if wait:
            self._waits[key] = wait
        now = self.loop_thread.loop.time()
        group = self._pending.get(key)
        if group is not None and len(group) >= self.max_queued:
            self._drop_stale(key, now)
            group = self._pending.get(key)
        if group is None:
            group = self._pending[key] = []
            self._first_at[key] = now
        elif len(group) >= self.max_queued:
            raise self._shed(key)
        group.append((kwargs, future, request_ids.current(), now))
        self._send_due()
        return unwrap(await future)

    def call(self, service: str, batch_method: str, kwargs: dict, senders: int = 0, wait: float = 0.0):
        """The same from a thread that is not the loop's (the HTTP side)."""
        return self.loop_thread.run(self.submit(service, batch_method, kwargs, senders, wait),
                                    timeout=self.answer_timeout)

    def close(self) -> None:
        self._pool.shutdown(wait=False)

    def queued(self, service: str, batch_method: str) -> int:
        """Requests of the operation waiting to be sent (read on the loop)."""
        return len(self._pending.get((service, batch_method), ()))

    def _shed(self, key: tuple[str, str], message: str = "") -> GatewayError:
        _series(key)[3].inc()
        return GatewayError("UNAVAILABLE", "QUEUE_FULL",
                            message or f"the gateway holds {self.max_queued} requests of this operation already; "
                                       "try again shortly",
                            details=[{"operation": ".".join(key), "queue_limit": self.max_queued,
                                      "retry_after_seconds": self.retry_after(key)}])

    def retry_after(self, key: tuple[str, str]) -> int:
        """Whole seconds a request shed from the operation's queue should wait: the queue's drain time at the pace
        the service answered over the last ``DRAIN_WINDOW_SECONDS`` (``max_queue_wait`` when it answered nothing),
        drawn up to twice that so that the shed clients come back spread out; 1 to ``MAX_RETRY_AFTER_SECONDS``."""
        self._forget_drained(key, self.loop_thread.loop.time())
        answered = self._drained_total.get(key, 0)
        queued = len(self._pending.get(key, ()))
        drain = queued * DRAIN_WINDOW_SECONDS / answered if answered else self.max_queue_wait
        least = min(MAX_RETRY_AFTER_SECONDS, max(1, math.ceil(drain)))
        return min(MAX_RETRY_AFTER_SECONDS, self.rng.randint(least, 2 * least))

    def _forget_drained(self, key: tuple[str, str], now: float) -> None:
        drained = self._drained.get(key)
        while drained and drained[0][0] < now - DRAIN_WINDOW_SECONDS:
            self._drained_total[key] -= drained.popleft()[1]

    def _drop_stale(self, key: tuple[str, str], now: float) -> None:
        """Answer 503 ``QUEUE_FULL`` at once the requests at the head of the queue that have waited longer than
        ``max_queue_wait``: sent now, their answers would come after their clients gave up, while the fresh
        requests behind them waited or were refused (goodput collapsing under retries)."""
        group = self._pending[key]
        stale = 0
        while stale < len(group) and now - group[stale][3] > self.max_queue_wait:
            stale += 1
        if not stale:
            return
        rest = group[stale:]
        if rest:
            self._pending[key], self._first_at[key] = rest, rest[0][3]
        else:
            del self._pending[key], self._first_at[key]
        for _, future, _, _ in group[:stale]:       # each its own Retry-After, drawn on what is left queued
            error = self._shed(key, f"the request waited {self.max_queue_wait:g} s in the gateway's queue behind "
                                    "others; try again shortly")
            if not future.done():
                future.set_exception(error)

    # --- on the loop ---------------------------------------------------------------------
    def _send_due(self) -> None:
        """Send every group that is due (full, or its oldest request has waited its operation's wait) and whose
        operation has a sender free, the first due first; wake up when the next group that could be sent falls due."""
        loop = self.loop_thread.loop
        while True:
            free = [key for key in self._pending if self._busy.get(key, 0) < self._senders.get(key, self.senders)]
            if not free:
                return
            key = min(free, key=self._due_at)
            due_in = self._due_at(key) - loop.time()
            if len(self._pending[key]) < self.fill and due_in > 0:
                sooner = [k for k in free if len(self._pending[k]) >= self.fill]
                if not sooner:
                    self._wake_in(due_in)
                    return
                key = min(sooner, key=self._first_at.__getitem__)
            self._send(key)

    def _due_at(self, key: tuple[str, str]) -> float:
        """The loop time the operation's group falls due by its wait (its oldest request's arrival plus the wait)."""
        return self._first_at[key] + self._waits.get(key, self.max_wait)

    def _wake_in(self, delay: float) -> None:
        loop = self.loop_thread.loop
        # the wake-up time kept here: uvloop answers call_later under a millisecond with a plain Handle (no when())
        wake_at = loop.time() + delay
        if self._timer is not None and self._timer_at <= wake_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at = loop.call_later(delay, self._on_timer), wake_at

    def _on_timer(self) -> None:
        self._timer = None
        self._send_due()

    def _send(self, key: tuple[str, str]) -> None:
        self._drop_stale(key, self.loop_thread.loop.time())
        if key not in self._pending:
            return
        group = self._pending[key]
        batch, rest = group[:self.max_batch], group[self.max_batch:]
        waited = self.loop_thread.loop.time() - self._first_at[key]
        if rest:
            self._pending[key] = rest               # backlog beyond max_batch: due as soon as a sender is free
        else:
            del self._pending[key], self._first_at[key]
        wait_series, _, size_series, _ = _series(key)
        wait_series.observe(waited)
        size_series.observe(len(batch))
        self._busy[key] = self._busy.get(key, 0) + 1
        sent = self.loop_thread.loop.run_in_executor(self._pool, self._call_backend, key, [kw for kw, _, _, _ in batch],
                                                     tuple(request_id or "-" for _, _, request_id, _ in batch))
        sent.add_done_callback(lambda outcome: self._answered(key, batch, outcome))

    def _answered(self, key: tuple[str, str], batch: list[tuple[dict, asyncio.Future, str | None]],
                  outcome: asyncio.Future) -> None:
        self._busy[key] -= 1
        now = self.loop_thread.loop.time()
        self._drained.setdefault(key, deque()).append((now, len(batch)))
        self._drained_total[key] = self._drained_total.get(key, 0) + len(batch)
        self._forget_drained(key, now)
        error = outcome.exception()
        for index, (_, future, _, _) in enumerate(batch):
            if future.done():                       # its request was cancelled meanwhile
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(outcome.result()[index])
        self._send_due()                            # what gathered while every sender was busy, once due

    # --- on a sender thread --------------------------------------------------------------
    def _call_backend(self, key: tuple[str, str], items: list[dict], item_ids: tuple[str, ...] = ()) -> list:
        """One batch call: under an id of its own (``b`` + 16 hex digits), which the gateway logs with its requests'
        ids; the services get both (``servicekit.request_ids``)."""
        service, method = key
        batch_id = request_ids.begin("b" + request_ids.new_id())
        servicekit_request_ids.OUTGOING_ITEMS.set(item_ids or None)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("batch %s of %s.%s carries requests %s", batch_id, service, method, ",".join(item_ids))
        started = self.clock()
        try:
            answers = self.backend.call(service, method, items=items)
        finally:
            _series(key)[1].observe(self.clock() - started)
        if not isinstance(answers, list) or len(answers) != len(items):
            raise RuntimeError(f"{service}.{method} answered {len(answers or [])} items for {len(items)}")
        return answers


@functools.cache
def _series(key: tuple[str, str]) -> tuple:
    """An operation's batch wait, round trip, size and shed series, looked up once (``labels()`` locks on every
    call)."""
    operation = ".".join(key)
    return (metrics.BATCH_WAIT.labels(operation), metrics.BATCH_SECONDS.labels(operation),
            metrics.BATCH_SIZE.labels(operation), metrics.SHED.labels(operation, "queue_full"))


def unwrap(answer: dict):
    if "error" in answer:
        raise error_from_dict(answer["error"])
    return answer["result"]
