"""The core both protocols share: token → scope → guards → service call → response.

``backend.call(service, method, **kwargs)`` is injected: ``gateway.backend`` in the
process, a fake in tests. The request's fields become the keyword arguments: every
plain field is sent (its zero value meaning "not given"), an ``optional`` field only
when set; the caller's scope goes as ``scope``, and to an operation that asks for it (login) the
caller's address as ``client_address``. No business rules live here.
"""
from __future__ import annotations

from typing import Protocol

from google.protobuf.message import Message

from gateway.client_address import UNKNOWN
from gateway.convert import as_kwargs, mistyped_field, to_kwargs, to_message
from gateway.operations import Operation
from servicekit.errors import InvalidArgument, Unauthenticated
from servicekit.security.scope import CallerScope
from servicekit.security.tokens import TokenVerifier

MAX_PAGE_SIZE = 500


class Backend(Protocol):
    def call(self, service: str, method: str, **kwargs): ...


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` value; None when absent."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("expected 'Authorization: Bearer <token>'", code="TOKEN_MISSING")
    return token.strip()


def request_kwargs(request: Message) -> dict:
    mistyped = mistyped_field(request)
    if mistyped:
        raise InvalidArgument(f"field {mistyped!r} has the wrong type", code="INVALID_TYPE", field=mistyped)
    return to_kwargs(request)


def response_message(operation: Operation, result) -> Message:
    return to_message(operation.response, result)


class Dispatcher:
    def __init__(self, backend: Backend, verifier: TokenVerifier, max_page_size: int = MAX_PAGE_SIZE,
                 batcher=None):
        self.backend = backend
        self.verifier = verifier
        self.max_page_size = max_page_size
        self.batcher = batcher          # gateway.batching.Batcher, or None for one RPC per request

    def authenticate(self, operation: Operation, token: str | None) -> dict | None:
        """The caller's scope dict, or None for an operation open to anyone."""
        if not operation.auth:
            return None
        if not token:
            raise Unauthenticated("this operation needs a bearer token", code="TOKEN_MISSING")
        return CallerScope.from_dict(self.verifier.verify(token)).to_dict()

    def invoke(self, operation: Operation, request: Message, scope: dict | None,
               client_address: str | None = None) -> Message:
        kwargs = self._kwargs(operation, request, scope)
        if operation.client_address:
            kwargs["client_address"] = client_address or UNKNOWN
        if self.batches(operation):
            result = self.batcher.call(operation.service, operation.batch_method, kwargs)
        else:
            result = self.backend.call(operation.service, operation.method, **kwargs)
        return response_message(operation, result)

    def call(self, operation: Operation, request: Message, token: str | None,
             client_address: str | None = None) -> Message:
        return self.invoke(operation, request, self.authenticate(operation, token), client_address)

    def batches(self, operation: Operation) -> bool:
        return bool(operation.batch_method) and self.batcher is not None

    async def call_batched(self, operation: Operation, request: Message, token: str | None) -> Message:
        """``call`` for an operation that ``batches``, awaited on the gateway's event loop: the request
        joins its batch without a thread of its own (token checks are CPU only, and cached)."""
        return await self.invoke_batched(operation, request, self.authenticate(operation, token))

    async def invoke_batched(self, operation: Operation, request: Message, scope: dict | None) -> Message:
        kwargs = self._kwargs(operation, request, scope)
        result = await self.batcher.submit(operation.service, operation.batch_method, kwargs)
        return response_message(operation, result)

    async def invoke_batched_plain(self, operation: Operation, request: dict, scope: dict | None) -> dict:
        """``invoke_batched`` for the HTTP side, which holds the request as keyword arguments
        (``convert.as_kwargs``) and answers JSON: the answer as ``message_to_json`` gives it, without a
        message built either way."""
        kwargs = self._scoped(operation, request, scope)
        result = await self.batcher.submit(operation.service, operation.batch_method, kwargs)
        return as_kwargs(operation.response, result)

    def _kwargs(self, operation: Operation, request: Message, scope: dict | None) -> dict:
        return self._scoped(operation, request_kwargs(request), scope)

    def _scoped(self, operation: Operation, kwargs: dict, scope: dict | None) -> dict:
        self._check_page_size(kwargs)
        if operation.auth:
            kwargs["scope"] = scope
        return kwargs

    def _check_page_size(self, kwargs: dict) -> None:
        if "page_size" not in kwargs:
            return
        page_size = kwargs["page_size"]
        if page_size > self.max_page_size:
            raise InvalidArgument(f"page_size may be at most {self.max_page_size}",
                                  code="PAGE_SIZE_TOO_LARGE", field="page_size")
        if page_size < 0:
            raise InvalidArgument("page_size may not be negative", code="PAGE_SIZE_INVALID", field="page_size")
        if page_size == 0:
            del kwargs["page_size"]
