"""Fixtures shared by every tier (unit, integration, e2e).

Policy: the real store and the real broker, never mocks of them. Each session gets its own
DB_PREFIX, so runs (and developers sharing one MongoDB) never see each other's data.
`amqp_uri` and `rabbit_config` replace nameko's plugin fixtures of the same names, which
need RabbitMQ's management API; ours need only the AMQP port.
"""
from __future__ import annotations

import os
import re
import secrets

import pymongo
import pytest

from servicekit.process.config import amqp_uri as configured_amqp_uri
from servicekit.process.config import nameko_config
from servicekit.storage.embedded_mongo import EmbeddedMongo
from servicekit.messaging.signed_calls import sign_outgoing_calls
from servicekit.security.keys import ensure_keys, new_password
from servicekit.security.proofs import forget_keys, use_principal
from tests.support.service_fixtures import bus_uri, identity_service, operator_scope, rpc  # noqa: F401
from tests.support.service_fixtures import scoring_service  # noqa: F401
from tests.support.service_fixtures import attendance_service  # noqa: F401
from tests.support.service_fixtures import content_service  # noqa: F401
from tests.support.service_fixtures import volunteer_service  # noqa: F401


@pytest.fixture(scope="session", autouse=True)
def platform_env(tmp_path_factory):
    """DB_PREFIX, key paths and the operator password in os.environ for this session."""
    saved = dict(os.environ)
    os.environ.update(ensure_keys(tmp_path_factory.mktemp("keys")),
                      DB_PREFIX="t" + secrets.token_hex(4), OPERATOR_PASSWORD=new_password())
    use_principal("gateway")        # the tests call services as the gateway does (tests/support/proofs.py: others)
    sign_outgoing_calls()
    yield dict(os.environ)
    os.environ.clear()
    os.environ.update(saved)
    forget_keys()


@pytest.fixture(scope="session")
def mongo_uri(platform_env):
    """MONGO_URI from the environment, else an embedded nx-27017 in a temporary directory."""
    external = os.environ.get("MONGO_URI")
    if external:
        yield external
        _drop_session_databases(external, os.environ["DB_PREFIX"])
        return
    with EmbeddedMongo() as mongo:
        os.environ["MONGO_URI"] = mongo.uri
        os.environ["TEST_STORE_DATA_DIR"] = str(mongo.served_dir)     # the backup tests copy it
        yield mongo.uri


def _drop_session_databases(uri: str, prefix: str) -> None:
    with pymongo.MongoClient(uri) as client:
        for name in client.list_database_names():
            if name.startswith(prefix + "_"):
                client.drop_database(name)


@pytest.fixture(scope="session")
def amqp_uri():
    """The broker's URI; a test that needs it fails (never skips) when RabbitMQ does not answer."""
    from kombu import Connection

    uri = configured_amqp_uri()
    try:
        with Connection(uri, connect_timeout=5) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as error:  # noqa: BLE001 - any failure means the same thing here
        shown = re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", uri)
        pytest.fail(f"RabbitMQ does not answer at {shown} ({error}). Run bin/setup (it starts "
                    f"RabbitMQ) or set AMQP_URI to a running broker.", pytrace=False)
    return uri


@pytest.fixture
def rabbit_config(amqp_uri):
    """nameko config for containers and ClusterRpcProxy in tests."""
    return {**nameko_config(), "AMQP_URI": amqp_uri}
