"""Members' claims on orders (collection ``claims``, ``_id`` "<order_id>:<member_id>") and the two small reads
of H2's collections a claim needs (who reported to a community, who is in a team).

No over-claim: ``take_place`` is one transaction that writes the member's claim row (a new row, or a withdrawn
or released one claimed again: never a second row for the pair, the ``_id`` forbids it) and takes a place with a
conditional update of the order (``status`` "open" and ``places_left`` above zero). A refused write aborts the
whole transaction, so a member is on an order at most once and an order never has more claims than places, with
any number of service instances. A transaction that meets another's write on a real MongoDB replica set is
retried (``TransientTransactionError``).

A mixin of ``services.volunteer.store.VolunteerStore``.
"""
from __future__ import annotations

from typing import Callable

from pymongo import ReturnDocument
from pymongo.errors import PyMongoError

from servicekit.errors import Conflict

from services.volunteer.domain.orders import (CLAIMED, CHECKED_IN, REOPENS, Step, may_claim_order, next_claim_state,
                                              order_full)

TRANSIENT_ATTEMPTS = 5
SWEEP_BATCH = 200
ALREADY_CLAIMED = ("ALREADY_CLAIMED", "您已接过这个订单")
# What follows a claim's change on its order: (the step to take, fields to set, fields to unset, events), or None.
OrderFollowUp = Callable[[dict], "tuple[Step, dict, tuple, list[dict]] | None"]


def _retrying(attempt):
    for tries in range(1, TRANSIENT_ATTEMPTS + 1):
        try:
            return attempt()
        except PyMongoError as error:
            if tries == TRANSIENT_ATTEMPTS or not error.has_error_label("TransientTransactionError"):
                raise


class ClaimRecords:
    collections: dict[str, list] = {"claims": ["order_id", "member_id", "release_at"]}

    # --- reads ---------------------------------------------------------------------------------------------
    def claim(self, claim_id) -> dict | None:
        return self.db.claims.find_one({"_id": claim_id}) if claim_id else None

    def claims_of_order(self, order_id: str) -> list[dict]:
        return list(self.db.claims.find({"order_id": order_id}).sort("claimed_at", 1))

    def claims_of_orders(self, order_ids) -> dict[str, list[dict]]:
        ids = list(dict.fromkeys(order_ids))
        grouped: dict[str, list[dict]] = {order_id: [] for order_id in ids}
        if ids:
            for claim in self.db.claims.find({"order_id": {"$in": ids}}).sort("claimed_at", 1):
                grouped[claim["order_id"]].append(claim)
        return grouped

    def claims_of_member(self, member_id: str, status: str, skip: int, limit: int) -> list[dict]:
        query = {"member_id": member_id, **({"status": status} if status else {})}
        return list(self.db.claims.find(query).sort([("claimed_at", -1), ("_id", -1)]).skip(skip).limit(limit + 1))

    def member_claims_on(self, member_id: str, order_ids) -> dict[str, dict]:
        """The member's claim rows on these orders, by order id."""
        ids = [f"{order_id}:{member_id}" for order_id in dict.fromkeys(order_ids)]
        return {claim["order_id"]: claim for claim in self.db.claims.find({"_id": {"$in": ids}})} if ids else {}

    # H2's collections, read for who may claim: 双报到 reports and team membership (a team itself: TeamRecords.team)
    def reported_to(self, member_id: str, community_id: str) -> bool:
        return self.db.community_reports.find_one({"member_id": member_id, "community_id": community_id,
                                                   "status": "current"}, {"_id": 1}) is not None

    def current_report_community(self, member_id: str) -> str | None:
        report = self.db.community_reports.find_one({"member_id": member_id, "status": "current"},
                                                    {"community_id": 1})
        return report["community_id"] if report else None

    def in_team(self, member_id: str, team_id: str) -> bool:
        return self.db.team_members.find_one({"_id": f"{team_id}:{member_id}", "status": "active"},
                                             {"_id": 1}) is not None

    def active_team_ids(self, member_id: str) -> list[str]:
        return [row["team_id"] for row in self.db.team_members.find({"member_id": member_id, "status": "active"},
                                                                      {"team_id": 1})]

    # --- writes --------------------------------------------------------------------------------------------
    def take_place(self, claim: dict, events: list[dict]) -> tuple[dict, dict]:
        """Claim a place on ``claim["order_id"]`` for ``claim["member_id"]``: (the claim, the order after). Conflict
        ``ALREADY_CLAIMED``, ``ORDER_FULL`` or ``ORDER_NOT_OPEN``; nothing is stored when refused."""
        order_id, now = claim["order_id"], claim["claimed_at"]

        def writes(session):
            reopened = self.db.claims.update_one(
                {"_id": claim["_id"], "status": {"$in": [state.value for state in REOPENS]}},
                {"$set": {key: value for key, value in claim.items() if key != "_id"}}, session=session)
            if not reopened.matched_count:
                self.db.claims.insert_one(claim, session=session)        # a row claimed already: duplicate key
            order = self.db.orders.find_one_and_update(
                {"_id": order_id, "status": "open", "places_left": {"$gt": 0}},
                {"$inc": {"places_left": -1, "claimed": 1, "pending": 1}},
                return_document=ReturnDocument.AFTER, session=session)
            if order is None:
                current = self.db.orders.find_one({"_id": order_id}, {"status": 1}, session=session) or {
                    "status": "closed"}
                may_claim_order(current)
                raise order_full()
            if not order.get("first_claimed_at"):
                self.db.orders.update_one({"_id": order_id}, {"$set": {"first_claimed_at": now}}, session=session)
            return claim, order
        return _retrying(lambda: self.commit(writes, events, duplicate=ALREADY_CLAIMED))

    def change_claim(self, claim_id: str, action: str, changes: dict, order_inc: dict | None,
                     follow_up: OrderFollowUp | None, events: list[dict]) -> tuple[dict, dict]:
        """Move the claim by ``action`` (``changes`` set on it, its release time removed) if it is still in the
        state the action leaves, adjust the order's counters by ``order_inc`` and take the ``follow_up`` step on the
        order it calls for (the first check-in starts the service, the last check-out completes it), all in one
        transaction: (the claim after, the order after). Conflict as ``next_claim_state`` refuses."""
        events = list(events)
        source = {"withdraw": CLAIMED, "release": CLAIMED, "check_in": CLAIMED, "check_out": CHECKED_IN}[action]

        def writes(session):
            claim = self.db.claims.find_one_and_update(
                {"_id": claim_id, "status": source.value}, {"$set": changes, "$unset": {"release_at": ""}},
                return_document=ReturnDocument.AFTER, session=session)
            if claim is None:
                next_claim_state(action, self.db.claims.find_one({"_id": claim_id}, session=session))
                raise Conflict("接单状态已变化，请刷新后重试", code="CLAIM_STATE_CONFLICT")
            if order_inc:
                order = self.db.orders.find_one_and_update({"_id": claim["order_id"]}, {"$inc": order_inc},
                                                           return_document=ReturnDocument.AFTER, session=session)
            else:
                order = self.db.orders.find_one({"_id": claim["order_id"]}, session=session)
            step = follow_up(order) if follow_up else None
            if step is not None:
                order_step, fields, unset, more = step
                order = self.step_writes(order["_id"], order_step, fields, session, unset)
                events.extend(more)
            return claim, order
        return _retrying(lambda: self.commit(writes, events))

    # --- the sweep ---------------------------------------------------------------------------------------------
    def releases_due(self, now: str) -> list[dict]:
        return list(self.db.claims.find({"release_at": {"$lte": now}}).limit(SWEEP_BATCH))
