"""The core both edges share: token → scope → guards → service call → answer.

``backend.call(service, method, **kwargs)`` is injected: ``gateway.backend`` in the process, a fake in tests. The
request's fields become the keyword arguments: every plain field is sent (its zero value meaning "not given"), an
``optional`` field only when set; the caller's scope goes as ``scope``, and to an operation that asks for it (login)
the caller's address as ``client_address``. No business rules live here.

Two call paths with the same steps: ``call`` on a worker thread (a nameko RPC blocks), ``call_async`` on the
gateway's event loop for an operation that ``batches`` (a member's scan waits for its batch as a future, holding no
thread). ``plain=True`` takes the request as keyword arguments and answers a dict (the HTTP side's JSON, no message
built either way); otherwise a request message in, a response message out.
"""
from __future__ import annotations

from typing import Protocol

from google.protobuf.message import Message

from gateway import audit
from gateway.client_address import UNKNOWN
from gateway.convert import as_kwargs, mistyped_field, to_kwargs, to_message
from gateway.operations import Operation
from servicekit.errors import InvalidArgument, PermissionDenied, Unauthenticated
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


class Dispatcher:
    def __init__(self, backend: Backend, verifier: TokenVerifier, max_page_size: int = MAX_PAGE_SIZE,
                 batcher=None):
        self.backend = backend
        self.verifier = verifier
        self.max_page_size = max_page_size
        self.batcher = batcher          # gateway.batching.Batcher, or None for one RPC per request

    def authenticate(self, operation: Operation, token: str | None) -> dict | None:
        """The caller's scope dict, or None for an operation open to anyone; a citizen's token only for an
        operation marked for citizens."""
        if not operation.auth:
            return None
        if not token:
            raise Unauthenticated("this operation needs a bearer token", code="TOKEN_MISSING")
        caller = CallerScope.from_dict(self.verifier.verify(token))
        if caller.is_citizen and not operation.citizens:
            # a citizen's account holds its own orders and nothing of the party's: refused before any service call
            raise PermissionDenied("群众账号无权使用此功能", code="CITIZEN_NOT_ALLOWED")
        return caller.to_dict()

    def batches(self, operation: Operation) -> bool:
        return bool(operation.batch_method) and self.batcher is not None

    def call(self, operation: Operation, request: Message | dict, scope: dict | None,
             client_address: str | None = None, plain: bool = False) -> Message | dict:
        """The answer to one request, from a thread that may block (a batched operation waits for its batch)."""
        kwargs = self._arguments(operation, request, scope, client_address, plain)
        if self.batches(operation):
            result = self.batcher.call(operation.service, operation.batch_method, kwargs, operation.batch_senders,
                                       operation.batch_wait)
        else:
            result = self.backend.call(operation.service, operation.method, **kwargs)
        return as_kwargs(operation.response, result) if plain else to_message(operation.response, result)

    async def call_async(self, operation: Operation, request: Message | dict, scope: dict | None,
                         client_address: str | None = None, plain: bool = False) -> Message | dict:
        """``call`` on the gateway's event loop, for an operation that ``batches``: the request joins its batch."""
        kwargs = self._arguments(operation, request, scope, client_address, plain)
        result = await self.batcher.submit(operation.service, operation.batch_method, kwargs, operation.batch_senders,
                                           operation.batch_wait)
        return as_kwargs(operation.response, result) if plain else to_message(operation.response, result)

    def _arguments(self, operation: Operation, request: Message | dict, scope: dict | None,
                   client_address: str | None, plain: bool) -> dict:
        kwargs = request if plain else request_kwargs(request)
        self._check_page_size(kwargs)
        if operation.auth:
            kwargs["scope"] = audit.marked(operation, scope, client_address)
        if operation.client_address:
            kwargs["client_address"] = client_address or UNKNOWN
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
