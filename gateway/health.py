"""The gateway's liveness and readiness, on its admin listener (``gateway.http.admin``: /livez and /readyz).

``/livez``: 200 while the process serves (the admin listener answering shows its event loop turning) and its public
HTTP server has not stopped; 503 otherwise. ``/readyz``: 200 when the broker is reachable the way its RPC proxies
reach it (the same URI, user and TLS: an AMQP handshake, its answer kept 5 s so probes stay cheap); 503 naming what
is not. Whether identity answers is reported too, from the revocation poller's last round (no call of its own), but
does not make the gateway unready: every replica shares the one identity, and taking all of them out of service
would turn an outage of logins into an outage of everything (the pages, tokens already verified).
"""
from __future__ import annotations

import time

from gateway.revocations import poll_seconds

IDENTITY_QUIET_SECONDS = 10.0      # no successful revocation poll for longer than this: identity not answering


class GatewayHealth:
    def __init__(self, broker=None, poller=None, clock=time.monotonic):
        """``broker``: a check, ``() -> (ok, detail)`` (``servicekit.process.health.BrokerProbe``); ``poller``: the
        ``RevocationPoller`` whose rounds tell whether identity answers."""
        self.broker, self.poller, self.clock = broker, poller, clock
        self.server = None              # the GatewayServer, once built
        self.started_at = clock()

    def live(self) -> tuple[int, dict]:
        http = getattr(self.server, "http", None)
        task = getattr(http, "task", None)
        if task is not None and task.done():
            return 503, {"status": "dead", "http": "the public HTTP server stopped"}
        return 200, {"status": "ok"}

    def ready(self) -> tuple[int, dict]:
        checks, not_ready, degraded = {}, [], []
        if self.broker is not None:
            try:
                ok, detail = self.broker()
            except Exception as error:  # noqa: BLE001  a check that fails is a check not passed
                ok, detail = False, f"{type(error).__name__}: {error}"
            checks["broker"] = detail
            if not ok:
                not_ready.append("broker")
        if self.poller is not None:
            ok, checks["identity"] = self.identity()
            if not ok:
                degraded.append("identity")
        body = {"status": "not ready" if not_ready else "ready", "checks": checks}
        if not_ready:
            body["not_ready"] = not_ready
        if degraded:
            body["degraded"] = degraded
        return (503 if not_ready else 200), body

    def identity(self) -> tuple[bool, str]:
        """Whether identity answered the revocation poller lately."""
        quiet = max(IDENTITY_QUIET_SECONDS, 3 * poll_seconds())
        last = getattr(self.poller, "last_success", None)
        since = self.clock() - (last if last is not None else self.started_at)
        if since <= quiet:
            return True, "answering" if last is not None else "not asked yet"
        error = getattr(self.poller, "last_error", "") or "no answer yet"
        return False, f"no answer for {since:.0f} s: {error[:200]}"
