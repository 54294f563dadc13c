"""The embedded default store: nx-27017 (MongoDB wire protocol on SQLite) as a child process.

Used by `bin/run` (deploy/local/up.py) and the test fixtures when MONGO_URI is not set.

nx-27017 runs its threaded server (``--threaded``: a thread per connection) rather than its asyncio one, whose
hand-offs between worker threads and its event loop cost the store CPU at a scan peak
(docs/performance.md#embedded-store-limits-and-the-separate-scoring-store). ``EMBEDDED_MONGO_SERVER=asyncio``
runs the asyncio server. It logs warnings and errors, not a line per command (``servicekit.storage.nx_server``;
``EMBEDDED_MONGO_LOG=commands``: every line). SQLite syncs at every commit (``EMBEDDED_MONGO_SYNCHRONOUS=FULL``, the
default; ``NORMAL``: not, see ``servicekit.storage.nx_server``).
"""
from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pymongo
from pymongo.errors import PyMongoError

READY_TIMEOUT_SECONDS = 20.0
STOP_GRACE_SECONDS = 5.0


class EmbeddedMongoError(RuntimeError):
    pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def log_tail(path: Path | None, lines: int = 30) -> str:
    if not path or not Path(path).exists():
        return "(no log)"
    return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])


SERVER_KINDS = ("threaded", "asyncio")


def server_options(kind: str | None = None) -> list[str]:
    """nx-27017's options for the server kind (``EMBEDDED_MONGO_SERVER``, default threaded)."""
    kind = (kind if kind is not None else os.environ.get("EMBEDDED_MONGO_SERVER", "")).strip() or "threaded"
    if kind not in SERVER_KINDS:
        raise EmbeddedMongoError(f"EMBEDDED_MONGO_SERVER must be one of {', '.join(SERVER_KINDS)}, not {kind!r}")
    return ["--threaded"] if kind == "threaded" else []


LOG_SETTINGS = ("warnings", "commands")


def log_setting(setting: str | None = None) -> str:
    """What the store logs (``EMBEDDED_MONGO_LOG``): ``warnings`` (the default) or ``commands``, a line for
    every command it answers, as nx-27017 does by itself (``servicekit.storage.nx_server``)."""
    setting = (setting if setting is not None else os.environ.get("EMBEDDED_MONGO_LOG", "")).strip() or "warnings"
    if setting not in LOG_SETTINGS:
        raise EmbeddedMongoError(f"EMBEDDED_MONGO_LOG must be one of {', '.join(LOG_SETTINGS)}, not {setting!r}")
    return setting


SYNCHRONOUS_SETTINGS = ("FULL", "NORMAL")


def synchronous_setting(setting: str | None = None) -> str:
    """SQLite's ``synchronous`` for the store's files (``EMBEDDED_MONGO_SYNCHRONOUS``): ``FULL`` (the default: a
    commit is on disk when answered) or ``NORMAL`` (a power loss can lose the last commits)."""
    raw = setting if setting is not None else os.environ.get("EMBEDDED_MONGO_SYNCHRONOUS", "")
    value = raw.strip().upper() or "FULL"
    if value not in SYNCHRONOUS_SETTINGS:
        raise EmbeddedMongoError(f"EMBEDDED_MONGO_SYNCHRONOUS must be one of {', '.join(SYNCHRONOUS_SETTINGS)}, "
                                 f"not {raw!r}")
    return value


def server_command(log: str = "warnings") -> list[str]:
    """nx-27017 from the running interpreter's environment (the project's venv), through
    ``servicekit.storage.nx_server``, which applies ``EMBEDDED_MONGO_LOG`` and ``EMBEDDED_MONGO_SYNCHRONOUS``."""
    if importlib.util.find_spec("nx_27017") is None:
        raise EmbeddedMongoError("nx-27017 is not installed in this environment: run bin/setup")
    return [sys.executable, "-m", "servicekit.storage.nx_server"]


class EmbeddedMongo:
    """nx-27017 on 127.0.0.1. data_dir None: a temporary directory, removed on stop()."""

    def __init__(self, data_dir: Path | None = None, port: int | None = None,
                 log_path: Path | None = None, host: str = "127.0.0.1"):
        self.data_dir = Path(data_dir).resolve() if data_dir else None
        self.port = port
        self.host = host
        self.log_path = Path(log_path) if log_path else None
        self.process: subprocess.Popen | None = None
        self._temp_dir: Path | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://{self.host}:{self.port}/"

    def start(self) -> EmbeddedMongo:
        if self.process:
            return self
        # a bad setting is refused before anything is made
        options, logged, _ = server_options(), log_setting(), synchronous_setting()
        if self.data_dir is None:
            self._temp_dir = Path(tempfile.mkdtemp(prefix="nx-27017-"))
            data_dir, side_dir = self._temp_dir / "data", self._temp_dir
        else:
            data_dir, side_dir = self.data_dir, self.data_dir.parent
        self.served_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port(self.host)
        self.log_path = self.log_path or side_dir / f"{data_dir.name}.nx-27017.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        pid_path = side_dir / f"{data_dir.name}.nx-27017.pid"
        _refuse_if_running(pid_path, data_dir)

        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                server_command(logged) + ["--data-dir", str(data_dir), "--host", self.host, "-p", str(self.port),
                                    "--log-file", os.devnull, "--pid-file", str(pid_path), *options],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        client = pymongo.MongoClient(self.uri, serverSelectionTimeoutMS=300, connectTimeoutMS=300)
        try:
            while True:
                if self.process.poll() is not None:
                    raise EmbeddedMongoError(f"nx-27017 exited with code {self.process.returncode} "
                                             f"({self.log_path}):\n{log_tail(self.log_path)}")
                try:
                    client.admin.command("ping")
                    return
                except PyMongoError:
                    pass
                if time.monotonic() > deadline:
                    raise EmbeddedMongoError(f"nx-27017 did not answer ping on {self.uri} within "
                                             f"{READY_TIMEOUT_SECONDS:.0f} s ({self.log_path}):\n"
                                             f"{log_tail(self.log_path)}")
                time.sleep(0.1)
        finally:
            client.close()

    def stop(self) -> None:
        process, self.process = self.process, None
        if process and process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._temp_dir:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    def __enter__(self) -> EmbeddedMongo:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _refuse_if_running(pid_path: Path, data_dir: Path) -> None:
    """Two servers on one set of SQLite files would corrupt it; a stale pid file is removed."""
    try:
        pid = int(pid_path.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        pid_path.unlink(missing_ok=True)
        return
    if b"nx" in cmdline and str(data_dir).encode() in cmdline:
        raise EmbeddedMongoError(f"another nx-27017 (pid {pid}) is already serving {data_dir}")
    pid_path.unlink(missing_ok=True)


def ensure_mongo_uri(data_dir: Path | None = None) -> str:
    """MONGO_URI if set; else start an embedded store for this process's lifetime and export its URI."""
    uri = os.environ.get("MONGO_URI")
    if uri:
        return uri
    mongo = EmbeddedMongo(data_dir).start()
    atexit.register(mongo.stop)
    os.environ["MONGO_URI"] = mongo.uri
    return mongo.uri
