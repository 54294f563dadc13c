"""三会一课 records in the branch's column, with the real identity, attendance and content processes on the real broker
and store: a lesson planned, held with the QR sign-in and recorded by the secretary is published by content's
"meeting_records" consumer in the branch's 三会一课 column; the branch's member finds it first in its feed with its
title and no minutes or resolutions; a member of the county's other branch, a far county and another tenant never
see it; the event delivered twice more (and re-published under a new id) still makes one item."""
from __future__ import annotations

import os
import uuid

import pytest

from servicekit.errors import NotFound
from servicekit.process.config import database_name
from servicekit.storage.mongo import shared_client
from services.attendance import events as attendance_events
from tests.support.meetings import meeting_branch
from tests.support.replay import replaying
from tests.support.scoring import wait_for

pytestmark = pytest.mark.integration

MINUTES, RESOLUTION = "书记领学党章总纲，讨论入党积极分子培养情况。", "每月集中学习一次"


@pytest.fixture
def replayer(mongo_uri, bus_uri):
    yield from replaying("attendance", mongo_uri, bus_uri)


@pytest.fixture
def branch(rpc, city, attendance_service, content_service):
    yield from meeting_branch(rpc, city, members=3)


def feed_of(rpc, scope) -> list[dict]:
    return rpc.content.get_feed(scope=scope, page_size=50)["items"]


def meeting_items(rpc, scope, org_id) -> list[dict]:
    return [item for item in rpc.content.list_items(scope=scope, org_id=org_id, page_size=100)["items"]
            if "三会一课" in item["tags"]]


def column_of(rpc, scope, org_id, key) -> dict:
    return next(c for c in rpc.content.list_columns(scope=scope, org_id=org_id)["columns"] if c["key"] == key)


def test_a_recorded_meeting_is_published_once_in_its_branch_column(rpc, city, other_city, branch, replayer):
    county_admin, secretary, member = branch.county_admin, branch.secretary, branch.member_scopes[0]
    neighbour = city.member_login(city.add_member(city.branches[0][1], "邻支部党员"), f"nb{uuid.uuid4().hex[:6]}")
    far = city.member_login(city.add_member(city.branches[1][0], "外县党员"), f"far{uuid.uuid4().hex[:6]}")

    # an ordinary branch item published before: the meeting's record comes above it (newest first)
    draft = rpc.content.create_item(scope=secretary, column_id=column_of(rpc, secretary, branch.branch["id"],
                                                                         "news")["id"],
                                    title="支部近期工作", body="本月工作安排。")
    rpc.content.submit_item(scope=secretary, item_id=draft["id"])
    earlier = rpc.content.review_item(scope=county_admin, item_id=draft["id"], decision="approve")

    meeting = branch.plan("lesson")
    branch.hold(present=2)
    rpc.attendance.record_meeting(scope=secretary, meeting_id=meeting["id"], host="王书记", recorder="李委员",
                                  topics=["学习新修订的党章", "交流学习体会"], resolutions=[RESOLUTION], minutes=MINUTES)
    day = meeting["date"]
    title = f"【党课】{int(day[:4])}年{int(day[5:7])}月{int(day[8:])}日 学习新修订的党章"

    [head] = wait_for(lambda: [item for item in feed_of(rpc, member) if item["title"] == title])
    feed = feed_of(rpc, member)
    assert [item["id"] for item in feed].index(head["id"]) < [item["id"] for item in feed].index(earlier["id"])
    assert (head["org_id"], head["kind"], head["pushed"], head["pinned"]) == \
        (branch.branch["id"], "article", False, False)
    item = rpc.content.get_item(scope=member, item_id=head["id"])
    assert item["status"] == "published" and item["title"] == title
    for expected in ("主持人：王书记", "记录人：李委员", "1. 学习新修订的党章", "2. 交流学习体会", "会议地点：党员活动室",
                     "应到 3 人，实到 2 人，请假 0 人，缺席 1 人", "本记录在会后按时录入"):
        assert expected in item["body"], (expected, item["body"])
    assert MINUTES not in str(item) and RESOLUTION not in str(item)

    # the branch's 三会一课 column, made at its first record, without review; the county's admin sees the item
    meetings_column = column_of(rpc, secretary, branch.branch["id"], "meetings")
    assert (meetings_column["name"], meetings_column["review_required"], item["column_id"]) == \
        ("三会一课", False, meetings_column["id"])
    assert [i["id"] for i in meeting_items(rpc, county_admin, branch.branch["id"])] == [head["id"]]

    # the county's other branch, another county and another tenant: not in their feeds, not found
    for outsider in (neighbour, far, other_city.admin):
        if outsider is not other_city.admin:
            assert head["id"] not in [i["id"] for i in feed_of(rpc, outsider)]
        with pytest.raises(NotFound) as refused:
            rpc.content.get_item(scope=outsider, item_id=head["id"])
        assert refused.value.code == "ITEM_NOT_FOUND"

    # the same event twice more and under a new id, then another meeting's: once that one shows, the others
    # were consumed before it (one queue, in order) and made nothing
    stored = attendance_outbox_event(meeting["id"])
    republished = {**stored, "event_id": uuid.uuid4().hex}
    marker = attendance_events.MEETING_RECORDED.build(city.tenant_id, **{
        **{name: stored[name] for name in attendance_events.MEETING_RECORDED.fields},
        "meeting_id": f"mtg_marker_{uuid.uuid4().hex[:8]}", "title": "标记会议"})
    replayer.publish(stored, stored, republished, marker)
    wait_for(lambda: len(meeting_items(rpc, county_admin, branch.branch["id"])) == 2)
    titles = sorted(i["title"] for i in meeting_items(rpc, county_admin, branch.branch["id"]))
    assert titles == sorted([title, title.replace("学习新修订的党章", "标记会议")])


def attendance_outbox_event(meeting_id: str) -> dict:
    """The meeting_recorded event attendance committed, as its outbox keeps it (one entry per event)."""
    db = shared_client(os.environ["MONGO_URI"])[database_name("attendance")]
    for entry in db.outbox.find({"routing_key": "meeting_recorded"}):
        if entry["payload"].get("meeting_id") == meeting_id:
            return entry["payload"]
    raise AssertionError(f"no meeting_recorded of {meeting_id} in attendance's outbox")
