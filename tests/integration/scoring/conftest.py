"""Scoring integration tier: identity and scoring as real processes; attendance events published onto the bus
(reconcile drives the real attendance service)."""
from __future__ import annotations

import os

import pytest

from tests.support.identity import City
from tests.support.scoring import AttendancePublisher


@pytest.fixture(scope="session")
def publisher(scoring_service, mongo_uri, bus_uri):
    sender = AttendancePublisher(mongo_uri, bus_uri, os.environ["DB_PREFIX"] + "_scratch_attendance")
    yield sender
    sender.close()


@pytest.fixture
def city(rpc, operator_scope, scoring_service):
    return City(rpc, operator_scope)


@pytest.fixture
def other_city(rpc, operator_scope):
    return City(rpc, operator_scope)
