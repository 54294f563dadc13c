"""The points consumer runs as a process of its own at a lower CPU priority (bin/run's layout, which the
scoring fixture copies): it alone consumes the points queues, ScoringService alone the score queues."""
from __future__ import annotations

import time
from pathlib import Path

from kombu import Connection

from services.scoring.usecases.points_events import POINTS_SUBSCRIPTIONS
from services.scoring.usecases.score_events import SCORE_SUBSCRIPTIONS
from servicekit.messaging.topology import event_queue


def niceness(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def consumers_of(bus_uri: str, rows: list[tuple[str, str]], method: str) -> dict[str, int]:
    with Connection(bus_uri) as connection:
        channel = connection.channel()
        counts = {}
        for source, event_type in rows:
            name = event_queue(source, event_type, "scoring", method).name
            counts[name] = channel.queue_declare(queue=name, passive=True).consumer_count
        return counts


def test_the_points_process_runs_below_the_scoring_service(scoring_service):
    assert niceness(scoring_service.points.process.pid) == niceness(scoring_service.process.pid) + 10


def test_each_queue_has_one_consumer_the_points_queues_only_the_points_process(scoring_service, bus_uri):
    deadline = time.monotonic() + 20          # the points process is ready before its consumer has subscribed
    while True:
        points = consumers_of(bus_uri, POINTS_SUBSCRIPTIONS, "points")
        scores = consumers_of(bus_uri, SCORE_SUBSCRIPTIONS, "score")
        if 0 not in points.values() or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert set(points.values()) == {1}, points       # two processes, one consumer each: not both on points
    assert set(scores.values()) == {1}, scores
