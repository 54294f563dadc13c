"""The member's feed: what its branch and every ancestor published, promoted items first, then newest.

A feed request reads no item from the store in the common case: the published heads of each node on the
member's path come from the store's per-process cache (``PublishingRecords.published_heads``), which checks a
node's mark at most once a second; only a page deeper than the cached heads reads the store.
"""
from __future__ import annotations

from servicekit.security.scope import CallerScope
from servicekit.storage.paging import page_of, page_window
from servicekit.timestamps import stamp

from services.content import access
from services.content.domain import publishing as rules
from services.content.usecases.publishing import head_view


class Feed:
    def __init__(self, store, clock, identity, org_paths):
        self.store, self.clock, self.identity, self.org_paths = store, clock, identity, org_paths

    def warm(self, callers_and_branches) -> None:
        """Load the heads of every node on a batch's members' paths not cached yet, at once: one read of their marks
        instead of one per member whose branch is read for the first time (a morning starts with a cold cache).
        Members whose path is not cached are left for their own request."""
        nodes: dict[str, None] = {}
        for caller, branch_id in callers_and_branches:
            for org_id in self.org_paths.cached_path(caller, branch_id) or ():
                nodes[org_id] = None
        if nodes:
            self.store.published_heads(list(nodes))

    def feed(self, caller: CallerScope, page_size, page_token) -> dict:
        access.require_member(caller)
        skip, limit = page_window(page_size, page_token)
        path = self.org_paths.path(self.identity, caller, caller.branch_id)
        now = stamp(self.clock.now())
        heads = self.store.published_heads(path)
        every = [head for held, _complete in heads.values() for head in held]
        promoted = rules.promoted_order(every, now)
        newest = rules.newest_order(every, now)
        truncated = [min(head.get("published_at") or "" for head in held)
                     for held, complete in heads.values() if not complete and held]
        exact = len(promoted) + rules.exact_depth(newest, truncated)
        if skip + limit + 1 > exact and truncated:      # past what the cached heads answer for certain
            wanted = skip + limit + 1
            promoted_ids = {head["_id"] for head in promoted}
            newest = [head for head in rules.newest_order(self.store.published_newest(path, wanted), now)
                      if head["_id"] not in promoted_ids]
        ordered = promoted + newest
        page, token = page_of(ordered[skip:skip + limit + 1], skip, limit)
        return {"items": [head_view(head, now) for head in page], "next_page_token": token}
