"""The attendance service's integration tests: its database read directly, for what no RPC shows (the schedule, the
outbox)."""
from __future__ import annotations

import pymongo
import pytest

from servicekit.process.config import database_name


@pytest.fixture
def db(mongo_uri):
    client = pymongo.MongoClient(mongo_uri)
    yield client[database_name("attendance")]
    client.close()
