"""What the outbox stores for a bundle, and what the relay publishes for each kind of entry."""
import json

from servicekit.messaging.events import EventSpec
from servicekit.messaging.outbox import PENDING, amqp_messages, bundle_entry, outbox_entry

THING = EventSpec("sample", "thing_happened", ("thing_id",))
OTHER = EventSpec("sample", "other_happened", ("thing_id",))


def sample_events():
    return [THING.build("tenant-a", thing_id="t0"), OTHER.build("tenant-a", thing_id="o0"),
            THING.build("tenant-a", thing_id="t1"), THING.build("tenant-a", thing_id="t2")]


def test_a_bundle_stores_one_encoded_message_per_routing_key_with_its_events_in_order():
    events = sample_events()
    entry = bundle_entry(events, "sample")
    assert entry["status"] == PENDING
    published = amqp_messages(entry)
    assert [(exchange, key, count) for exchange, key, _, count in published] == [
        ("sample.events", "thing_happened", 3), ("sample.events", "other_happened", 1)]
    things, other = (json.loads(body) for _, _, body, _ in published)
    assert things == [events[0], events[2], events[3]]
    assert other == events[1]                                   # a lone event stays a plain body


def test_a_bundle_keeps_no_nested_event_fields_for_the_store_to_walk():
    entry = bundle_entry(sample_events(), "sample")
    for message in entry["messages"]:
        assert all(isinstance(part, (str, int)) for part in message)


def test_text_is_published_as_utf8_json_without_escaping_chinese():
    event = THING.build("tenant-a", thing_id="支部")
    (_, _, body, _), = amqp_messages(bundle_entry([event], "sample"))
    assert "支部" in body
    assert json.loads(body.encode("utf-8")) == event


def test_a_single_entry_is_one_message_with_the_event_as_its_body():
    event = THING.build("tenant-a", thing_id="t9")
    (exchange, key, body, count), = amqp_messages(outbox_entry({**event, "_source": "sample"}))
    assert (exchange, key, count) == ("sample.events", "thing_happened", 1)
    assert json.loads(body) == event
