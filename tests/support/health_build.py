"""A service process whose container tests can make die, to watch its health endpoints and its exit.

    python -m servicekit.process.runner tests.support.health_build:HealthProbeTestBuild
        (with PARTYBUILDING_TEST_BUILD=1, MONGO_URI, AMQP_URI, METRICS_PORT and HEALTH_PROBE_DIE_FILE)

It has what readiness looks at in a real service: a store (``MongoStore``), a nameko consumer with a broker
connection (the reply queue of an ``RpcProxy``), ``Metrics``. It declares no RPC queue, so it answers no call
meant for the service whose principal it borrows. When the file ``HEALTH_PROBE_DIE_FILE`` appears, a thread of
its container raises, as an extension's thread that crashes: nameko kills the container.
"""
from __future__ import annotations

import logging
import os

import eventlet
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy

from servicekit.process.config import ConfigError
from servicekit.process.metrics import Metrics
from servicekit.storage.mongo import MongoStore, Store
from tests.support.builds import MARKER

log = logging.getLogger(__name__)
DIE_FILE = "HEALTH_PROBE_DIE_FILE"
TARGET = "tests.support.health_build:HealthProbeTestBuild"       # the runner's argument


class ProbeStore(Store):
    collections = {"probes": []}


class DieOnFile(DependencyProvider):
    """A managed thread that raises once the file named by HEALTH_PROBE_DIE_FILE exists. Refuses to start
    outside a test run."""

    def setup(self):
        if os.environ.get(MARKER) != "1":
            log.critical("HealthProbeTestBuild is a test build and refuses to start without %s=1", MARKER)
            raise ConfigError(f"a test build: set {MARKER}=1")
        self.path = os.environ[DIE_FILE]

    def start(self):
        self.container.spawn_managed_thread(self._watch, identifier="die_on_file")

    def _watch(self):
        while not os.path.exists(self.path):
            eventlet.sleep(0.05)
        raise RuntimeError(f"made to die by the test ({self.path} exists)")


class HealthProbeTestBuild:
    name = "volunteer"          # a principal whose call keys the test session has (the runner loads them)

    store = MongoStore(ProbeStore, database_of=lambda _service: "healthprobe")
    metrics = Metrics()
    identity = RpcProxy("identity")     # its reply listener consumes on a broker connection /readyz watches
    die_on_file = DieOnFile()
