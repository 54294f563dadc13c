"""Every service's RPC replies are encoded once, and say the same as nameko's own replies."""
import json
import sys

import pytest
from kombu.serialization import loads
from nameko.rpc import Responder

from servicekit.errors import InvalidArgument
from servicekit.messaging.rpc import OnceEncodedResponder


class RecordingPublisher:
    published: list = []

    def __init__(self, amqp_uri, **options):
        self.amqp_uri = amqp_uri

    def publish(self, payload, **options):
        self.published.append((payload, options))


class Message:
    properties = {"content_type": "application/json", "reply_to": "rpc.reply-gateway-1", "correlation_id": "c-1"}


def reply_of(responder_class, result, exc_info=None):
    """What ``responder_class`` publishes for ``result``: (decoded payload, publish options), and what it returns."""
    RecordingPublisher.published = []
    responder = responder_class("amqp://guest:guest@127.0.0.1:5672/", "nameko-rpc", "json", Message())
    responder.publisher_cls = RecordingPublisher
    returned = responder.send_response(result, exc_info)
    (payload, options), = RecordingPublisher.published
    if "content_type" in options:          # already encoded: the publisher sends these bytes as they are
        payload = loads(payload, options["content_type"], options["content_encoding"])
    return payload, options, returned


def test_a_result_is_published_as_bytes_encoded_once():
    result = [{"result": {"record": {"id": "a1:in:m1", "seq": 3}, "message": "签到成功"}}]
    payload, options, returned = reply_of(OnceEncodedResponder, result)
    assert options["content_type"] == "application/json" and options["content_encoding"] == "utf-8"
    assert payload == {"result": result, "error": None}
    assert returned == (result, None)
    assert options["routing_key"] == "rpc.reply-gateway-1" and options["correlation_id"] == "c-1"


def test_nameko_s_own_responder_hands_the_publisher_a_payload_to_encode_again():
    payload, options, _ = reply_of(Responder, {"ok": True})
    assert "content_type" not in options and payload == {"result": {"ok": True}, "error": None}


def test_an_error_reads_as_nameko_words_it():
    try:
        raise InvalidArgument("缺少二维码内容", code="TOKEN_MISSING", field="token")
    except InvalidArgument:
        exc_info = sys.exc_info()
    ours, _, returned = reply_of(OnceEncodedResponder, None, exc_info)
    nameko_s, _, _ = reply_of(Responder, None, exc_info)
    assert ours == nameko_s and ours["error"]["exc_type"] == "InvalidArgument"
    assert returned == (None, exc_info)


@pytest.mark.parametrize("result", [{"moment": object()}, [1, 2j]])
def test_a_result_that_cannot_be_encoded_is_answered_with_nameko_s_error(result):
    payload, _, (returned, exc_info) = reply_of(OnceEncodedResponder, result)
    assert payload["result"] is None and payload["error"]["exc_type"] == "UnserializableValueError"
    assert returned is None and exc_info is not None
    json.dumps(payload)


def test_no_service_declares_an_entry_point_with_nameko_s_own_rpc():
    """nameko's ``rpc`` beside ours would put a second consumer on the service's queue, one that does not know
    the other's methods: every RPC entry point is ``servicekit.messaging.rpc.rpc``."""
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    nameko_s = re.compile(r"from nameko\.rpc import [^\n]*\b(rpc|Rpc)\b|nameko\.rpc\.(rpc|Rpc)\b")
    sources = [path for folder in ("services", "gateway") for path in (root / folder).rglob("*.py")]
    assert sources and [str(path.relative_to(root)) for path in sources if nameko_s.search(path.read_text())] == []


class BrokerGonePublisher(RecordingPublisher):
    def publish(self, payload, **options):
        from kombu.exceptions import OperationalError
        raise OperationalError("[Errno 111] ECONNREFUSED")


class AckRecorder:
    def __init__(self):
        self.acked = []

    def ack_message(self, message):
        self.acked.append(message)


def consumer_with(publisher_cls, monkeypatch):
    from types import SimpleNamespace

    from servicekit.messaging import rpc as rpc_module
    monkeypatch.setattr(rpc_module.OnceEncodedResponder, "publisher_cls", publisher_cls)
    consumer = rpc_module.OnceEncodedRpcConsumer()
    consumer.container = SimpleNamespace(config={"AMQP_URI": "amqp://guest:guest@127.0.0.1:5672/"})
    consumer.queue_consumer = AckRecorder()
    return consumer


class Delivered(Message):
    delivery_info = {"routing_key": "attendance.record_scans"}


def test_an_answer_the_broker_cannot_take_is_dropped_unacknowledged_instead_of_killing_the_container(monkeypatch):
    consumer = consumer_with(BrokerGonePublisher, monkeypatch)
    message = Delivered()
    assert consumer.handle_result(message, {"ok": True}, None) == ({"ok": True}, None)    # raised: the container dies
    assert consumer.queue_consumer.acked == []          # redelivered once the broker is back


def test_an_answer_sent_is_acknowledged(monkeypatch):
    consumer = consumer_with(RecordingPublisher, monkeypatch)
    message = Delivered()
    RecordingPublisher.published = []
    assert consumer.handle_result(message, {"ok": True}, None) == ({"ok": True}, None)
    assert consumer.queue_consumer.acked == [message] and len(RecordingPublisher.published) == 1
