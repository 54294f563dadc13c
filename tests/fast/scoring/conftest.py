"""The scoring service through nameko's ``worker_factory``: fake stores (MagicMocks shaped like the real ones, so a
call to anything a store does not have fails), a fake ranking cache and identity, a fixed clock. No broker, no
database."""
from __future__ import annotations

from unittest.mock import MagicMock

import pytest
from nameko.testing.services import worker_factory

from servicekit.process.clock import FixedClock
from services.scoring.domain.points import default_rules
from services.scoring.points_store import PointsStore
from services.scoring.ranking_cache import RankingCache
from services.scoring.service import ScoringService
from services.scoring.store import ScoringStore
from tests.fast.scoring.fakes import NOW, FakeIdentity


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def store() -> MagicMock:
    store = MagicMock(spec=ScoringStore)
    store.activity.return_value = None
    store.activities_of_branch.return_value = []
    store.activities_by_ids.return_value = []
    store.any_activity_under.return_value = None
    store.recompute.return_value = []
    return store


@pytest.fixture
def points_store() -> MagicMock:
    store = MagicMock(spec=PointsStore)
    store.rules_of.side_effect = lambda tenant_id, known=None: default_rules()
    store.tenant.return_value = None
    store.member.return_value = None
    store.balance.return_value = None
    store.record_talk.return_value = True
    return store


@pytest.fixture
def ranking_cache() -> MagicMock:
    return MagicMock(spec=RankingCache)


@pytest.fixture
def identity() -> FakeIdentity:
    return FakeIdentity()


@pytest.fixture
def attendance() -> MagicMock:
    return MagicMock()


@pytest.fixture
def service(store, points_store, ranking_cache, clock, identity, attendance) -> ScoringService:
    return worker_factory(ScoringService, store=store, points_store=points_store, ranking_cache=ranking_cache,
                          clock=clock, identity=identity, attendance=attendance)
