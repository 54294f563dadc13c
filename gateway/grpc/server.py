"""The gRPC side: a ``grpc.aio`` server on the gateway's event loop, handlers generated from the
operation table.

Each proto service gets one generic handler mapping its rpcs to the shared dispatcher; the
standard health service is served beside them, and reflection only where asked for (the admin listener's
server, ``reflection=True``). A request message over its operation's limit (``gateway.limits``) is refused
RESOURCE_EXHAUSTED ``BODY_TOO_LARGE``; every error carries the request id (trailing ``x-request-id``). With
``credentials`` (``gateway.http.tls.grpc_credentials``) the port speaks TLS only. A batched operation (a
member's scan) joins its batch on the loop itself (``Dispatcher.call_async``); every other
operation runs ``Dispatcher.call`` on a worker thread, as a nameko RPC blocks.
"""
from __future__ import annotations

import asyncio
import contextvars
from concurrent.futures import ThreadPoolExecutor

import grpc
import grpc.aio
from google.protobuf.message import DecodeError
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection as grpc_reflection

from gateway import audit, limits, metrics, request_ids
from gateway.client_address import TrustedProxies, grpc_peer
from gateway.dispatch import Dispatcher, bearer_token
from gateway.errors import GatewayError, describe
from gateway.event_loop import LoopThread, shared_loop
from gateway.operations import OPERATIONS, Operation


def metadata_token(context) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            return bearer_token(value)
    return None


def metadata_client_address(context, trusted_proxies: TrustedProxies) -> str:
    """The peer's address, or the ``x-forwarded-for`` metadata's when the peer is a trusted proxy."""
    forwarded = [value for key, value in context.invocation_metadata() or () if key == "x-forwarded-for"]
    return trusted_proxies.client_address(grpc_peer(context.peer()), ", ".join(forwarded) or None)


def metadata_request_id(context, trusted_proxies: TrustedProxies) -> str:
    """The caller's ``x-request-id`` when a trusted proxy sent it, else a new id (``gateway.request_ids``)."""
    given = next((value for key, value in context.invocation_metadata() or () if key == request_ids.METADATA_KEY),
                 None)
    return request_ids.chosen(given, grpc_peer(context.peer()) if given else None, trusted_proxies)


def unary_handler(dispatcher: Dispatcher, operation: Operation, workers: ThreadPoolExecutor,
                  trusted_proxies: TrustedProxies | None = None, max_message_bytes: int | None = None):
    batched = dispatcher.batches(operation)
    trusted_proxies = trusted_proxies if trusted_proxies is not None else TrustedProxies()
    limit = limits.message_limit(operation, max_message_bytes)

    def answer(request, token: str | None, client: str | None):
        """On a worker thread: the token's check may verify a signature, the call blocks."""
        return dispatcher.call(operation, request, dispatcher.authenticate(operation, token), client)

    async def handle(raw: bytes, context: grpc.aio.ServicerContext):
        with metrics.track("grpc", operation.rpc) as outcome:
            try:
                request_ids.begin(metadata_request_id(context, trusted_proxies))
                if len(raw) > limit:
                    raise limits.too_large(limit)
                token = metadata_token(context)
                request = parse_request(operation, raw)
                if batched:
                    return await dispatcher.call_async(operation, request, dispatcher.authenticate(operation, token))
                client = (metadata_client_address(context, trusted_proxies)
                          if operation.client_address or audit.kind_of(operation) else None)
                return await asyncio.get_running_loop().run_in_executor(
                    workers, contextvars.copy_context().run, answer, request, token, client)
            except Exception as exc:
                reply = describe(exc)
                outcome.value = reply.kind
        await context.abort(reply.grpc_code, reply.message, trailing_metadata=reply.grpc_trailing_metadata())

    # parsed in the handler: a message grpc could not parse (corrupt, or nested beyond protobuf's limit) answered
    # UNKNOWN with the parser's words; here it is INVALID_ARGUMENT with a code
    return grpc.unary_unary_rpc_method_handler(handle, response_serializer=operation.response.SerializeToString)


def parse_request(operation: Operation, raw: bytes):
    try:
        return operation.request.FromString(raw)
    except DecodeError:
        raise GatewayError("INVALID_ARGUMENT", "MALFORMED_MESSAGE",
                           f"the request is not a valid {operation.request.DESCRIPTOR.full_name} message") from None


def generic_handlers(dispatcher: Dispatcher, operations: tuple[Operation, ...], workers: ThreadPoolExecutor,
                     trusted_proxies: TrustedProxies | None = None,
                     max_message_bytes: int | None = None) -> list[grpc.GenericRpcHandler]:
    by_api: dict[str, dict[str, grpc.RpcMethodHandler]] = {}
    for op in operations:
        by_api.setdefault(op.api, {})[op.rpc] = unary_handler(dispatcher, op, workers, trusted_proxies,
                                                              max_message_bytes)
    return [grpc.method_handlers_generic_handler(api, handlers) for api, handlers in by_api.items()]


class GrpcGateway:
    def __init__(self, dispatcher: Dispatcher, address: str, operations: tuple[Operation, ...] = OPERATIONS,
                 max_workers: int = 16, max_message_bytes: int | None = None, loop: LoopThread | None = None,
                 trusted_proxies: TrustedProxies | None = None, reflection: bool = False,
                 credentials: grpc.ServerCredentials | None = None):
        """``max_message_bytes`` caps every operation's message limit (``gateway.limits``); the server receives
        no message larger than the largest of them."""
        self.loop_thread = loop or shared_loop()
        self.trusted_proxies = trusted_proxies if trusted_proxies is not None else TrustedProxies.from_env()
        self.workers = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc")
        self.api_names = tuple(dict.fromkeys(op.api for op in operations))
        self.reflection, self.tls = reflection, credentials is not None
        largest = max((limits.message_limit(op, max_message_bytes) for op in operations),
                      default=limits.SMALL_BODY_BYTES)
        # answers (an export, a photo) may be larger than any request: they keep the former bound
        options = [("grpc.max_receive_message_length", largest),
                   ("grpc.max_send_message_length", max(largest, limits.MAX_ANSWER_BYTES))]
        self.server, self.health, self.port = self.loop_thread.run(
            self._build(dispatcher, operations, options, address, max_message_bytes, credentials))
        if not self.port:
            raise OSError(f"cannot listen for gRPC on {address}")

    async def _build(self, dispatcher: Dispatcher, operations: tuple[Operation, ...], options: list, address: str,
                     max_message_bytes: int | None, credentials: grpc.ServerCredentials | None):
        server = grpc.aio.server(options=options)       # created on the loop it will serve on
        server.add_generic_rpc_handlers(generic_handlers(dispatcher, operations, self.workers, self.trusted_proxies,
                                                         max_message_bytes))
        servicer = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
        if self.reflection:
            grpc_reflection.enable_server_reflection(
                (*self.api_names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                 grpc_reflection.SERVICE_NAME), server)
        port = server.add_secure_port(address, credentials) if credentials is not None \
            else server.add_insecure_port(address)
        return server, servicer, port

    def start(self) -> "GrpcGateway":
        self.loop_thread.run(self._start())
        return self

    async def _start(self) -> None:
        await self.server.start()
        for name in ("", *self.api_names):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    def stop(self, grace: float = 5.0) -> None:
        self.loop_thread.run(self._stop(grace))
        self.workers.shutdown(wait=False)

    async def _stop(self, grace: float) -> None:
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
