"""The gRPC side: a thread-pool grpc.server whose handlers are generated from the operation table.

Each proto service gets one generic handler mapping its rpcs to the shared
dispatcher; the standard health and reflection services are served beside them.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from gateway import metrics
from gateway.dispatch import Dispatcher, bearer_token
from gateway.errors import describe
from gateway.operations import OPERATIONS, Operation


def metadata_token(context: grpc.ServicerContext) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            return bearer_token(value)
    return None


def unary_handler(dispatcher: Dispatcher, operation: Operation):
    def handle(request, context: grpc.ServicerContext):
        with metrics.track("grpc", operation.rpc) as outcome:
            try:
                return dispatcher.call(operation, request, metadata_token(context))
            except Exception as exc:
                reply = describe(exc)
                outcome.value = reply.kind
        context.set_trailing_metadata(reply.grpc_trailing_metadata())
        context.abort(reply.grpc_code, reply.message)

    return grpc.unary_unary_rpc_method_handler(handle, request_deserializer=operation.request.FromString,
                                               response_serializer=operation.response.SerializeToString)


def generic_handlers(dispatcher: Dispatcher, operations: tuple[Operation, ...]) -> list[grpc.GenericRpcHandler]:
    by_api: dict[str, dict[str, grpc.RpcMethodHandler]] = {}
    for op in operations:
        by_api.setdefault(op.api, {})[op.rpc] = unary_handler(dispatcher, op)
    return [grpc.method_handlers_generic_handler(api, handlers) for api, handlers in by_api.items()]


class GrpcGateway:
    def __init__(self, dispatcher: Dispatcher, address: str, operations: tuple[Operation, ...] = OPERATIONS,
                 max_workers: int = 16, max_message_bytes: int = 64 * 1024 * 1024):
        options = [("grpc.max_receive_message_length", max_message_bytes),
                   ("grpc.max_send_message_length", max_message_bytes)]
        self.server = grpc.server(ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc"),
                                  options=options)
        self.server.add_generic_rpc_handlers(generic_handlers(dispatcher, operations))
        self.api_names = tuple(dict.fromkeys(op.api for op in operations))
        self.health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            (*self.api_names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
            self.server)
        self.port = self.server.add_insecure_port(address)
        if not self.port:
            raise OSError(f"cannot listen for gRPC on {address}")

    def start(self) -> "GrpcGateway":
        self.server.start()
        for name in ("", *self.api_names):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        return self

    def stop(self, grace: float = 5.0) -> None:
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()
