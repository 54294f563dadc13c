"""Columns and items: write, submit, review, publish, edit with history, withdraw, pin and push.

Content belongs to an organisation node. Its managers (the node's admins and secretary, and every superior's
admins) write for it; admins of the node or above review; members read what is published on their branch's
path. Anything outside the caller's tenant or reach is not found, with the same code as an unknown id.
"""
from __future__ import annotations

from servicekit.arguments import boolean, choice, text
from servicekit.errors import InvalidArgument, NotFound, PermissionDenied
from servicekit.security.scope import CallerScope
from servicekit.storage.paging import page_of, page_window
from servicekit.storage.subtree import ancestor_fields
from servicekit.timestamps import stamp

from services.content import access, events
from services.content.domain import publishing as rules
from services.content.stores.publishing import DEFAULT_COLUMNS, new_column_id, new_item_id

ITEM_NOT_FOUND = "内容不存在或不在您的管辖范围内"
COLUMN_NOT_FOUND = "栏目不存在或不在您的管辖范围内"
ORG_NOT_FOUND = "组织不存在或不在您的管辖范围内"


class Publishing:
    def __init__(self, store, clock, identity, org_paths):
        self.store, self.clock, self.identity, self.org_paths = store, clock, identity, org_paths

    # --- who the caller is, where ---------------------------------------------------------
    def member_path(self, caller: CallerScope) -> list[str]:
        return self.org_paths.path(self.identity, caller, caller.branch_id) if caller.branch_id else []

    def managed_paths(self, caller: CallerScope) -> list[list[str]]:
        return [self.org_paths.path(self.identity, caller, org_id) for org_id in sorted(caller.managed_org_ids)]

    def node_path(self, caller: CallerScope, org_id) -> list[str]:
        """The path of a node on the member's path or the caller's managed paths (no question to identity for
        those), else as identity answers it to the caller (ORG_NOT_FOUND outside its reach)."""
        org_id = text(org_id, "org_id")
        for path in [self.member_path(caller), *self.managed_paths(caller)]:
            if org_id in path:
                return path[:path.index(org_id) + 1]
        return self.org_paths.path(self.identity, caller, org_id)

    def visible_item(self, caller: CallerScope, item_id, item: dict | None = None) -> dict:
        """The item (``item``: already read by the caller's batch), if the caller may see it."""
        if item is None:
            item = self.store.item(item_id) if isinstance(item_id, str) and item_id else None
        if item is None or not access.sees_item(caller, item, self.member_path(caller), self.managed_paths(caller)):
            raise NotFound(ITEM_NOT_FOUND, code="ITEM_NOT_FOUND", field="item_id")
        return item

    def managed_item(self, caller: CallerScope, item_id) -> dict:
        item = self.visible_item(caller, item_id)
        access.require_manager(caller, item["org_path"], field="item_id")
        return item

    # --- columns --------------------------------------------------------------------------
    def list_columns(self, caller: CallerScope, org_id) -> dict:
        path = self.node_path(caller, org_id)
        now = stamp(self.clock.now())
        self.store.ensure_default_columns(caller.tenant_id, path, None, now)
        return {"columns": [column_view(column) for column in self.store.columns_of(caller.tenant_id, path[-1])]}

    def create_column(self, caller: CallerScope, org_id, name, review_required) -> dict:
        path = self.node_path(caller, org_id)
        access.require_admin(caller, path)
        name = rules.column_name(name)
        review_required = boolean(review_required, "review_required") if review_required is not None else True
        now = stamp(self.clock.now())
        column = {"_id": new_column_id(), "tenant_id": caller.tenant_id, "org_id": path[-1], "org_path": path,
                  **ancestor_fields(path), "key": "", "name": name, "org_name": f"{path[-1]}:{name}",
                  "review_required": review_required, "created_by": caller.account_id, "created_at": now}
        self.store.ensure_default_columns(caller.tenant_id, path, None, now)
        return column_view(self.store.insert_column(column))

    def writable_column(self, caller: CallerScope, column_id) -> dict:
        column = self.store.column(column_id) if isinstance(column_id, str) and column_id else None
        if column is None or not access.same_tenant(caller, column) or not access.reaches(
                column["org_path"], self.member_path(caller), self.managed_paths(caller)) and not access.manages(
                caller, column["org_path"]):
            raise NotFound(COLUMN_NOT_FOUND, code="COLUMN_NOT_FOUND", field="column_id")
        access.require_manager(caller, column["org_path"], field="column_id")
        return column

    # --- items: writing -------------------------------------------------------------------
    def create_item(self, caller: CallerScope, column_id, kind, title, body, summary, tags, attachment_ids) -> dict:
        column = self.writable_column(caller, column_id)
        fields = rules.item_fields(title, body, summary, tags, attachment_ids, kind=kind or "article")
        self.check_attachments(caller, fields["attachment_ids"], column["org_path"])
        now = stamp(self.clock.now())
        path = column["org_path"]
        item = {"_id": new_item_id(), "tenant_id": caller.tenant_id, "org_id": path[-1], "org_path": path,
                **ancestor_fields(path), "column_id": column["_id"], **fields, "summary": rules.summary_of(fields),
                "status": rules.DRAFT.value, "version": 1, "pinned_until": None, "pushed": False,
                "promoted": False, "published_at": None, "author_account_id": caller.account_id,
                "author_name": self.org_name(caller, path[-1]), "read_count": 0, "generated": False,
                "created_at": now, "updated_at": now}
        self.store.create_item(item, version_row(item, caller.account_id, now),
                               log_row(item, "created", caller.account_id, now))
        return item_view(item)

    def update_item(self, caller: CallerScope, item_id, title, body, summary, tags, attachment_ids) -> dict:
        item = self.managed_item(caller, item_id)
        fields = rules.item_fields(title, body, summary, tags, attachment_ids, partial=True)
        if not fields:
            raise InvalidArgument("没有要修改的内容", code="NOTHING_TO_CHANGE", field="title")
        if "attachment_ids" in fields:
            self.check_attachments(caller, fields["attachment_ids"], item["org_path"])
        state = rules.State(item["status"])
        target = rules.apply(rules.EDIT, item)
        if "summary" in fields:         # left empty: made from the body again
            fields["summary"] = rules.summary_of({**item, **fields})
        now = stamp(self.clock.now())
        published = state is rules.PUBLISHED
        version = item["version"] + 1 if published else item["version"]
        changes = {**fields, "status": target.value, "version": version, "updated_at": now}
        after = {**item, **changes}
        event = []
        if published:
            event = [events.CONTENT_PUBLISHED.build(
                item["tenant_id"], now, item_id=item["_id"], org_id=item["org_id"], org_path=item["org_path"],
                kind=item["kind"], title=after["title"], version=version, pushed=bool(item.get("pushed")),
                published_by=caller.account_id)]
        changed = self.store.change_item(
            item, state.value, changes, event, log_row(item, "edited", caller.account_id, now, version=version),
            version=version_row(after, caller.account_id, now), postings="replace" if published else "",
            feed=published)
        return item_view(changed)

    def submit_item(self, caller: CallerScope, item_id) -> dict:
        """The author's "submit": to review, or published at once in a column without review."""
        item = self.managed_item(caller, item_id)
        column = self.store.column(item["column_id"]) or {"review_required": True}
        transition = rules.submission(column)
        rules.apply(transition, item, column)
        now = stamp(self.clock.now())
        if transition is rules.PUBLISH:
            return self.publish(caller, item, rules.DRAFT, now, "published")
        event = events.CONTENT_SUBMITTED.build(
            item["tenant_id"], now, item_id=item["_id"], org_id=item["org_id"], org_path=item["org_path"],
            kind=item["kind"], title=item["title"], submitted_by=caller.account_id)
        changed = self.store.change_item(
            item, rules.DRAFT.value, {"status": rules.SUBMITTED.value, "submitted_by": caller.account_id,
                                      "submitted_at": now, "updated_at": now},
            [event], log_row(item, "submitted", caller.account_id, now))
        return item_view(changed)

    def review_item(self, caller: CallerScope, item_id, decision, reason) -> dict:
        item = self.visible_item(caller, item_id)
        access.require_admin(caller, item["org_path"], field="item_id")
        decision = rules.decision(decision)
        reason = rules.reason(reason, required=decision == "reject")
        if item.get("submitted_by") == caller.account_id or item.get("author_account_id") == caller.account_id:
            raise PermissionDenied("不能审核自己提交的内容", code="SELF_REVIEW", field="item_id")
        now = stamp(self.clock.now())
        if decision == "approve":
            rules.apply(rules.APPROVE, item)
            return self.publish(caller, item, rules.SUBMITTED, now, "approved", reason)
        rules.apply(rules.REJECT, item)
        event = events.CONTENT_REJECTED.build(
            item["tenant_id"], now, item_id=item["_id"], org_id=item["org_id"], kind=item["kind"],
            title=item["title"], reason=reason, reviewed_by=caller.account_id)
        review = {"decision": "reject", "reason": reason, "by": caller.account_id, "at": now}
        changed = self.store.change_item(
            item, rules.SUBMITTED.value, {"status": rules.REJECTED.value, "review": review, "updated_at": now},
            [event], log_row(item, "rejected", caller.account_id, now, reason=reason))
        return item_view(changed)

    def publish(self, caller: CallerScope, item: dict, source: rules.State, now: str, action: str,
                reason: str = "") -> dict:
        event = events.CONTENT_PUBLISHED.build(
            item["tenant_id"], now, item_id=item["_id"], org_id=item["org_id"], org_path=item["org_path"],
            kind=item["kind"], title=item["title"], version=item["version"], pushed=bool(item.get("pushed")),
            published_by=caller.account_id)
        fields = {"status": rules.PUBLISHED.value, "published_at": now, "updated_at": now}
        if action == "approved":
            fields["review"] = {"decision": "approve", "reason": reason, "by": caller.account_id, "at": now}
        changed = self.store.change_item(item, source.value, fields, [event],
                                         log_row(item, action, caller.account_id, now, reason=reason),
                                         postings="replace", feed=True)
        return item_view(changed)

    def withdraw_item(self, caller: CallerScope, item_id, reason) -> dict:
        item = self.managed_item(caller, item_id)
        reason = rules.reason(reason)
        rules.apply(rules.WITHDRAW, item)
        now = stamp(self.clock.now())
        withdrawal = {"by": caller.account_id, "at": now, "reason": reason}
        changed = self.store.change_item(
            item, rules.PUBLISHED.value, {"status": rules.WITHDRAWN.value, "withdrawal": withdrawal,
                                          "promoted": False, "updated_at": now},
            [], log_row(item, "withdrawn", caller.account_id, now, reason=reason), postings="drop", feed=True)
        return item_view(changed)

    def pin_item(self, caller: CallerScope, item_id, pinned_until) -> dict:
        item = self.managed_item(caller, item_id)
        until = rules.pin_until(pinned_until, self.clock.now())
        rules.apply(rules.PIN, item)
        now = stamp(self.clock.now())
        changed = self.store.change_item(
            item, rules.PUBLISHED.value, {"pinned_until": until, "promoted": bool(until or item.get("pushed")),
                                          "updated_at": now},
            [], log_row(item, "pinned" if until else "unpinned", caller.account_id, now, until=until or ""),
            feed=True)
        return item_view(changed)

    def push_item(self, caller: CallerScope, item_id, pushed) -> dict:
        """重点推送: a pushed item comes first in its subtree's feeds, a higher level's before a lower's."""
        item = self.visible_item(caller, item_id)
        access.require_admin(caller, item["org_path"], field="item_id")
        pushed = boolean(pushed, "pushed") if pushed is not None else True
        rules.apply(rules.PUSH, item)
        now = stamp(self.clock.now())
        changed = self.store.change_item(
            item, rules.PUBLISHED.value, {"pushed": pushed, "promoted": bool(pushed or item.get("pinned_until")),
                                          "updated_at": now},
            [], log_row(item, "pushed" if pushed else "unpushed", caller.account_id, now), feed=True)
        return item_view(changed)

    def item_history(self, caller: CallerScope, item_id) -> dict:
        item = self.managed_item(caller, item_id)
        return {"item_id": item["_id"],
                "versions": [version_view(row) for row in self.store.versions_of(item["_id"])],
                "log": [log_view(row) for row in self.store.log_of(item["_id"])]}

    def list_items(self, caller: CallerScope, org_id, status, kind, column_id, page_size, page_token) -> dict:
        """The managed list: a subtree's items, by status."""
        path = self.node_path(caller, org_id)
        access.require_manager(caller, path)
        status = choice(status, "status", [state.value for state in rules.State])
        kind = choice(kind, "kind", rules.KINDS)
        column_id = text(column_id, "column_id", required=False, max_length=100)
        skip, limit = page_window(page_size, page_token)
        items, token = page_of(self.store.items_in(path, status, kind, column_id, skip, limit + 1), skip, limit)
        return {"items": [item_view(item, body=False) for item in items], "next_page_token": token}

    # --- for other topics: system-generated items --------------------------------------------
    def generated_item(self, tenant_id: str, org_path: list[str], column_key: str, fields: dict, events_: list,
                       author_name: str = "") -> dict:
        """A system-made item (role models, development publicity) published at once in the node's default
        column ``column_key``, committed with ``events_`` and a content_published event."""
        if column_key not in DEFAULT_COLUMNS:
            raise ValueError(f"unknown default column {column_key}")
        now = stamp(self.clock.now())
        column = self.store.default_column(tenant_id, list(org_path), column_key, None, now)
        item = {"_id": new_item_id(), "tenant_id": tenant_id, "org_id": org_path[-1], "org_path": list(org_path),
                "column_id": column["_id"], "kind": fields.get("kind", "article"), "title": fields["title"],
                "body": fields.get("body", ""), "summary": fields.get("summary") or rules.summary_of(fields),
                "tags": list(fields.get("tags") or []), "attachment_ids": [], "version": 1, "pinned_until": None,
                "pushed": False, "promoted": False, "published_at": now, "author_account_id": "",
                "author_name": author_name, "read_count": 0, "created_at": now, "updated_at": now}
        published = events.CONTENT_PUBLISHED.build(
            tenant_id, now, item_id=item["_id"], org_id=item["org_id"], org_path=item["org_path"], kind=item["kind"],
            title=item["title"], version=1, pushed=False, published_by="")
        return self.store.insert_published_item(item, [*events_, published])

    # --- helpers ------------------------------------------------------------------------------
    def org_name(self, caller: CallerScope, org_id: str) -> str:
        try:
            return self.org_paths.org(self.identity, caller, org_id).get("name", "")
        except NotFound:
            return ""

    def check_attachments(self, caller: CallerScope, ids: list[str], owner_path: list[str]) -> None:
        """Every attachment exists in the tenant, on the item's path or in the caller's subtree."""
        if not ids:
            return
        found = {doc["_id"]: doc for doc in self.store.attachments_by_ids(ids)}
        for attachment_id in ids:
            doc = found.get(attachment_id)
            if doc is None or not access.same_tenant(caller, doc) or not (
                    doc.get("org_id") in owner_path or access.manages(caller, doc.get("org_path") or [])):
                raise InvalidArgument("附件不存在或不在您的管辖范围内", code="ATTACHMENT_NOT_FOUND",
                                      field="attachment_ids")


