"""Keeps the gateway's ``RevocationList`` current: a background thread asks identity for the revocations since
its cursor every ``GATEWAY_REVOCATION_POLL_SECONDS`` (2 s), so a logout or a disabled account is refused by
every gateway instance within about that long.

While identity cannot be reached the list keeps what it has (and tokens keep being answered from it): the
gateway does not stop serving for it; the failure is logged and counted, and the next poll catches up from
the same cursor.
"""
from __future__ import annotations

import logging
import threading
import time

from servicekit.process.config import env
from servicekit.security.revocations import RevocationList

log = logging.getLogger(__name__)


def poll_seconds() -> float:
    return float(env("GATEWAY_REVOCATION_POLL_SECONDS", "2"))


class RevocationPoller:
    def __init__(self, backend, revocations: RevocationList, interval: float | None = None):
        self.backend = backend
        self.revocations = revocations
        self.interval = interval if interval is not None else poll_seconds()
        self.cursor = ""                     # "" the first time: every revocation still in force
        self.failures = 0
        self.last_success: float | None = None      # time.monotonic() of the last round that got an answer
        self.last_error = ""
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> None:
        """One round: ask, apply, move the cursor on."""
        answer = self.backend.call("identity", "revocations_since", cursor=self.cursor)
        self.revocations.apply(answer)
        self.cursor = answer.get("cursor") or self.cursor

    def start(self) -> "RevocationPoller":
        self._thread = threading.Thread(target=self._run, name="revocation-poller", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll()
                self.failures, self.last_success = 0, time.monotonic()
            except Exception as error:  # identity away or slow: keep the list as it is, try again next round
                self.failures, self.last_error = self.failures + 1, str(error)
                log.warning("revocations not refreshed (%d in a row): %s", self.failures, error)
            self._stopping.wait(self.interval)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
