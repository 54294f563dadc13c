"""Load generator of bench.themed_day: sends one phase's scans to a gateway over gRPC (grpc.aio).

    python -m bench.themed_day_load <work.pickle> <answers.pickle>

The work file holds ``{"target", "offset", "concurrency", "deadline", "channels", "items"}``.
Each item is ``(scan_id, at, access_token, qr_token, lat, lng, accuracy_m, device_id, after)``:
sent ``at`` seconds after the phase starts (the arrival curve), once ``after`` (another scan
id, or -1) has been answered (a retry after a refusal, a replay of a counted scan), with at
most ``concurrency`` calls in flight. The fix's ``taken_at`` is the service's clock (real
time + ``offset`` seconds). With a ``deadline`` (seconds) nothing is sent after it; unsent
scans are handed back. Every answer is kept:
``(scan_id, sent_at, latency_s, grpc_code, error_code, repeat, record_id, seq, hash)``.
"""
from __future__ import annotations

import asyncio
import os
import pickle
import resource
import sys
import time
from datetime import datetime, timedelta, timezone

import grpc
import grpc.aio

from gateway.operations import BY_RPC
from protos.partybuilding.v1 import attendance_pb2


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


def stamp_now(offset: "Offset") -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=offset.now())).isoformat(timespec="milliseconds")


async def run(work: dict) -> dict:
    op = BY_RPC["RecordScan"]
    channels = [grpc.aio.insecure_channel(work["target"], options=[("grpc.use_local_subchannel_pool", 1)])
                for _ in range(work.get("channels", 2))]
    stubs = [ch.unary_unary(op.grpc_path, request_serializer=attendance_pb2.RecordScanRequest.SerializeToString,
                            response_deserializer=attendance_pb2.ScanResult.FromString) for ch in channels]
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
    counter = 0

    def past_deadline() -> bool:
        return deadline is not None and time.perf_counter() - started >= deadline

    async def send(item) -> None:
        nonlocal counter
        scan_id, _, access, token, lat, lng, accuracy, device, _ = item
        request = attendance_pb2.RecordScanRequest(token=token, fix=attendance_pb2.Fix(
            lat=lat, lng=lng, accuracy_m=accuracy, mock_location=False, device_id=device,
            taken_at=stamp_now(offset)))
        counter += 1
        stub = stubs[counter % len(stubs)]
        sent = time.perf_counter()
        try:
            answer = await stub(request, metadata=(("authorization", "Bearer " + access),), timeout=timeout)
            latency = time.perf_counter() - sent
            record = answer.record
            answers.append((scan_id, sent - started, latency, "OK", "", answer.repeat, record.id, record.seq,
                            record.hash))
        except grpc.aio.AioRpcError as error:
            latency = time.perf_counter() - sent
            trailers = dict(error.trailing_metadata() or ())
            answers.append((scan_id, sent - started, latency, error.code().name,
                            trailers.get("error-code", error.code().name), False, "", 0, ""))
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
    for channel in channels:
        await channel.close()
    return {"answers": answers, "unsent": unsent, "elapsed": elapsed, "lag_max": lag_max, "pid": os.getpid()}


def main() -> None:
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


if __name__ == "__main__":
    main()
