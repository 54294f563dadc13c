"""Content storage: one database (``content``) whose writes commit with their events (``OutboxStore``).

The service has more topics than the others, so its reads and writes are grouped by topic in
``stores/`` (publishing, library, learning, quizzes, community, settings), each a mixin declaring its own collections;
``ContentStore`` is their union over one database and one outbox. Subtrees are found through the
ancestor fields ``a0``..``a5`` (``servicekit.storage.subtree``): nx-27017 plans with single-field
indexes only and answers array queries wrongly, so no query relies on a multikey index.
"""
from __future__ import annotations

from servicekit.messaging.outbox import OutboxStore

from services.content.events import SOURCE
from services.content.stores.community import CommunityRecords
from services.content.stores.learning import LearningRecords
from services.content.stores.library import LibraryRecords
from services.content.stores.publishing import PublishingRecords
from services.content.stores.quizzes import QuizRecords
from services.content.stores.settings import SettingsRecords


class ContentStore(PublishingRecords, LibraryRecords, LearningRecords, QuizRecords, CommunityRecords,
                   SettingsRecords, OutboxStore):
    source = SOURCE
