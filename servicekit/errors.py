"""Errors every service raises and the gateway maps, one table for HTTP and gRPC.

Each error carries a machine-readable UPPER_SNAKE ``code``, a message, an optional
``field`` and optional ``details`` (for example every bad row of an import).
They are registered with nameko so that a ``ClusterRpcProxy`` caller receives the
same class back instead of a bare ``RemoteError``.
"""
from __future__ import annotations

import json

from nameko.exceptions import deserialize_to_instance


class ServiceError(Exception):
    kind = "INTERNAL"
    default_code = "INTERNAL"

    def __init__(self, message: str = "", code: str | None = None, field: str | None = None,
                 details: list | None = None):
        self.message = message
        self.code = code or self.default_code
        self.field = field
        self.details = details or []
        super().__init__(json.dumps(self.to_dict(), ensure_ascii=False))

    def to_dict(self) -> dict:
        body = {"kind": self.kind, "code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        if self.details:
            body["details"] = self.details
        return body


def _register(error_class):
    """Let nameko rebuild the error on the caller's side from its JSON args."""
    original_init = error_class.__init__

    def __init__(self, *args, **kwargs):
        if len(args) == 1 and not kwargs and isinstance(args[0], str) and args[0].startswith('{"kind"'):
            body = json.loads(args[0])
            original_init(self, body.get("message", ""), body.get("code"), body.get("field"),
                          body.get("details"))
        else:
            original_init(self, *args, **kwargs)

    error_class.__init__ = __init__
    return deserialize_to_instance(error_class)


@_register
class InvalidArgument(ServiceError):
    """The request is malformed or breaks a rule: 400 / INVALID_ARGUMENT."""
    kind = "INVALID_ARGUMENT"
    default_code = "INVALID_ARGUMENT"


@_register
class Unauthenticated(ServiceError):
    """No valid credentials: 401 / UNAUTHENTICATED."""
    kind = "UNAUTHENTICATED"
    default_code = "UNAUTHENTICATED"


@_register
class PermissionDenied(ServiceError):
    """Authenticated but not allowed: 403 / PERMISSION_DENIED."""
    kind = "PERMISSION_DENIED"
    default_code = "PERMISSION_DENIED"


@_register
class NotFound(ServiceError):
    """Does not exist, or lies outside the caller's tenant or subtree: 404 / NOT_FOUND."""
    kind = "NOT_FOUND"
    default_code = "NOT_FOUND"


@_register
class Conflict(ServiceError):
    """Clashes with existing state (duplicate, wrong lifecycle step): 409 / ALREADY_EXISTS or FAILED_PRECONDITION."""
    kind = "CONFLICT"
    default_code = "CONFLICT"


@_register
class TooManyRequests(ServiceError):
    """Rate or attempt limit reached: 429 / RESOURCE_EXHAUSTED."""
    kind = "TOO_MANY_REQUESTS"
    default_code = "TOO_MANY_REQUESTS"


@_register
class Rejected(ServiceError):
    """Well-formed but refused by a domain rule that the caller cannot fix by retrying now
    (outside the fence, late sign-in...): 422 / FAILED_PRECONDITION."""
    kind = "REJECTED"
    default_code = "REJECTED"


@_register
class Unavailable(ServiceError):
    """A dependency of the service (its store) does not answer now; the same request may succeed later:
    503 / UNAVAILABLE, with Retry-After when ``details`` give ``retry_after_seconds``."""
    kind = "UNAVAILABLE"
    default_code = "UNAVAILABLE"


@_register
class DeadlineExceeded(ServiceError):
    """A service the request needed did not answer in time (``servicekit.messaging.peer_calls``): 504 /
    DEADLINE_EXCEEDED."""
    kind = "DEADLINE_EXCEEDED"
    default_code = "DEADLINE_EXCEEDED"


ERROR_CLASSES = {cls.kind: cls for cls in
                 (InvalidArgument, Unauthenticated, PermissionDenied, NotFound, Conflict, TooManyRequests,
                  Rejected, Unavailable, DeadlineExceeded)}


def error_from_dict(body: dict) -> ServiceError:
    """Rebuild an error sent as data (e.g. one item's error in a batch answer)."""
    error_class = ERROR_CLASSES.get(body.get("kind"), ServiceError)
    return error_class(body.get("message", ""), body.get("code"), body.get("field"), body.get("details"))
