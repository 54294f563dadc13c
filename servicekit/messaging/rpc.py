"""``@rpc`` for every service: nameko's, with ServiceError marked as expected, so a refused request
(a scan outside the fence, a bad argument) is logged as an expected outcome, not as a failure; and each
reply encoded once.

nameko's ``Responder`` encodes a result twice: once to check that it can be encoded (a result that cannot would
otherwise kill the container), then again when it publishes the reply. A batch of 125 scans answers about 60 KB of
JSON, and attendance encodes it on the path every batch of the city waits for. ``OnceEncodedResponder`` encodes the
reply once and publishes those bytes; a result that cannot be encoded is still answered with nameko's
``UnserializableValueError``. Every service's entry points share one ``RpcConsumer`` per service (one queue), so
all of them take this one; none uses nameko's ``rpc`` directly.

Every call carries a proof of its caller (``servicekit.security.proofs``): importing this module makes nameko's
RPC proxies (a service's ``RpcProxy``, the gateway's and the tools' ``ClusterRpcProxy``) sign what they send, and
every entry point refuses a call whose proof is missing, wrong or expired before it runs, and a call it has run
already (``CALL_REPLAYED``: ``servicekit.security.replay``, in the service's own store).
"""
from __future__ import annotations

import logging
import sys

from eventlet.greenpool import GreenPool
from kombu.serialization import dumps, registry
from nameko.exceptions import UnserializableValueError, serialize
from nameko.rpc import Responder, Rpc, RpcConsumer, get_rpc_exchange
from nameko.constants import (AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, DEFAULT_SERIALIZER, LOGIN_METHOD_CONFIG_KEY,
                              SERIALIZER_CONFIG_KEY)

from nameko.extensions import SharedExtension

from servicekit.audit.recording import AuditTrail
from servicekit.messaging.broker_errors import BROKER_GONE
from servicekit import request_ids
from servicekit.errors import PermissionDenied, ServiceError, Unauthenticated
from servicekit.messaging.signed_calls import sign_outgoing_calls
from servicekit.process.config import database_name, switched_off
from servicekit.security.proofs import EXPIRES_HEADER, call_nonce, verify_call
from servicekit.security.replay import COLLECTION, CallNonces
from servicekit.storage.durability import is_store_unavailable, store_unavailable

log = logging.getLogger(__name__)

sign_outgoing_calls()


class OnceEncodedResponder(Responder):
    def send_response(self, result, exc_info):
        error = None if exc_info is None else serialize(exc_info[1])
        serializer = registry.type_to_name[self.message.properties["content_type"]]   # as the request came
        try:
            content_type, encoding, body = dumps({"result": result, "error": error}, serializer)
        except Exception:  # noqa: BLE001  what nameko's check catches
            exc_info = sys.exc_info()
            result, error = None, serialize(UnserializableValueError(result))
            content_type, encoding, body = dumps({"result": None, "error": error}, serializer)
        publisher = self.publisher_cls(self.amqp_uri, ssl=self.ssl, login_method=self.login_method)
        publisher.publish(body, content_type=content_type, content_encoding=encoding, exchange=self.exchange,
                          routing_key=self.message.properties["reply_to"],
                          correlation_id=self.message.properties.get("correlation_id"))
        return result, exc_info


def store_outage_as_unavailable(exc_info):
    """A call the store could not serve (pymongo's ConnectionFailure: no server selected, connection lost or timed
    out) is answered 503 ``STORE_UNAVAILABLE`` rather than as an unexpected error; anything else as it is."""
    if exc_info is not None and is_store_unavailable(exc_info[1]):
        error = store_unavailable(exc_info[1])
        return type(error), error, exc_info[2]
    return exc_info


class OnceEncodedRpcConsumer(RpcConsumer):
    def handle_result(self, message, result, exc_info):
        # every answer passes here: a worker's, and a refusal before the worker (the replay guard's store write)
        exc_info = store_outage_as_unavailable(exc_info)
        config = self.container.config
        serializer = config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER)
        responder = OnceEncodedResponder(
            config[AMQP_URI_CONFIG_KEY], get_rpc_exchange(config), serializer, message,
            ssl=config.get(AMQP_SSL_CONFIG_KEY), login_method=config.get(LOGIN_METHOD_CONFIG_KEY))
        try:
            result, exc_info = responder.send_response(result, exc_info)
        except BROKER_GONE as error:
            # The broker went away while the worker ran: the caller's reply queue went with it, and the request,
            # never acknowledged, comes again once the broker is back (the replay guard lets a redelivery run).
            # Raised, this would kill the container, and every other worker with it, for an answer no one awaits.
            log.warning("the answer to %s was not sent, the broker is unreachable (%s): the request is redelivered",
                        message.delivery_info.get("routing_key", "a call"), error)
            return result, exc_info
        self.queue_consumer.ack_message(message)
        return result, exc_info


