"""Micro-batching: requests of a batchable operation that arrive together travel as one RPC.

A member's scan is one small request; thousands arrive within seconds at the start and the
end of a themed day. Each request thread puts its request on a queue and waits for its own
answer; sender threads take what has gathered (up to ``max_batch``, waiting at most
``max_wait`` seconds for more) and make one call of the operation's batch method with every
request's keyword arguments, its caller's scope included. The service answers each item on
its own (``{"result": ...}`` or ``{"error": ...}``), so one bad scan never fails another.
This is transport, not business: every rule stays in the service.
"""
from __future__ import annotations

import logging
import queue
import threading
import time

from servicekit.config import env
from servicekit.errors import error_from_dict

log = logging.getLogger(__name__)


class Waiter:
    """One request's answer slot: a lock held until the sender fills it (cheaper than a Future,
    whose condition variable costs a lock and a notify per waiter)."""

    __slots__ = ("_filled", "answer", "error")

    def __init__(self):
        self._filled = threading.Lock()
        self._filled.acquire()
        self.answer = self.error = None

    def set_result(self, answer) -> None:
        self.answer = answer
        self._filled.release()

    def set_exception(self, error: BaseException) -> None:
        self.error = error
        self._filled.release()

    def result(self, timeout: float):
        if not self._filled.acquire(timeout=timeout):
            raise TimeoutError("no answer from the batch in time")
        if self.error is not None:
            raise self.error
        return self.answer


class Batcher:
    def __init__(self, backend, max_batch: int = 256, max_wait: float = 0.004, senders: int = 2,
                 answer_timeout: float = 60.0):
        self.backend = backend
        self.max_batch, self.max_wait, self.answer_timeout = max_batch, max_wait, answer_timeout
        self._queue: queue.Queue = queue.Queue()
        self._running = True
        self._threads = [threading.Thread(target=self._send_loop, name=f"batch-sender-{n}", daemon=True)
                         for n in range(senders)]
        for thread in self._threads:
            thread.start()

    @classmethod
    def from_env(cls, backend) -> "Batcher | None":
        if env("GATEWAY_SCAN_BATCH", "on").lower() in ("off", "0", "false", "no"):
            return None
        return cls(backend, max_batch=int(env("GATEWAY_BATCH_MAX", "256")),
                   max_wait=float(env("GATEWAY_BATCH_WAIT_MS", "4")) / 1000,
                   senders=int(env("GATEWAY_BATCH_SENDERS", "2")),
                   answer_timeout=float(env("GATEWAY_RPC_TIMEOUT", "30")) + 5)

    def call(self, service: str, batch_method: str, kwargs: dict):
        """Send one request through the batch and return its own answer (or raise its own error)."""
        waiter = Waiter()
        self._queue.put(((service, batch_method), kwargs, waiter))
        answer = waiter.result(timeout=self.answer_timeout)
        if "error" in answer:
            raise error_from_dict(answer["error"])
        return answer["result"]

    def close(self) -> None:
        self._running = False
        for _ in self._threads:
            self._queue.put(None)

    def _gather(self) -> list:
        first = self._queue.get()
        if first is None:
            return []
        items = [first]
        deadline = time.monotonic() + self.max_wait
        while len(items) < self.max_batch:
            remaining = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)
                break
            items.append(item)
        return items

    def _send_loop(self) -> None:
        while self._running:
            items = self._gather()
            by_key: dict[tuple, list] = {}
            for key, kwargs, future in items:
                by_key.setdefault(key, []).append((kwargs, future))
            for (service, method), group in by_key.items():
                self._send(service, method, group)

    def _send(self, service: str, method: str, group: list) -> None:
        try:
            answers = self.backend.call(service, method, items=[kwargs for kwargs, _ in group])
            if not isinstance(answers, list) or len(answers) != len(group):
                raise RuntimeError(f"{service}.{method} answered {len(answers or [])} items for {len(group)}")
        except BaseException as error:  # noqa: BLE001  every waiting request gets the failure
            for _, future in group:
                future.set_exception(error)
            return
        for (_, future), answer in zip(group, answers):
            future.set_result(answer)
