"""The democratic appraisal's records (民主评议党员), in the scoring service's main database (whose outbox
publishes its events): a mixin of ``ScoringStore``.

- ``appraisals``: one per branch and year (unique ``branch_year``), with its roster (a dict keyed by member),
  its state, its decided grades and the branch's place in the tree (ancestor fields, for subtree lists).
- ``appraisal_voters``: who has voted, ``_id`` ``<appraisal>:<member>`` and the appraisal's id, nothing else (no
  time, no choice). Its unique ``_id`` is what lets a member vote once, racing writers included.
- ``appraisal_tallies``: per appraisal and member voted on (``_id`` ``<appraisal>:<member>``), how many votes
  each grade got. No voter, no time. A vote is one transaction: the voter's row and the tallies' increments,
  so no ballot is ever stored (docs/security.md#anonymous-votes).
- ``appraisal_reviews``: self-reviews and mutual reviews, ``_id`` ``<appraisal>:<reviewer>:<subject>``
  (a later submission replaces an earlier one while the appraisal is open).
- ``appraisal_settings``: per tenant, the share of 优秀 allowed and the share of negative votes that flags.
Every query uses one single-field index (nx-27017 ignores compound ones).
"""
from __future__ import annotations

from pymongo import ReplaceOne, UpdateOne

from servicekit.errors import Conflict
from servicekit.storage.subtree import LEVEL_FIELDS

_CHANGED = ("APPRAISAL_CHANGED", "评议状态已变化，请刷新后重试")


class AppraisalRecords:
    collections = {
        "appraisals": [("branch_year", {"unique": True}), "branch_id", *LEVEL_FIELDS],
        "appraisal_voters": ["appraisal_id"],
        "appraisal_tallies": ["appraisal_id"],
        "appraisal_reviews": ["appraisal_id"],
        "appraisal_settings": [],
    }

    # --- appraisals ---------------------------------------------------------------------------------------------
    def appraisal(self, appraisal_id: str) -> dict | None:
        return self.db.appraisals.find_one({"_id": appraisal_id})

    def create_appraisal(self, doc: dict) -> None:
        """A new draft; APPRAISAL_EXISTS when the branch has one for that year (the unique ``branch_year``)."""
        self.commit(lambda session: self.db.appraisals.insert_one(doc, session=session), [],
                    duplicate=("APPRAISAL_EXISTS", "该支部本年度的民主评议已创建"))

    def open_appraisal(self, appraisal_id: str, changes: dict, event: dict) -> None:
        """draft -> open with its roster taken afresh, a zero tally per roster member (so that a vote only
        increments, never inserts one), and appraisal_opened, in one transaction."""
        zero = [{"_id": f"{appraisal_id}:{member}", "appraisal_id": appraisal_id, "member_id": member}
                for member in sorted(changes["roster"])]
        self._guarded(appraisal_id, ("draft",), changes, event, zero)

    def decide_appraisal(self, appraisal_id: str, changes: dict, event: dict) -> None:
        """(open past its time, or closed) -> decided with its grades, and appraisal_decided."""
        self._guarded(appraisal_id, ("open", "closed"), changes, event)

    def _guarded(self, appraisal_id: str, states: tuple[str, ...], changes: dict, event: dict,
                 tallies: list[dict] = ()) -> None:
        def writes(session):
            result = self.db.appraisals.update_one({"_id": appraisal_id, "state": {"$in": list(states)}},
                                                   {"$set": changes}, session=session)
            if result.matched_count != 1:
                raise Conflict(_CHANGED[1], code=_CHANGED[0], field="appraisal_id")
            if tallies:
                self.db.appraisal_tallies.insert_many(list(tallies), ordered=True, session=session)
        self.commit(writes, [event])

    def appraisals_of_branch(self, branch_id: str) -> list[dict]:
        return list(self.db.appraisals.find({"branch_id": branch_id}))

    def appraisals_under(self, org_id: str, level: int) -> list[dict]:
        return list(self.db.appraisals.find({f"a{level}": org_id}))

    # --- votes --------------------------------------------------------------------------------------------------
    def cast_vote(self, appraisal_id: str, voter: str, ballot: dict[str, str], event: dict) -> None:
        """The voter's row and one increment per member voted on, in one transaction; VOTE_EXISTS (nothing
        written) when the voter's row exists. The ballot itself is never stored."""
        def writes(session):
            self.db.appraisal_voters.insert_one({"_id": f"{appraisal_id}:{voter}", "appraisal_id": appraisal_id},
                                                session=session)
            self.db.appraisal_tallies.bulk_write(
                [UpdateOne({"_id": f"{appraisal_id}:{member}"}, {"$inc": {grade: 1}})
                 for member, grade in sorted(ballot.items())],
                ordered=True, session=session)
        self.commit(writes, [event], duplicate=("VOTE_EXISTS", "您已经投过票了，每人只能投一次"))

    def has_voted(self, appraisal_id: str, member_id: str) -> bool:
        return self.db.appraisal_voters.find_one({"_id": f"{appraisal_id}:{member_id}"}, {"_id": 1}) is not None

    def voter_count(self, appraisal_id: str) -> int:
        return self.db.appraisal_voters.count_documents({"appraisal_id": appraisal_id})

    def tallies(self, appraisal_id: str) -> dict[str, dict]:
        """{member_id: {grade: votes}} of an appraisal."""
        return {doc["member_id"]: doc for doc in self.db.appraisal_tallies.find({"appraisal_id": appraisal_id})}

    # --- reviews ------------------------------------------------------------------------------------------------
    def save_review(self, review: dict) -> None:
        self.db.appraisal_reviews.replace_one({"_id": review["_id"]}, review, upsert=True)

    def reviews(self, appraisal_id: str) -> list[dict]:
        return sorted(self.db.appraisal_reviews.find({"appraisal_id": appraisal_id}),
                      key=lambda doc: (doc["submitted_at"], doc["_id"]))

    # --- settings -----------------------------------------------------------------------------------------------
    def appraisal_settings(self, tenant_id: str) -> dict | None:
        return self.db.appraisal_settings.find_one({"_id": tenant_id})

    def save_appraisal_settings(self, tenant_id: str, settings: dict) -> None:
        self.db.appraisal_settings.bulk_write([ReplaceOne({"_id": tenant_id}, {"_id": tenant_id, **settings},
                                                          upsert=True)])


