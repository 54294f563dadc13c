"""The gateway's event loop measures how late it runs a timer (``gateway_event_loop_lag_seconds``)."""
from __future__ import annotations

import threading
import time

from gateway.event_loop import LoopThread


def test_a_callback_that_holds_the_loop_shows_as_lag():
    loop_thread, seen, seen_lock = LoopThread(name="lag-test"), [], threading.Lock()

    def observe(lag: float) -> None:
        with seen_lock:
            seen.append(lag)

    loop_thread.watch_lag(observe, every=0.02)
    time.sleep(0.2)
    with seen_lock:
        quiet = list(seen)
    assert len(quiet) >= 4 and max(quiet) < 0.2
    loop_thread.loop.call_soon_threadsafe(time.sleep, 0.3)      # a callback that keeps the loop for 0.3 s
    time.sleep(0.6)
    with seen_lock:
        assert max(seen[len(quiet):]) >= 0.2
    loop_thread.loop.call_soon_threadsafe(loop_thread.loop.stop)


def test_the_lag_is_watched_once_per_loop():
    loop_thread, seen = LoopThread(name="lag-once"), []
    loop_thread.watch_lag(seen.append, every=0.05)
    loop_thread.watch_lag(seen.append, every=0.05)
    time.sleep(0.5)
    assert 2 <= len(seen) <= 12                     # one probe every 50 ms at most, not two
    loop_thread.loop.call_soon_threadsafe(loop_thread.loop.stop)
