"""Load generator of bench.volunteer_claims: members' claims, then their check-ins and check-outs, over HTTP/JSON
(keep-alive connections, one request at a time on each, as phones send them).

    python -m bench.volunteer_claims_load <work.pickle> <answers.pickle>

The work file holds ``{"http", "concurrency", "phase", ...}``:
- phase ``claims``: ``members``: ``(member, at, token, order_ids)``: at ``at`` seconds the member claims every order
  of ``order_ids`` at once (an order listed twice is a double tap). Every call is kept:
  ``(member, order_id, sent_at, latency_s, status, error_code)`` (``sent_at``: seconds after the start).
- phase ``service``: ``members``: ``(member, at, token, visits)`` with visits ``(order_id, lat, lng)``: from ``at``
  the member serves its orders one after the other: checks in at the order's position, stays ``hold_seconds``
  after the check-in was answered, checks out. Each visit is kept: ``(member, order_id, in_status, in_code,
  checked_in_at, out_status, out_code, checked_out_at, hours, in_latency, out_latency)``.

A call's latency runs from the moment it is written to its connection (a call waiting for a free slot is not
counted as slow: the slots are the bench's, not the platform's).
"""
from __future__ import annotations

import asyncio
import json
import os
import time
from urllib.parse import urlsplit

from bench.themed_day_load import serve


class Http:
    """JSON over HTTP/1.1 keep-alive connections, at most ``limit`` requests in flight."""

    def __init__(self, base: str, limit: int):
        url = urlsplit(base)
        self.host, self.port = url.hostname, url.port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.slots = asyncio.Semaphore(limit)

    async def call(self, method: str, path: str, token: str, body: dict | None = None,
                   timeout: float = 120.0) -> tuple[int, dict, float, float]:
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
                    async with asyncio.timeout(timeout):
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


async def run(work: dict) -> dict:
    http = Http(work["http"], work["concurrency"])
    started = time.perf_counter()

    async def at(offset: float) -> None:
        delay = offset - (time.perf_counter() - started)
        if delay > 0:
            await asyncio.sleep(delay)

    calls: list[tuple] = []
    visits: list[tuple] = []

    async def claim(member, order_id, token) -> None:
        status, answer, sent, latency = await http.call("POST", f"/v1/volunteer/orders/{order_id}:claim", token, {})
        calls.append((member, order_id, sent - started, latency, status, error_code(answer)))

    async def claimant(member, offset, token, order_ids) -> None:
        await at(offset)
        await asyncio.gather(*(claim(member, order_id, token) for order_id in order_ids))

    async def server(member, offset, token, orders) -> None:
        await at(offset)
        for order_id, lat, lng in orders:
            where = {"lat": lat, "lng": lng, "accuracy_m": 15, "mock_location": False}
            status, answer, _, in_latency = await http.call("POST", f"/v1/volunteer/orders/{order_id}:check-in", token,
                                                         where)
            if status != 200:
                visits.append((member, order_id, status, error_code(answer), "", 0, "", "", None, in_latency, 0.0))
                continue
            checked_in_at = answer.get("checked_in_at", "")
            await asyncio.sleep(work["hold_seconds"])
            out_status, out, _, out_latency = await http.call("POST", f"/v1/volunteer/orders/{order_id}:check-out",
                                                           token, where)
            visits.append((member, order_id, status, "", checked_in_at, out_status, error_code(out),
                           out.get("checked_out_at", ""), out.get("hours"), in_latency, out_latency))

    if work["phase"] == "claims":
        await asyncio.gather(*(claimant(*entry) for entry in work["members"]))
    else:
        await asyncio.gather(*(server(*entry) for entry in work["members"]))
    await http.close()
    return {"calls": calls, "visits": visits, "elapsed": time.perf_counter() - started, "pid": os.getpid()}


def main() -> None:
    serve(run)


if __name__ == "__main__":
    main()
