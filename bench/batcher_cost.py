"""Benchmark: the gateway batcher's own cost per request, in instructions (repeatable where seconds are not).

    valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python -m bench.batcher_cost 0
    valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python -m bench.batcher_cost 40000

The difference of the two "Collected" totals over N is the instructions one request costs the batcher
(``gateway.batching.Batcher.submit`` to its answer, the backend answering at once), asyncio and the sender thread
included. Requests arrive in waves of 64, as scans do over gRPC, so every batch fills. Compare two versions from
copies of the tree, alternating; the totals repeat to about 0.1 % run to run.
"""
from __future__ import annotations

import asyncio
import sys

from gateway.batching import Batcher
from gateway.event_loop import LoopThread

WAVE = 64


class Backend:
    """Answers every item of a batch at once."""

    def call(self, service: str, method: str, items: list) -> list:
        return [{"result": index} for index in range(len(items))]


def main() -> None:
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 40_000
    loop = LoopThread(name="batcher-cost")
    batcher = Batcher(Backend(), loop=loop)

    async def drive() -> None:
        done = 0
        while done < requests:
            wave = min(WAVE, requests - done)
            await asyncio.gather(*(batcher.submit("attendance", "record_scans", {"n": done + k})
                                   for k in range(wave)))
            done += wave

    if requests:
        loop.run(drive(), timeout=600)
    batcher.close()
    print(f"{requests} requests answered")


if __name__ == "__main__":
    main()
