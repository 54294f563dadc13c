"""Broker topology declared up front by every service, so nothing is dropped unrouted.

``SUBSCRIPTIONS`` is the one table of which service consumes which event: each row
becomes a durable quorum queue bound before any publisher runs, with a delivery limit
and a dead-letter exchange so a poison message is parked, never lost or looped.

Who declares it: set-up, with the broker users (``servicekit.messaging.broker_access.definitions``), declares
the whole topology; a process logged in as its own user then declares only what it owns (a consumer its
queues and their bindings, a publisher its exchange), which is all its permissions allow. A process logged in
as ``guest`` (a developer's localhost, every permission of its virtual host) declares the whole topology
itself, as a fresh broker without set-up needs.
"""
from __future__ import annotations

import logging
from urllib.parse import unquote, urlsplit

from amqp.exceptions import PreconditionFailed
from kombu import Exchange, Queue

log = logging.getLogger(__name__)

DEAD_LETTER_EXCHANGE = "dead-letters"
DEAD_LETTER_QUEUE = "dead-letters"
DELIVERY_LIMIT = 5
# A quorum queue like the event queues (replicated, survives a node's loss); no delivery limit and no dead-letter
# exchange of its own: a parked message stays until an operator replays or drops it (python -m deploy.dead_letters).
DEAD_LETTER_ARGUMENTS = {"x-queue-type": "quorum"}

# (source service, event type, consuming service, handler method)
SUBSCRIPTIONS: list[tuple[str, str, str, str]] = []

# scoring: two batched consumers (servicekit.messaging.consumers), "score" and "points".
_SCORING_SCORE_EVENTS = ("activity_issued", "plan_submitted", "plan_reviewed", "activity_opened", "roster_frozen",
                         "checkin_recorded", "checkout_recorded", "scan_flagged", "leave_decided", "activity_closed",
                         "reflection_posted", "activity_liked", "upload_added", "rectification_opened",
                         "rectification_closed")
# meeting_held: a held 三会一课 meeting pays its members present (services/scoring/usecases/points_events.py)
_SCORING_POINTS_EVENTS = ("roster_frozen", "checkout_recorded", "reflection_posted", "activity_closed",
                          "activity_issued", "meeting_held")
SUBSCRIPTIONS += [("attendance", name, "scoring", "score") for name in _SCORING_SCORE_EVENTS]
SUBSCRIPTIONS += [("attendance", name, "scoring", "points") for name in _SCORING_POINTS_EVENTS]
SUBSCRIPTIONS += [("identity", "tenant_created", "scoring", "points")]
# scoring's points: study, quizzes and contests earn member points (services/scoring/usecases/points_events.py).
SUBSCRIPTIONS += [("content", name, "scoring", "points")
                  for name in ("item_studied", "quiz_attempt_finished", "contest_finished")]
# scoring's points: credited volunteer hours earn volunteer_hours points (the same applier).
SUBSCRIPTIONS += [("volunteer", "hours_credited", "scoring", "points")]

# content's development publicity (发展党员公示): services/content/usecases/community_events.py
SUBSCRIPTIONS += [("identity", "member_status_changed", "content", "publicity")]
# content's 三会一课 records in the branch's column: services/content/usecases/meeting_records.py
SUBSCRIPTIONS += [("attendance", "meeting_recorded", "content", "meeting_records")]


def queue_arguments() -> dict:
    return {"x-queue-type": "quorum", "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE}


def event_queue(source: str, event_type: str, consumer: str, method: str, declare_exchange: bool = True) -> Queue:
    """The same name nameko's service-pool event handler uses, with reliable arguments. Without
    ``declare_exchange`` the queue is declared and bound to the publisher's exchange, which must exist."""
    exchange = Exchange(f"{source}.events", type="topic", durable=True, delivery_mode=2,
                        no_declare=not declare_exchange)
    return Queue(f"evt-{source}-{event_type}--{consumer}.{method}", exchange=exchange, routing_key=event_type,
                 durable=True, auto_delete=False, queue_arguments=queue_arguments())


def dead_letter_queue() -> Queue:
    return Queue(DEAD_LETTER_QUEUE, exchange=Exchange(DEAD_LETTER_EXCHANGE, type="fanout", durable=True),
                 durable=True, auto_delete=False, queue_arguments=DEAD_LETTER_ARGUMENTS)


def declare_dead_letters(connection) -> bool:
    """Declare the dead-letter exchange and quorum queue on a channel of their own; False when a ``dead-letters``
    queue of another type exists (a broker from before it was a quorum queue): the broker refuses the declaration
    and that queue keeps receiving dead letters until ``python -m deploy.dead_letters migrate`` replaces it."""
    channel = connection.channel()
    try:
        dead_letter_queue().declare(channel=channel)
        return True
    except PreconditionFailed as refusal:
        log.warning("the dead-letters queue is not a quorum queue (%s): run python -m deploy.dead_letters migrate",
                    refusal)
        return False
    finally:
        try:
            channel.close()
        except Exception:  # noqa: BLE001  closed by the broker's refusal already
            pass


def declare_topology(connection, subscriptions=None) -> None:
    channel = connection.default_channel
    declare_dead_letters(connection)
    for row in subscriptions if subscriptions is not None else SUBSCRIPTIONS:
        event_queue(*row).declare(channel=channel)


def declares_whole_topology(uri: str) -> bool:
    """Whether a process connecting with ``uri`` (AMQP_URI) declares the whole topology: only as ``guest``."""
    parts = urlsplit(uri.split(";")[0].strip())
    return (unquote(parts.username or "") or "guest") == "guest"


def declare_consumer_topology(connection, rows, uri: str) -> None:
    """What a consumer declares before it consumes: its queues and their bindings (the publishers' exchanges
    exist: set-up declared them), or, as ``guest``, the whole topology of ``rows``."""
    if declares_whole_topology(uri):
        declare_topology(connection, rows)
        return
    channel = connection.default_channel
    for row in rows:
        event_queue(*row, declare_exchange=False).declare(channel=channel)


def declare_publisher_topology(connection, uri: str) -> None:
    """What a publisher declares before it publishes: as ``guest`` the whole topology, so that no event is
    dropped unrouted on a broker set-up never saw; as its own user nothing here (its relay declares its own
    exchange before publishing to it, and set-up declared the consumers' queues)."""
    if declares_whole_topology(uri):
        declare_topology(connection)
