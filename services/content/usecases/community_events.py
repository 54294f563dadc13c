"""Identity's member_status_changed, learned by the content service's batched consumer "publicity"
(``servicekit.messaging.consumers``): a step to development target or probationary member opens its development
publicity (``Publicities.on_status_changed``), once per event id.

The consumer runs outside any worker, so identity is reached through a standalone cluster proxy of the process's
own, started at the first event that needs it.
"""
from __future__ import annotations

import logging
import threading

from servicekit.errors import NotFound
from servicekit.messaging.standalone_rpc import cluster_rpc_proxy
from servicekit.process.clock import WallClock
from servicekit.storage.mongo import open_store

from services.content.store import ContentStore
from services.content.usecases.community import Publicities
from services.identity import events as identity_events

log = logging.getLogger(__name__)

PUBLICITY_SUBSCRIPTIONS = [(identity_events.SOURCE, identity_events.MEMBER_STATUS_CHANGED.name)]


class IdentityPeer:
    """identity's RPC methods from a plain (non-worker) thread of the service process."""

    def __init__(self, config: dict):
        self.config = config
        self._proxy = None
        self._lock = threading.Lock()

    def _cluster(self):
        with self._lock:
            if self._proxy is None:
                self._proxy = cluster_rpc_proxy(self.config, "content", timeout=30).start()   # its user's replies
            return self._proxy

    def get_org(self, **kwargs):
        return self._cluster().identity.get_org(**kwargs)

    def get_member(self, **kwargs):
        return self._cluster().identity.get_member(**kwargs)


class PublicityApplier:
    consumer = "publicity"

    def __init__(self, store, identity, clock=None):
        self.publicities = Publicities(store, clock or WallClock(), identity, None)

    @classmethod
    def for_container(cls, container) -> "PublicityApplier":
        return cls(open_store(ContentStore, container.service_name), IdentityPeer(dict(container.config)))

    def apply(self, events: list[dict]) -> None:
        for event in events:
            try:
                self.publicities.on_status_changed(event)
            except NotFound:
                # the member or its branch is gone (removed, dissolved) before its publicity opened: nothing to show
                log.warning("publicity of event %s skipped: member or branch no longer found", event.get("event_id"))
