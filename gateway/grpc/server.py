"""The gRPC side: a ``grpc.aio`` server on the gateway's event loop, handlers generated from the
operation table.

Each proto service gets one generic handler mapping its rpcs to the shared dispatcher; the
standard health and reflection services are served beside them. A batched operation (a
member's scan) joins its batch on the loop itself (``Dispatcher.call_async``); every other
operation runs ``Dispatcher.call`` on a worker thread, as a nameko RPC blocks.
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import grpc
import grpc.aio
from google.protobuf.message import DecodeError
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from gateway import metrics
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


def unary_handler(dispatcher: Dispatcher, operation: Operation, workers: ThreadPoolExecutor,
                  trusted_proxies: TrustedProxies | None = None):
    batched = dispatcher.batches(operation)
    trusted_proxies = trusted_proxies if trusted_proxies is not None else TrustedProxies()

    def answer(request, token: str | None, client: str | None):
        """On a worker thread: the token's check may verify a signature, the call blocks."""
        return dispatcher.call(operation, request, dispatcher.authenticate(operation, token), client)

    async def handle(raw: bytes, context: grpc.aio.ServicerContext):
        with metrics.track("grpc", operation.rpc) as outcome:
            try:
                token = metadata_token(context)
                request = parse_request(operation, raw)
                if batched:
                    return await dispatcher.call_async(operation, request, dispatcher.authenticate(operation, token))
                client = metadata_client_address(context, trusted_proxies) if operation.client_address else None
                return await asyncio.get_running_loop().run_in_executor(workers, answer, request, token, client)
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
                     trusted_proxies: TrustedProxies | None = None) -> list[grpc.GenericRpcHandler]:
    by_api: dict[str, dict[str, grpc.RpcMethodHandler]] = {}
    for op in operations:
        by_api.setdefault(op.api, {})[op.rpc] = unary_handler(dispatcher, op, workers, trusted_proxies)
    return [grpc.method_handlers_generic_handler(api, handlers) for api, handlers in by_api.items()]


class GrpcGateway:
    def __init__(self, dispatcher: Dispatcher, address: str, operations: tuple[Operation, ...] = OPERATIONS,
                 max_workers: int = 16, max_message_bytes: int = 64 * 1024 * 1024, loop: LoopThread | None = None,
                 trusted_proxies: TrustedProxies | None = None):
        self.loop_thread = loop or shared_loop()
        self.trusted_proxies = trusted_proxies if trusted_proxies is not None else TrustedProxies.from_env()
        self.workers = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc")
        self.api_names = tuple(dict.fromkeys(op.api for op in operations))
        options = [("grpc.max_receive_message_length", max_message_bytes),
                   ("grpc.max_send_message_length", max_message_bytes)]
        self.server, self.health, self.port = self.loop_thread.run(
            self._build(dispatcher, operations, options, address))
        if not self.port:
            raise OSError(f"cannot listen for gRPC on {address}")

    async def _build(self, dispatcher: Dispatcher, operations: tuple[Operation, ...], options: list, address: str):
        server = grpc.aio.server(options=options)       # created on the loop it will serve on
        server.add_generic_rpc_handlers(generic_handlers(dispatcher, operations, self.workers, self.trusted_proxies))
        servicer = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
        reflection.enable_server_reflection(
            (*self.api_names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
            server)
        return server, servicer, server.add_insecure_port(address)

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
