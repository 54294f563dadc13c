"""三会一课 earns member points, run through the real attendance, identity and scoring services and broker: a meeting
held with two members present and one absent gives each present member one `meeting` entry and the absent one
none; the same meeting_held delivered again changes nothing; the rule's daily cap holds over three meetings in a
day."""
from __future__ import annotations

import json

import pymongo
import pytest

from servicekit.errors import NotFound
from servicekit.process.config import database_name
from tests.support.meetings import meeting_branch
from tests.support.scoring import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def branch(rpc, city, attendance_service):
    yield from meeting_branch(rpc, city, members=3)


@pytest.fixture
def attendance_db(mongo_uri):
    client = pymongo.MongoClient(mongo_uri)
    yield client[database_name("attendance")]
    client.close()


def published_meeting_held(db, meeting_id: str) -> dict:
    """The meeting_held event attendance stored in its outbox at the closing (a bundle's encoded messages)."""
    for entry in db.outbox.find({"messages": {"$exists": True}}):
        for _, routing_key, body, _ in entry["messages"]:
            if routing_key != "meeting_held":
                continue
            decoded = json.loads(body)
            for event in decoded if isinstance(decoded, list) else [decoded]:
                if event["meeting_id"] == meeting_id:
                    return event
    raise AssertionError(f"no meeting_held for {meeting_id}")


def meeting_entries(rpc, scope, member_id: str) -> list[dict] | None:
    """The member's `meeting` entries of the current cycle; None while scoring does not know the member."""
    try:
        ledger = rpc.scoring.get_ledger(scope=scope, member_id=member_id)
    except NotFound:
        return None
    return [entry for entry in ledger["entries"] if entry["category"] == "meeting"]


def test_members_present_at_a_held_meeting_earn_meeting_points_once_under_the_daily_cap(
        rpc, city, branch, attendance_db, publisher):
    present, also_present, absent = (member["id"] for member in branch.members)
    meeting = branch.plan("lesson")
    held = branch.hold(present=2)
    assert held["attendance"] == {"expected": 3, "present": 2, "excused": 0, "absent": 1}

    event = published_meeting_held(attendance_db, meeting["id"])
    assert event["present_member_ids"] == sorted([present, also_present])
    for member_id in (present, also_present):
        [entry] = wait_for(lambda member_id=member_id: meeting_entries(rpc, city.admin, member_id))
        assert entry["id"] == f"{meeting['id']}:{member_id}:meeting"
        assert (entry["points"], entry["reason"]) == (3, "参加党课")
    assert not meeting_entries(rpc, city.admin, absent)

    # the same event again (a redelivery or a replay), then a sentinel behind it on the same queue: once the
    # sentinel's entry is in, the repeat went through the consumer
    sentinel_member = city.add_member(branch.branch, "哨兵党员")["id"]
    sentinel = {**event, "event_id": f"{event['event_id']}-sentinel", "meeting_id": f"{meeting['id']}-sentinel",
                "present_member_ids": [sentinel_member]}
    publisher.republish([event])
    publisher.publish([sentinel])
    wait_for(lambda: meeting_entries(rpc, city.admin, sentinel_member))
    ledger = rpc.scoring.get_ledger(scope=city.admin, member_id=present)
    assert len([e for e in ledger["entries"] if e["category"] == "meeting"]) == 1
    assert ledger["by_category"]["meeting"] == 3
    assert not meeting_entries(rpc, city.admin, absent)

    # two more meetings the same day: the third pays nothing beyond the daily cap of 6
    for meeting_type, start, end in (("assembly", "18:00", "19:00"), ("lesson", "20:30", "21:30")):
        branch.plan(meeting_type, start_time=start, end_time=end)
        branch.hold(present=1)
    entries = wait_for(lambda: (found := meeting_entries(rpc, city.admin, present)) and len(found) == 3 and found)
    assert sorted(entry["points"] for entry in entries) == [0, 3, 3]
    ledger = rpc.scoring.get_ledger(scope=city.admin, member_id=present)
    assert ledger["by_category"]["meeting"] == 6
    assert len(meeting_entries(rpc, city.admin, also_present)) == 1        # present at the first meeting only
