"""Volunteer's credited hours reach the points ledger over the real broker (published through an outbox relay as
the volunteer service publishes them, consumed by scoring's points process): points appear once per hours-ledger
entry, whether the same event is delivered twice or the same entry is credited again by a new event."""
from __future__ import annotations

import os

import pytest

from servicekit.errors import NotFound
from servicekit.messaging.outbox import Relay, add_events
from servicekit.storage.mongo import shared_client
from servicekit.timestamps import stamp, utc_now
from services.volunteer import events as volunteer
from tests.support.scoring import ThemedDay, wait_for

pytestmark = pytest.mark.integration


class VolunteerPublisher:
    """Publishes volunteer events through the real outbox relay, from a scratch database."""

    def __init__(self, mongo_uri: str, bus_uri: str, database: str):
        self.db = shared_client(mongo_uri)[database]
        self.relay = Relay(volunteer.SOURCE, db=self.db, uri=bus_uri)

    def publish(self, events: list[dict]) -> None:
        add_events(self.db, events, volunteer.SOURCE)
        while self.relay.run_once():
            pass

    def republish(self, events: list[dict]) -> None:
        """The same events again (same event ids), as a redelivery would bring them."""
        self.db.outbox.delete_many({"_id": {"$in": [event["event_id"] for event in events]}})
        self.publish(events)

    def close(self) -> None:
        self.relay.close()


@pytest.fixture
def hours_publisher(scoring_service, mongo_uri, bus_uri):
    sender = VolunteerPublisher(mongo_uri, bus_uri, os.environ["DB_PREFIX"] + "_scratch_volunteer")
    yield sender
    sender.close()


def credited(city, branch: dict, member_id: str, order_id: str, hours: float) -> dict:
    return volunteer.HOURS_CREDITED.build(city.tenant_id, entry_id=f"order:{order_id}:{member_id}",
                                          member_id=member_id, branch_id=branch["id"], hours=hours,
                                          source_kind=volunteer.SOURCE_ORDER, source_id=order_id,
                                          credited_at=stamp(utc_now()))


def test_credited_hours_earn_points_once_even_when_delivered_twice(rpc, city, publisher, hours_publisher):
    branch = city.branches[0][0]
    member, other = (city.add_member(branch, name)["id"] for name in ("志愿者甲", "志愿者乙"))
    publisher.publish([ThemedDay(city.tenant_id, branch, "2026-06", []).issued()])   # the branch's place is known
    cycle = stamp(utc_now())[:4]

    def ledger_of(member_id, entries):
        try:
            answer = rpc.scoring.get_ledger(scope=city.admin, member_id=member_id, cycle=cycle)
        except NotFound:
            return None
        return answer if len(answer["entries"]) >= entries else None

    first = credited(city, branch, member, "o1", 2.5)
    hours_publisher.publish([first])
    ledger = wait_for(lambda: ledger_of(member, 1))
    assert [(e["category"], e["points"], e["reason"]) for e in ledger["entries"]] == \
        [("volunteer_hours", 2.5, "志愿服务 2.5 小时")]
    # the same event delivered again, and the same entry credited again by a new event (a replay), then a
    # sentinel behind them on the same queue: once it is in, both went through the consumer
    hours_publisher.republish([first])
    hours_publisher.publish([credited(city, branch, member, "o1", 2.5)])
    hours_publisher.publish([credited(city, branch, other, "o1", 1.25)])
    assert wait_for(lambda: ledger_of(other, 1))["total"] == 1.25
    ledger = rpc.scoring.get_ledger(scope=city.admin, member_id=member, cycle=cycle)
    assert ledger["total"] == 2.5 and len(ledger["entries"]) == 1
    # a second order of the same member is an entry of its own, under the daily cap (8 points a day)
    hours_publisher.publish([credited(city, branch, member, "o2", 7)])
    ledger = wait_for(lambda: ledger_of(member, 2))
    assert ledger["by_category"] == {"volunteer_hours": 8} and sorted(e["points"] for e in ledger["entries"]) == \
        [2.5, 5.5]
    # placed under its branch: the county's admin sees its points, the other county's does not
    assert rpc.scoring.get_ledger(scope=city.county_admins[0], member_id=member, cycle=cycle)["total"] == 8
    with pytest.raises(NotFound):
        rpc.scoring.get_ledger(scope=city.county_admins[1], member_id=member, cycle=cycle)
