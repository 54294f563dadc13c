"""The chaos suite's load: members' phones scanning through the gateway over HTTP/JSON while components are killed.

    python -m chaos.load <work.pickle> <history.pickle>

Unlike the benchmark's load (bench.themed_day_load) a phone here tries again after an answer that leaves the scan
undecided (timeout, unavailable, internal error) until a definite answer or the end: after 0.5-1.5 s, or after the
answer's Retry-After (times 1 to 2) when the gateway sheds load. Every attempt is kept (``chaos.checker.Attempt``
fields). The work file holds ``{"http", "offset", "rate", "concurrency", "timeout", "stop_file", "give_up",
"items"}``; items are the benchmark's ``(scan_id, at, access, qr, lat, lng, accuracy, device, after)``: first sent
at ``rate`` per second in order (one whose ``after`` is refused or unanswered goes after it), then, until
``stop_file`` exists, acknowledged scans are scanned again at the same rate (a member scanning twice: answered
``repeat``; at most ``concurrency`` of them waiting for a call slot), so the rate holds for the whole phase. Once
``stop_file`` exists, nothing new is sent; undecided scans are tried for ``give_up`` seconds more.
"""
from __future__ import annotations

import asyncio
import json
import os
import pickle
import random
import sys
import time
from datetime import datetime

from bench.themed_day_load import HISTORY_AGE, STATUS_NAMES, HttpScans, Offset, serve, stamp_now
from chaos.checker import INDETERMINATE

RETRY_AFTER = (0.5, 1.5)          # a phone's wait before trying an undecided scan again, seconds


class Scans(HttpScans):
    """The benchmark's HTTP client, naming what broke when no answer came (``CONNECTION:<error>``, for the logs of
    a failed run), still as an undecided answer."""

    async def scan(self, access: str, token: str, fix: dict, timeout: float) -> tuple:
        body = json.dumps({"token": token, "fix": fix}).encode()
        head = (f"POST {self.path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {access}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        for fresh in (False, True):
            reused = bool(self.idle) and not fresh
            connection = self.idle.pop() if reused else None
            try:
                async with asyncio.timeout(timeout):
                    connection = connection or await asyncio.open_connection(self.host, self.port)
                    status, answer, retry_after = await self._exchange_waiting(connection, head + body)
                break
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as error:
                if connection is not None:
                    connection[1].close()
                if reused and not isinstance(error, asyncio.TimeoutError):
                    continue            # a kept connection the server closed meanwhile: once more on a new one
                code = "DEADLINE_EXCEEDED" if isinstance(error, asyncio.TimeoutError) else "UNAVAILABLE"
                return code, f"CONNECTION:{type(error).__name__}", False, "", 0, "", 0.0
        self.idle.append(connection)
        if status == 200:
            record = answer["record"]
            return "OK", "", answer["repeat"], record["id"], record["seq"], record["hash"], 0.0
        name = STATUS_NAMES.get(status, "UNKNOWN")
        return name, (answer.get("error") or {}).get("code", name), False, "", 0, "", retry_after

    @staticmethod
    async def _exchange_waiting(connection, request: bytes) -> tuple[int, dict, float]:
        """The benchmark's exchange, with the answer's Retry-After (seconds; 0 without one)."""
        reader, writer = connection
        writer.write(request)
        head = (await reader.readuntil(b"\r\n\r\n")).lower()
        at = head.index(b"content-length:") + 15
        body = await reader.readexactly(int(head[at:head.index(b"\r\n", at)]))
        retry_after = 0.0
        if b"retry-after:" in head:
            at = head.index(b"retry-after:") + 12
            try:
                retry_after = float(head[at:head.index(b"\r\n", at)])
            except ValueError:
                pass
        return int(head[9:12]), json.loads(body), retry_after


async def run(work: dict) -> dict:
    client = Scans(work)
    offset = Offset(work["offset"], None)
    rate, timeout = work["rate"], work.get("timeout", 15.0)
    stop_file, give_up = work["stop_file"], work.get("give_up", 90.0)
    semaphore = asyncio.Semaphore(work["concurrency"])
    rng = random.Random(work.get("seed", 1))
    history: list[tuple] = []
    items = {item[0]: item for item in work["items"]}
    followers: dict[int, list[int]] = {}
    first = []
    for item in work["items"]:
        if item[8] >= 0 and item[8] in items:
            followers.setdefault(item[8], []).append(item[0])
        else:
            first.append(item[0])
    acked: list[int] = []
    undecided: set[int] = set()
    tasks: set[asyncio.Task] = set()
    stopped_at: list[float] = []
    waiting_replays = [0]             # rescans spawned, not yet holding a call slot

    def stopped() -> bool:
        if not stopped_at and os.path.exists(stop_file):
            stopped_at.append(time.monotonic())
        return bool(stopped_at)

    def given_up() -> bool:
        return stopped() and time.monotonic() - stopped_at[0] > give_up

    def spawn(coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def attempt(scan_id: int, kind: str) -> None:
        _, _, access, token, lat, lng, accuracy, device, _ = items[scan_id]
        undecided.add(scan_id)
        if kind == "replay":
            waiting_replays[0] += 1
        while True:
            now = stamp_now(offset)
            earlier = (datetime.fromisoformat(now) - HISTORY_AGE).isoformat(timespec="milliseconds")
            fix = {"lat": lat, "lng": lng, "accuracy_m": accuracy, "mock_location": False, "device_id": device,
                   "taken_at": now, "history": [{"lat": lat, "lng": lng, "taken_at": earlier}]}
            await semaphore.acquire()
            if kind == "replay":
                waiting_replays[0] -= 1
                if stopped():                           # a rescan still waiting when the phase ended: not sent
                    semaphore.release()
                    undecided.discard(scan_id)
                    return
            sent, started = time.time(), time.perf_counter()
            try:
                code, error_code, repeat, record_id, seq, hash_, retry_after = await client.scan(access, token, fix,
                                                                                                 timeout)
            finally:
                semaphore.release()
            history.append((scan_id, kind, sent, time.perf_counter() - started, code, error_code, repeat, record_id,
                            seq, hash_))
            if code not in INDETERMINATE:
                break
            if given_up():
                undecided.discard(scan_id)
                return
            kind = "retry"
            # a phone waits as the gateway asks when it sheds load (Retry-After), spread so they do not return at once
            await asyncio.sleep(retry_after * rng.uniform(1.0, 2.0) if retry_after else rng.uniform(*RETRY_AFTER))
        undecided.discard(scan_id)
        if code == "OK" and kind != "replay":
            acked.append(scan_id)
        for follower in followers.pop(scan_id, ()):
            spawn(attempt(follower, "first"))

    started = time.perf_counter()
    sent = 0
    replays = 0
    while not stopped():
        due = started + sent / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if sent < len(first):
            spawn(attempt(first[sent], "first"))
        elif acked:
            # rescans keep the rate; while the platform is down they wait like the scans, at most a call slot's worth
            if waiting_replays[0] < work["concurrency"]:
                spawn(attempt(rng.choice(acked), "replay"))
                replays += 1
        else:
            await asyncio.sleep(0.05)
            continue
        sent += 1
    unsent = first[sent:]
    while tasks:
        await asyncio.wait(list(tasks), timeout=1.0)
    await client.close()
    return {"history": history, "unsent": unsent, "elapsed": time.perf_counter() - started, "replays": replays,
            "undecided": sorted(undecided), "pid": os.getpid()}


def main() -> None:
    serve(run)


if __name__ == "__main__":
    sys.exit(main())
