"""BatchEventConsumer's flush: messages holding one event or a list of events, acked only once applied; a message
without its publisher's proof is never applied."""
import json
from types import SimpleNamespace

import pytest

from servicekit.messaging.consumers import BatchEventConsumer
from servicekit.security.proofs import (KEYS_DIR_VARIABLE, current_principal, ensure_call_keys, event_headers,
                                        forget_keys, use_principal)


@pytest.fixture(autouse=True)
def publisher_keys(tmp_path, monkeypatch):
    """The test signs as attendance, which owns the exchange the consumer reads."""
    monkeypatch.setenv(KEYS_DIR_VARIABLE, str(ensure_call_keys(tmp_path / "calls")))
    previous = current_principal()
    use_principal("attendance")
    yield
    forget_keys()
    if previous:
        use_principal(previous)


class Message:
    """A delivered message as kombu hands it over: the raw body and the headers the relay signed."""

    def __init__(self, tag, events=None, signed_as="attendance"):
        self.delivery_tag, self.settled = tag, None
        self.body = json.dumps(events if events is not None else {"event_id": f"m{tag}"}).encode()
        self.delivery_info = {"exchange": "attendance.events"}
        self.headers = {}
        if signed_as:
            use_principal(signed_as)
            self.headers = event_headers("attendance.events", self.body)
            use_principal("attendance")

    def ack(self):
        self.settled = "ack"

    def reject(self, requeue):
        self.settled = "requeue" if requeue else "dead-letter"


class Channel:
    def __init__(self):
        self.acks = []

    def basic_ack(self, tag, multiple):
        self.acks.append((tag, multiple))


class Applier:
    def __init__(self, poison=()):
        self.calls, self.applied, self.poison = [], [], set(poison)

    def apply(self, events):
        self.calls.append([event["event_id"] for event in events])
        if self.poison & {event["event_id"] for event in events}:
            raise RuntimeError("cannot apply")
        self.applied += [event["event_id"] for event in events]


def consumer(applier):
    batch = BatchEventConsumer("score", [("attendance", "checkin_recorded")], lambda container: applier)
    batch.container = SimpleNamespace(service_name="scoring")
    batch.applier = applier
    return batch


def event(event_id):
    return {"event_id": event_id, "event_type": "checkin_recorded"}


def test_list_bodies_and_single_bodies_are_applied_in_one_call_and_acked_together():
    applier, channel = Applier(), Channel()
    batch = consumer(applier)
    batch._received([event("a"), event("b")], Message(1))
    batch._received(event("c"), Message(2))
    batch._received([event("d")], Message(3))
    assert batch._pending_events == 4
    batch._flush(channel)
    assert applier.calls == [["a", "b", "c", "d"]]
    assert channel.acks == [(3, True)] and batch.applied == 4 and batch._pending_events == 0


def test_a_poison_event_requeues_only_its_message_and_every_other_event_is_applied():
    applier, channel = Applier(poison={"b"}), Channel()
    batch = consumer(applier)
    first, second = Message(1), Message(2)
    batch._received([event("a"), event("b"), event("c")], first)
    batch._received(event("d"), second)
    batch._flush(channel)
    assert first.settled == "requeue" and second.settled == "ack" and channel.acks == []
    assert applier.applied == ["a", "c", "d"]            # b's neighbours are applied (no-ops on redelivery)


def test_a_list_with_an_event_without_id_goes_to_dead_letters_whole():
    applier, channel = Applier(), Channel()
    batch = consumer(applier)
    broken, fine = Message(1), Message(2)
    batch._received([event("a"), {"event_type": "checkin_recorded"}], broken)
    batch._received(event("b"), fine)
    batch._flush(channel)
    assert broken.settled == "dead-letter" and applier.calls == [["b"]] and channel.acks == [(2, True)]


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_batch_is_due_max_wait_after_its_first_message():
    batch, clock = consumer(Applier()), Clock()
    batch.clock = clock
    assert batch.due_at() is None
    batch._received(event("a"), Message(1))
    clock.now += 0.09
    batch._received(event("b"), Message(2))
    assert batch.due_at() == 100.1                       # 100 ms after "a", however late "b" came


