"""Attendance's meeting_recorded through the content consumer "meeting_records" with an in-memory store: one published
item in the branch's 三会一课 column per meeting (a redelivery, a replay or a race makes none more), committed with
content_published, the branch's own column of that name used when it has one, and an event without its branch
skipped."""
from __future__ import annotations

import copy

import pytest
from pymongo.errors import DuplicateKeyError

from services.attendance import events as attendance_events
from services.content.domain import meeting_records as rules
from services.content.service import ContentService
from services.content.usecases.meeting_records import MEETING_RECORD_SUBSCRIPTIONS, MeetingRecordApplier
from servicekit.messaging.topology import SUBSCRIPTIONS
from tests.fast.content.fakes import BRANCH, CITY, COUNTY, OTHER_TENANT, TENANT

MINUTES = "讨论了发展对象的培养考察情况。"


def recorded(tenant_id=TENANT, meeting_id="mtg_1", **fields) -> dict:
    values = {"meeting_id": meeting_id, "branch_id": BRANCH, "org_path": [CITY, COUNTY, BRANCH],
              "branch_name": "一支部", "meeting_type": "committee", "title": "研究发展党员工作",
              "date": "2026-12-04", "month": "2026-12", "venue_name": "支部会议室", "host": "王书记",
              "recorder": "李委员", "topics": ["研究发展党员工作"], "recorded_by": "acc_sec", "backfilled": False,
              "backfill_reason": "", "attendance": {"expected": 5, "present": 4, "excused": 1, "absent": 0}}
    values.update(fields)
    return attendance_events.MEETING_RECORDED.build(tenant_id, **values)


class MeetingRecordsStore:
    """The store's reads and writes the consumer uses, over dicts; ``race`` makes the next insert find the item
    written by another instance meanwhile."""

    def __init__(self):
        self.items: dict[str, dict] = {}
        self.columns: dict[str, dict] = {}
        self.events: list[dict] = []
        self.race = False

    def item(self, item_id):
        return copy.deepcopy(self.items.get(item_id))

    def on_demand_column(self, tenant_id, org_path, key, at=""):
        name = {"meetings": "三会一课"}[key]
        for column in self.columns.values():
            if column["org_id"] == org_path[-1] and column["name"] == name:
                return column
        column_id = f"{org_path[-1]}:{key}"
        return self.columns.setdefault(column_id, {"_id": column_id, "org_id": org_path[-1], "key": key,
                                                   "name": name, "review_required": False})

    def insert_published_item(self, item, events):
        if self.race:
            self.race = False
            self.items[item["_id"]] = {**copy.deepcopy(item), "status": "published"}
            raise DuplicateKeyError("E11000 duplicate key error collection: items")
        if item["_id"] in self.items:
            raise DuplicateKeyError("E11000 duplicate key error collection: items")
        self.items[item["_id"]] = {**copy.deepcopy(item), "status": "published", "generated": True}
        self.events += events
        return item


@pytest.fixture
def records_store() -> MeetingRecordsStore:
    return MeetingRecordsStore()


@pytest.fixture
def applier(records_store, clock) -> MeetingRecordApplier:
    return MeetingRecordApplier(records_store, clock)


def test_the_service_consumes_meeting_recorded_in_a_queue_of_its_own():
    consumer = ContentService.meeting_record_events
    assert (consumer.name, consumer.subscriptions) == ("meeting_records", [("attendance", "meeting_recorded")])
    assert MEETING_RECORD_SUBSCRIPTIONS == consumer.subscriptions
    assert ("attendance", "meeting_recorded", "content", "meeting_records") in SUBSCRIPTIONS


def test_a_recorded_meeting_is_published_in_the_branchs_column(applier, records_store):
    event = recorded()
    applier.apply([event])
    [item] = records_store.items.values()
    assert item["_id"] == rules.item_id(TENANT, "mtg_1")
    assert (item["tenant_id"], item["org_id"], item["org_path"], item["column_id"], item["kind"], item["status"]) == \
        (TENANT, BRANCH, [CITY, COUNTY, BRANCH], f"{BRANCH}:meetings", "article", "published")
    assert item["title"] == "【支委会】2026年12月4日 研究发展党员工作"
    assert "主持人：王书记" in item["body"] and "应到 5 人，实到 4 人，请假 1 人" in item["body"]
    # published now (the consumer's clock), neither pushed nor pinned: newest first among the branch's items
    assert (item["pushed"], item["pinned_until"], item["published_at"]) == (False, None, "2026-12-06T08:00:00.000Z")
    assert (item["author_account_id"], item["author_name"]) == ("acc_sec", "一支部")
    assert records_store.columns[f"{BRANCH}:meetings"]["name"] == "三会一课"
    [published] = records_store.events
    assert (published["event_type"], published["tenant_id"], published["item_id"], published["org_id"],
            published["kind"], published["pushed"], published["published_by"]) == \
        ("content_published", TENANT, item["_id"], BRANCH, "article", False, "acc_sec")


def test_the_same_event_twice_or_replayed_makes_one_item(applier, records_store):
    event = recorded()
    applier.apply([event, dict(event)])
    applier.apply([event])
    replay = recorded()                        # the same meeting under a new event id (a replay, a re-publish)
    applier.apply([replay])
    assert len(records_store.items) == 1 and len(records_store.events) == 1


def test_another_instance_publishing_first_is_no_error(applier, records_store):
    records_store.race = True
    assert applier.records.on_meeting_recorded(recorded()) is False
    assert len(records_store.items) == 1 and not records_store.events


def test_two_meetings_and_two_tenants_make_their_own_items(applier, records_store):
    applier.apply([recorded(meeting_id="mtg_1"), recorded(meeting_id="mtg_2"),
                   recorded(tenant_id=OTHER_TENANT, meeting_id="mtg_1", branch_id="org_branch_x",
                            org_path=["org_city_x", "org_branch_x"])])
    tenants = sorted((item["tenant_id"], item["org_id"]) for item in records_store.items.values())
    assert tenants == [(TENANT, BRANCH), (TENANT, BRANCH), (OTHER_TENANT, "org_branch_x")]


def test_a_column_the_branch_named_三会一课_itself_takes_the_item(applier, records_store):
    records_store.columns["col_own"] = {"_id": "col_own", "org_id": BRANCH, "name": "三会一课",
                                        "review_required": True}
    applier.apply([recorded()])
    [item] = records_store.items.values()
    assert (item["column_id"], item["status"]) == ("col_own", "published")     # its own record: no review


def test_the_minutes_never_reach_the_item(applier, records_store):
    applier.apply([{**recorded(), "minutes": MINUTES, "resolutions": ["同意列为发展对象"]}])
    [item] = records_store.items.values()
    assert MINUTES not in str(item) and "同意列为发展对象" not in str(item)


def test_an_event_without_its_branch_path_is_skipped(applier, records_store):
    applier.apply([recorded(org_path=[])])
    assert not records_store.items and not records_store.events
