"""Who may do what on the broker: one RabbitMQ user per process, and the permissions each one holds.

Events and calls carry their publisher's signature (``servicekit.security.proofs``); the broker adds a second
wall of its own. Each process logs in as its own user on the platform's virtual host, which may:

- configure (declare, delete) only what it owns: its ``<service>.events`` exchange, its ``rpc-<service>`` queue,
  its reply queues ``rpc.reply-<service>-<uuid>``, its event queues ``evt-<source>-<event>--<service>.<consumer>``,
  and nameko's ``nameko-rpc`` exchange, which every RPC party declares;
- write (publish to an exchange, bind a queue) only to its own events exchange, ``nameko-rpc``, its own queues,
  and ``dead-letters`` (the broker checks it when a queue naming it as dead-letter exchange is declared);
- read (consume a queue, bind from an exchange) only its own queues, ``nameko-rpc`` and the events exchanges of
  the services it consumes.

Topic permissions narrow the two shared topic exchanges by routing key: on ``nameko-rpc`` a user publishes only
calls to the services it calls (``<service>.<method>``) and replies (a reply queue's uuid), and binds only its
own ``<service>.*`` and reply uuids, so it cannot bind its queue to another service's calls; on an events
exchange a consumer binds only the event types it subscribes to (``topology.SUBSCRIPTIONS``).

``definitions()`` turns this into a RabbitMQ definitions document (users, virtual host, permissions, topic
permissions, and the event topology: exchanges, quorum queues, bindings) that ``rabbitmqctl import_definitions``
or the RabbitMQ Cluster Operator loads; importing it again changes nothing.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from servicekit.messaging.topology import (DEAD_LETTER_ARGUMENTS, DEAD_LETTER_EXCHANGE, DEAD_LETTER_QUEUE,
                                          SUBSCRIPTIONS, event_queue, queue_arguments)

VHOST = "partybuilding"
USER_PREFIX = "pb-"
RPC_EXCHANGE = "nameko-rpc"          # nameko's default (RPC_EXCHANGE_CONFIG_KEY unset)
UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"    # str(uuid.uuid4()): reply routing keys


@dataclass(frozen=True)
class BrokerUser:
    process: str                      # the process (deploy/local/processes.py): identity, ..., scoring-points
    service: str                      # its nameko service name, which its queue names carry
    serves_rpc: bool = False          # has @rpc entry points: consumes rpc-<service>, publishes replies
    publishes: bool = False           # an outbox relay publishing on <service>.events
    consumers: tuple[str, ...] = ()   # its BatchEventConsumer names: queues evt-...--<service>.<consumer>
    calls: tuple[str, ...] = ()       # services it calls by RPC (RpcProxy or a named ClusterRpcProxy)

    def subscriptions(self) -> list[tuple[str, str, str, str]]:
        return [row for row in SUBSCRIPTIONS if row[2] == self.service and row[3] in self.consumers]


BROKER_USERS = (
    BrokerUser("identity", "identity", serves_rpc=True, publishes=True,
               # their audit logs, for auditors; content's publicities, for development records
               calls=("attendance", "scoring", "content", "volunteer")),
    BrokerUser("attendance", "attendance", serves_rpc=True, publishes=True, calls=("identity",)),
    # publishes: the democratic appraisal's events (services/scoring/events.py)
    BrokerUser("scoring", "scoring", serves_rpc=True, publishes=True, consumers=("score",),
               calls=("attendance", "identity")),
    # PointsConsumer: the scoring service's points queues, in a process of its own with no RPC
    BrokerUser("scoring-points", "scoring", consumers=("points",)),
    BrokerUser("content", "content", serves_rpc=True, publishes=True, consumers=("publicity", "meeting_records"),
               calls=("identity", "scoring")),
    BrokerUser("volunteer", "volunteer", serves_rpc=True, publishes=True, calls=("identity",)),
    BrokerUser("gateway", "gateway", calls=("identity", "attendance", "scoring", "content", "volunteer")),
)
PUBLISHERS = tuple(user.service for user in BROKER_USERS if user.publishes)


def broker_user(process: str) -> BrokerUser:
    for user in BROKER_USERS:
        if user.process == process:
            return user
    raise KeyError(f"no broker user for process {process!r}; known: {', '.join(u.process for u in BROKER_USERS)}")


def user_name(process: str, prefix: str = USER_PREFIX) -> str:
    return f"{prefix}{process}"


def _literal(name: str) -> str:
    return name.replace(".", r"\.").replace("*", r"\*")


def _any_of(patterns: list[str]) -> str:
    return "^(" + "|".join(dict.fromkeys(patterns)) + ")$"


def _queues(user: BrokerUser) -> list[str]:
    """Patterns of the queues ``user`` owns."""
    owned = []
    if user.serves_rpc:
        owned.append(_literal(f"rpc-{user.service}"))
    if user.calls:
        owned.append(_literal(f"rpc.reply-{user.service}-") + UUID)
    owned += [rf"evt-[a-z]+-[a-z0-9_]+--{_literal(f'{user.service}.{consumer}')}" for consumer in user.consumers]
    return owned


def permissions(user: BrokerUser) -> tuple[str, str, str]:
    """(configure, write, read): the regular expressions of ``rabbitmqctl set_permissions``."""
    rpc = [RPC_EXCHANGE.replace(".", r"\.")] if user.serves_rpc or user.calls else []
    own_exchange = [_literal(f"{user.service}.events")] if user.publishes else []
    queues = _queues(user)
    sources = sorted({row[0] for row in user.subscriptions()})
    configure = rpc + own_exchange + queues
    write = rpc + own_exchange + queues + ([_literal(DEAD_LETTER_EXCHANGE)] if user.consumers else [])
    read = rpc + queues + [_literal(f"{source}.events") for source in sources]
    return _any_of(configure), _any_of(write), _any_of(read)


def topic_permissions(user: BrokerUser) -> list[tuple[str, str, str]]:
    """(exchange, write, read) rows of ``rabbitmqctl set_topic_permissions``: routing keys the user may publish
    with (write) and bind with (read) on the shared topic exchanges."""
    rows = []
    if user.serves_rpc or user.calls:
        write = [rf"({'|'.join(user.calls)})\.[A-Za-z0-9_]+"] if user.calls else []
        write += [UUID] if user.serves_rpc else []          # replies go to the caller's reply uuid
        read = ([_literal(f"{user.service}.*")] if user.serves_rpc else []) + ([UUID] if user.calls else [])
        rows.append((RPC_EXCHANGE, _any_of(write), _any_of(read)))
    by_source: dict[str, list[str]] = {}
    for source, event_type, _, _ in user.subscriptions():
        by_source.setdefault(source, []).append(event_type)
    for source, event_types in sorted(by_source.items()):
        rows.append((f"{source}.events", "^$", _any_of(sorted(set(event_types)))))
    return rows


def password_hash(password: str) -> str:
    """RabbitMQ's ``rabbit_password_hashing_sha256``: base64(salt + sha256(salt + password)). The salt is derived
    from the password, so the same password gives the same definitions (importing them twice changes nothing)."""
    salt = hashlib.sha256(b"partybuilding-broker-salt" + password.encode()).digest()[:4]
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def definitions(passwords: dict[str, str], vhost: str = VHOST, prefix: str = USER_PREFIX,
                users: tuple[BrokerUser, ...] = BROKER_USERS) -> dict:
    """The RabbitMQ definitions document: ``passwords`` by process name (every user in ``users``)."""
    document = {"vhosts": [{"name": vhost}], "users": [], "permissions": [], "topic_permissions": [],
                "exchanges": [], "queues": [], "bindings": []}
    for user in users:
        name = user_name(user.process, prefix)
        document["users"].append({"name": name, "password_hash": password_hash(passwords[user.process]),
                                  "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": []})
        configure, write, read = permissions(user)
        document["permissions"].append({"user": name, "vhost": vhost, "configure": configure, "write": write,
                                        "read": read})
        document["topic_permissions"] += [{"user": name, "vhost": vhost, "exchange": exchange, "write": write,
                                           "read": read} for exchange, write, read in topic_permissions(user)]
    rows = [row for user in users for row in user.subscriptions()]
    exchanges = {DEAD_LETTER_EXCHANGE: "fanout", RPC_EXCHANGE: "topic"}
    exchanges.update({f"{source}.events": "topic" for source in sorted({*PUBLISHERS, *(row[0] for row in rows)})})
    document["exchanges"] = [{"name": name, "vhost": vhost, "type": kind, "durable": True, "auto_delete": False,
                              "internal": False, "arguments": {}} for name, kind in exchanges.items()]
    document["queues"] = [{"name": DEAD_LETTER_QUEUE, "vhost": vhost, "durable": True, "auto_delete": False,
                           "arguments": dict(DEAD_LETTER_ARGUMENTS)}]
    document["bindings"] = [{"source": DEAD_LETTER_EXCHANGE, "vhost": vhost, "destination": DEAD_LETTER_QUEUE,
                             "destination_type": "queue", "routing_key": "", "arguments": {}}]
    for source, event_type, consumer, method in rows:
        queue = event_queue(source, event_type, consumer, method).name
        document["queues"].append({"name": queue, "vhost": vhost, "durable": True, "auto_delete": False,
                                   "arguments": queue_arguments()})
        document["bindings"].append({"source": f"{source}.events", "vhost": vhost, "destination": queue,
                                     "destination_type": "queue", "routing_key": event_type, "arguments": {}})
    return document
