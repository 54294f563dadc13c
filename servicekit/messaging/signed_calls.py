"""Every RPC request a process sends carries the proof of its caller (servicekit.security.proofs).

nameko's proxies (a service's ``RpcProxy``, a ``ClusterRpcProxy`` in the gateway, the tools and the tests) publish
through ``MethodProxy.publisher_cls``; ``sign_outgoing_calls`` replaces it, for the whole process, with a publisher
that encodes the request itself and signs those exact bytes, and adds the request id of the gateway's request
the call serves (``servicekit.request_ids``). servicekit.messaging.rpc calls it on import (every
service), gateway.backend too.
"""
from __future__ import annotations

import nameko.rpc
from kombu.serialization import dumps
from nameko.amqp.publish import Publisher

from servicekit.request_ids import outgoing_headers
from servicekit.security.proofs import call_headers, use_principal


class SigningPublisher(Publisher):
    def publish(self, payload, **kwargs):
        content_type, encoding, body = dumps(payload, kwargs.pop("serializer", self.serializer))
        if isinstance(body, str):
            body = body.encode(encoding)
        extra = kwargs.pop("extra_headers", None) or {}
        headers = {**extra, **outgoing_headers(extra), **call_headers(kwargs.get("routing_key", ""), body)}
        super().publish(body, content_type=content_type, content_encoding=encoding, extra_headers=headers, **kwargs)


def sign_outgoing_calls() -> None:
    nameko.rpc.MethodProxy.publisher_cls = SigningPublisher


def act_as(principal: str) -> None:
    """A tool or benchmark that calls services directly: sign its calls as ``principal`` (keys in CALL_KEYS_DIR)."""
    use_principal(principal, load=True)
    sign_outgoing_calls()
