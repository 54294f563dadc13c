"""The content service through nameko's ``worker_factory``: a fake store (a MagicMock shaped like the real one,
so a call to anything the store does not have fails), a fake identity, a fixed clock, a real org-path cache.
No broker, no database."""
from __future__ import annotations

from unittest.mock import MagicMock

import pytest
from nameko.testing.services import worker_factory

from servicekit.process.clock import FixedClock
from services.content.orgs import OrgPaths
from services.content.service import ContentService
from services.content.store import ContentStore
from tests.fast.content.fakes import NOW, FakeIdentity


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def store() -> MagicMock:
    store = MagicMock(spec=ContentStore)
    store.settings_of.return_value = None
    return store


@pytest.fixture
def identity() -> FakeIdentity:
    return FakeIdentity()


@pytest.fixture
def service(store, clock, identity) -> ContentService:
    return worker_factory(ContentService, store=store, clock=clock, identity=identity, org_paths=OrgPaths())
