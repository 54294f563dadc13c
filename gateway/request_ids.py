"""The request id: one per request at either edge, in every HTTP answer (``X-Request-Id``), every error body
(``"request_id"``), a gRPC error's trailing metadata (``x-request-id``) and every log line the request causes.

A client's own ``X-Request-Id`` (gRPC: ``x-request-id`` metadata) is kept only when it comes from a trusted proxy
(``gateway.client_address``) and looks like an id; anyone else could choose the id their requests are logged under.
The id lives in a context variable: set by the edge for the request's task, carried to a worker thread by running
the work in a copy of that context (``contextvars.copy_context().run``: ``loop.run_in_executor`` does not carry
context variables).
"""
from __future__ import annotations

import contextvars
import logging
import re
import itertools
import secrets

from gateway.client_address import TrustedProxies
from servicekit import request_ids as servicekit_request_ids

HEADER = "X-Request-Id"
METADATA_KEY = "x-request-id"
ACCEPTED = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")

# servicekit's: the gateway's calls carry the current id to the services (``servicekit.request_ids``)
_current: contextvars.ContextVar[str | None] = servicekit_request_ids.CURRENT


# A random prefix per process and a counter: unique across gateways, and no system call per request (a
# request id is a label for the logs, not a secret).
_PREFIX = secrets.token_hex(5)
_COUNTER = itertools.count(1)


def new_id() -> str:
    return f"{_PREFIX}{next(_COUNTER):06x}"


def chosen(given: str | None, peer: str | None, proxies: TrustedProxies | None) -> str:
    """The id of a request: ``given`` when the peer is a trusted proxy and it is well formed, else a new one."""
    if given and proxies is not None and proxies.networks and peer and proxies.trusts(peer) \
            and ACCEPTED.fullmatch(given.strip()):
        return given.strip()
    return new_id()


def begin(request_id: str) -> str:
    """Make ``request_id`` the current one (for this task or thread's context)."""
    _current.set(request_id)
    return request_id


def current() -> str | None:
    return _current.get()


def current_or_new() -> str:
    """The current id, or a new one made current (an answer built outside any request: a protocol refusal)."""
    request_id = _current.get()
    return request_id if request_id is not None else begin(new_id())


class LogFilter(logging.Filter):
    """Puts ``request_id`` on every record (``-`` outside a request), for a format naming ``%(request_id)s``."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _current.get() or "-"
        return True


def log_request_ids(logger: logging.Logger | None = None) -> None:
    """Every handler of ``logger`` (the root's by default) gives its records the request id."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(existing, LogFilter) for existing in handler.filters):
            handler.addFilter(LogFilter())