# --- views ----------------------------------------------------------------------------------------
def column_view(column: dict) -> dict:
    return {"id": column["_id"], "org_id": column["org_id"], "key": column.get("key", ""), "name": column["name"],
            "review_required": bool(column.get("review_required")), "created_at": column.get("created_at", "")}


def item_view(item: dict, body: bool = True) -> dict:
    view = {"id": item["_id"], "org_id": item["org_id"], "org_path": list(item.get("org_path") or []),
            "column_id": item.get("column_id", ""), "kind": item.get("kind", ""), "title": item.get("title", ""),
            "summary": item.get("summary", ""), "tags": list(item.get("tags") or []),
            "attachment_ids": list(item.get("attachment_ids") or []), "status": item.get("status", ""),
            "version": item.get("version", 1), "pinned_until": item.get("pinned_until") or "",
            "pushed": bool(item.get("pushed")), "published_at": item.get("published_at") or "",
            "author_name": item.get("author_name", ""), "read_count": item.get("read_count", 0),
            "generated": bool(item.get("generated")), "created_at": item.get("created_at", ""),
            "updated_at": item.get("updated_at", ""),
            "review_reason": (item.get("review") or {}).get("reason", ""),
            "withdrawal_reason": (item.get("withdrawal") or {}).get("reason", "")}
    if body:
        view["body"] = item.get("body", "")
    return view


