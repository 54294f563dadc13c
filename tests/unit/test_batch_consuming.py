"""BatchEventConsumer's flush: messages holding one event or a list of events, acked only once applied."""
from types import SimpleNamespace

from servicekit.batch_consuming import BatchEventConsumer


class Message:
    def __init__(self, tag):
        self.delivery_tag, self.settled = tag, None

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
