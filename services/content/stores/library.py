"""Attachments (type checked by content, size-limited, hashed, downloads counted) and the full-text index.

A mixin of ``services.content.store.ContentStore``: it declares its collections (single-field indexes
only) and its intention-named reads and writes; writes with consequences go through ``self.commit``.
"""
from __future__ import annotations


class LibraryRecords:
    collections: dict[str, list] = {}
