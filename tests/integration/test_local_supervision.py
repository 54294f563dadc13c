"""bin/run's supervision with its own code (deploy.local.up): a crashed child and a killed embedded store are started
again, the other children keep running, Ctrl-C's stop still ends everything."""
from __future__ import annotations

import os
import signal
import time

import pymongo
import pymongo.errors
import pytest

from deploy.local import up
from deploy.local.processes import Process

pytestmark = pytest.mark.integration


@pytest.fixture
def logs(monkeypatch, tmp_path):
    monkeypatch.setattr(up, "LOGS", tmp_path / "log")
    (tmp_path / "log").mkdir()
    return tmp_path / "log"


def fake(name: str, code: str) -> Process:
    return Process(name, ("-c", code), metrics_port=0, needs=())


def supervise_until(platform: up.Platform, done, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "not done in time"
        platform.supervise()
        time.sleep(0.05)


def test_a_crashed_child_is_started_again_with_back_off_and_the_others_keep_running(logs, capsys):
    platform = up.Platform()
    env = dict(os.environ, MARK="from-the-first-start")
    crashing = "import os, sys; print('crashing with', os.environ['MARK'], flush=True); sys.exit(7)"
    platform.children = [up.spawn(fake("flaky", crashing), env, {}),
                         up.spawn(fake("steady", "import time; time.sleep(120)"), env, {})]
    steady_pid = platform.children[1].popen.pid
    try:
        started = time.monotonic()
        supervise_until(platform, lambda: platform.supervisor is not None
                        and platform.supervisor.children["flaky"].restarts >= 2, timeout=20)
        flaky = platform.supervisor.children["flaky"]
        (first, _), (second, _) = flaky.history[:2]
        assert [code for _, code in flaky.history[:2]] == [7, 7]
        assert second - first >= 1.0                     # the first back-off: a second before starting again
        assert flaky.restart_at - second == pytest.approx(2.0)     # then twice as long
        assert time.monotonic() - started < 15
        steady = platform.children[1]
        assert steady.popen.poll() is None and steady.popen.pid == steady_pid
        assert platform.supervisor.children["steady"].restarts == 0
        logged = (logs / "supervisor.log").read_text(encoding="utf-8")
        assert "flaky 意外退出 (exited with code 7)" in logged and "restart #2 in 2 s" in logged
        assert "crashing with from-the-first-start" in logged          # its log's tail; started with the same env
        assert "flaky 已重启 (restarted, #1)" in capsys.readouterr().out
        assert (logs / "flaky.log").read_text().count("start flaky") >= 2
    finally:
        platform.stop()
    assert steady.popen.returncode == -signal.SIGTERM


def test_a_killed_embedded_store_is_started_again_on_its_port_and_clients_reconnect(logs, tmp_path):
    platform = up.Platform()
    store = platform.start_store("main", var=tmp_path)
    uri, pid = store.uri, store.process.pid
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
    try:
        client.pb_probe.notes.insert_one({"_id": "before"})
        platform.supervise()
        os.kill(pid, signal.SIGKILL)
        supervise_until(platform, lambda: store.process is not None and store.process.pid != pid
                        and store.process.poll() is None, timeout=30)
        assert store.uri == uri
        try:
            client.pb_probe.notes.insert_one({"_id": "after"})
        except pymongo.errors.AutoReconnect:        # a connection pooled before the kill fails once, then is dropped
            client.pb_probe.notes.insert_one({"_id": "after"})
        assert sorted(doc["_id"] for doc in client.pb_probe.notes.find()) == ["after", "before"]
        assert "store main 意外退出 (exited with code -9)" in (logs / "supervisor.log").read_text(encoding="utf-8")
    finally:
        client.close()
        platform.stop()


def test_bin_run_stops_after_its_foreground_seconds_with_its_children(monkeypatch, logs, tmp_path):
    """``--foreground-seconds`` (the tests' bin/run) ends the supervision loop and stops every child."""
    started = []

    def start(self, secrets, tls=False, instances=None):
        self.children = [up.spawn(fake("steady", "import time; time.sleep(120)"), dict(os.environ), {})]
        started.extend(self.children)
        return {"PUBLIC_BASE_URL": "http://127.0.0.1:8080", "MONGO_URI": "mongodb://127.0.0.1:1/", "DB_PREFIX": "t"}

    monkeypatch.setattr(up.Platform, "start", start)
    monkeypatch.setattr(up, "VAR", tmp_path)
    monkeypatch.setattr(up, "DEMO_LOGINS", tmp_path / "demo-logins.txt")
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        began = time.monotonic()
        assert up.main(["--no-demo", "--foreground-seconds", "1"]) == 0
        assert 1 <= time.monotonic() - began < 15
    finally:
        for signum, handler in handlers.items():        # bin/run ignores both while it stops
            signal.signal(signum, handler)
    assert started[0].popen.returncode == -signal.SIGTERM
