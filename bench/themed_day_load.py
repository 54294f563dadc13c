"""Load generator of bench.themed_day: sends one phase's scans to a gateway over HTTP/JSON (as a phone's
app does: keep-alive connections, one request at a time on each) or over gRPC (grpc.aio).

    python -m bench.themed_day_load <work.pickle> <answers.pickle>

The work file holds ``{"protocol", "target", "http", "offset", "concurrency", "deadline", "channels", "items"}``
(``target`` the gRPC address, ``http`` the base URL).
Each item is ``(scan_id, at, access_token, qr_token, lat, lng, accuracy_m, device_id, after)``:
sent ``at`` seconds after the phase starts (the arrival curve), once ``after`` (another scan
id, or -1) has been answered (a retry after a refusal, a replay of a counted scan), with at
most ``concurrency`` calls in flight. The fix's ``taken_at`` is the service's clock (real
time + ``offset`` seconds). With a ``deadline`` (seconds) nothing is sent after it; unsent
scans are handed back. Every answer is kept:
``(scan_id, sent_at, latency_s, grpc_code, error_code, repeat, record_id, seq, hash)``; over HTTP the
status is named by its gRPC code (``gateway.errors.ERROR_TABLE``), "OK" for 200.
"""
from __future__ import annotations

import asyncio
import json
import os
import pickle
import resource
import sys
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import grpc
import grpc.aio

from gateway.errors import ERROR_TABLE
from gateway.operations import BY_RPC
from protos.partybuilding.v1 import attendance_pb2

STATUS_NAMES = {200: "OK"}
for _kind, (_status, _code) in ERROR_TABLE.items():
    STATUS_NAMES.setdefault(_status, _code.name)


class Offset:
    """The service clock's offset: fixed, or re-read from ``offset_file`` (the bench keeps the service
    clock inside the phase's window on a slow run by stepping it back, and writes the new offset there)."""

    def __init__(self, seconds: float, path: str | None):
        self.seconds, self.path, self._read_at = seconds, path, 0.0

    def now(self) -> float:
        if self.path and time.monotonic() - self._read_at > 0.25:
            self._read_at = time.monotonic()
            try:
                with open(self.path) as file:
                    self.seconds = float(file.read().strip())
            except (OSError, ValueError):
                pass
        return self.seconds


HISTORY_AGE = timedelta(minutes=30)


def stamp_now(offset: "Offset") -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=offset.now())).isoformat(timespec="milliseconds")


class GrpcScans:
    def __init__(self, work: dict):
        op = BY_RPC["RecordScan"]
        self.channels = [grpc.aio.insecure_channel(work["target"], options=[("grpc.use_local_subchannel_pool", 1)])
                         for _ in range(work.get("channels", 2))]
        self.stubs = [channel.unary_unary(op.grpc_path,
                                          request_serializer=attendance_pb2.RecordScanRequest.SerializeToString,
                                          response_deserializer=attendance_pb2.ScanResult.FromString)
                      for channel in self.channels]
        self.counter = 0

    async def scan(self, access: str, token: str, fix: dict, timeout: float) -> tuple:
        """(code, error code, repeat, record id, seq, hash)"""
        self.counter += 1
        request = attendance_pb2.RecordScanRequest(token=token, fix=attendance_pb2.Fix(**fix))
        try:
            answer = await self.stubs[self.counter % len(self.stubs)](
                request, metadata=(("authorization", "Bearer " + access),), timeout=timeout)
            return "OK", "", answer.repeat, answer.record.id, answer.record.seq, answer.record.hash
        except grpc.aio.AioRpcError as error:
            trailers = dict(error.trailing_metadata() or ())
            return error.code().name, trailers.get("error-code", error.code().name), False, "", 0, ""

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close()


class HttpScans:
    """``POST /v1/scans`` on keep-alive connections (opened as needed, at most one request on each)."""

    def __init__(self, work: dict):
        url = urlsplit(work["http"])
        self.host, self.port = url.hostname, url.port
        self.path = BY_RPC["RecordScan"].path
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def scan(self, access: str, token: str, fix: dict, timeout: float) -> tuple:
        body = json.dumps({"token": token, "fix": fix}).encode()
        head = (f"POST {self.path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {access}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        for fresh in (False, True):
            # a kept connection may have been closed by the server meanwhile (idle): then once more on a new one
            reused = bool(self.idle) and not fresh
            connection = self.idle.pop() if reused else None
            try:
                async with asyncio.timeout(timeout):
                    connection = connection or await asyncio.open_connection(self.host, self.port)
                    status, answer = await self._exchange(connection, head + body)
                break
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError) as error:
                if connection is not None:
                    connection[1].close()
                if reused and not isinstance(error, asyncio.TimeoutError):
                    continue
                code = "DEADLINE_EXCEEDED" if isinstance(error, asyncio.TimeoutError) else "UNAVAILABLE"
                return code, code, False, "", 0, ""
        self.idle.append(connection)
        if status == 200:
            record = answer["record"]
            return "OK", "", answer["repeat"], record["id"], record["seq"], record["hash"]
        name = STATUS_NAMES.get(status, "UNKNOWN")
        return name, (answer.get("error") or {}).get("code", name), False, "", 0, ""

    @staticmethod
    async def _exchange(connection, request: bytes) -> tuple[int, dict]:
        reader, writer = connection
        writer.write(request)
        head = (await reader.readuntil(b"\r\n\r\n")).lower()
        at = head.index(b"content-length:") + 15
        body = await reader.readexactly(int(head[at:head.index(b"\r\n", at)]))
        return int(head[9:12]), json.loads(body)

    async def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


