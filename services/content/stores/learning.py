"""Learning packages (学习套餐), study sessions with server-observed time, progress per member and branch.

A mixin of ``services.content.store.ContentStore``: it declares its collections (single-field indexes
only) and its intention-named reads and writes; writes with consequences go through ``self.commit``.
"""
from __future__ import annotations


class LearningRecords:
    collections: dict[str, list] = {}
