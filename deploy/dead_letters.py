"""Inspect, replay and drop the messages parked in the ``dead-letters`` queue.

    python -m deploy.dead_letters list                      counts by origin queue and reason
    python -m deploy.dead_letters show [--limit 5]          a few messages: origin, reason, headers, body
    python -m deploy.dead_letters replay --event-id ID...   back to their original exchange and routing key
    python -m deploy.dead_letters drop --queue Q --reason R removed for good
    python -m deploy.dead_letters migrate                   a classic ``dead-letters`` queue becomes a quorum queue

It logs in with the operator's broker credentials, the same settings as every process (servicekit.process.config:
``AMQP_URI``, or ``AMQP_USER`` with ``AMQP_PASSWORD_FILE`` and ``AMQP_VHOST``), or ``--uri``. The login needs to
read and configure ``dead-letters`` (and ``dead-letters.migrating`` for ``migrate``) and to write the events
exchanges it replays to; no process's own user may read the dead letters.

``replay`` and ``drop`` act only on the messages selected by ``--queue`` (origin queue), ``--reason`` (the broker's:
``rejected``, ``delivery_limit``), ``--event-id`` (repeatable), or on every message with ``--all``. A replayed
message is the same body with the same headers, the publisher's proof included (consumers verify it as any other),
less the broker's dead-lettering headers; it goes to its original exchange, so every queue bound there receives it
again and consumers that applied it already find its id processed (idempotent consumers). A message is removed from
the dead letters only once the broker confirmed its replay and a queue took it. Every command reads at most
``--scan`` messages, holds them unacknowledged while it works and puts back what it did not take.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter

import amqp
from amqp.exceptions import AccessRefused, NotFound

from servicekit.messaging.dead_letters import DEATH_HEADERS, origin
from servicekit.messaging.topology import (DEAD_LETTER_ARGUMENTS, DEAD_LETTER_EXCHANGE, DEAD_LETTER_QUEUE,
                                          declare_dead_letters)
from servicekit.process.config import amqp_connection, amqp_uri

MIGRATING = f"{DEAD_LETTER_QUEUE}.migrating"
SCAN = 10_000


class Parked:
    """One message held from the dead letters (unacknowledged until it is taken or put back)."""

    def __init__(self, message):
        self.message = message
        self.headers = dict(message.properties.get("application_headers") or {})
        self.origin = origin(self.headers)
        self.body = message.body if isinstance(message.body, bytes) else str(message.body).encode()

    @property
    def event_ids(self) -> list[str]:
        try:
            decoded = json.loads(self.body)
        except ValueError:
            return []
        events = decoded if isinstance(decoded, list) else [decoded]
        return [str(event["event_id"]) for event in events if isinstance(event, dict) and event.get("event_id")]

    def selected(self, args) -> bool:
        if getattr(args, "all", False):
            return True
        wanted = []
        if args.queue:
            wanted.append(self.origin["queue"] == args.queue)
        if args.reason:
            wanted.append(self.origin["reason"] == args.reason)
        if args.event_id:
            wanted.append(bool(set(args.event_id) & set(self.event_ids)))
        return bool(wanted) and all(wanted)


def hold(channel, queue: str = DEAD_LETTER_QUEUE, limit: int = SCAN) -> list[Parked]:
    held = []
    while len(held) < limit:
        message = channel.basic_get(queue, no_ack=False)
        if message is None:
            break
        held.append(Parked(message))
    return held


def put_back(channel, held: list[Parked]) -> None:
    for parked in held:
        channel.basic_reject(parked.message.delivery_tag, requeue=True)


def list_counts(held: list[Parked]) -> list[str]:
    counts = Counter((parked.origin["queue"] or "?", parked.origin["reason"] or "?") for parked in held)
    width = max([len("origin queue")] + [len(queue) for queue, _ in counts])
    lines = [f"{'origin queue':<{width}}  {'reason':<15} count"]
    lines += [f"{queue:<{width}}  {reason:<15} {count}" for (queue, reason), count in sorted(counts.items())]
    lines.append(f"{len(held)} message(s) in {DEAD_LETTER_QUEUE}")
    return lines


def describe(parked: Parked, body_chars: int = 600) -> list[str]:
    where = parked.origin
    headers = {key: value for key, value in parked.headers.items() if key not in DEATH_HEADERS}
    body = parked.body.decode(errors="replace")
    return [f"- from {where['queue'] or '?'} ({where['reason'] or '?'}, {where['count']}x), "
            f"published on {where['exchange'] or '?'} with {where['routing_key'] or '?'}",
            f"  event ids: {', '.join(parked.event_ids) or '(none readable)'}",
            f"  headers: {json.dumps(headers, ensure_ascii=False, default=str)[:300]}",
            f"  body: {body[:body_chars]}{' ...' if len(body) > body_chars else ''}"]


def replay(connection, channel, parked: Parked) -> str:
    """Publish ``parked`` to its original exchange and routing key (mandatory, confirmed); '' when a queue took it,
    else why not."""
    where = parked.origin
    if not where["exchange"]:
        return "its original exchange is unknown (no x-death header)"
    publisher = connection.channel()
    returned = []
    try:
        publisher.events["basic_return"].add(lambda error, exchange, routing_key, message: returned.append(error))
        properties = {key: value for key, value in parked.message.properties.items()
                      if key not in ("application_headers", "delivery_mode")}
        headers = {key: value for key, value in parked.headers.items() if key not in DEATH_HEADERS}
        publisher.basic_publish_confirm(amqp.Message(parked.body, delivery_mode=2, application_headers=headers,
                                                     **properties),
                                        exchange=where["exchange"], routing_key=where["routing_key"], mandatory=True)
    except Exception as error:  # noqa: BLE001  reported per message; the message stays parked
        return f"not published: {error}"
    finally:
        try:
            publisher.close()
        except Exception:  # noqa: BLE001
            pass
    return "no queue is bound for it" if returned else ""


def move(connection, source: str, destination: str) -> int:
    """Every message of ``source`` into ``destination`` as it is (headers included), each confirmed before its
    original is removed."""
    reader, writer = connection.channel(), connection.channel()
    moved = 0
    while True:
        message = reader.basic_get(source, no_ack=False)
        if message is None:
            return moved
        writer.basic_publish_confirm(amqp.Message(message.body, **message.properties), exchange="",
                                     routing_key=destination)
        reader.basic_ack(message.delivery_tag)
        moved += 1


def migrate(connection) -> str:
    """Replace a ``dead-letters`` queue of another type with the quorum queue, keeping its messages: new dead
    letters go to ``dead-letters.migrating`` meanwhile, so none is dropped, and end up in the new queue."""
    if declare_dead_letters(connection):
        return f"{DEAD_LETTER_QUEUE} is a quorum queue already"
    channel = connection.channel()
    channel.queue_declare(MIGRATING, durable=True, auto_delete=False, arguments=dict(DEAD_LETTER_ARGUMENTS))
    channel.queue_bind(MIGRATING, DEAD_LETTER_EXCHANGE, "")
    channel.queue_unbind(DEAD_LETTER_QUEUE, DEAD_LETTER_EXCHANGE, "")
    kept = move(connection, DEAD_LETTER_QUEUE, MIGRATING)
    channel.queue_delete(DEAD_LETTER_QUEUE, if_empty=True)
    if not declare_dead_letters(connection):
        raise RuntimeError(f"{DEAD_LETTER_QUEUE} could not be declared as a quorum queue")
    channel.queue_unbind(MIGRATING, DEAD_LETTER_EXCHANGE, "")
    move(connection, MIGRATING, DEAD_LETTER_QUEUE)
    # unbound and emptied; a quorum queue takes no if-empty delete, hence the count first
    if channel.queue_declare(MIGRATING, passive=True).message_count == 0:
        channel.queue_delete(MIGRATING)
    return f"{DEAD_LETTER_QUEUE} is now a quorum queue; {kept} message(s) kept"


def main(argv: list[str] | None = None, out=sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.dead_letters", description=__doc__.split("\n\n")[0])
    parser.add_argument("--uri", help="AMQP URI of the operator's login (default: the AMQP_* settings)")
    parser.add_argument("--scan", type=int, default=SCAN, help="read at most this many messages")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="counts by origin queue and reason")
    commands.add_parser("migrate", help="make a classic dead-letters queue a quorum queue, keeping its messages")
    for name in ("show", "replay", "drop"):
        command = commands.add_parser(name)
        command.add_argument("--queue", help="origin queue (as list shows it)")
        command.add_argument("--reason", help="the broker's reason: rejected, delivery_limit, expired")
        command.add_argument("--event-id", action="append", default=[], help="an event id (repeatable)")
        command.add_argument("--limit", type=int, default=5 if name == "show" else SCAN,
                             help="act on at most this many messages")
        if name != "show":
            command.add_argument("--all", action="store_true", help="every message (no other filter needed)")
    args = parser.parse_args(argv)
    if args.command in ("replay", "drop") and not (args.all or args.queue or args.reason or args.event_id):
        parser.error(f"{args.command}: select messages with --queue, --reason, --event-id or --all")

    with amqp_connection(args.uri or amqp_uri()) as connection:
        connection.ensure_connection(max_retries=3)
        if args.command == "migrate":
            print(migrate(connection), file=out)
            return 0
        channel = connection.channel()
        try:
            held = hold(channel, limit=args.scan)
        except (NotFound, AccessRefused) as error:     # another virtual host, or a login that may not read it
            print(f"deploy.dead_letters: {error}; give the operator's login to the platform's virtual host "
                  f"(--uri, or AMQP_URI / AMQP_USER, AMQP_PASSWORD_FILE, AMQP_VHOST)", file=sys.stderr)
            return 2
        if args.command == "list":
            put_back(channel, held)
            print("\n".join(list_counts(held)), file=out)
            return 0
        filtered = args.queue or args.reason or args.event_id or getattr(args, "all", False)
        chosen = [parked for parked in held if (parked.selected(args) if filtered else True)][:args.limit]
        chosen_ids = {id(parked) for parked in chosen}
        others = [parked for parked in held if id(parked) not in chosen_ids]
        failures = 0
        try:
            if args.command == "show":
                for parked in chosen:
                    print("\n".join(describe(parked)), file=out)
                print(f"{len(chosen)} shown of {len(held)} message(s)", file=out)
                others = held
            elif args.command == "drop":
                for parked in chosen:
                    channel.basic_ack(parked.message.delivery_tag)
                print(f"{len(chosen)} dropped", file=out)
            else:
                for parked in chosen:
                    why = replay(connection, channel, parked)
                    if why:
                        failures += 1
                        others.append(parked)
                        print(f"not replayed ({why}): {', '.join(parked.event_ids) or parked.origin['queue']}",
                              file=out)
                    else:
                        channel.basic_ack(parked.message.delivery_tag)
                print(f"{len(chosen) - failures} replayed, {failures} kept", file=out)
        finally:
            put_back(channel, others)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