async def run(work: dict) -> dict:
    client = HttpScans(work) if work.get("protocol", "http") == "http" else GrpcScans(work)
    offset, timeout = Offset(work["offset"], work.get("offset_file")), work.get("timeout", 60.0)
    deadline = work.get("deadline")
    semaphore = asyncio.Semaphore(work["concurrency"])
    answers: list[tuple] = []
    dependents: dict[int, list[tuple]] = {}
    items = sorted(work["items"], key=lambda item: item[1])
    ids = {item[0] for item in items}
    independent = []
    for item in items:
        if item[8] >= 0 and item[8] in ids:
            dependents.setdefault(item[8], []).append(item)
        else:
            independent.append(item)
    unsent: list[tuple] = []
    tasks: set[asyncio.Task] = set()
    started = time.perf_counter()
    lag_max = 0.0

    def past_deadline() -> bool:
        return deadline is not None and time.perf_counter() - started >= deadline

    async def send(item) -> None:
        scan_id, _, access, token, lat, lng, accuracy, device, _ = item
        now = stamp_now(offset)
        # the member page's earlier position of the day, as a phone that was opened before sends it
        earlier = (datetime.fromisoformat(now) - HISTORY_AGE).isoformat(timespec="milliseconds")
        fix = {"lat": lat, "lng": lng, "accuracy_m": accuracy, "mock_location": False, "device_id": device,
               "taken_at": now, "history": [{"lat": lat, "lng": lng, "taken_at": earlier}]}
        sent = time.perf_counter()
        try:
            code, error_code, repeat, record_id, seq, hash_ = await client.scan(access, token, fix, timeout)
            answers.append((scan_id, sent - started, time.perf_counter() - sent, code, error_code, repeat,
                            record_id, seq, hash_))
        finally:
            semaphore.release()
        for follower in dependents.pop(scan_id, ()):
            spawn(follow(follower))

    def spawn(coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def follow(item) -> None:
        delay = item[1] - (time.perf_counter() - started)
        if delay > 0:
            await asyncio.sleep(delay)
        if past_deadline():
            unsent.append(item)
            unsent.extend(drop(item[0]))
            return
        await semaphore.acquire()
        await send(item)

    def drop(scan_id) -> list[tuple]:
        gone = []
        for follower in dependents.pop(scan_id, ()):
            gone.append(follower)
            gone.extend(drop(follower[0]))
        return gone

    for index, item in enumerate(independent):
        delay = item[1] - (time.perf_counter() - started)
        if delay > 0.002:
            await asyncio.sleep(delay)
        if past_deadline():
            for rest in independent[index:]:
                unsent.append(rest)
                unsent.extend(drop(rest[0]))
            break
        await semaphore.acquire()
        lag_max = max(lag_max, (time.perf_counter() - started) - item[1])
        spawn(send(item))
    while tasks:
        await asyncio.gather(*list(tasks))
    for leftover in list(dependents):          # dependents whose scan was never sent
        unsent.extend(drop(leftover))
    elapsed = time.perf_counter() - started
    await client.close()
    return {"answers": answers, "unsent": unsent, "elapsed": elapsed, "lag_max": lag_max, "pid": os.getpid()}


def serve(run) -> None:
    """A load process: its work file (argv 1), the parent's start signal, ``await run(work)``, and the answers with
    the process's CPU time and peak memory written to argv 2."""
    work_path, answers_path = sys.argv[1], sys.argv[2]
    with open(work_path, "rb") as file:
        work = pickle.load(file)
    # wait for the start signal (the parent samples CPU times first)
    start_at = work.get("start_at")
    if start_at:
        while time.time() < start_at:
            time.sleep(min(0.01, max(0.0, start_at - time.time())))
    result = asyncio.run(run(work))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu"], result["maxrss_kb"] = usage.ru_utime + usage.ru_stime, usage.ru_maxrss
    with open(answers_path + ".tmp", "wb") as file:
        pickle.dump(result, file, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(answers_path + ".tmp", answers_path)


def main() -> None:
    serve(run)


if __name__ == "__main__":
    main()
