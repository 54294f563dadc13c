"""The community topic's fast tests: the service with an in-memory community store, identity with members and
scoring's points totals (tests/fast/content/community_fakes.py)."""
from __future__ import annotations

import pytest
from nameko.testing.services import worker_factory

from services.content.orgs import OrgPaths
from services.content.service import ContentService
from tests.fast.content.community_fakes import CommunityIdentity, FakeCommunityStore, FakeScoring


@pytest.fixture
def community_store() -> FakeCommunityStore:
    return FakeCommunityStore()


@pytest.fixture
def community_identity() -> CommunityIdentity:
    return CommunityIdentity()


@pytest.fixture
def scoring() -> FakeScoring:
    return FakeScoring()


@pytest.fixture
def community(community_store, clock, community_identity, scoring) -> ContentService:
    """The service with the in-memory community store, identity with members and scoring's totals."""
    return worker_factory(ContentService, store=community_store, clock=clock, identity=community_identity,
                          org_paths=OrgPaths(), scoring=scoring)
