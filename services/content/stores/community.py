"""Role models (每周一先、每月一星), development publicity (发展党员公示) and the secretary mailbox (书记信箱).

A mixin of ``services.content.store.ContentStore``: it declares its collections (single-field indexes
only) and its intention-named reads and writes; writes with consequences go through ``self.commit``.
"""
from __future__ import annotations


class CommunityRecords:
    collections: dict[str, list] = {}
