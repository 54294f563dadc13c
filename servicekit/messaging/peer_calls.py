"""Calls from one service to another (``peer("identity")``): every call has a deadline, and a bulkhead keeps a slow
or dead peer from holding all of the caller's workers.

nameko's ``RpcProxy`` waits for a reply forever: with identity stalled, each of attendance's workers that asked it
something would wait, until none was left for the members' scans. Here:

* **Deadline.** A call not answered within its peer's timeout (``PEER_TIMEOUT_SECONDS``, 10 s; for one peer
  ``PEER_TIMEOUT_SECONDS_<PEER>``, e.g. ``PEER_TIMEOUT_SECONDS_IDENTITY``) raises 504 ``PEER_TIMEOUT`` naming the
  peer. The request goes out with the same expiration, so a peer that comes back does not run calls no one awaits.
* **Bulkhead.** At most ``PEER_CONCURRENCY`` workers (half of NAMEKO_MAX_WORKERS by default; for one peer
  ``PEER_CONCURRENCY_<PEER>``) may be waiting on one peer at once; a worker beyond that waits for a place at most
  ``PEER_BUSY_WAIT_SECONDS`` (1 s: a burst to a healthy peer passes), then is refused with 503 ``PEER_BUSY`` and a
  Retry-After instead of joining the wait, and the rest of the workers stay free for work that does not need that
  peer. A worker counts once however many of its green threads call the peer (a batch's items).
* A peer with no instance running answers 503 ``PEER_UNAVAILABLE`` (nameko's ``UnknownService``).

The bulkhead is a counter in the process and the deadline a green timer; a request gains only its AMQP expiration.
``peer_calls_refused_total{service,peer,reason}`` counts the calls refused (timeout, busy, unavailable).
"""
from __future__ import annotations

import logging
import threading
import time
import weakref

import eventlet
from nameko.exceptions import UnknownService
from nameko.rpc import MethodProxy, RpcProxy, ServiceProxy
from prometheus_client import Counter

from servicekit.errors import DeadlineExceeded, Unavailable
from servicekit.process.config import ConfigError, env

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_BUSY_WAIT_SECONDS = 1.0        # a healthy peer frees a place within it; a stalled one never
DEFAULT_WORKERS = 10                    # nameko's max_workers when the config names none
BUSY_RETRY_AFTER_SECONDS = 1
UNAVAILABLE_RETRY_AFTER_SECONDS = 5

REFUSED = Counter("peer_calls_refused_total", "Calls to a peer service refused by the caller: timeout (no answer "
                  "within the peer's deadline), busy (its bulkhead full) or unavailable (no instance running).",
                  ["service", "peer", "reason"])


def _setting(name: str, peer: str) -> str:
    return (env(f"{name}_{peer.upper()}", "") or env(name, "") or "").strip()


def peer_timeout(peer: str) -> float:
    """Seconds a call to ``peer`` may wait for its answer."""
    raw = _setting("PEER_TIMEOUT_SECONDS", peer)
    if not raw:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise ConfigError(f"PEER_TIMEOUT_SECONDS for {peer} must be a number of seconds above 0, not {raw!r}")
    return seconds


