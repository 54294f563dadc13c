"""Start real service and gateway processes for integration and end-to-end tests."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ChildProcess:
    def __init__(self, name: str, args: list[str], env: dict, log_dir: Path, own_session: bool = False):
        """``own_session``: lead a session of its own, as `bin/run` starts each process (with autogroup
        scheduling, a session's processes compete for the CPU as one)."""
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen([sys.executable, *args], cwd=REPO, env={**os.environ, **env},
                                        stdout=self._log, stderr=subprocess.STDOUT, start_new_session=own_session)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def wait_until(self, ready, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        last_error = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if ready():
                    return
            except Exception as error:  # noqa: BLE001  not ready yet
                last_error = error
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout}s ({last_error}):\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
