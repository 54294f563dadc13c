"""Statistics of a subtree's activities over months (on screen and as a spreadsheet), and the facts of each
activity that scoring's reconcile recomputes branch scores from."""
from __future__ import annotations

import base64

from servicekit.arguments import choice
from servicekit.timestamps import LOCAL_ZONE
from servicekit.errors import InvalidArgument, PermissionDenied
from servicekit.security.scope import CallerScope
from servicekit.storage.paging import page_of, page_window

from services.attendance.arguments import month_argument
from services.attendance.domain import stats

STATISTICS_GROUPS = ("activity", "branch", "member")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Statistics:
    def __init__(self, store, clock, identity):
        self.store, self.clock, self.identity = store, clock, identity

    def get_statistics(self, caller: CallerScope, org_id, month_from, month_to, by) -> dict:
        by = choice(by or "activity", "by", STATISTICS_GROUPS, required=True)
        summaries, own_only = self._summaries(caller, org_id, month_from, month_to, names=by == "member")
        rows = self._rows(summaries, by, caller.member_id if own_only else None, caller)
        return {"by": by, "rows": rows}

    def export_statistics(self, caller: CallerScope, org_id, month_from, month_to) -> dict:
        summaries, own_only = self._summaries(caller, org_id, month_from, month_to, names=True)
        member = caller.member_id if own_only else None
        sheets = {"按活动": self._rows(summaries, "activity", member, caller),
                  "按支部": self._rows(summaries, "branch", member, caller),
                  "按党员": self._rows(summaries, "member", member, caller)}
        content = stats.to_xlsx(sheets, stats.STAT_HEADERS)
        return {"filename": f"考勤统计-{month_from or 'current'}-{month_to or month_from or 'current'}.xlsx",
                "content_type": XLSX_TYPE, "content": base64.b64encode(content).decode()}

    def _summaries(self, caller: CallerScope, org_id, month_from, month_to, names: bool = False):
        """The activities of the subtree in the months; with ``names``, the names frozen on their rosters.
        Who sees a row sees its name: a manager of the subtree (as in identity), or a member its own row."""
        org = self.identity.get_org(scope=caller.to_dict(), org_id=org_id)
        current = self.clock.now().astimezone(LOCAL_ZONE).strftime("%Y-%m")
        first = month_argument(month_from, "month_from", current)
        last = month_argument(month_to, "month_to", first)
        if last < first:
            raise InvalidArgument("结束月份不能早于开始月份", code="MONTH_RANGE_INVALID", field="month_to")
        query = {"month": {"$gte": first, "$lte": last}}
        own_only = not caller.manages_path(org["path_ids"])
        if own_only:
            query["branch_id"] = caller.branch_id or "-"
        projection = {"branch_id": 1, "branch_name": 1, "month": 1, "status": 1, "totals": 1, "statuses": 1,
                      "printed_scans": 1, **({"roster": 1} if names else {})}
        found = self.store.activities_in(org["path_ids"], query, projection=projection)
        return [{"activity_id": a["_id"], "branch_id": a["branch_id"], "branch_name": a["branch_name"],
                 "month": a["month"], "status": a["status"], "totals": a.get("totals"),
                 "statuses": a.get("statuses") or {}, "printed_scans": a.get("printed_scans") or {},
                 "names": {m: entry.get("name", "") for m, entry in (a.get("roster") or {}).items()}}
                for a in found], own_only

    def _rows(self, summaries: list[dict], by: str, member_id: str | None, caller: CallerScope) -> list[dict]:
        if member_id:
            if by != "member":
                return []
            rows = stats.by_member(summaries, member_id)
            if not rows[0]["member_name"]:      # on no roster in the range: the caller's own record
                rows[0].update(self._own_member(caller))
            return rows
        return {"activity": stats.by_activity, "branch": stats.by_branch, "member": stats.by_member}[by](summaries)

    def _own_member(self, caller: CallerScope) -> dict:
        me = self.identity.get_me(scope=caller.to_dict())
        member = me.get("member") or {}
        branch = next((org for org in me.get("orgs") or () if org["id"] == member.get("branch_id")), {})
        return {"member_name": member.get("name", ""), "branch_id": member.get("branch_id", ""),
                "branch_name": branch.get("name", "")}

    def activity_facts(self, caller: CallerScope, org_id, month_from, month_to, page_token, page_size) -> dict:
        """What scoring's reconcile recomputes branch scores from (docs/attendance-rpc.md)."""
        org = self.identity.get_org(scope=caller.to_dict(), org_id=org_id)
        if not caller.manages_path(org["path_ids"]):
            raise PermissionDenied("只有组织管理员可以核对", code="NOT_ORG_MANAGER", field="org_id")
        first = month_argument(month_from, "month_from", "")
        last = month_argument(month_to or first, "month_to", first)
        skip, limit = page_window(page_size, page_token)
        found, token = page_of(self.store.activities_in(org["path_ids"], {"month": {"$gte": first, "$lte": last}},
                                                        skip, limit + 1), skip, limit)
        records: dict[str, list[dict]] = {a["_id"]: [] for a in found}
        for record in self.store.records_of_many(list(records)):
            records[record["activity_id"]].append(record)
        return {"items": [facts_of(a, records[a["_id"]]) for a in found], "next_page_token": token}


def facts_of(activity: dict, records: list[dict]) -> dict:
    roster = activity.get("roster") or {}
    mobile = [m for m, entry in roster.items() if entry.get("mobile")]

    def members(kind):
        return sorted({r["member_id"] for r in records if r.get("kind") == kind})
    return {"activity_id": activity["_id"], "branch_id": activity["branch_id"],
            "branch_name": activity["branch_name"], "org_path": activity["org_path"],
            "field": activity.get("field", ""), "category": activity.get("category", ""),
            "month": activity["month"], "status": activity["status"],
            "outside_due_window": bool((activity.get("plan") or {}).get("outside_due_window")),
            "roster_size": len(roster), "on_site_expected": len(roster) - len(mobile), "mobile_count": len(mobile),
            "roster_frozen": bool(activity.get("roster_frozen_at")), "member_ids": sorted(roster),
            "mobile_member_ids": sorted(mobile),
            "checked_in": members("checkin"), "checked_out": members("checkout"),
            "excused": sorted(activity.get("on_leave") or {}), "liked": members("like"),
            "reflection_members": members("reflection"),
            "photos": sum(1 for r in records if r.get("kind") == "photo"),
            "text_chars": sum(r.get("size", 0) for r in records if r.get("kind") == "text"),
            "flags": sum(1 for r in records if r.get("flags")),
            "statuses": activity.get("statuses") or {}, "totals": activity.get("totals"),
            "closed_at": activity.get("closed_at")}
