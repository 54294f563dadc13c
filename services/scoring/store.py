"""Scoring storage: what the service learned from events, and the scores it computed.

- ``activities``: one document per branch's themed day, holding the facts seen in events as dicts keyed by
  member, upload or record id (sets without arrays: nx-27017 mis-answers multikey indexes), the stage times,
  the rating, ``rev`` (bumped by every write of facts) and the computed score with its breakdown, stamped
  ``scored_at`` and ``scored_ms`` (the same moment in epoch milliseconds, indexed: what other processes'
  ranking caches ask for changes by). It is replaced for every scan and nx-27017 rewrites every index entry
  of a replaced document, so ``scored_ms`` is its one index.
- ``places``: where each activity sits (tenant, branch, month, ancestors), indexed, for finding activities by
  month, branch or subtree; written only when one of them changes, in the transaction that changes the activity.
- Ranking rows (one per branch and month, ``score_row_of``) are derived from the activities when read, not
  stored apart: a second replaced document per scan (docs/performance.md).
- The democratic appraisal's collections (``appraisal_store.AppraisalRecords``), whose events this
  database's outbox publishes.
Member points live in a database of their own (points_store). Every query uses one single-field index
(nx-27017 ignores compound ones).
"""
from __future__ import annotations

import functools
import time

from pymongo import ReplaceOne, UpdateOne

from servicekit.timestamps import parse_stamp, stamp
from servicekit.messaging.outbox import OutboxStore
from servicekit.storage.subtree import LEVEL_FIELDS, ancestor_fields, path_of  # noqa: F401  (re-exported)

from services.scoring.appraisal_store import AppraisalRecords
from services.scoring.domain import score as score_rules
from services.scoring.events import SOURCE
from services.scoring.domain.progress import stage_of, was_held

STUB = {"rev": 0, "stages": {}}         # an activity first heard of: replaced, guarded by rev 0, by its batch


class StaleWrite(Exception):
    """Another writer changed a document between this write's read and its guarded replacement."""


class StaleFacts(StaleWrite):
    """Another process wrote an activity's facts between a batch's read and its write."""


def retried(attempt, attempts: int = 3):
    """``attempt()`` again (its transaction rolled back) while another writer keeps winning the race."""
    for number in range(1, attempts + 1):
        try:
            return attempt()
        except StaleWrite:
            if number == attempts:
                raise
    raise AssertionError("unreachable")


def facts_of(doc: dict) -> score_rules.Facts:
    """The counts behind an activity document's score (closed: attendance's final statuses)."""
    liked = {member for member, mobile in (doc.get("liked") or {}).items()}
    reflected = set(doc.get("refl") or {})
    photos = len(doc.get("photos") or {})
    text_chars = sum((doc.get("texts") or {}).values())
    flags = len(doc.get("flagged") or {})
    rating = doc.get("rating")
    if doc.get("statuses"):
        return score_rules.facts_from_statuses(doc["statuses"], liked, reflected, photos, text_chars, flags, rating)
    return score_rules.facts_from_live(
        set(doc.get("roster") or {}), set(doc.get("mobile") or {}), set(doc.get("in") or {}),
        set(doc.get("out") or {}), set(doc.get("exc") or {}), liked, reflected, photos, text_chars, flags, rating,
        roster_known=bool(doc.get("roster_known")))


def closed_late(doc: dict) -> bool:
    closed, due_to = (doc.get("stages") or {}).get("closed"), doc.get("due_to")
    return bool(closed and due_to and closed[:10] > due_to[:10])


def scored_fields(doc: dict, now: str) -> dict:
    """The score fields of an activity document (facts as stored, or as a batch is about to store them). A day
    not held (yet) has no score: 0 with no breakdown, ``held`` false (an empty day is not a perfect one)."""
    stages = doc.get("stages") or {}
    held = was_held(stages)
    result = score_rules.day_score(facts_of(doc), held)
    return {"score": result["score"], "breakdown": result["breakdown"], "rates": result["rates"],
            "counts": result["counts"], "rating_pending": result["rating_pending"], "held": held,
            "final": bool(stages.get("closed")), "stage": stage_of(stages), "closed_late": closed_late(doc),
            "scored_at": now, "scored_ms": epoch_ms(now)}


