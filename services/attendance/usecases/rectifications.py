"""Rectifications (整改事项): a superior opens one on an activity with a due date, and closes it."""
from __future__ import annotations

from datetime import datetime

from servicekit.arguments import choice, text
from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from servicekit.security.scope import CallerScope
from servicekit.storage.paging import page_of, page_window
from servicekit.storage.subtree import ancestor_fields
from servicekit.timestamps import LOCAL_ZONE, stamp

from services.attendance import access, events
from services.attendance.arguments import MAX_REASON_CHARS
from services.attendance.store import new_id
from services.attendance.views import rectification_view

OPEN, CLOSED = "open", "closed"


class Rectifications:
    def __init__(self, store, clock, identity):
        self.store, self.clock, self.identity = store, clock, identity

    def open_rectification(self, caller: CallerScope, activity_id, title, due_on) -> dict:
        activity = access.as_superior(caller, self.store.activity(activity_id))
        title = text(title, "title", max_length=200)
        try:
            due = datetime.strptime(due_on or "", "%Y-%m-%d").date()
        except ValueError:
            raise InvalidArgument("整改期限格式应为 YYYY-MM-DD", code="DATE_INVALID", field="due_on") from None
        now = self.clock.now()
        today = now.astimezone(LOCAL_ZONE).date()
        if due < today:
            raise InvalidArgument("整改期限不能早于今天", code="DUE_DATE_IN_PAST", field="due_on")
        item = {"_id": new_id("rec"), "tenant_id": activity["tenant_id"], "activity_id": activity_id,
                "branch_id": activity["branch_id"], **ancestor_fields(activity["org_path"]), "title": title,
                "due_on": due.isoformat(), "state": OPEN, "opened_by": caller.account_id, "opened_at": stamp(now)}
        event = events.RECTIFICATION_OPENED.build(activity["tenant_id"], activity_id=activity_id,
                                                  branch_id=activity["branch_id"], rectification_id=item["_id"],
                                                  due_on=item["due_on"], opened_by=caller.account_id)
        self.store.open_rectification(item, event)
        return rectification_view(item, today)

    def close_rectification(self, caller: CallerScope, rectification_id, note) -> dict:
        item = self.store.rectification(rectification_id)
        activity = self.store.activity(item["activity_id"]) if item else None
        try:
            access.as_superior(caller, activity)
        except NotFound:
            raise NotFound("整改事项不存在或不在您的管辖范围内", code="RECTIFICATION_NOT_FOUND",
                           field="rectification_id") from None
        note = text(note, "note", max_length=MAX_REASON_CHARS)
        if item["state"] != OPEN:
            raise Conflict("该整改事项已关闭", code="RECTIFICATION_CLOSED")
        now = self.clock.now()
        changes = {"state": CLOSED, "closed_by": caller.account_id, "closed_at": stamp(now), "closing_note": note}
        event = events.RECTIFICATION_CLOSED.build(activity["tenant_id"], activity_id=activity["_id"],
                                                  branch_id=activity["branch_id"], rectification_id=rectification_id,
                                                  closed_by=caller.account_id)
        self.store.close_rectification(rectification_id, changes, event)
        return rectification_view({**item, **changes}, now.astimezone(LOCAL_ZONE).date())

    def list_rectifications(self, caller: CallerScope, org_id, state, page_size, page_token) -> dict:
        org = self.identity.get_org(scope=caller.to_dict(), org_id=org_id)
        if not caller.manages_path(org["path_ids"]):
            raise PermissionDenied("只有组织管理员或支部书记可以查看整改事项", code="NOT_ORG_MANAGER", field="org_id")
        query = {"state": choice(state, "state", (OPEN, CLOSED), required=True)} if state else {}
        skip, limit = page_window(page_size, page_token)
        found, token = page_of(self.store.rectifications_in(org["path_ids"], query, skip, limit + 1), skip, limit)
        today = self.clock.today()
        return {"rectifications": [rectification_view(item, today) for item in found], "next_page_token": token}