def peer_concurrency(peer: str, max_workers: int = DEFAULT_WORKERS) -> int:
    """How many of the caller's workers may be waiting on ``peer`` at once."""
    raw = _setting("PEER_CONCURRENCY", peer)
    if not raw:
        return max(1, max_workers // 2)
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if limit <= 0:
        raise ConfigError(f"PEER_CONCURRENCY for {peer} must be a whole number above 0, not {raw!r}")
    return limit


def peer_busy_wait(peer: str) -> float:
    """Seconds a worker may wait for a place in ``peer``'s bulkhead before it is refused ``PEER_BUSY``."""
    raw = _setting("PEER_BUSY_WAIT_SECONDS", peer)
    if not raw:
        return DEFAULT_BUSY_WAIT_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise ConfigError(f"PEER_BUSY_WAIT_SECONDS for {peer} must be a number of seconds, 0 or more, not {raw!r}")
    return seconds


def peer_timed_out(peer: str, seconds: float) -> DeadlineExceeded:
    return DeadlineExceeded(f"the {peer} service did not answer within {seconds:g} s", code="PEER_TIMEOUT",
                            details=[{"peer": peer, "timeout_seconds": seconds}])


def peer_busy(peer: str, limit: int) -> Unavailable:
    return Unavailable(f"too many requests are waiting on the {peer} service; try again shortly", code="PEER_BUSY",
                       details=[{"peer": peer, "concurrency": limit, "retry_after_seconds": BUSY_RETRY_AFTER_SECONDS}])


def peer_unavailable(peer: str) -> Unavailable:
    return Unavailable(f"the {peer} service is not running", code="PEER_UNAVAILABLE",
                       details=[{"peer": peer, "retry_after_seconds": UNAVAILABLE_RETRY_AFTER_SECONDS}])


class Bulkhead:
    """At most ``limit`` holders (workers) inside at once; a holder already inside enters again freely. A holder
    finding it full waits up to ``wait`` seconds for a place: a healthy peer's burst frees places within
    milliseconds, while a stalled one's holders stay inside until their deadline, so the excess is refused after
    ``wait``, long before it."""

    def __init__(self, peer: str, limit: int, wait: float = 0.0):
        self.peer, self.limit, self.wait = peer, limit, wait
        self._inside: dict[object, int] = {}        # holder -> its calls in flight
        self._lock = threading.Lock()               # a green lock under eventlet: cheap, never contended for long
        self._freed = threading.Condition(self._lock)

    @property
    def holders(self) -> int:
        return len(self._inside)

    def enter(self, holder) -> None:
        with self._freed:
            calls = self._inside.get(holder, 0)
            if not calls and len(self._inside) >= self.limit:
                deadline = time.monotonic() + self.wait
                while len(self._inside) >= self.limit:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise peer_busy(self.peer, self.limit)
                    self._freed.wait(remaining)
            self._inside[holder] = calls + 1

    def leave(self, holder) -> None:
        with self._freed:
            calls = self._inside.get(holder, 0) - 1
            if calls > 0:
                self._inside[holder] = calls
            else:
                self._inside.pop(holder, None)
                self._freed.notify()


class PeerMethodProxy(MethodProxy):
    def __init__(self, worker_ctx, service_name, method_name, reply_listener, guard: "PeerRpcProxy", **options):
        self.guard = guard
        super().__init__(worker_ctx, service_name, method_name, reply_listener, **options)

    def __call__(self, *args, **kwargs):
        return self.call_async(*args, **kwargs).result()

    def call_async(self, *args, **kwargs) -> "PeerReply":
        """The call sent; its worker holds a place in the peer's bulkhead until the answer is read (or dropped)."""
        guard, holder = self.guard, id(self.worker_ctx)
        try:
            guard.bulkhead.enter(holder)
        except Unavailable:
            guard.refused("busy")
            raise
        try:
            reply = self._call(*args, **kwargs)
        except UnknownService:
            guard.bulkhead.leave(holder)
            guard.refused("unavailable")
            raise peer_unavailable(self.service_name) from None
        except BaseException:
            guard.bulkhead.leave(holder)
            raise
        return PeerReply(self, reply, holder)


class PeerReply:
    """nameko's ``RpcReply`` whose ``result()`` waits no later than the call's deadline (from when it was sent)."""

    def __init__(self, method: PeerMethodProxy, reply, holder):
        self.method, self.reply = method, reply
        self.deadline = time.monotonic() + method.guard.timeout
        # the place is given back when the answer is read, or when the reply is dropped unread
        self._release = weakref.finalize(self, method.guard.bulkhead.leave, holder)

    def result(self):
        method, guard = self.method, self.method.guard
        try:
            timer = eventlet.Timeout(max(0.0, self.deadline - time.monotonic()))
            try:
                return self.reply.result()
            except eventlet.Timeout as expired:
                if expired is not timer:
                    raise
                self._forget()
                guard.refused("timeout")
                log.warning("%s.%s did not answer within %g s", method.service_name, method.method_name,
                            guard.timeout)
                raise peer_timed_out(method.service_name, guard.timeout) from None
            finally:
                timer.cancel()
        finally:
            self._release()

    def _forget(self) -> None:
        """Drop the wait from the reply listener: a reply that never comes would keep it for the process's life."""
        events = self.method.reply_listener._reply_events
        for correlation_id, event in list(events.items()):
            if event is self.reply.reply_event:
                events.pop(correlation_id, None)


class PeerServiceProxy(ServiceProxy):
    def __init__(self, worker_ctx, service_name, reply_listener, guard: "PeerRpcProxy", **options):
        self.guard = guard
        super().__init__(worker_ctx, service_name, reply_listener, **options)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return PeerMethodProxy(self.worker_ctx, self.service_name, name, self.reply_listener, self.guard,
                               **self.options)


class PeerRpcProxy(RpcProxy):
    """nameko's ``RpcProxy`` with a deadline and a bulkhead (the module's text); one per peer and container."""

    def __init__(self, target_service: str, **options):
        super().__init__(target_service, **options)
        self.timeout, self.bulkhead = DEFAULT_TIMEOUT_SECONDS, Bulkhead(target_service, 1)

    def setup(self):
        super().setup()
        self.timeout = peer_timeout(self.target_service)
        limit = peer_concurrency(self.target_service, int(self.container.config.get("max_workers") or DEFAULT_WORKERS))
        self.bulkhead = Bulkhead(self.target_service, limit, peer_busy_wait(self.target_service))
        self._refused = {reason: REFUSED.labels(self.container.service_name, self.target_service, reason)
                         for reason in ("timeout", "busy", "unavailable")}
        # a request no one awaits any more expires in the peer's queue instead of running when the peer is back
        self.options = {**self.options, "expiration": self.timeout}

    def refused(self, reason: str) -> None:
        self._refused[reason].inc()

    def get_dependency(self, worker_ctx):
        return PeerServiceProxy(worker_ctx, self.target_service, self.rpc_reply_listener, self, **self.options)


def peer(service_name: str, **options) -> PeerRpcProxy:
    """A service's dependency on another: ``identity = peer("identity")``, called as nameko's proxies are."""
    return PeerRpcProxy(service_name, **options)
