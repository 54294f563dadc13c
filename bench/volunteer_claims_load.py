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
import os
import time

from bench.http_load import Http, error_code
from bench.themed_day_load import serve


async def run(work: dict) -> dict:
    http = Http(work["http"], work["concurrency"], timeout=120.0)
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
