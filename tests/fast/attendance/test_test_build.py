"""The clock control exists only in attendance's test build (tests/support/builds.py): the production class has no
entry point, no switch and no stored offset; the test build shares one offset between its processes and refuses
to start unless PARTYBUILDING_TEST_BUILD=1."""
from __future__ import annotations

import inspect
import logging
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from unittest.mock import MagicMock

import pytest
from nameko.containers import ServiceContainer
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.testing.services import worker_factory

from servicekit.process.clock import WallClock
from servicekit.process.config import ConfigError, nameko_config
from servicekit.timestamps import stamp, utc_now
from services.attendance import desk
from services.attendance.service import AttendanceService
from services.attendance.store import AttendanceStore
from tests.support.builds import ATTENDANCE_TEST_BUILD, MARKER, AttendanceTestBuild, OffsetClock
from tests.support.processes import REPO


class Offsets:
    """The test build's ``clock`` collection in memory: what the processes of one service share."""

    def __init__(self):
        self.docs: dict[str, dict] = {}

    def find_one(self, query):
        return self.docs.get(query["_id"])

    def update_one(self, query, update, upsert=False):
        assert upsert
        self.docs.setdefault(query["_id"], {"_id": query["_id"]}).update(update["$set"])


def entry_points(service_cls) -> set[str]:
    return {name for name, member in inspect.getmembers(service_cls)
            if getattr(member, ENTRYPOINT_EXTENSIONS_ATTR, None)}


def process_clock(monkeypatch, service_cls, store):
    """The clock ``services.attendance.desk`` makes for a process of ``service_cls`` that opens ``store``."""
    monkeypatch.setattr(desk, "open_store", lambda store_class, service_name: store)
    return desk.service_clock(SimpleNamespace(service_name="attendance", service_cls=service_cls))


def test_the_production_class_has_no_clock_control_whatever_the_environment(monkeypatch):
    monkeypatch.setenv("ATTENDANCE_CLOCK_CONTROL", "1")      # the switch it once had
    monkeypatch.setenv(MARKER, "1")
    assert "set_clock_offset" not in entry_points(AttendanceService)
    assert not hasattr(AttendanceService, "set_clock_offset") and not hasattr(AttendanceService, "process_clock")
    assert not hasattr(AttendanceStore, "clock_offset") and not hasattr(AttendanceStore, "set_clock_offset")
    assert "clock" not in AttendanceStore.all_collections()
    store = MagicMock(spec=AttendanceStore)                  # its database is not even reachable through it
    clock = process_clock(monkeypatch, AttendanceService, store)
    assert type(clock) is WallClock
    assert abs(clock.now() - utc_now()) < timedelta(seconds=5)
    assert store.method_calls == []                          # no offset read
    named = [path for path in (REPO / "services").rglob("*.py")
             if "CLOCK_CONTROL" in path.read_text() or MARKER in path.read_text()]
    assert named == []


def test_the_test_build_adds_only_the_clock_control_and_its_processes_use_the_shifted_clock(monkeypatch):
    assert entry_points(AttendanceTestBuild) == entry_points(AttendanceService) | {"set_clock_offset"}
    assert AttendanceTestBuild.name == AttendanceService.name
    store = SimpleNamespace(db={"clock": Offsets()})
    clock = process_clock(monkeypatch, AttendanceTestBuild, store)
    assert isinstance(clock, OffsetClock) and clock.offsets is store.db["clock"]


def test_a_shift_reaches_every_process_of_the_test_build():
    shared = SimpleNamespace(db={"clock": Offsets()})
    here, there = OffsetClock(shared), OffsetClock(shared)
    service = worker_factory(AttendanceTestBuild, clock=here)
    before = utc_now()
    answer = service.set_clock_offset(seconds=3600)
    assert answer["now"] >= stamp(before + timedelta(seconds=3600))
    assert timedelta(seconds=3590) < there.now() - utc_now() < timedelta(seconds=3610)
    service.set_clock_offset(seconds=0)
    assert there.now() - utc_now() > timedelta(seconds=3590)    # read again only after REFRESH_SECONDS
    there._loaded -= OffsetClock.REFRESH_SECONDS + 0.1
    assert abs(there.now() - utc_now()) < timedelta(seconds=10)


def test_an_offset_read_that_a_set_overtakes_does_not_bring_the_old_offset_back():
    offsets = Offsets()
    clock = OffsetClock(SimpleNamespace(db={"clock": offsets}))
    stored = offsets.find_one

    def read_then_overtaken(query):     # the timer's read is answered after the RPC has set a new offset
        answer = stored(query)
        clock.set_offset(3600)
        return answer
    offsets.find_one = read_then_overtaken
    assert clock.now() - utc_now() > timedelta(seconds=3590)
    offsets.find_one = stored
    offsets.update_one({"_id": "offset"}, {"$set": {"seconds": 7200.0}}, upsert=True)   # another process's set
    clock._loaded -= OffsetClock.REFRESH_SECONDS + 0.1          # due for a refresh: what the store holds wins
    assert clock.now() - utc_now() > timedelta(seconds=7190)


@pytest.mark.parametrize("marker", [None, "0", "true"])
def test_the_test_build_is_refused_a_container_without_the_marker(monkeypatch, caplog, marker):
    if marker is None:
        monkeypatch.delenv(MARKER, raising=False)
    else:
        monkeypatch.setenv(MARKER, marker)
    with caplog.at_level(logging.CRITICAL), pytest.raises(ConfigError) as refused:
        ServiceContainer(AttendanceTestBuild, nameko_config())
    assert f"refuses to start without {MARKER}=1" in str(refused.value)
    assert "services.attendance.service:AttendanceService" in str(refused.value)
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.CRITICAL] == [str(refused.value)]


def test_the_test_build_and_the_production_class_get_containers_with_the_marker(monkeypatch):
    monkeypatch.setenv(MARKER, "1")
    assert ServiceContainer(AttendanceTestBuild, nameko_config()).service_name == "attendance"
    monkeypatch.delenv(MARKER)
    assert ServiceContainer(AttendanceService, nameko_config()).service_name == "attendance"


def test_the_runner_refuses_to_start_the_test_build_without_the_marker(tmp_path):
    env = {name: value for name, value in os.environ.items() if name != MARKER}
    env["AMQP_URI"] = "amqp://guest:guest@127.0.0.1:1/"     # never reached: the refusal comes first
    done = subprocess.run([sys.executable, "-m", "servicekit.process.runner", ATTENDANCE_TEST_BUILD], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert re.search(r"CRITICAL tests\.support\.builds( \[[^]]*\])?: AttendanceTestBuild is a test build", done.stderr)
    assert f"refuses to start without {MARKER}=1" in done.stderr
    assert "started " not in done.stderr