def test_with_quiet_a_batch_grows_while_events_keep_coming_and_a_lone_one_waits_only_the_quiet_time():
    batch, clock = consumer(Applier()), Clock()
    batch.max_wait, batch.quiet, batch.clock = 1.0, 0.2, clock
    batch._received(event("a"), Message(1))
    assert batch.due_at() == 100.2                       # alone: due once quiet for 200 ms
    for tag in range(2, 20):                             # a message every 100 ms: never quiet
        clock.now += 0.1
        batch._received(event(f"e{tag}"), Message(tag))
        assert batch.due_at() == min(101.0, clock.now + 0.2)
    assert batch.due_at() == 101.0                       # at most max_wait after the first
    batch._flush(Channel())
    assert batch.due_at() is None
    clock.now += 5
    batch._received(event("z"), Message(30))
    assert batch.due_at() == clock.now + 0.2             # a new batch starts its own wait


def test_wait_is_observed_for_every_event_from_its_message_first_event():
    from prometheus_client import REGISTRY

    from servicekit.messaging.consumers import observe_wait
    from servicekit.timestamps import parse_stamp

    def cumulative(bound):
        return REGISTRY.get_sample_value("event_wait_seconds_bucket", {
            "service": "svc-wait", "consumer": "score", "event_type": "checkout_recorded", "le": bound})
    occurred = "2026-11-23T10:00:00.000Z"
    later = "2026-11-23T10:00:01.000Z"
    bundle = [{"event_type": "checkout_recorded", "occurred_at": occurred},
              {"event_type": "checkout_recorded", "occurred_at": later},
              {"event_type": "checkout_recorded", "occurred_at": later}]
    observe_wait("svc-wait", "score", [bundle,
                                       [{"event_type": "checkout_recorded", "occurred_at": "not a time"}],
                                       [{"event_type": "checkout_recorded"}]],
                 now=parse_stamp(occurred).timestamp() + 1.2)
    assert cumulative("+Inf") == 3                            # the bundle's three; the unreadable ones skipped
    assert (cumulative("1.0"), cumulative("1.5")) == (0, 3)   # all three from the first's 1.2 s: (1, 1.5] bucket


@pytest.mark.parametrize("signed_as", [None, "scoring"])
def test_a_message_without_the_owners_proof_is_parked_and_never_applied(signed_as):
    applier = Applier()
    batch = consumer(applier)
    channel = Channel()
    forged, genuine = Message(1, signed_as=signed_as), Message(2)

    batch._received(event("forged"), forged)
    batch._received(event("b"), genuine)
    batch._flush(channel)

    assert forged.settled == "dead-letter"
    assert applier.applied == ["b"] and channel.acks == [(2, True)]


def test_a_message_whose_body_was_changed_after_signing_is_parked():
    applier = Applier()
    batch = consumer(applier)
    tampered = Message(1)
    tampered.body = tampered.body.replace(b"m1", b"m9")

    batch._received(event("a"), tampered)

    assert tampered.settled == "dead-letter" and batch.due_at() is None


def test_a_body_that_is_not_json_is_parked_alone_and_counted():
    from prometheus_client import REGISTRY

    batch = consumer(Applier())
    broken = Message(1)
    broken.delivery_info["routing_key"] = "checkin_recorded"
    labels = {"service": "scoring", "queue": "evt-attendance-checkin_recorded--scoring.score", "reason": "malformed"}
    before = REGISTRY.get_sample_value("events_dead_lettered_total", labels) or 0
    batch._undecodable(broken, ValueError("Expecting value"))
    assert broken.settled == "dead-letter" and batch.due_at() is None
    assert REGISTRY.get_sample_value("events_dead_lettered_total", labels) == before + 1


@pytest.mark.parametrize("earlier_deliveries, settled", [(0, "requeue"), (3, "requeue"), (4, "dead-letter")])
def test_a_message_that_keeps_failing_is_parked_by_the_consumer_at_the_delivery_limit(earlier_deliveries, settled):
    applier, channel = Applier(poison={"b"}), Channel()
    batch = consumer(applier)
    failing, fine = Message(1), Message(2)
    if earlier_deliveries:
        failing.headers = {**failing.headers, "x-delivery-count": earlier_deliveries}
    batch._received(event("b"), failing)
    batch._received(event("c"), fine)
    batch._flush(channel)
    assert (failing.settled, fine.settled) == (settled, "ack") and applier.applied == ["c"]
