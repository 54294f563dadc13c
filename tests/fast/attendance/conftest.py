"""The attendance service through nameko's ``worker_factory``: a store shaped like the real one (a call to anything
it does not have fails), a fixed clock, a fake identity service and desk. No broker, no database, no process."""
from __future__ import annotations

from unittest.mock import MagicMock

import pytest
from nameko.testing.services import worker_factory

from servicekit.process.clock import FixedClock
from services.attendance.service import AttendanceService
from services.attendance.store import AttendanceStore
from tests.fast.attendance.fakes import NOW, PATH


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def store() -> MagicMock:
    store = MagicMock(spec=AttendanceStore)
    store.activity.return_value = None
    store.records_by_ids.return_value = {}
    store.records_of.return_value = []
    store.leave.return_value = None
    store.leave_of.return_value = None
    store.existing_ids.return_value = set()
    store.submit_plan.side_effect = lambda activity, plan, by, now, event: {**activity, "plan": plan,
                                                                          "status": "submitted"}
    store.reject_plan.side_effect = lambda activity_id, review, now, event: {**store.activity(activity_id),
                                                                           "status": "planning", "review": review}
    store.approve_plan.side_effect = lambda activity_id, plan, radius, review, now, events, freeze_at: {
        **store.activity(activity_id), "status": "approved", "plan": plan, "radius_m": radius, "review": review}
    return store


@pytest.fixture
def identity() -> MagicMock:
    identity = MagicMock()
    identity.get_org.side_effect = lambda scope, org_id: {"id": org_id, "path_ids": PATH[:PATH.index(org_id) + 1]}
    return identity


@pytest.fixture
def desk() -> MagicMock:
    return MagicMock()


@pytest.fixture
def service(store, clock, identity, desk):
    return worker_factory(AttendanceService, store=store, clock=clock, identity=identity, desk=desk)
