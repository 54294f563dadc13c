"""Reconcile: every score of a period recomputed from attendance's own records, and each difference listed."""
from __future__ import annotations

from servicekit.security.scope import CallerScope

from services.scoring.domain import score as score_rules
from services.scoring.domain.periods import parse_period
from services.scoring.store import ScoringStore
from services.scoring.usecases.subtrees import Subtrees

FACTS_PAGE = 500


class Reconciliations:
    def __init__(self, store: ScoringStore, attendance, subtrees: Subtrees):
        self.store = store
        self.attendance = attendance
        self.subtrees = subtrees

    def reconcile(self, caller: CallerScope, org_id, period) -> dict:
        level, org_id = self.subtrees.level(caller, org_id)
        wanted = parse_period(period)
        records = self._records(caller, org_id, wanted.months[0], wanted.months[-1])
        stored = {doc["_id"]: doc for month in wanted.months
                  for doc in self.store.activities_of_month(caller.tenant_id, month) if doc.get(f"a{level}") == org_id}
        found = []
        for record in records:
            doc = stored.pop(record["activity_id"], None)
            if doc is None:
                found.append({"activity_id": record["activity_id"], "branch_id": record.get("branch_id", ""),
                              "field": "activity", "live": "", "recomputed": "MISSING_HERE"})
                continue
            recomputed = score_rules.day_score(score_rules.facts_from_record(record, doc.get("rating")),
                                               score_rules.record_held(record))
            found.extend({"activity_id": doc["_id"], "branch_id": doc.get("branch_id", ""), **difference}
                         for difference in score_rules.differences(doc, recomputed))
        for doc in stored.values():
            found.append({"activity_id": doc["_id"], "branch_id": doc.get("branch_id", ""), "field": "activity",
                          "live": "present", "recomputed": "MISSING_AT_SOURCE"})
        return {"period": wanted.key, "checked": len(records), "differences": found}

    def _records(self, caller: CallerScope, org_id: str, month_from: str, month_to: str) -> list[dict]:
        """Attendance's record of every themed day of the subtree in the months, all pages."""
        records, token = [], ""
        while True:
            page = self.attendance.activity_facts(scope=caller.to_dict(), org_id=org_id, month_from=month_from,
                                                  month_to=month_to, page_token=token, page_size=FACTS_PAGE)
            records.extend(page["items"])
            token = page.get("next_page_token") or ""
            if not token:
                return records
