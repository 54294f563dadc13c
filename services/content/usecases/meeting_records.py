"""Attendance's meeting_recorded, learned by the content service's batched consumer "meeting_records"
(``servicekit.messaging.consumers``): a recorded 三会一课 meeting is published in its branch's 三会一课 column
(``domain.meeting_records``), once per meeting.

No review: the record is the branch's own, entered by its secretary (or a superior), so the item is published at
once, owned by the branch node (its members and the managers above see it as any branch item) and committed with
its content_published event. The event carries the branch's path and names, so no peer is asked.
"""
from __future__ import annotations

import logging

from pymongo.errors import PyMongoError

from servicekit.process.clock import WallClock
from servicekit.storage.mongo import is_duplicate, open_store
from servicekit.timestamps import stamp

from services.attendance import events as attendance_events
from services.content import events
from services.content.domain import meeting_records as rules
from services.content.store import ContentStore

log = logging.getLogger(__name__)

MEETING_RECORD_SUBSCRIPTIONS = [(attendance_events.SOURCE, attendance_events.MEETING_RECORDED.name)]
SYSTEM_ACCOUNT = "system:content"


class MeetingRecords:
    def __init__(self, store, clock):
        self.store, self.clock = store, clock

    def on_meeting_recorded(self, event: dict) -> bool:
        """Publish the meeting's column item; True when it was published now, False when it already was (a
        redelivery, a replay) or the event names no branch to own it."""
        if not rules.applies(event):
            log.warning("meeting_recorded %s skipped: no tenant, meeting or branch path", event.get("event_id"))
            return False
        tenant_id, org_path = event["tenant_id"], list(event["org_path"])
        item_id = rules.item_id(tenant_id, event["meeting_id"])
        if self.store.item(item_id) is not None:
            return False
        now = stamp(self.clock.now())
        column = self.store.on_demand_column(tenant_id, org_path, rules.COLUMN_KEY, now)
        author = event.get("recorded_by") or SYSTEM_ACCOUNT
        item = {"_id": item_id, "tenant_id": tenant_id, "org_id": org_path[-1], "org_path": org_path,
                "column_id": column["_id"], "kind": rules.KIND, "title": rules.title_of(event),
                "body": rules.body_of(event), "summary": rules.summary_of(event), "tags": rules.tags_of(event),
                "attachment_ids": [], "version": 1, "pinned_until": None, "pushed": False, "promoted": False,
                "published_at": now, "author_account_id": author, "author_name": event.get("branch_name", ""),
                "read_count": 0, "created_at": now, "updated_at": now, "meeting_id": event["meeting_id"]}
        published = events.CONTENT_PUBLISHED.build(
            tenant_id, now, item_id=item_id, org_id=item["org_id"], org_path=org_path, kind=item["kind"],
            title=item["title"], version=1, pushed=False, published_by=author)
        try:
            self.store.insert_published_item(item, [published])
        except PyMongoError as error:       # nx-27017 words a unique refusal its own way
            if not is_duplicate(error):
                raise
            return False            # another instance published it first
        return True


class MeetingRecordApplier:
    consumer = "meeting_records"

    def __init__(self, store, clock=None):
        self.records = MeetingRecords(store, clock or WallClock())

    @classmethod
    def for_container(cls, container) -> "MeetingRecordApplier":
        return cls(open_store(ContentStore, container.service_name))

    def apply(self, events_: list[dict]) -> None:
        for event in events_:
            self.records.on_meeting_recorded(event)