class ReplayGuard(SharedExtension):
    """The nonces of the calls this service has run (``call_nonces`` in its database), one per service container.
    ``CALL_REPLAY_GUARD=off`` leaves it out: for measuring what it costs, never in production."""

    nonces: CallNonces | None = None

    def setup(self):
        if switched_off("CALL_REPLAY_GUARD"):
            log.warning("CALL_REPLAY_GUARD=off: copied calls are not refused")
            return
        from servicekit.storage.mongo import shared_client
        self.nonces = CallNonces(shared_client()[database_name(self.container.service_name)][COLLECTION])
        self.nonces.ensure_schema()

    def first_use(self, headers: dict, redelivered: bool) -> None:
        if self.nonces is not None:
            # the nonce as verified: a header sent as bytes must not make a second, different _id
            self.nonces.first_use(call_nonce(headers), int(headers[EXPIRES_HEADER]), redelivered)


class OnceEncodedRpc(Rpc):
    """An entry point that runs only calls proven to come from the platform (from ``callers``, when named), each
    once."""

    rpc_consumer = OnceEncodedRpcConsumer()
    replay_guard = ReplayGuard()
    audit_trail = AuditTrail()

    def __init__(self, callers: tuple[str, ...] = (), **kwargs):
        self.callers = frozenset(callers)
        super().__init__(**kwargs)

    def handle_message(self, body, message):
        # the consumer's own green thread: its lines name the call's request id while it checks the proof
        token = request_ids.CURRENT.set(request_ids.well_formed((message.headers or {}).get(request_ids.HEADER)))
        try:
            self._handle_proven(body, message)
        finally:
            request_ids.CURRENT.reset(token)

    def _handle_proven(self, body, message):
        routing_key = message.delivery_info.get("routing_key", "")
        try:
            principal = verify_call(routing_key, message.body, message.headers)
        except Unauthenticated as refusal:
            log.warning("refused a call to %s: %s (%s)", routing_key, refusal.message, refusal.code)
            raise
        if self.callers and principal not in self.callers:
            log.warning("refused a call to %s from %s: only %s may call it", routing_key, principal,
                        ", ".join(sorted(self.callers)))
            raise PermissionDenied("this operation is not for this caller", code="CALLER_NOT_ALLOWED")
        try:
            self.replay_guard.first_use(message.headers, bool(message.delivery_info.get("redelivered")))
        except Unauthenticated as refusal:
            log.warning("refused a call to %s from %s: %s (%s)", routing_key, principal, refusal.message, refusal.code)
            raise
        message.proven_principal = principal        # for the audit trail, when the worker's result is handled
        super().handle_message(body, message)

    def handle_result(self, message, worker_ctx, result, exc_info):
        """The audit entry of the call, if it makes one (``servicekit.audit.recording``), then the answer: a caller
        told of success knows the entry is stored."""
        exc_info = store_outage_as_unavailable(exc_info)        # recorded as the caller is answered
        try:
            self.audit_trail.record(getattr(message, "proven_principal", ""), worker_ctx, result, exc_info)
        except Exception:  # noqa: BLE001  the answer goes out whatever the audit trail does
            log.exception("audit trail of %s failed", worker_ctx.entrypoint.method_name)
        return super().handle_result(message, worker_ctx, result, exc_info)


rpc = OnceEncodedRpc.decorator(expected_exceptions=(ServiceError,))


def answer_each(items, handle, concurrency: int = 1) -> list[dict]:
    """A batch method's answers (``gateway.batching``), in order: ``{"result": handle(item)}`` or ``{"error": body}``
    for each item, so that one refused or failing item never fails the others of its batch. With ``concurrency``
    above 1, that many items are handled at once on green threads: items that wait on the store (one small write
    each) overlap their waits instead of queueing one behind another. Each item runs under its own request's id
    when the gateway's batch sent them (``servicekit.request_ids``), so its log lines name its request."""
    batch_id = request_ids.CURRENT.get()

    def one(numbered) -> dict:
        request_id, item = numbered
        request_ids.CURRENT.set(request_id)
        try:
            return {"result": handle(item)}
        except ServiceError as error:
            return {"error": error.to_dict()}
        except Exception as error:  # noqa: BLE001  answered as the gateway answers an unexpected error; logged here
            if is_store_unavailable(error):
                return {"error": store_unavailable(error).to_dict()}
            log.exception("a batch item failed")
            return {"error": ServiceError("服务内部错误，请稍后重试", code="INTERNAL").to_dict()}
        finally:
            request_ids.CURRENT.set(batch_id)
    items = list(items or ())
    numbered = list(zip(request_ids.item_ids(len(items)) or (batch_id,) * len(items), items))
    if concurrency > 1 and len(items) > 1:
        return list(GreenPool(min(concurrency, len(items))).imap(one, numbered))
    return [one(pair) for pair in numbered]


def service_rpc(*callers: str):
    """``@rpc`` for an operation only the named peer services may call (never the gateway, never a person):
    ``@service_rpc("content", "volunteer")``. A call whose proof names another principal is refused."""
    return OnceEncodedRpc.decorator(expected_exceptions=(ServiceError,), callers=callers)
