"""The gateway's request id in the services: sent with every call, on every log line the call causes.

- A call carries its request's id in nameko's context data (the header ``nameko.request_id``): the gateway's
  ``SigningPublisher`` adds the current id; in a service, nameko copies a worker's context data onto every call the
  worker makes, so a peer call carries the id of the request that caused it.
- A gateway batch (scans, feeds, answers: up to 256 requests in one call) has an id of its own (``b`` and 16 hex
  digits) as its ``request_id``, and the ids of its requests, in order, in ``pb-request-ids`` (not context data, so
  never passed on). ``answer_each`` runs each item under its request's id, so a line about one scan names that scan's
  request; a line about the whole batch names the batch.
- ``servicekit.process.container.Container`` makes a worker's id current for its green thread; ``LogFilter`` puts
  it on every record (``-`` outside any call).

One context variable for the gateway's threads and the services' green threads (each greenlet has a context of its
own: a worker's id never leaks to another worker).
"""
from __future__ import annotations

import contextvars
import logging
import re

CONTEXT_KEY = "request_id"                  # nameko context data: header ``nameko.request_id``
HEADER = f"nameko.{CONTEXT_KEY}"
ITEMS_HEADER = "pb-request-ids"             # a batch's request ids, comma-separated, in item order
ACCEPTED = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"

CURRENT: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
# a batch's item ids: set by the gateway's batch sender (sent) and by a service's worker (received)
OUTGOING_ITEMS: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar("outgoing_items",
                                                                                         default=None)
ITEMS: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar("request_items", default=None)


def current() -> str | None:
    return CURRENT.get()


def well_formed(value) -> str | None:
    """``value`` when it can be an id (a header anyone on the bus may have written), else None."""
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    return value if isinstance(value, str) and ACCEPTED.fullmatch(value) else None


def outgoing_headers(extra: dict) -> dict:
    """The request id headers of a call about to be sent (``extra``: nameko's own, with a worker's context data)."""
    headers = {}
    request_id = CURRENT.get()
    if request_id is not None and HEADER not in extra:
        headers[HEADER] = request_id
    items = OUTGOING_ITEMS.get()
    if items:
        headers[ITEMS_HEADER] = ",".join(items)
    return headers


def received_items(headers: dict | None) -> tuple[str, ...] | None:
    """A batch's request ids from its headers (None when absent or malformed)."""
    raw = (headers or {}).get(ITEMS_HEADER)
    if isinstance(raw, bytes):
        raw = raw.decode(errors="replace")
    if not isinstance(raw, str) or not raw:
        return None
    items = tuple(raw.split(","))
    return items if all(ACCEPTED.fullmatch(item) for item in items) else None


def item_ids(count: int) -> tuple[str, ...] | None:
    """The request ids of a batch of ``count`` items this worker handles, when the call carried them."""
    items = ITEMS.get()
    return items if items is not None and len(items) == count else None


class LogFilter(logging.Filter):
    """Puts ``request_id`` on every record (``-`` outside a call), for ``LOG_FORMAT``."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = CURRENT.get() or "-"
        return True


def log_request_ids(logger: logging.Logger | None = None) -> None:
    """Every handler of ``logger`` (the root's by default) gives its records the request id."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(existing, LogFilter) for existing in handler.filters):
            handler.addFilter(LogFilter())
