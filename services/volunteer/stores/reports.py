"""双报到: members' reports to their residential community (collection ``community_reports``).

A mixin of ``services.volunteer.store.VolunteerStore``. A report: ``_id`` "<member_id>:<n>" (``domain/reports.py``),
``tenant_id, member_id, name, branch_id, branch_name, b0..b5`` (the member's branch path), ``community_id,
community_name, a0..a5`` (the community's path), ``status`` "current" | "ended", ``sequence, reported_on,
reported_at``. The order side reads the current report of a member (claims of ``mode=claim``).
"""
from __future__ import annotations

from servicekit.errors import Conflict
from servicekit.storage.subtree import LEVEL_FIELDS, subtree_filter

from services.volunteer.domain.hours import BRANCH_FIELDS
from services.volunteer.domain.reports import CURRENT, ENDED

_CHANGED = ("REPORT_CHANGED", "报到信息已变化，请刷新后重试")


class ReportRecords:
    collections: dict[str, list] = {"community_reports": ["member_id", "community_id", *LEVEL_FIELDS,
                                                          *BRANCH_FIELDS]}

    def current_report(self, member_id: str) -> dict | None:
        return self.db.community_reports.find_one({"member_id": member_id, "status": CURRENT}) if member_id else None

    def report_to_community(self, report: dict, current: dict | None, ended: dict | None, events: list) -> dict:
        """The new current report and, when the member had one, that one ended, in one commit with ``events``.
        Conflict ``REPORT_CHANGED`` when another report of the member came first."""
        def writes(session):
            if current is not None:
                done = self.db.community_reports.update_one({"_id": current["_id"], "status": CURRENT},
                                                            {"$set": {**(ended or {}), "status": ENDED}},
                                                            session=session)
                if done.matched_count != 1:
                    raise Conflict(_CHANGED[1], code=_CHANGED[0])
            self.db.community_reports.insert_one(report, session=session)
            return report
        return self.commit(writes, events, duplicate=_CHANGED)

    def current_reports_under(self, path_ids: list[str], skip: int = 0, limit: int = 0) -> list[dict]:
        """The current reports to the communities of a subtree, the latest first."""
        cursor = self.db.community_reports.find({**subtree_filter(path_ids), "status": CURRENT}).sort(
            [("reported_on", -1), ("reported_at", -1), ("_id", -1)])
        return list(cursor.skip(skip).limit(limit))

    def reported_member_ids(self, branch_path: list[str]) -> set[str]:
        """The members of a subtree (by their branch) with a current report."""
        level = len(branch_path) - 1
        return {doc["member_id"] for doc in self.db.community_reports.find(
            {f"b{level}": branch_path[-1]}, {"member_id": 1, "status": 1}) if doc["status"] == CURRENT}
