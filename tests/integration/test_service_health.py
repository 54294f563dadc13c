"""A service process's /livez and /readyz on its metrics port, and its exit when its container dies
(servicekit.process.runner, servicekit.process.health), on the real broker and a store of the test's own."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from servicekit.process.health import EXIT_CONTAINER_DIED
from servicekit.storage.embedded_mongo import EmbeddedMongo
from tests.support.builds import TEST_BUILD_ENV
from tests.support.health_build import DIE_FILE, TARGET
from tests.support.processes import ChildProcess, free_port

pytestmark = pytest.mark.integration


def get(port: int, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{what} not seen within {timeout} s")


@pytest.fixture
def own_store(tmp_path):
    store = EmbeddedMongo(tmp_path / "store", port=free_port()).start()
    yield store
    store.stop()


@pytest.fixture
def probe(own_store, bus_uri, tmp_path):
    port = free_port()
    child = ChildProcess("healthprobe", ["-m", "servicekit.process.runner", TARGET],
                         {"AMQP_URI": bus_uri, "MONGO_URI": own_store.uri, "METRICS_PORT": str(port),
                          DIE_FILE: str(tmp_path / "die"), "HEALTH_CHECK_TIMEOUT_SECONDS": "0.5", **TEST_BUILD_ENV},
                         tmp_path)
    child.port, child.die_file = port, tmp_path / "die"
    try:
        child.wait_until(lambda: get(port, "/readyz")[0] == 200, timeout=60)
        yield child
    finally:
        child.stop()


def test_readiness_names_the_store_while_it_is_down_and_returns_when_it_is_back(probe, own_store):
    status, body = get(probe.port, "/readyz")
    assert status == 200 and body["status"] == "ready"
    assert body["checks"]["container"] == "running" and body["checks"]["broker"] == "connected"
    assert body["checks"]["store"].startswith("ok")

    own_store.stop()
    status, body = wait_for(lambda: (answer := get(probe.port, "/readyz"))[0] == 503 and answer, 15, "503")
    assert body["status"] == "not ready" and body["not_ready"] == ["store"]
    assert body["checks"]["store"].startswith("no answer within 0.5 s")
    assert get(probe.port, "/livez") == (200, {"status": "ok", "container": "running"})    # alive: no restart

    own_store.start()                   # the same port and files
    wait_for(lambda: get(probe.port, "/readyz")[0] == 200, 30, "ready again")
    assert probe.process.poll() is None


def test_a_process_whose_container_dies_answers_503_then_exits_non_zero(probe):
    assert get(probe.port, "/livez") == (200, {"status": "ok", "container": "running"})
    probe.die_file.touch()
    status, body = wait_for(lambda: (answer := get(probe.port, "/livez"))[0] == 503 and answer, 10, "/livez 503")
    assert body["status"] == "dead"         # "being killed" at first, then what it died of
    body = wait_for(lambda: "died:" in (answer := get(probe.port, "/livez")[1])["container"] and answer, 5, "died")
    assert body["container"].startswith("volunteer: died: RuntimeError: made to die by the test")
    assert "container" in get(probe.port, "/readyz")[1]["not_ready"]
    assert probe.process.wait(timeout=15) == EXIT_CONTAINER_DIED
    log = probe.log_path.read_text(errors="replace")
    assert "died (RuntimeError: made to die by the test" in log and f"exiting with code {EXIT_CONTAINER_DIED}" in log
