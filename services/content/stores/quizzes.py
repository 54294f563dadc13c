"""The question bank, quizzes, daily questions and contests, attempts saved answer by answer, leaderboards.

A mixin of ``services.content.store.ContentStore``: it declares its collections (single-field indexes
only) and its intention-named reads and writes; writes with consequences go through ``self.commit``.
"""
from __future__ import annotations


class QuizRecords:
    collections: dict[str, list] = {}
