"""Opening an item (a notice's read recorded once) and a notice's read receipts (已读/未读) with reminders.

Nothing is written per member at publish time: a read row and its branch's counter are written when a member
first opens the item, and the unread of a branch are its roster (identity's ``branch_rosters``, party members
now) less its readers; counts over many branches take the rosters' sizes only (``branch_roster_sizes``). A
notice's audience is its owning node's subtree; each level's managers see the branches of their own subtree
within it. Reminding records who reminded whom and when; delivering the push to
the members' phones is not this service's.
"""
from __future__ import annotations

import uuid

from servicekit.arguments import text
from servicekit.errors import Conflict, NotFound
from servicekit.messaging.rpc import answer_each
from servicekit.security.scope import CallerScope, caller_of
from servicekit.storage.paging import page_of, page_window
from servicekit.timestamps import stamp

from services.content import access, events
from services.content.domain import publishing as rules
from services.content.usecases.publishing import Publishing, item_view

BRANCH_NOT_FOUND = "支部不存在或不在该通知的范围内"
NOTICES_LISTED = 200


class Notices:
    def __init__(self, store, clock, identity, org_paths):
        self.store, self.clock, self.identity, self.org_paths = store, clock, identity, org_paths
        self.publishing = Publishing(store, clock, identity, org_paths)

    def open_item(self, caller: CallerScope, item_id) -> dict:
        """The item; a member opening a published item of its branch's path reads it (once counted)."""
        view, read = self._opened(caller, item_id, {})
        if read is not None:
            self._count_reads([(view, read)])
        return view

    def open_items(self, items) -> list[dict]:
        """A batch of opens (``gateway.batching``), each answered as ``open_item`` would answer it: the batch's
        items read from the store once each, and its first reads written in one commit (a city-wide notice is
        opened by a whole city within minutes)."""
        items = list(items or ())
        wanted = {item.get("item_id") for item in items if isinstance(item.get("item_id"), str) and item["item_id"]}
        known = {doc["_id"]: doc for doc in self.store.items_by_ids(sorted(wanted))} if wanted else {}
        reads = []

        def opened(item: dict) -> dict:
            view, read = self._opened(caller_of(item.get("scope")), item.get("item_id", ""), known)
            if read is not None:
                reads.append((view, read))
            return view
        answers = answer_each(items, opened)
        if reads:
            self._count_reads(reads)
        return answers

    def _opened(self, caller: CallerScope, item_id, known: dict) -> tuple[dict, dict | None]:
        """The item's view and, when the caller reads it now as a member, its read row."""
        item = self.publishing.visible_item(caller, item_id, known.get(item_id) if isinstance(item_id, str) else None)
        view = item_view(item)
        member_path = self.publishing.member_path(caller) if caller.member_id else []
        if item["status"] != rules.PUBLISHED.value or item["org_id"] not in member_path:
            return view, None
        read = {"item_id": item["_id"], "member_id": caller.member_id, "branch_id": caller.branch_id,
                "tenant_id": item["tenant_id"], "tags": list(item.get("tags") or []), "kind": item["kind"],
                "read_at": stamp(self.clock.now())}
        return view, read

    def _count_reads(self, opened: list[tuple[dict, dict]]) -> None:
        """Write the first reads among ``opened`` (with a notice's ``notice_read`` each) and mark the views."""
        entries = []
        for _view, read in opened:
            notice = [events.NOTICE_READ.build(read["tenant_id"], read["read_at"], item_id=read["item_id"],
                                               member_id=read["member_id"], branch_id=read["branch_id"],
                                               read_at=read["read_at"])] if read["kind"] == "notice" else []
            entries.append((read, notice))
        written = self.store.record_reads(entries)
        for view, read in opened:
            if (read["item_id"], read["member_id"]) in written:
                view["read_count"] += 1
            view["read"] = True

    def list_notices(self, caller: CallerScope, org_id) -> dict:
        """The published notices reaching a node: its ancestors' (from the feed's cached heads) and its subtree's,
        newest first, at most ``NOTICES_LISTED``: where a manager picks a notice to see its receipts."""
        path = self.publishing.node_path(caller, org_id)
        access.require_manager(caller, path)
        above = self.store.published_heads(path[:-1]) if len(path) > 1 else {}
        rows = [notice_row(head) for held, _complete in above.values() for head in held if head.get("kind") == "notice"]
        rows += [notice_row(item) for item in self.store.items_in(path, rules.PUBLISHED.value, "notice", "", 0,
                                                                  NOTICES_LISTED)]
        rows.sort(key=lambda row: (row["published_at"], row["id"]), reverse=True)
        return {"notices": rows[:NOTICES_LISTED]}

    # --- receipts ---------------------------------------------------------------------------------
    def receipt_scope(self, caller: CallerScope, item_id) -> tuple[dict, list[str]]:
        """The notice and the node whose branches the caller sees receipts of: the owning node for its managers
        and superiors' admins, else the caller's own managed node inside the notice's audience."""
        item = self.publishing.visible_item(caller, item_id)
        if item["kind"] != "notice":
            raise Conflict("只有通知有已读回执", code="NOT_A_NOTICE", field="item_id")
        owner = item["org_path"]
        if access.manages(caller, owner):
            return item, list(owner)
        inside = [path for path in self.publishing.managed_paths(caller) if item["org_id"] in path]
        if not inside:
            access.require_manager(caller, owner, field="item_id")
        return item, min(inside, key=len)

    def receipts(self, caller: CallerScope, item_id, page_size, page_token) -> dict:
        item, node = self.receipt_scope(caller, item_id)
        skip, limit = page_window(page_size, page_token)
        branches = sorted(self.branches(caller, node[-1]), key=lambda b: (b.get("path_names") or [], b["org_id"]))
        sizes = self.roster_sizes(caller, [b["org_id"] for b in branches])
        counts = self.store.read_counts_of(item["_id"])
        rows = [rules.receipt_row(b, sizes.get(b["org_id"], 0), counts.get(b["org_id"], 0)) for b in branches]
        read, expected = sum(r["read"] for r in rows), sum(r["expected"] for r in rows)
        page, token = page_of(rows[skip:skip + limit + 1], skip, limit)
        return {"item_id": item["_id"], "title": item["title"], "org_id": node[-1], "read": read,
                "expected": expected, "unread": expected - read, "branches": page, "next_page_token": token}

    def branch_receipts(self, caller: CallerScope, item_id, branch_id) -> dict:
        item, node = self.receipt_scope(caller, item_id)
        branch = self.branch_in(caller, node, branch_id)
        roster = self.rosters(caller, [branch["org_id"]]).get(branch["org_id"], [])
        read, unread = rules.split_roster(roster, self.store.readers_in_branch(item["_id"], branch["org_id"]))
        return {"item_id": item["_id"], "branch_id": branch["org_id"], "branch_name": branch.get("name", ""),
                "read": read, "unread": unread, "expected": len(roster)}

    def remind(self, caller: CallerScope, item_id, branch_id) -> dict:
        """Record a reminder to the unread of one branch (or of every branch the caller sees); their number."""
        item, node = self.receipt_scope(caller, item_id)
        if item["status"] != rules.PUBLISHED.value:
            raise Conflict("通知已撤回，不能再提醒", code="ITEM_NOT_PUBLISHED", field="item_id")
        if branch_id:
            branches = [self.branch_in(caller, node, branch_id)]
        else:
            branches = self.branches(caller, node[-1])
        ids = [b["org_id"] for b in branches]
        if branch_id:
            readers = self.store.readers_in_branch(item["_id"], ids[0])
            count = sum(1 for m in self.rosters(caller, ids).get(ids[0], []) if m["member_id"] not in readers)
        else:
            sizes, counts = self.roster_sizes(caller, ids), self.store.read_counts_of(item["_id"])
            count = sum(max(sizes.get(i, 0) - counts.get(i, 0), 0) for i in ids)
        now = stamp(self.clock.now())
        reminder = {"_id": f"rmd_{uuid.uuid4().hex}", "tenant_id": item["tenant_id"], "item_id": item["_id"],
                    "org_id": ids[0] if branch_id else node[-1], "by": caller.account_id, "at": now,
                    "count": count}
        self.store.record_reminder(reminder)
        return {"item_id": item["_id"], "org_id": reminder["org_id"], "reminded": count, "reminded_at": now}

    # --- helpers ----------------------------------------------------------------------------------
    def branches(self, caller: CallerScope, org_id: str) -> list[dict]:
        answer = self.identity.branches_under(scope=caller.to_dict(), org_id=org_id)
        return [{**b, "org_id": b.get("org_id") or b.get("id")} for b in answer.get("branches") or []]

    def rosters(self, caller: CallerScope, branch_ids: list[str]) -> dict[str, list[dict]]:
        if not branch_ids:
            return {}
        return self.identity.branch_rosters(tenant_id=caller.tenant_id, branch_ids=list(branch_ids))

    def roster_sizes(self, caller: CallerScope, branch_ids: list[str]) -> dict[str, int]:
        """{branch_id: roster size}: for counts, where the names are not shown."""
        return self.org_paths.roster_sizes(self.identity, caller.tenant_id, branch_ids)

    def branch_in(self, caller: CallerScope, node: list[str], branch_id) -> dict:
        branch_id = text(branch_id, "branch_id", max_length=100)
        try:
            org = self.org_paths.org(self.identity, caller, branch_id)
        except NotFound:
            org = None
        if org is None or node[-1] not in org["path_ids"] or org.get("kind") != "branch":
            raise NotFound(BRANCH_NOT_FOUND, code="BRANCH_NOT_FOUND", field="branch_id")
        return {**org, "org_id": org.get("id") or branch_id}


def notice_row(item: dict) -> dict:
    return {"id": item["_id"], "org_id": item["org_id"], "title": item.get("title", ""),
            "author_name": item.get("author_name", ""), "published_at": item.get("published_at") or "",
            "level": len(item.get("org_path") or ()) - 1}