@functools.lru_cache(maxsize=8)          # a batch stamps all its activities with the same moment
def epoch_ms(moment: str) -> int:
    """A stored timestamp as whole epoch milliseconds: a number, so nx-27017 answers a range of them from its
    index (a range of timestamp text it compares through SQLite's datetime(), row by row and to the second)."""
    return round(parse_stamp(moment).timestamp() * 1000)


def score_row_of(doc: dict) -> dict | None:
    """A scored activity's ranking row (one per branch and month, with the breakdown a ranking page shows), or
    None before it knows its tenant and month or has a score (rows are read from whatever activities a month
    holds: one the store has never scored is left out, not a failed read of the whole month)."""
    if not doc.get("month") or not doc.get("tenant_id") or doc.get("score") is None:
        return None
    held = was_held(doc.get("stages") or {})
    return {"_id": f"{doc['branch_id']}:{doc['month']}", "tenant_id": doc["tenant_id"], "branch_id": doc["branch_id"],
            "name": doc.get("branch_name", ""), **{name: doc.get(name) for name in LEVEL_FIELDS},
            "field": doc.get("field", ""), "category": doc.get("category", ""), "changed_at": doc.get("scored_at", ""),
            "period": doc["month"], "period_key": f"{doc['tenant_id']}:{doc['month']}", "activity_id": doc["_id"],
            "score": doc["score"] if held else 0.0, "held": held, "final": bool(doc.get("final")),
            "stages": doc.get("stages") or {}, "breakdown": (doc.get("breakdown") or {}) if held else {},
            "counts": doc.get("counts") or {},
            "rating_pending": bool(doc.get("rating_pending"))}
    # quarters and years are derived from the month rows in memory (rankings.RankingCache)


# what score_row_of reads of an activity
ROW_SOURCE_FIELDS = {name: 1 for name in ("tenant_id", "branch_id", "branch_name", *LEVEL_FIELDS, "field", "category",
                                          "scored_at", "month", "score", "final", "stages", "breakdown", "counts",
                                          "rating_pending")}
ORG_SAMPLE_SECONDS = 30.0
PLACE_FIELDS = ("tenant_id", "branch_id", "month", "month_key", *LEVEL_FIELDS)


def place_of(doc: dict) -> dict:
    """An activity document's row in ``places``."""
    return {"_id": doc["_id"], **{name: doc[name] for name in PLACE_FIELDS if doc.get(name) is not None}}


def place_changed(before: dict, after: dict) -> bool:
    return any(before.get(name) != after.get(name) for name in PLACE_FIELDS)


