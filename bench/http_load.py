"""A phone's view of the gateway for the load generators: JSON over HTTP/1.1 keep-alive connections, one request at a
time on each (bench.content_morning_load, bench.volunteer_claims_load).

The load runs on the same two cores as the platform it measures, so what it spends is taken from the platform:
each connection is a bare ``asyncio.Protocol`` (no stream reader and writer, no timer per request: one sweep a
second ends the requests past their time), and an answer's body is parsed only when the caller reads it or the
call failed.
"""
from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlsplit

SWEEP_SECONDS = 1.0


class _Connection(asyncio.Protocol):
    """One keep-alive connection; ``exchange`` sends a request and waits for its whole answer."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future | None = None
        self.deadline = 0.0
        self.lost = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is not None:
            self._complete()

    def connection_lost(self, exc) -> None:
        self.lost = True
        self._fail(ConnectionResetError("the server closed the connection"))

    def exchange(self, request: bytes, deadline: float) -> asyncio.Future:
        self.waiter = self.loop.create_future()
        self.deadline = deadline
        if self.lost:
            self._fail(ConnectionResetError("the server closed the connection"))
        else:
            self.transport.write(request)
        return self.waiter

    def expire(self, now: float) -> None:
        if self.waiter is not None and now > self.deadline:
            self._fail(asyncio.TimeoutError())
            self.close()

    def close(self) -> None:
        self.lost = True
        if self.transport is not None:
            self.transport.close()

    def _complete(self) -> None:
        buffer = self.buffer
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(buffer[:end]).lower()
        at = head.find(b"content-length:")
        stop = head.find(b"\r\n", at)
        length = 0 if at < 0 else int(head[at + 15:stop if stop >= 0 else None])
        total = end + 4 + length
        if len(buffer) < total:
            return
        status, body = int(head[9:12]), bytes(buffer[end + 4:total])
        del buffer[:total]
        waiter, self.waiter = self.waiter, None
        if not waiter.done():
            waiter.set_result((status, body))

    def _fail(self, error: BaseException) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)


class Http:
    """JSON over HTTP/1.1 keep-alive connections, at most ``limit`` requests in flight."""

    def __init__(self, base: str, limit: int, timeout: float = 60.0):
        url = urlsplit(base)
        self.timeout = timeout
        self.host, self.port = url.hostname, url.port
        self.idle: list[_Connection] = []
        self.busy: set[_Connection] = set()
        self.slots = asyncio.Semaphore(limit)
        self.sweeper: asyncio.Task | None = None

    async def call(self, method: str, path: str, token: str, body: dict | None = None, read: bool = True
                   ) -> tuple[int, dict, float, float]:
        """(status, answer, when it was sent (perf_counter), seconds from sending to the answer). With ``read``
        False a successful answer's body is not parsed (``{}``); a refusal's always is (its error code)."""
        data = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        request = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {token}\r\n"
                   f"Accept: application/json\r\n"
                   + (f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n" if body is not None
                      else "")
                   + "\r\n").encode() + data
        if self.sweeper is None:
            self.sweeper = asyncio.get_running_loop().create_task(self._sweep())
        async with self.slots:
            for fresh in (False, True):
                while self.idle and self.idle[-1].lost:
                    self.idle.pop()
                reused = bool(self.idle) and not fresh
                sent = time.perf_counter()
                connection = None
                try:
                    connection = self.idle.pop() if reused else await self._connect(sent + self.timeout)
                    self.busy.add(connection)
                    status, raw = await connection.exchange(request, sent + self.timeout)
                    self.busy.discard(connection)
                    self.idle.append(connection)
                    answer = json.loads(raw) if raw and (read or status >= 300) else {}
                    return status, answer, sent, time.perf_counter() - sent
                except (OSError, asyncio.TimeoutError) as error:
                    if connection is not None:
                        self.busy.discard(connection)
                        connection.close()
                    if reused and not isinstance(error, asyncio.TimeoutError):
                        continue       # a kept connection the server closed meanwhile: once more on a new one
                    return ((504 if isinstance(error, asyncio.TimeoutError) else 503), {}, sent,
                            time.perf_counter() - sent)
        return 503, {}, time.perf_counter(), 0.0

    async def _connect(self, deadline: float) -> _Connection:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(max(0.0, deadline - time.perf_counter())):
            _, connection = await loop.create_connection(lambda: _Connection(loop), self.host, self.port)
        return connection

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            now = time.perf_counter()
            for connection in list(self.busy):
                connection.expire(now)

    async def close(self) -> None:
        if self.sweeper is not None:
            self.sweeper.cancel()
        for connection in self.idle + list(self.busy):
            connection.close()


def error_code(answer: dict) -> str:
    return ((answer or {}).get("error") or {}).get("code", "")
