"""A RabbitMQ virtual host of its own for each test session.

Services are found on the bus by name, so a test run sharing a vhost with a running
platform (or another test run) would have its calls answered by the wrong process.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from urllib.parse import quote, urlsplit, urlunsplit

from servicekit.process.config import amqp_uri


def _ctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


class TestVhost:
    def __init__(self):
        self.name = f"pbtest-{uuid.uuid4().hex[:10]}"
        self.created = False

    def __enter__(self) -> str:
        base = os.environ.get("TEST_AMQP_URI")
        if base:
            return base
        if not shutil.which("rabbitmqctl"):
            return amqp_uri()
        _ctl("add_vhost", self.name)
        _ctl("set_permissions", "-p", self.name, urlsplit(amqp_uri()).username or "guest", ".*", ".*", ".*")
        self.created = True
        parts = urlsplit(amqp_uri())
        return urlunsplit((parts.scheme, parts.netloc, "/" + quote(self.name, safe=""), "", ""))

    def __exit__(self, *exc) -> None:
        if self.created:
            _ctl("delete_vhost", self.name)
