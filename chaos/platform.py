"""The processes the chaos suite starts, kills with SIGKILL and starts again: its own RabbitMQ node, two embedded
stores and the platform's processes, each on fixed ports and directories so that a restart is the same process
again. Only these are ever signalled (by the process group each was started in, never by name).
"""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pymongo

from chaos.broker import OwnRabbit
from servicekit.storage.embedded_mongo import EmbeddedMongo
from tests.support.processes import ChildProcess


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL to the process group of a child started in a session of its own (its pid is the group's id)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except Exception:  # noqa: BLE001  not ready
        return False


class Component:
    """One killable part of the platform: ``start`` (again), ``kill9``, ``ready`` and ``exit_code`` (None while it
    runs). ``lock`` is held by whoever kills or starts it (the nemesis, or the watchdog after an unplanned exit)."""
    name = ""

    def __init__(self):
        self.lock = threading.Lock()
        self.starts = 0

    def start(self) -> None:
        raise NotImplementedError

    def kill9(self) -> None:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def exit_code(self) -> int | None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError


class Broker(Component):
    name = "rabbitmq"

    def __init__(self, work: Path):
        super().__init__()
        self.node = OwnRabbit(work)

    def start(self) -> None:
        self.starts += 1
        self.node.start()

    def kill9(self) -> None:
        self.node.kill9()

    def ready(self) -> bool:
        return self.node.answers()

    def exit_code(self) -> int | None:
        return None if self.node.process is None else self.node.process.poll()

    def stop(self) -> None:
        self.node.stop()


class Store(Component):
    def __init__(self, name: str, data_dir: Path, port: int):
        super().__init__()
        self.name, self.data_dir, self.port = name, data_dir, port
        self.mongo: EmbeddedMongo | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self) -> None:
        self.starts += 1
        self.mongo = EmbeddedMongo(self.data_dir, port=self.port,
                                   log_path=self.data_dir.parent / f"{self.name}.log").start()

    def kill9(self) -> None:
        if self.mongo and self.mongo.process:
            kill_group(self.mongo.process)
            self.mongo.process = None

    def ready(self) -> bool:
        client = pymongo.MongoClient(self.uri, serverSelectionTimeoutMS=1000, connectTimeoutMS=1000)
        try:
            client.admin.command("ping")
            return True
        except Exception:  # noqa: BLE001  not ready
            return False
        finally:
            client.close()

    def exit_code(self) -> int | None:
        if not self.mongo or not self.mongo.process:
            return -1
        return self.mongo.process.poll()

    def stop(self) -> None:
        if self.mongo:
            self.mongo.stop()


class Process(Component):
    """A service (``python -m servicekit.process.runner ...``) or the gateway, with its readiness URL."""

    def __init__(self, name: str, args: list[str], env: dict, work: Path, ready_url: str):
        super().__init__()
        self.name, self.args, self.env, self.work, self.ready_url = name, args, env, work, ready_url
        self.child: ChildProcess | None = None

    def start(self) -> None:
        self.starts += 1
        # a log per start: ChildProcess truncates its log, and the killed run's log is what one reads afterwards
        self.child = ChildProcess(f"{self.name}.{self.starts}", self.args, self.env, self.work, own_session=True)

    def kill9(self) -> None:
        if self.child:
            kill_group(self.child.process)
            self.child._log.close()

    def ready(self) -> bool:
        return http_ok(self.ready_url)

    def exit_code(self) -> int | None:
        return None if self.child is None else self.child.process.poll()

    def stop(self) -> None:
        if self.child:
            self.child.stop()


def wait_ready(components: list[Component], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(component.ready() for component in components):
            return True
        time.sleep(0.25)
    return False


class Watchdog:
    """bin/run's part: a process that exits without being killed by the nemesis is started again after a second,
    and counted (``unplanned``) — e.g. a service whose container gave up on the broker."""

    def __init__(self, components: list[Component], log):
        self.components, self.log = components, log
        self.unplanned: dict[str, list[tuple[float, int]]] = {c.name: [] for c in components}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="chaos-watchdog")

    def start(self) -> "Watchdog":
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            for component in self.components:
                if not component.lock.acquire(blocking=False):
                    continue
                try:
                    code = component.exit_code()
                    if code is None or self._stop.is_set():
                        continue
                    self.unplanned[component.name].append((time.time(), code))
                    self.log(f"watchdog: {component.name} exited by itself ({code}); starting it again in 1 s")
                    time.sleep(1.0)
                    try:
                        component.start()
                    except Exception as error:  # noqa: BLE001  tried again on the next round
                        self.log(f"watchdog: {component.name} did not start: {error}"[:300])
                finally:
                    component.lock.release()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
