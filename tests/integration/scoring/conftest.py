"""Scoring integration tier: identity and scoring as real processes; attendance events published onto the bus."""
from __future__ import annotations

import json
import os

import pytest

from tests.support.identity import City
from tests.support.processes import ChildProcess
from tests.support.scoring import AttendancePublisher


@pytest.fixture(scope="session")
def publisher(scoring_service, mongo_uri, bus_uri):
    sender = AttendancePublisher(mongo_uri, bus_uri, os.environ["DB_PREFIX"] + "_scratch_attendance")
    yield sender
    sender.close()


@pytest.fixture(scope="session")
def fake_attendance(bus_uri, mongo_uri, tmp_path_factory):
    facts = tmp_path_factory.mktemp("facts") / "facts.json"
    facts.write_text("[]")
    child = ChildProcess("fake-attendance", ["-m", "servicekit.runner", "tests.support.fake_attendance:FakeAttendance"],
                         {"AMQP_URI": bus_uri, "FAKE_ATTENDANCE_FACTS": str(facts)},
                         tmp_path_factory.mktemp("fake-attendance-logs"))
    child.facts_path = facts
    child.write = lambda items: facts.write_text(json.dumps(items, ensure_ascii=False))
    yield child
    child.stop()


@pytest.fixture
def city(rpc, operator_scope, scoring_service):
    return City(rpc, operator_scope)


@pytest.fixture
def other_city(rpc, operator_scope):
    return City(rpc, operator_scope)
