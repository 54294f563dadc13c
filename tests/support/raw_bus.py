"""What someone holding a broker login can do: publish calls and events straight onto the bus, with whatever
headers they like, and read the answer (tests of servicekit.security.proofs)."""
from __future__ import annotations

import base64
import json
import socket
import time
import uuid

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from kombu import Connection, Exchange, Queue

from servicekit.security.proofs import (EXPIRES_HEADER, NONCE_HEADER, PRINCIPAL_HEADER, SIGNATURE_HEADER,
                                        _signed_call, _signed_event, call_headers, event_headers)

RPC_EXCHANGE = Exchange("nameko-rpc", type="topic", durable=True)


def encode(kwargs: dict) -> bytes:
    return json.dumps({"args": [], "kwargs": kwargs}).encode()


def forged_call_headers(routing_key: str, body: bytes, principal: str = "gateway", expires: int | None = None) -> dict:
    """A proof signed with a key of the forger's own making, naming ``principal``."""
    expires = int(time.time() + 60) if expires is None else expires
    nonce = uuid.uuid4().hex
    signature = Ed25519PrivateKey.generate().sign(_signed_call(routing_key, principal, expires, body, nonce))
    return {PRINCIPAL_HEADER: principal, EXPIRES_HEADER: expires, NONCE_HEADER: nonce,
            SIGNATURE_HEADER: base64.b64encode(signature).decode()}


def genuine_call_headers(routing_key: str, body: bytes, now: float | None = None) -> dict:
    """A proof as this process makes one (the test process signs as the gateway)."""
    return call_headers(routing_key, body, now=now)


def raw_call(uri: str, service: str, method: str, body: bytes, headers: dict | None, timeout: float = 15) -> dict:
    """Publish ``body`` as a call to ``service.method`` with ``headers``; the service's raw answer
    (``{"result": ..., "error": ...}``)."""
    reply_queue = f"forged-reply-{uuid.uuid4().hex}"
    answers = []
    with Connection(uri) as connection:
        queue = Queue(reply_queue, exchange=RPC_EXCHANGE, routing_key=reply_queue, exclusive=True, auto_delete=True)
        with connection.Consumer(queue, callbacks=[lambda body_, message: (answers.append(body_), message.ack())],
                                 accept=["json"]):
            connection.Producer().publish(body, exchange=RPC_EXCHANGE, routing_key=f"{service}.{method}",
                                          content_type="application/json", content_encoding="utf-8",
                                          headers=headers or {}, reply_to=reply_queue,
                                          correlation_id=uuid.uuid4().hex, declare=[RPC_EXCHANGE])
            deadline = time.monotonic() + timeout
            while not answers and time.monotonic() < deadline:
                try:
                    connection.drain_events(timeout=1)
                except socket.timeout:
                    pass
    if not answers:
        raise TimeoutError(f"no answer from {service}.{method}")
    return answers[0]


def forged_event_headers(exchange: str, body: bytes, principal: str) -> dict:
    signature = Ed25519PrivateKey.generate().sign(_signed_event(exchange, principal, body))
    return {PRINCIPAL_HEADER: principal, SIGNATURE_HEADER: base64.b64encode(signature).decode()}


def genuine_event_headers(exchange: str, body: bytes) -> dict:
    """Signed with this process's own key (as its current principal)."""
    return event_headers(exchange, body)


def publish_event(uri: str, exchange: str, routing_key: str, body: bytes, headers: dict | None) -> None:
    with Connection(uri) as connection:
        connection.Producer().publish(body, exchange=Exchange(exchange, type="topic", durable=True),
                                      routing_key=routing_key, content_type="application/json",
                                      content_encoding="utf-8", headers=headers or {}, delivery_mode=2)


def dead_lettered(uri: str, marker: str, timeout: float = 15) -> bool:
    """Whether a message whose body holds ``marker`` reaches the dead letters within ``timeout``; the other
    messages there are put back."""
    deadline = time.monotonic() + timeout
    with Connection(uri) as connection:
        channel = connection.channel()
        while time.monotonic() < deadline:
            seen = []                           # held unacked until the queue is read through, then put back
            while True:
                message = channel.basic_get("dead-letters", no_ack=False)
                if message is None:
                    break
                body = message.body.decode() if isinstance(message.body, bytes) else message.body
                if marker in body:
                    channel.basic_ack(message.delivery_tag)
                    for other in seen:
                        channel.basic_reject(other.delivery_tag, requeue=True)
                    return True
                seen.append(message)
            for other in seen:
                channel.basic_reject(other.delivery_tag, requeue=True)
            time.sleep(0.5)
    return False
