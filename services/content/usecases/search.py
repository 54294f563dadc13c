"""Full-text search over the published items in the caller's reach (a member: its branch's path; an admin or
secretary: its subtree and its ancestors), by the character n-gram index of ``domain/search.py``.

A query's terms are intersected rarest first: each term is probed for at most ``PROBE`` postings, the rarest
one's postings (all of them) give the candidates, filtered to the caller's reach, and each further term is
asked for by posting id for those candidates only, so a common term is never read in full. Candidates are
ranked on the postings (all terms in the title first, then the newest) and checked on the items' text in
that order until the page is full: the phrase must occur as typed, not only its bigrams.
"""
from __future__ import annotations

from servicekit.errors import PermissionDenied
from servicekit.security.scope import CallerScope
from servicekit.storage.paging import page_of, page_window
from servicekit.storage.subtree import path_of
from servicekit.timestamps import stamp

from services.content import access
from services.content.domain import search as rules

PROBE = 2000                 # postings read per term to learn which is rarest
MAX_CANDIDATES = 5000        # the newest candidates of the rarest term kept (a one-character query in a big city)
FETCH = 100                  # items read at a time to check the phrase on their text
RECENT_SEARCHES = 10
MAX_SEARCH_PAGE = 50


def result_view(item: dict, query: rules.Query, title_hit: bool) -> dict:
    return {"item_id": item["_id"], "title": item.get("title", ""), "kind": item.get("kind", ""),
            "org_id": item.get("org_id", ""), "column_id": item.get("column_id") or "",
            "snippet": rules.snippet(query, item.get("body", "")), "published_at": item.get("published_at") or "",
            "title_hit": title_hit}


class Search:
    def __init__(self, store, clock, identity, org_paths):
        self.store, self.clock, self.identity, self.org_paths = store, clock, identity, org_paths

    def search(self, caller: CallerScope, query, page_size, page_token) -> dict:
        caller.require_tenant()
        if not caller.branch_id and not caller.managed_org_ids:
            raise PermissionDenied("此操作需要党员或组织账号", code="MEMBER_ONLY")
        parsed = rules.parse_query(query)
        skip, limit = page_window(page_size or 20, page_token)
        limit = min(limit, MAX_SEARCH_PAGE)
        reach = access.reach_paths(caller, self.org_paths, self.identity)
        candidates = self._candidates(caller, parsed, reach)
        found = self._checked(caller, parsed, reach, candidates, skip + limit + 1)
        page, token = page_of(found[skip:], skip, limit)
        if caller.member_id and not page_token:
            self.store.record_search({"member_id": caller.member_id, "tenant_id": caller.tenant_id,
                                      "branch_id": caller.branch_id, "query": parsed.text,
                                      "terms": list(parsed.phrases), "at": stamp(self.clock.now())})
        return {"results": [result_view(item, parsed, title_hit) for item, title_hit in page],
                "words": list(parsed.phrases), "next_page_token": token}

    def recent(self, caller: CallerScope) -> dict:
        """The member's latest distinct searches, newest first."""
        access.require_member(caller)
        queries = []
        for search in self.store.recent_searches_of(caller.member_id, RECENT_SEARCHES * 3):
            if search["query"] not in queries:
                queries.append(search["query"])
        return {"queries": queries[:RECENT_SEARCHES]}

    def _candidates(self, caller: CallerScope, query: rules.Query, reach) -> dict[str, dict]:
        """``{item_id: {published_at, in_title}}`` of the items in reach that hold every term, the newest
        ``MAX_CANDIDATES`` of the rarest term's at most; ``in_title``: every term is in the title."""
        probes = {term: self.store.postings_of_term(term, caller.tenant_id, PROBE + 1) for term in query.terms}
        order = sorted(query.terms, key=lambda term: len(probes[term]))
        rarest = order[0]
        rows = probes[rarest]
        if not rows:
            return {}
        if len(rows) > PROBE:
            rows = self.store.postings_of_term(rarest, caller.tenant_id)
        visible = [row for row in rows if access.within_reach(caller, path_of(row), reach)]
        visible.sort(key=lambda row: (row.get("published_at") or "", row["item_id"]), reverse=True)
        candidates = {row["item_id"]: {"published_at": row.get("published_at"), "in_title": bool(row.get("in_title"))}
                      for row in visible[:MAX_CANDIDATES]}
        for term in order[1:]:
            if not candidates:
                break
            having = self.store.postings_among(term, candidates)
            candidates = {item_id: {**found, "in_title": found["in_title"] and having[item_id]}
                          for item_id, found in candidates.items() if item_id in having}
        return candidates

    def _checked(self, caller: CallerScope, query: rules.Query, reach, candidates: dict, wanted: int) -> list:
        """The first ``wanted`` results in rank order as ``(item, title_hit)``: the phrases checked on each item's
        text. Title candidates are read first (title matches rank first); a title candidate whose phrase is
        only in its body joins the body matches, which are merged newest first."""
        def newest(item_ids):
            return sorted(item_ids, key=lambda i: rules.rank_key(False, candidates[i]["published_at"], i))
        in_title = newest([i for i, found in candidates.items() if found["in_title"]])
        in_body = newest([i for i, found in candidates.items() if not found["in_title"]])
        title_hits, demoted = [], []
        for item in self._items(caller, reach, in_title):
            if rules.matches(query, item.get("title", "")):
                title_hits.append((item, True))
                if len(title_hits) >= wanted:
                    return title_hits
            elif rules.matches(query, _text(item)):
                demoted.append((item, False))
        needed = wanted - len(title_hits)
        body_hits = []
        for item in self._items(caller, reach, in_body):
            if rules.matches(query, _text(item)):
                body_hits.append((item, False))
                if len(body_hits) >= needed:
                    break
        merged = sorted(demoted + body_hits, key=lambda hit: rules.rank_key(False, hit[0].get("published_at"),
                                                                            hit[0]["_id"]))
        return title_hits + merged[:needed]

    def _items(self, caller: CallerScope, reach, item_ids: list[str]):
        """The published items of these ids in reach, in the order given, read ``FETCH`` at a time."""
        for start in range(0, len(item_ids), FETCH):
            batch = item_ids[start:start + FETCH]
            items = {item["_id"]: item for item in self.store.published_items_by_ids(batch)}
            for item_id in batch:
                item = items.get(item_id)
                if item is not None and access.same_tenant(caller, item) and \
                        access.within_reach(caller, item.get("org_path") or path_of(item), reach):
                    yield item


def _text(item: dict) -> str:
    return f"{item.get('title', '')}\n{item.get('body', '')}"
