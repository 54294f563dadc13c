"""Content service (nameko ``content``): columns and publishing, notices with read receipts, learning
packages with server-observed study time, the question bank, quizzes and contests, recommendations, role
models, development publicity and the secretary mailbox (../shared/docs/domain.md, "Learning and content").

Entry points turn the caller's scope into a ``CallerScope`` and call one use case (``usecases/``); the RPC
contract is docs/content-rpc.md.
"""
from __future__ import annotations

from nameko.rpc import RpcProxy

from servicekit.messaging.outbox import OutboxRelay
from servicekit.messaging.rpc import rpc
from servicekit.process.clock import ServiceClock
from servicekit.process.metrics import Metrics
from servicekit.security.scope import caller_of
from servicekit.storage.mongo import MongoStore

from services.content.orgs import OrgPathsProvider
from services.content.store import ContentStore
from services.content.usecases.settings import Settings


class ContentService:
    name = "content"

    store: ContentStore = MongoStore(ContentStore)
    relay = OutboxRelay()
    metrics = Metrics()
    clock = ServiceClock()
    identity = RpcProxy("identity")       # organisation paths and rosters, with the caller's scope
    org_paths = OrgPathsProvider()

    # --- use cases ------------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        return Settings(self.store, self.clock, self.identity, self.org_paths)

    # --- settings -------------------------------------------------------------------
    @rpc
    def get_settings(self, scope):
        return self.settings.get(caller_of(scope))

    @rpc
    def set_settings(self, scope, settings=None):
        return self.settings.set(caller_of(scope), settings)

    # --- columns, items, feed, notices, attachments, search -------------------------

    # --- learning packages and study sessions ---------------------------------------

    # --- question bank, quizzes, daily question, contests ---------------------------

    # --- recommendations and gap reports --------------------------------------------

    # --- role models, development publicity, mailbox --------------------------------