def head_view(head: dict, now_stamp: str) -> dict:
    """An item as the feed lists it."""
    return {"id": head["_id"], "org_id": head["org_id"], "column_id": head.get("column_id", ""),
            "kind": head.get("kind", ""), "title": head.get("title", ""), "summary": head.get("summary", ""),
            "tags": list(head.get("tags") or []), "published_at": head.get("published_at") or "",
            "author_name": head.get("author_name", ""), "pushed": bool(head.get("pushed")),
            "pinned": rules.pinned_now(head, now_stamp), "level": len(head.get("org_path") or ()) - 1}


def version_row(item: dict, by: str, at: str) -> dict:
    return {"_id": f"{item['_id']}:{item['version']}", "item_id": item["_id"], "version": item["version"],
            **{name: item.get(name) for name in ("title", "body", "summary", "tags", "attachment_ids")},
            "edited_by": by, "edited_at": at}


def log_row(item: dict, action: str, by: str, at: str, reason: str = "", version: int | None = None,
            until: str = "") -> dict:
    return {"_id": new_item_id().replace("itm_", "log_"), "item_id": item["_id"], "action": action, "by": by,
            "at": at, "reason": reason, "version": version or item["version"], "until": until}


def version_view(row: dict) -> dict:
    return {"version": row["version"], "title": row.get("title", ""), "body": row.get("body", ""),
            "summary": row.get("summary", ""), "tags": list(row.get("tags") or []),
            "edited_by": row.get("edited_by", ""), "edited_at": row.get("edited_at") or ""}


def log_view(row: dict) -> dict:
    return {"action": row["action"], "by": row.get("by", ""), "at": row.get("at", ""),
            "reason": row.get("reason", ""), "version": row.get("version", 1), "until": row.get("until", "")}
