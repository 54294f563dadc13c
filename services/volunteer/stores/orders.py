"""Citizens' orders (collection ``orders``) and their completion photos (``order_photos``).

A mixin of ``services.volunteer.store.VolunteerStore``. An order carries its community's ancestor fields
(``a0``..``a5``) so a subtree is ``{"aL": id}``; ``status``, ``placed_at``, ``reviewed_at``, ``dispatched_at``,
``first_claimed_at``, ``completed_at``, ``confirmed_at`` and ``rating`` are what statistics read. Counters kept on
the order (nx-27017's ``count_documents`` scans): ``claimed`` (claims holding a place), ``places_left`` and
``pending`` (claims holding a place not checked out yet).

Every change of state is one conditional write on the order's status (``step_writes``), so two instances acting
on one order at once cannot both take a transition; the sweep's due times (``review_due_at``,
``auto_confirm_at``) are fields removed once passed, each with a single-field index.
"""
from __future__ import annotations

from pymongo import ReturnDocument

from servicekit.errors import Conflict
from servicekit.storage.subtree import LEVEL_FIELDS

from services.volunteer.domain.orders import Step, state_conflict, state_of

SWEEP_BATCH = 200


class OrderRecords:
    collections: dict[str, list] = {
        # no index on ``status``: a handful of values, and nx-27017 might plan a community's open orders by it
        "orders": ["community_id", "account_id", "tracking_hash", "team_id", "review_due_at", "auto_confirm_at",
                   "overdue", *LEVEL_FIELDS],
        "order_photos": ["order_id"],
    }

    # --- reads ---------------------------------------------------------------------------------------------
    def order(self, order_id) -> dict | None:
        return self.db.orders.find_one({"_id": order_id}) if isinstance(order_id, str) and order_id else None

    def order_by_tracking_hash(self, digest: str) -> dict | None:
        return self.db.orders.find_one({"tracking_hash": digest})

    def orders_of_account(self, tenant_id: str, account_id: str, status: str, skip: int, limit: int) -> list[dict]:
        query = {"account_id": account_id, "tenant_id": tenant_id, **({"status": status} if status else {})}
        return list(self.db.orders.find(query).sort([("placed_at", -1), ("_id", -1)]).skip(skip).limit(limit + 1))

    def orders_in_subtree(self, path_ids: list[str], status: str, category: str, overdue: bool, skip: int,
                          limit: int) -> list[dict]:
        """Orders of communities at or below the node of ``path_ids``: newest first; only the overdue ones,
        longest waiting first, when ``overdue``."""
        query: dict = {f"a{len(path_ids) - 1}": path_ids[-1]}
        if status:
            query["status"] = status
        if category:
            query["category"] = category
        if overdue:
            query["overdue"] = True
            order = [("placed_at", 1), ("_id", 1)]
        else:
            order = [("placed_at", -1), ("_id", -1)]
        return list(self.db.orders.find(query).sort(order).skip(skip).limit(limit + 1))

    def open_orders_of_community(self, community_id: str) -> list[dict]:
        return list(self.db.orders.find({"community_id": community_id, "status": "open", "mode": "claim"}))

    def open_orders_of_teams(self, team_ids: list[str]) -> list[dict]:
        if not team_ids:
            return []
        return list(self.db.orders.find({"team_id": {"$in": team_ids}, "status": "open", "mode": "team"}))

    def orders_by_ids(self, order_ids) -> dict[str, dict]:
        ids = list(dict.fromkeys(order_ids))
        return {doc["_id"]: doc for doc in self.db.orders.find({"_id": {"$in": ids}})} if ids else {}

    # --- writes --------------------------------------------------------------------------------------------
    def place_order(self, order: dict, events: list[dict]) -> dict:
        self.commit(lambda session: self.db.orders.insert_one(order, session=session), events)
        return order

    def step_writes(self, order_id: str, step: Step, fields: dict, session, unset=(), inc: dict | None = None):
        """In a transaction: take ``step`` on the order if it is still in the step's source state (the history
        entry appended, ``fields`` set, ``unset`` removed); the order after, or Conflict ``ORDER_STATE_CONFLICT``
        naming the state it is in now."""
        condition = {"_id": order_id, "status": step.source.value}
        # the history is set whole: nx-27017 stores a document ``$push``ed into an array as JSON text
        before = self.db.orders.find_one(condition, {"history": 1}, session=session)
        after = None
        if before is not None:
            update: dict = {"$set": {**fields, "status": step.target.value,
                                     "history": [*before.get("history", []), step.entry]}}
            if unset:
                update["$unset"] = {name: "" for name in unset}
            if inc:
                update["$inc"] = inc
            after = self.db.orders.find_one_and_update(condition, update, return_document=ReturnDocument.AFTER,
                                                       session=session)
        if after is None:
            now = self.db.orders.find_one({"_id": order_id}, {"status": 1}, session=session)
            raise state_conflict(state_of(now)) if now else state_conflict(step.source)
        return after

    def step_order(self, order_id: str, step: Step, fields: dict, events: list[dict], unset=(),
                   credit: list[dict] | None = None) -> dict:
        """Take ``step`` (``step_writes``) and, in the same transaction, credit the hours ledger ``entries``
        (``credit_writes``: the new ones with their ``hours_credited`` events)."""
        events = list(events)

        def writes(session):
            after = self.step_writes(order_id, step, fields, session, unset)
            if credit:
                self.credit_writes(credit, events, session)
            return after
        return self.commit(writes, events)

    def merge_order(self, order_id: str, step: Step, fields: dict, into_order_id: str, into_status: str,
                    events: list[dict]) -> dict:
        """Merge: the order's step, while the order it goes into is still in ``into_status``."""
        def writes(session):
            if self.db.orders.find_one({"_id": into_order_id, "status": into_status}, {"_id": 1},
                                       session=session) is None:
                raise Conflict("目标订单状态已变化，请刷新后重试", code="MERGE_TARGET_CHANGED", field="into_order_id")
            return self.step_writes(order_id, step, fields, session, unset=("review_due_at",))
        return self.commit(writes, events)

    def note_wrong_guess(self, order_id: str, locks_at: int, locked_until: str) -> None:
        """Count a wrong last-4 guess on a tracked order; the ``locks_at``-th in a row locks guessing until
        ``locked_until`` (counted with ``$inc``: concurrent guesses each count)."""
        after = self.db.orders.find_one_and_update({"_id": order_id}, {"$inc": {"wrong_guesses": 1}},
                                                   {"wrong_guesses": 1}, return_document=ReturnDocument.AFTER)
        if after is not None and after.get("wrong_guesses", 0) >= locks_at:
            self.db.orders.update_one({"_id": order_id}, {"$set": {"wrong_guesses": 0,
                                                                   "guess_locked_until": locked_until}})

    def clear_wrong_guesses(self, order_id: str) -> None:
        self.db.orders.update_one({"_id": order_id, "wrong_guesses": {"$gt": 0}}, {"$set": {"wrong_guesses": 0}})

    def set_completion_text(self, order_id: str, statuses: list[str], text: str, by: str, at: str) -> dict | None:
        return self.db.orders.find_one_and_update(
            {"_id": order_id, "status": {"$in": statuses}},
            {"$set": {"completion_text": text, "completion_by": by, "completion_at": at}},
            return_document=ReturnDocument.AFTER)

    # --- photos ---------------------------------------------------------------------------------------------
    def add_order_photo(self, photo: dict, statuses: list[str]) -> bool:
        """Store a completion photo and list it on its order while the order is in one of ``statuses``; False
        (nothing stored) when it no longer is."""
        def writes(session):
            updated = self.db.orders.update_one({"_id": photo["order_id"], "status": {"$in": statuses}},
                                                {"$push": {"photo_ids": photo["_id"]}}, session=session)
            if updated.matched_count:
                self.db.order_photos.insert_one(photo, session=session)
            return bool(updated.matched_count)
        return self.commit(writes)

    def order_photo(self, photo_id) -> dict | None:
        return self.db.order_photos.find_one({"_id": photo_id}) if isinstance(photo_id, str) and photo_id else None

    # --- the sweep ---------------------------------------------------------------------------------------------
    def reviews_due(self, now: str) -> list[dict]:
        return list(self.db.orders.find({"review_due_at": {"$lte": now}}, {"status": 1, "review_due_at": 1})
                    .limit(SWEEP_BATCH))

    def mark_overdue(self, order_id: str, due_at: str, now: str) -> bool:
        """An order still placed past its review time is overdue; any other loses the due time only."""
        marked = self.db.orders.update_one({"_id": order_id, "status": "placed", "review_due_at": due_at},
                                           {"$set": {"overdue": True, "overdue_at": now},
                                            "$unset": {"review_due_at": ""}})
        if not marked.matched_count:
            self.db.orders.update_one({"_id": order_id, "review_due_at": due_at, "status": {"$ne": "placed"}},
                                      {"$unset": {"review_due_at": ""}})
        return bool(marked.modified_count)

    def confirmations_due(self, now: str) -> list[dict]:
        return list(self.db.orders.find({"auto_confirm_at": {"$lte": now}}).limit(SWEEP_BATCH))
