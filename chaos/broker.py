"""A RabbitMQ node of the chaos suite's own: the suite kills it with SIGKILL, so it must never be the machine's broker
(127.0.0.1:5672, which other tests and tools share).

The node runs ``rabbitmq-server`` from the Debian package with everything of its own under the run's directory:
node name, AMQP and distribution ports, Mnesia and log directories, configuration (no plugins, so no management
listener) and an Erlang cookie (``HOME``). It registers with the machine's epmd like any node. Restarting it keeps
its name and directories, so its durable queues and their messages come back as after a crash.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

from kombu import Connection

from tests.support.processes import free_port

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
SYSTEM_PORT = 5672


class RabbitNodeError(RuntimeError):
    pass


class OwnRabbit:
    def __init__(self, base: Path):
        self.base = Path(base) / "rabbitmq"
        self.base.mkdir(parents=True, exist_ok=True)
        self.port, self.dist_port = free_port(), free_port()
        if self.port == SYSTEM_PORT:          # never the machine's broker
            raise RabbitNodeError("refusing to run a chaos node on 5672")
        self.node = f"chaos{uuid.uuid4().hex[:8]}@localhost"
        self.process: subprocess.Popen | None = None
        self.starts = 0
        (self.base / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (self.base / "enabled_plugins").write_text("[].\n")
        (self.base / "rabbitmq-env.conf").write_text("")       # not /etc/rabbitmq's, which names the system node
        cookie = self.base / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text(uuid.uuid4().hex)
            cookie.chmod(0o400)

    @property
    def uri(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def env(self) -> dict:
        base = self.base
        return {**os.environ, "HOME": str(base), "RABBITMQ_NODENAME": self.node,
                "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1", "RABBITMQ_NODE_PORT": str(self.port),
                "RABBITMQ_DIST_PORT": str(self.dist_port), "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
                "RABBITMQ_LOG_BASE": str(base / "log"), "RABBITMQ_LOGS": str(base / "log" / "node.log"),
                "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
                "RABBITMQ_ADVANCED_CONFIG_FILE": str(base / "advanced.config"),
                "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
                "RABBITMQ_PID_FILE": str(base / "node.pid"), "ERL_EPMD_ADDRESS": "127.0.0.1",
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}"}

    def start(self, timeout: float = 90.0) -> float:
        """Start the node and wait until it takes an AMQP connection; the seconds that took."""
        if not Path(SERVER).exists():
            raise RabbitNodeError(f"{SERVER} not found (Debian: apt-get install rabbitmq-server)")
        started = time.monotonic()
        self.starts += 1
        log = open(self.base / f"server.{self.starts}.out", "wb")
        self.process = subprocess.Popen([SERVER], env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                output = (self.base / f"server.{self.starts}.out").read_text(errors="replace")[-2000:]
                raise RabbitNodeError(f"the chaos RabbitMQ node exited with {self.process.returncode}: {output}")
            if self.answers():
                return time.monotonic() - started
            time.sleep(0.2)
        raise RabbitNodeError(f"the chaos RabbitMQ node did not answer on {self.port} within {timeout:.0f} s")

    def answers(self) -> bool:
        try:
            with Connection(self.uri, connect_timeout=1) as connection:
                connection.ensure_connection(max_retries=1)
                return True
        except Exception:  # noqa: BLE001  not up (yet)
            return False

    def kill9(self) -> None:
        """SIGKILL to the node's whole process group (the beam and its helpers), which this suite started."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self.process = None

    def stop(self) -> None:
        """At exit: SIGTERM first (a clean stop), then SIGKILL."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            self.kill9()
        self.process = None

    def remove(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)
