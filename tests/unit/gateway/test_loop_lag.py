"""The gateway's event loop measures how late it runs a timer (``gateway_event_loop_lag_seconds``), on a loop whose
clock moves only when the test moves it."""
from __future__ import annotations

import pytest

from tests.unit.gateway.virtual_time import VirtualTime


@pytest.fixture
def clock():
    virtual = VirtualTime("lag")
    yield virtual
    virtual.close()


def test_a_callback_that_holds_the_loop_shows_as_lag(clock):
    seen = []
    clock.thread.watch_lag(seen.append, every=0.125)
    clock.settle()
    for _ in range(4):
        clock.advance(0.125)
    assert seen == [0.0] * 5                            # a probe at 0, 0.125, ... 0.5, each on time
    clock.hold(0.5)                                     # a callback keeps the loop from 0.5 to 1.0
    assert seen[5:] == [1.0 - 0.625]                    # the probe due at 0.625 ran at 1.0


def test_the_lag_is_watched_once_per_loop(clock):
    seen = []
    clock.thread.watch_lag(seen.append, every=0.25)
    clock.thread.watch_lag(seen.append, every=0.25)
    clock.settle()
    for _ in range(4):
        clock.advance(0.25)
    assert seen == [0.0] * 5                            # one probe every 0.25 s, not two
