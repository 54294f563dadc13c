"""A phone's view of the gateway for the load generators: JSON over HTTP/1.1 keep-alive connections, one request at a
time on each (bench.content_morning_load, bench.volunteer_claims_load)."""
from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlsplit


class Http:
    """JSON over HTTP/1.1 keep-alive connections, at most ``limit`` requests in flight."""

    def __init__(self, base: str, limit: int, timeout: float = 60.0):
        url = urlsplit(base)
        self.timeout = timeout
        self.host, self.port = url.hostname, url.port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.slots = asyncio.Semaphore(limit)

    async def call(self, method: str, path: str, token: str, body: dict | None = None
                   ) -> tuple[int, dict, float, float]:
        """(status, answer, when it was sent (perf_counter), seconds from sending to the answer)."""
        data = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {token}\r\n"
                f"Accept: application/json\r\n"
                + (f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n" if body is not None else "")
                + "\r\n").encode()
        async with self.slots:
            for fresh in (False, True):
                reused = bool(self.idle) and not fresh
                connection = self.idle.pop() if reused else None
                sent = time.perf_counter()
                try:
                    async with asyncio.timeout(self.timeout):
                        connection = connection or await asyncio.open_connection(self.host, self.port)
                        status, answer = await self._exchange(connection, head + data)
                    self.idle.append(connection)
                    return status, answer, sent, time.perf_counter() - sent
                except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError) as error:
                    if connection is not None:
                        connection[1].close()
                    if reused and not isinstance(error, asyncio.TimeoutError):
                        continue       # a kept connection the server closed meanwhile: once more on a new one
                    return ((504 if isinstance(error, asyncio.TimeoutError) else 503), {}, sent,
                            time.perf_counter() - sent)
        return 503, {}, time.perf_counter(), 0.0

    @staticmethod
    async def _exchange(connection, request: bytes) -> tuple[int, dict]:
        reader, writer = connection
        writer.write(request)
        head = (await reader.readuntil(b"\r\n\r\n")).lower()
        at = head.index(b"content-length:") + 15
        body = await reader.readexactly(int(head[at:head.index(b"\r\n", at)]))
        return int(head[9:12]), (json.loads(body) if body else {})

    async def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


def error_code(answer: dict) -> str:
    return ((answer or {}).get("error") or {}).get("code", "")
