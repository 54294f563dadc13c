"""The one error table: an error's kind → HTTP status + gRPC status code.

Services raise the classes of ``servicekit.errors`` (nameko rebuilds them here); the
gateway raises ``GatewayError`` for what it finds itself (bad JSON, no route...).
Anything else is INTERNAL: logged here, answered with a message that reveals nothing but the request id
(``gateway.request_ids``), which every error answer carries: HTTP's body ``request_id``, gRPC's trailing
``x-request-id``.
"""
from __future__ import annotations

import json
import logging
import dataclasses
from dataclasses import dataclass

import grpc
from nameko.exceptions import RpcTimeout, UnknownService

from gateway import request_ids
from servicekit.errors import ServiceError

log = logging.getLogger(__name__)

S = grpc.StatusCode

# kind                  HTTP  gRPC
ERROR_TABLE: dict[str, tuple[int, grpc.StatusCode]] = {
    "INVALID_ARGUMENT":       (400, S.INVALID_ARGUMENT),
    "UNAUTHENTICATED":        (401, S.UNAUTHENTICATED),
    "PERMISSION_DENIED":      (403, S.PERMISSION_DENIED),
    "NOT_FOUND":              (404, S.NOT_FOUND),
    "METHOD_NOT_ALLOWED":     (405, S.UNIMPLEMENTED),
    "CONFLICT":               (409, S.FAILED_PRECONDITION),
    "REJECTED":               (422, S.FAILED_PRECONDITION),
    "PAYLOAD_TOO_LARGE":      (413, S.RESOURCE_EXHAUSTED),
    "REQUEST_TIMEOUT":        (408, S.DEADLINE_EXCEEDED),     # HTTP only: the request did not arrive whole
    "HEADERS_TOO_LARGE":      (431, S.INVALID_ARGUMENT),      # HTTP only
    "UNSUPPORTED_MEDIA_TYPE": (415, S.INVALID_ARGUMENT),
    "TOO_MANY_REQUESTS":      (429, S.RESOURCE_EXHAUSTED),
    "INTERNAL":               (500, S.INTERNAL),
    "UNAVAILABLE":            (503, S.UNAVAILABLE),
    "DEADLINE_EXCEEDED":      (504, S.DEADLINE_EXCEEDED),
}
CONFLICT_CODE_SUFFIXES_ALREADY_EXISTS = ("_EXISTS", "DUPLICATE")


class GatewayError(ServiceError):
    """An error the gateway itself answers with; ``kind`` is a row of ERROR_TABLE."""

    def __init__(self, kind: str, code: str, message: str, field: str | None = None,
                 details: list | None = None):
        self.kind = kind
        super().__init__(message, code, field, details)


@dataclass(frozen=True)
class ErrorReply:
    kind: str
    code: str
    message: str
    field: str = ""
    details: list = dataclasses.field(default_factory=list)

    @property
    def http_status(self) -> int:
        return ERROR_TABLE[self.kind][0]

    @property
    def grpc_code(self) -> grpc.StatusCode:
        if self.kind == "CONFLICT" and self.code.endswith(CONFLICT_CODE_SUFFIXES_ALREADY_EXISTS):
            return S.ALREADY_EXISTS
        return ERROR_TABLE[self.kind][1]

    @property
    def retry_after(self) -> int | None:
        """Whole seconds before trying again, for a refusal that gives them (``details``' ``retry_after_seconds``:
        a throttled login, a store that does not answer): HTTP's Retry-After, gRPC's ``retry-after`` trailer."""
        if self.kind not in ("TOO_MANY_REQUESTS", "UNAVAILABLE"):
            return None
        for detail in self.details:
            seconds = detail.get("retry_after_seconds") if isinstance(detail, dict) else None
            if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds > 0:
                return max(1, round(seconds))
        return None

    def http_body(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        if self.details:
            body["details"] = self.details
        return {"error": body, "request_id": request_ids.current_or_new()}

    def grpc_trailing_metadata(self) -> tuple[tuple[str, str | bytes], ...]:
        metadata: list[tuple[str, str | bytes]] = [("error-code", self.code),
                                                   (request_ids.METADATA_KEY, request_ids.current_or_new())]
        if self.field:
            metadata.append(("error-field", self.field))
        if self.details:
            metadata.append(("error-details-bin", json.dumps(self.details, ensure_ascii=False).encode()))
        if self.retry_after is not None:
            metadata.append(("retry-after", str(self.retry_after)))
        return tuple(metadata)


INTERNAL_REPLY = ErrorReply("INTERNAL", "INTERNAL", "internal error")


def describe(exc: BaseException) -> ErrorReply:
    """The reply for an exception raised while serving a request."""
    if isinstance(exc, ServiceError) and exc.kind in ERROR_TABLE and exc.kind != "INTERNAL":
        return ErrorReply(exc.kind, exc.code, exc.message, exc.field or "", list(exc.details or []))
    if isinstance(exc, RpcTimeout):
        return ErrorReply("DEADLINE_EXCEEDED", "UPSTREAM_TIMEOUT", "the service did not answer in time")
    if isinstance(exc, UnknownService):
        return ErrorReply("UNAVAILABLE", "SERVICE_UNAVAILABLE", "the service is not running")
    log.error("internal error", exc_info=exc)
    return INTERNAL_REPLY
