"""The timeouts, swept every minute (``VolunteerService.sweep_timeouts``): orders not reviewed in time become
overdue; claims not checked in by the start plus the grace are released (the place opens again, or the order in
service completes if they were the last); completed orders no one disputed are confirmed and their hours credited.

Each due item is taken by a conditional write on its state, so a second sweep (another instance, a retry) finds
nothing left to do; an item whose state moved meanwhile is skipped.
"""
from __future__ import annotations

import logging

from servicekit.errors import Conflict
from servicekit.timestamps import stamp

from services.volunteer import events as published
from services.volunteer.domain import orders as rules
from services.volunteer.usecases.claims import completion_follow_up
from services.volunteer.usecases.orders import Orders

log = logging.getLogger(__name__)
TIMEOUT = "timeout"


class Sweep:
    def __init__(self, store, clock):
        self.store, self.clock = store, clock

    def run(self) -> dict:
        """What this sweep did: ``{"overdue": n, "released": n, "confirmed": n}``."""
        now = self.clock.now()
        at = stamp(now)
        done = {"overdue": 0, "released": 0, "confirmed": 0}
        for order in self.store.reviews_due(at):
            done["overdue"] += self.store.mark_overdue(order["_id"], order["review_due_at"], at)
        for claim in self.store.releases_due(at):
            done["released"] += self._release(claim, now)
        confirming = Orders(self.store, self.clock, None, None)
        for order in self.store.confirmations_due(at):
            try:
                confirming.auto_confirm(order)
                done["confirmed"] += 1
            except Conflict:        # disputed or confirmed meanwhile
                continue
        if any(done.values()):
            log.info("volunteer sweep: %s", done)
        return done

    def _release(self, claim: dict, now) -> int:
        at = stamp(now)
        try:
            self.store.change_claim(
                claim["_id"], "release", {"status": rules.RELEASED.value, "released_at": at},
                {"places_left": 1, "claimed": -1, "pending": -1},
                completion_follow_up(self.store.settings_in_force(claim["tenant_id"]), now, rules.THE_SYSTEM),
                [published.CLAIM_WITHDRAWN.build(claim["tenant_id"], now, order_id=claim["order_id"],
                                                 claim_id=claim["_id"], member_id=claim["member_id"], reason=TIMEOUT,
                                                 withdrawn_at=at)])
        except Conflict:            # checked in or withdrawn meanwhile
            return 0
        return 1
