"""Fixtures and helpers shared by the tests of the points one event source earns (content, volunteer, meetings): the
tenant's rules table (a test may edit it), a fake points store (a MagicMock shaped like the real one) that answers
with those rules and knows the branch's place, the applier over it with a fixed clock, and what it wrote.

The test modules import the fixtures themselves: their ``store`` is the points store and stands in for the scoring
store of this folder's conftest in those modules only."""
from __future__ import annotations

from unittest.mock import MagicMock

import pytest

from servicekit.process.clock import FixedClock
from servicekit.storage.subtree import ancestor_fields
from services.scoring.domain import points
from services.scoring.points_store import PointsStore
from services.scoring.usecases.points_events import PointsApplier
from tests.fast.scoring.fakes import BRANCH, BRANCH_PATH, NOW, TENANT


@pytest.fixture
def rules() -> dict:
    return points.default_rules()


@pytest.fixture
def store(rules) -> MagicMock:
    store = MagicMock(spec=PointsStore)
    store.rules_of.side_effect = lambda tenant_id, known=None: rules
    store.branch_places.return_value = {BRANCH: ancestor_fields(BRANCH_PATH)}
    return store


@pytest.fixture
def applier(store) -> PointsApplier:
    return PointsApplier(store, clock=FixedClock(NOW))


def written(store: MagicMock) -> list[dict]:
    """The candidates of the store's last write."""
    return store.write_entries.call_args[0][1]


def assert_members_noted_under_the_branch(store: MagicMock, member_ids: list[str]) -> None:
    """The last write's members were noted under the branch, at its known place, and none placed one by one."""
    session = store.write_entries.call_args[0][0]
    store.branch_places.assert_called_once_with({BRANCH}, session)
    store.note_members.assert_called_once_with(TENANT, BRANCH, member_ids, ancestor_fields(BRANCH_PATH), session)
    store.place_members.assert_not_called()
