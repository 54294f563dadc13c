"""ServicePeers on the real broker: the consumers of a service's RPC queue are its running instances."""
from __future__ import annotations

import uuid

import pytest
from kombu import Connection, Consumer, Queue

from servicekit.messaging.peers import ServicePeers

pytestmark = pytest.mark.integration


def test_one_consumer_is_alone_two_are_not_and_no_queue_is_unknown(bus_uri):
    service = f"peers-{uuid.uuid4().hex[:8]}"
    peers = ServicePeers(bus_uri, service, interval=0)
    assert peers.refresh()                             # no queue yet: the broker cannot say, so "maybe"
    queue = Queue(f"rpc-{service}", auto_delete=True)
    with Connection(bus_uri) as first, Connection(bus_uri) as second:
        with Consumer(first.channel(), queues=[queue], callbacks=[lambda body, message: None]):
            assert not peers.refresh() and not peers.others_running()     # this instance alone
            with Consumer(second.channel(), queues=[queue], callbacks=[lambda body, message: None]):
                assert peers.others_running() is False  # read only: nothing asked until the next refresh
                assert peers.refresh() and peers.others_running()
            assert not peers.refresh()


def test_the_count_is_asked_at_most_once_per_interval(bus_uri):
    service = f"peers-{uuid.uuid4().hex[:8]}"
    peers = ServicePeers(bus_uri, service, interval=3600)
    assert peers.others_running()                      # before any answer: "maybe"
    assert peers.refresh()
    queue = Queue(f"rpc-{service}", auto_delete=True)
    with Connection(bus_uri) as connection:
        with Consumer(connection.channel(), queues=[queue], callbacks=[lambda body, message: None]):
            assert peers.refresh()                     # remembered until the interval passes