class ScoringStore(AppraisalRecords, OutboxStore):
    _org_samples: dict[str, tuple[float, dict]]
    source = SOURCE         # the appraisal's events (appraisal_store); scores publish nothing

    def __init__(self, db):
        super().__init__(db)
        self._org_samples = {}

    collections = {
        "activities": ["scored_ms"],
        "places": ["month_key", "branch_id", *LEVEL_FIELDS],
        "migrations": [],       # _id: a one-time step done (with when)
    }
    retired_indexes = {"activities": ["month_key", "branch_id", *LEVEL_FIELDS],
                       "scores": ["branch_id", "period_key", "changed_at"]}

    def migrate(self) -> None:
        self.place_activities()

    def place_activities(self) -> int:
        """Write the place of every activity that has none, once: on the first start of a version with
        ``places`` (an earlier version found activities through indexes on the activities themselves). Marked
        done in ``migrations`` only when all are written, so a start cut off half way is finished by the next.
        Idempotent: processes starting together write each place once (a place already written is left as
        it is: the score consumer keeps it current). Returns how many were written."""
        if self.db.migrations.find_one({"_id": "places"}) is not None:
            return 0
        written, batch = 0, []
        for doc in self.db.activities.find({}, {name: 1 for name in PLACE_FIELDS}):
            batch.append(place_of(doc))
            if len(batch) == 1000:
                written, batch = written + self.insert_new("places", batch), []
        written += self.insert_new("places", batch)
        self.db.migrations.update_one({"_id": "places"}, {"$set": {"done_at": stamp(), "written": written}},
                                      upsert=True)
        return written

    # --- activities and their scores -------------------------------------------
    def activity(self, activity_id: str) -> dict | None:
        return self.db.activities.find_one({"_id": activity_id})

    def activities_by_ids(self, ids, session=None, fields: dict | None = None) -> list[dict]:
        ids = list(ids)
        found = []
        for start in range(0, len(ids), 1000):
            found.extend(self.db.activities.find({"_id": {"$in": ids[start:start + 1000]}}, fields, session=session))
        return found

    def _placed(self, query: dict) -> list[dict]:
        return self.activities_by_ids([place["_id"] for place in self.db.places.find(query, {"_id": 1})])

    def activities_of_month(self, tenant_id: str, month: str) -> list[dict]:
        return self._placed({"month_key": f"{tenant_id}:{month}"})

    def activities_of_branch(self, branch_id: str) -> list[dict]:
        return self._placed({"branch_id": branch_id})

    def any_activity_under(self, org_id: str) -> dict | None:
        """A themed day of a branch in the subtree of org_id, to learn where org_id sits in the tree. Found ones
        are remembered for ORG_SAMPLE_SECONDS (each ranking call asks; a moved organisation is seen that late)."""
        remembered = self._org_samples.get(org_id)
        if remembered and remembered[0] > time.monotonic():
            return remembered[1]
        for field in LEVEL_FIELDS:
            doc = self.db.places.find_one({field: org_id})
            if doc:
                if len(self._org_samples) > 20_000:
                    self._org_samples.clear()
                self._org_samples[org_id] = (time.monotonic() + ORG_SAMPLE_SECONDS, doc)
                return doc
        return None

    def set_rating(self, activity_id: str, rating: int, comment: str, by: str, at: str) -> None:
        self.db.activities.update_one({"_id": activity_id}, {
            "$set": {"rating": rating, "rating_comment": comment, "rating_by": by, "rating_at": at},
            "$inc": {"rev": 1}})

    def recompute(self, activity_ids, now: str) -> list[dict]:
        """Compute the score of each activity from its stored facts and write it, stamped ``now`` (the caller
        hands the ranking rows of those returned to its process's ranking caches after this).

        A write is guarded by the ``rev`` read: if another process changed the facts meanwhile, its own
        recompute writes the newer score. Returns the activities whose score was written."""
        docs = self.activities_by_ids(set(activity_ids))
        activity_updates, written = [], []
        for doc in docs:
            changes = scored_fields(doc, now)
            activity_updates.append(UpdateOne({"_id": doc["_id"], "rev": doc.get("rev", 0)}, {"$set": changes}))
            written.append({**doc, **changes})
        self.write_scores(activity_updates)
        return written

    def add_stubs(self, activity_ids: list[str], session) -> None:
        """Activities first heard of, to be replaced by their batch like any other (guarded by ``rev`` 0)."""
        self.db.activities.insert_many([{"_id": activity_id, **STUB} for activity_id in activity_ids],
                                       ordered=True, session=session)

    def replace_scored(self, revs: list[int], docs: list[dict], session, places: list[dict] = ()) -> None:
        """Replace each activity by its new facts and score, whole (on nx-27017 2.3x cheaper than the same
        change as operators), guarded by the ``rev`` it was read with (``revs``, in the order of ``docs``);
        StaleFacts when another writer changed any of them since."""
        writes = [ReplaceOne({"_id": doc["_id"], "rev": rev}, doc) for rev, doc in zip(revs, docs)]
        result = self.write_scores(writes, session=session, places=places)
        if result is not None and result.matched_count != len(writes):
            raise StaleFacts(f"{len(writes) - result.matched_count} activities changed meanwhile")

    def write_scores(self, activity_writes: list, session=None, places: list[dict] = ()):
        """One bulk write per collection (the places replaced whole); returns the activities' write result."""
        result = None
        if activity_writes:
            result = self.db.activities.bulk_write(activity_writes, ordered=False, session=session)
        if places:
            self.db.places.bulk_write([ReplaceOne({"_id": place["_id"]}, place, upsert=True) for place in places],
                                      ordered=False, session=session)
        return result

    def score_rows(self, period_key: str) -> list[dict]:
        """The ranking rows of one tenant's month ("<tenant>:<month>", an activity's ``month_key``)."""
        ids = [place["_id"] for place in self.db.places.find({"month_key": period_key}, {"_id": 1})]
        return self._rows(self.activities_by_ids(ids, fields=ROW_SOURCE_FIELDS))

    def score_rows_changed_since(self, since: str) -> list[dict]:
        """The ranking rows of the activities scored at ``since`` or later."""
        return self._rows(self.db.activities.find({"scored_ms": {"$gte": epoch_ms(since)}}, ROW_SOURCE_FIELDS))

    @staticmethod
    def _rows(docs) -> list[dict]:
        return [row for row in map(score_row_of, docs) if row]
