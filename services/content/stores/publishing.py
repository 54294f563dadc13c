"""Columns, content items with their versions, pins and pushes, notices' read receipts, attachments and the search index.

A mixin of ``services.content.store.ContentStore``: it declares its collections (single-field indexes
only) and its intention-named reads and writes; writes with consequences go through ``self.commit``.
"""
from __future__ import annotations


class PublishingRecords:
    collections: dict[str, list] = {}
