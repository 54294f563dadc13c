"""Attachments (type checked by content, size-limited, hashed, downloads counted) and the full-text index.

A mixin of ``services.content.store.ContentStore``: it declares its collections (single-field indexes
only) and its intention-named reads and writes; writes with consequences go through ``self.commit``.

- ``postings``: one plain row per (term, published item), ``_id`` ``"<term>|<item_id>"``, found by ``term``
  (the single-field index) and, for the terms after the rarest, by ``_id`` for the candidates only; nothing is
  an array, so nx-27017's multikey answers never matter. Publishing writes them inside its own commits.
- ``attachments``: the metadata, ``_id`` derived from (tenant, node, sha256), so the same bytes uploaded twice
  to one node are one attachment; ``attachment_chunks`` the bytes, in pieces well below MongoDB's 16 MB
  document limit.
- ``searches``: each member's searches, for recommendations by search history.
"""
from __future__ import annotations

from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError, DuplicateKeyError

from servicekit.storage.mongo import is_duplicate
from servicekit.storage.subtree import LEVEL_FIELDS, ancestor_fields, subtree_filter

from services.content.domain.search import item_postings

CHUNK_BYTES = 1024 * 1024
POSTINGS_BATCH = 1000
PROBE_IDS = 500          # candidates asked for by id per query


class LibraryRecords:
    collections: dict[str, list] = {
        "postings": ["term", "item_id"],
        "attachments": ["tenant_id", *LEVEL_FIELDS],
        "attachment_chunks": ["attachment_id"],
        "searches": ["member_id"],
    }

    # --- the search index (called by publishing inside its commits) ---------------------------------
    def replace_postings(self, item: dict, session=None) -> int:
        """The item's postings, replacing whatever it had (an edit's old terms go): called on publishing and on
        every edit of a published item, in the caller's transaction when ``session`` is given. Returns how
        many rows it now has."""
        self.db.postings.delete_many({"item_id": item["_id"]}, session=session)
        path = list(item.get("org_path") or [])
        shared = {"item_id": item["_id"], "tenant_id": item["tenant_id"], "org_id": item["org_id"],
                  **(ancestor_fields(path) if path else {name: item.get(name) for name in LEVEL_FIELDS}),
                  "published_at": item.get("published_at")}
        rows = [{"_id": f"{term}|{item['_id']}", "term": term, "in_title": in_title, **shared}
                for term, in_title in sorted(item_postings(item.get("title", ""), item.get("body", "")).items())]
        for start in range(0, len(rows), POSTINGS_BATCH):
            self.db.postings.insert_many(rows[start:start + POSTINGS_BATCH], ordered=True, session=session)
        return len(rows)

    def drop_postings(self, item_id: str, session=None) -> None:
        """The item leaves the index (withdrawn): no search finds it after this commits."""
        self.db.postings.delete_many({"item_id": item_id}, session=session)

    def postings_of_term(self, term: str, tenant_id: str, limit: int = 0) -> list[dict]:
        """The tenant's postings of a term (at most ``limit`` when given: a probe of how rare it is)."""
        cursor = self.db.postings.find({"term": term, "tenant_id": tenant_id},
                                       {"item_id": 1, "org_id": 1, "in_title": 1, "published_at": 1,
                                        **{name: 1 for name in LEVEL_FIELDS}})
        return list(cursor.limit(limit) if limit else cursor)

    def postings_among(self, term: str, item_ids) -> dict[str, bool]:
        """``{item_id: in_title}`` for those of these items that have the term (by id: no scan of the term)."""
        ids, found = list(item_ids), {}
        for start in range(0, len(ids), PROBE_IDS):
            keys = [f"{term}|{item_id}" for item_id in ids[start:start + PROBE_IDS]]
            for row in self.db.postings.find({"_id": {"$in": keys}}, {"item_id": 1, "in_title": 1}):
                found[row["item_id"]] = bool(row.get("in_title"))
        return found

    # --- searches ------------------------------------------------------------------------------
    def record_search(self, search: dict) -> None:
        self.db.searches.insert_one(search)

    def recent_searches_of(self, member_id: str, limit: int = 20) -> list[dict]:
        """A member's latest searches, newest first: ``{member_id, tenant_id, query, terms, at}``."""
        cursor = self.db.searches.find({"member_id": member_id}, {"_id": 0})
        return list(cursor.sort("at", -1).limit(limit))

    # --- attachments ---------------------------------------------------------------------------
    def attachment(self, attachment_id: str) -> dict | None:
        return self.db.attachments.find_one({"_id": attachment_id})

    def attachments_by_ids(self, ids) -> list[dict]:
        """The attachments with these ids that exist (metadata only), in the order asked."""
        wanted = [attachment_id for attachment_id in dict.fromkeys(ids or ()) if isinstance(attachment_id, str)]
        found = {doc["_id"]: doc for doc in self.db.attachments.find({"_id": {"$in": wanted}})} if wanted else {}
        return [found[attachment_id] for attachment_id in wanted if attachment_id in found]

    def attachments_under(self, path_ids: list[str], tenant_id: str, skip: int, limit: int) -> list[dict]:
        """Attachments of the subtree of the node at ``path_ids``, newest first."""
        cursor = self.db.attachments.find({**subtree_filter(path_ids), "tenant_id": tenant_id})
        return list(cursor.sort([("uploaded_at", -1), ("_id", 1)]).skip(skip).limit(limit))

    def store_attachment(self, attachment: dict, content: bytes) -> tuple[dict, bool]:
        """The attachment with its bytes in chunks, in one transaction; ``(stored, created)``: when the same
        bytes were uploaded to the node before, the attachment already stored and False (nothing written)."""
        def writes(session):
            existing = self.db.attachments.find_one({"_id": attachment["_id"]}, session=session)
            if existing is not None:
                return existing, False
            self.db.attachments.insert_one(attachment, session=session)
            chunks = [{"_id": f"{attachment['_id']}:{n}", "attachment_id": attachment["_id"], "n": n,
                       "data": content[offset:offset + CHUNK_BYTES]}
                      for n, offset in enumerate(range(0, len(content), CHUNK_BYTES))]
            if chunks:
                self.db.attachment_chunks.insert_many(chunks, ordered=True, session=session)
            return attachment, True
        try:
            return self.commit(writes, [])
        except (DuplicateKeyError, BulkWriteError) as error:
            if not is_duplicate(error):
                raise
            # the same bytes stored for the node by another process a moment earlier: theirs is the attachment
            return self.db.attachments.find_one({"_id": attachment["_id"]}), False

    def count_download(self, attachment_id: str) -> dict | None:
        """One more download of the attachment; the attachment after it (None when it is gone)."""
        return self.db.attachments.find_one_and_update({"_id": attachment_id}, {"$inc": {"downloads": 1}},
                                                       return_document=ReturnDocument.AFTER)

    def attachment_bytes(self, attachment_id: str) -> bytes:
        chunks = self.db.attachment_chunks.find({"attachment_id": attachment_id}, {"n": 1, "data": 1})
        return b"".join(bytes(chunk["data"]) for chunk in sorted(chunks, key=lambda chunk: chunk["n"]))
