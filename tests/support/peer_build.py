"""Stand-ins for identity and attendance (tests/integration/test_peer_timeouts.py), each on the vhost of its test:
an identity whose answer takes as long as asked (and says how many calls of a tag it is still answering), and an
attendance that asks it through ``peer("identity")`` as the real one does, and answers a call of its own that needs
no peer."""
from __future__ import annotations

from collections import Counter

import eventlet

from servicekit.messaging.peer_calls import peer
from servicekit.messaging.rpc import rpc

WAITING: Counter = Counter()          # per process: calls being answered, by tag


class SlowIdentity:
    name = "identity"

    @rpc
    def wait(self, seconds=0.0, tag=""):
        WAITING[tag] += 1
        try:
            eventlet.sleep(seconds)
        finally:
            WAITING[tag] -= 1
        return seconds

    @rpc
    def waiting(self, tag=""):
        return WAITING[tag]


class AttendanceAskingIdentity:
    name = "attendance"
    identity = peer("identity")

    @rpc
    def ask_identity(self, seconds=0.0, tag=""):
        return self.identity.wait(seconds=seconds, tag=tag)

    @rpc
    def ping(self):
        return "pong"
