"""One store and one clock per attendance process, whatever order nameko sets its extensions up in (concurrently,
each on its own green thread): the entry points' store is the one whose writes tell the scan desk's caches, and
the clock an RPC shifts is the one the desk judges scans by."""
from __future__ import annotations

from types import SimpleNamespace
from unittest.mock import MagicMock

import eventlet

from services.attendance import desk
from tests.support.builds import AttendanceTestBuild


def test_extensions_set_up_at_once_share_the_store_and_the_clock(monkeypatch):
    opened = []

    def slow_open(store_class, service_name):
        eventlet.sleep(0.01)              # the schema's round trips: the other set-ups run meanwhile
        opened.append(MagicMock(name=f"{service_name} store"))
        return opened[-1]
    monkeypatch.setattr(desk, "open_store", slow_open)
    container = SimpleNamespace(service_name="attendance", service_cls=AttendanceTestBuild)
    pool = eventlet.GreenPool()
    clocks = [pool.spawn(desk.service_clock, container) for _ in range(2)]
    stores = [pool.spawn(desk.process_store, container) for _ in range(2)]
    clocks, stores = [c.wait() for c in clocks], [s.wait() for s in stores]
    assert len(opened) == 1
    assert all(store is opened[0] for store in stores) and all(clock is clocks[0] for clock in clocks)
    assert clocks[0].offsets is opened[0].db["clock"]       # the test build's clock, on the process's store
