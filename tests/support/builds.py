"""Test builds: production service classes plus the controls only tests and benchmarks may use.

    python -m servicekit.process.runner tests.support.builds:AttendanceTestBuild     (with PARTYBUILDING_TEST_BUILD=1)

They live under tests/, which the installed package leaves out (pyproject.toml: ``packages.find``), so no
production install can import one, and nothing in services/ names them. Started from a checkout, a test build
still refuses to start unless ``PARTYBUILDING_TEST_BUILD=1``, which only the test fixtures and the benches set.
"""
from __future__ import annotations

import logging
import os
import time
from datetime import datetime, timedelta

from nameko.extensions import DependencyProvider

from servicekit.messaging.rpc import rpc
from servicekit.process.clock import WallClock
from servicekit.process.config import ConfigError
from servicekit.timestamps import stamp, utc_now
from services.attendance.service import AttendanceService

log = logging.getLogger(__name__)

MARKER = "PARTYBUILDING_TEST_BUILD"
TEST_BUILD_ENV = {MARKER: "1"}          # what a fixture or a bench adds to a test build's environment
ATTENDANCE_TEST_BUILD = "tests.support.builds:AttendanceTestBuild"      # the runner's argument


def refuse_unless_marked(service_cls) -> None:
    """Raise ConfigError (after a log line saying why) unless this process is marked as a test run."""
    if os.environ.get(MARKER) == "1":
        return
    production = service_cls.__mro__[1]
    message = (f"{service_cls.__name__} is a test build (tests/support/builds.py) and refuses to start without "
               f"{MARKER}=1; production runs {production.__module__}:{production.__name__}")
    log.critical(message)
    raise ConfigError(message)


class OnlyInTests(DependencyProvider):
    """A test build's guard. Checked when nameko binds the service to its container, before any extension is
    set up: a refused process has opened no store and declared no queue."""

    def bind(self, container, attr_name):
        refuse_unless_marked(container.service_cls)
        return super().bind(container, attr_name)


class OffsetClock(WallClock):
    """The real time plus an offset kept in the service's database, so that every process of the test build
    (tests run two) shares it and a themed day is driven from sign-in to closing without waiting. Each process
    re-reads the offset at most every REFRESH_SECONDS."""

    REFRESH_SECONDS = 0.5

    def __init__(self, store):
        self.offsets = store.db["clock"]
        self._offset = 0.0
        self._loaded = 0.0
        self._sets = 0          # offsets set by this process: a read begun before one is stale

    def now(self) -> datetime:
        if time.monotonic() - self._loaded > self.REFRESH_SECONDS:
            sets = self._sets
            doc = self.offsets.find_one({"_id": "offset"})
            if sets == self._sets:
                self._offset, self._loaded = float(doc["seconds"]) if doc else 0.0, time.monotonic()
        return utc_now() + timedelta(seconds=self._offset)

    def set_offset(self, seconds: float) -> None:
        self.offsets.update_one({"_id": "offset"}, {"$set": {"seconds": float(seconds)}}, upsert=True)
        self._sets += 1
        self._offset, self._loaded = float(seconds), time.monotonic()


class AttendanceTestBuild(AttendanceService):
    """The attendance service with a shiftable clock (``set_clock_offset``)."""

    only_in_tests = OnlyInTests()

    @staticmethod
    def process_clock(store) -> OffsetClock:
        """The process's one clock (services.attendance.desk): the entry points' and the scan desk's."""
        return OffsetClock(store)

    @rpc
    def set_clock_offset(self, seconds=0.0):
        """Set every process's clock to the real time plus ``seconds``; answers the shifted time."""
        self.clock.set_offset(seconds)
        return {"now": stamp(self.clock.now())}
