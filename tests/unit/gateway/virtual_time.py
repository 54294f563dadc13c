"""A gateway loop whose clock moves only when a test moves it, so timers fire at exact, chosen moments."""
from __future__ import annotations

import asyncio
import threading
import time

from gateway.event_loop import LoopThread


class StillLoop(asyncio.SelectorEventLoop):
    """An asyncio loop reading ``now`` for its time: a timer is due once a test has advanced ``now`` past it (the
    loop sleeps until then; work handed to it from other threads still wakes it)."""

    def __init__(self):
        super().__init__()
        self.now = 0.0

    def time(self) -> float:
        return self.now


class VirtualTime:
    """A ``LoopThread`` on a ``StillLoop``: ``settle()`` lets what was handed to the loop run, ``advance(s)`` moves
    its clock and lets the timers now due run."""

    def __init__(self, name: str = "virtual-time"):
        self.loop = StillLoop()
        self.thread = LoopThread(name, loop=self.loop)

    def time(self) -> float:
        return self.loop.now

    def settle(self) -> None:
        self.thread.run(self._steps())

    def advance(self, seconds: float) -> None:
        self.thread.run(self._advance(seconds))

    def hold(self, seconds: float) -> None:
        """A callback that keeps the loop busy for ``seconds`` of its clock (the lag others then see)."""
        self.loop.call_soon_threadsafe(self._move, seconds)
        self.settle()

    def while_running(self, work, step: float = 0.2):
        """``work()``, with the clock moved by ``step`` every few milliseconds meanwhile (for what polls on timers,
        such as a server's shutdown); what ``work`` returns."""
        done = threading.Event()

        def tick() -> None:
            while not done.is_set():
                self.loop.call_soon_threadsafe(self._move, step)
                time.sleep(0.005)
        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
        try:
            return work()
        finally:
            done.set()
            ticker.join()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread._thread.join(5)
        self.loop.close()

    def _move(self, seconds: float) -> None:
        self.loop.now += seconds

    async def _advance(self, seconds: float) -> None:
        self._move(seconds)
        await self._steps()

    @staticmethod
    async def _steps() -> None:
        # every callback already queued runs before the second step, and every timer due by then before the third
        for _ in range(3):
            await asyncio.sleep(0)
