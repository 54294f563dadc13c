"""Hours and statistics (VolunteerStatsApi): a member's hours ledger, a manager's view of a member's hours, and a
subtree's statistics, hours rankings and their XLSX export over a period.

- A member reads its own ledger; managers of a member's branch (or above) read that member's.
- Statistics, rankings and the export are for managers of the node (its subtree). Orders and the hours served
  (``hours_total``, the community ranking) count where the service was given: the subtree's communities and the
  teams of its nodes. The member and branch rankings count the subtree's own members, wherever they served.
"""
from __future__ import annotations

import base64

from servicekit.errors import NotFound
from servicekit.security.scope import CallerScope
from servicekit.spreadsheets import XLSX_MEDIA_TYPE
from servicekit.storage.paging import page_of, page_window

from services.volunteer.domain import orders as order_rules
from services.volunteer.domain import statistics as rules
from services.volunteer.access import require_member
from services.volunteer.usecases.teams import VolunteerTopic

MEMBER_HOURS_SHOWN = 500
EXPORT_RANKING_ROWS = 10_000      # a city's ranking of every member would be a sheet no one reads; its top is kept
SIDE_SERVED, SIDE_MEMBERS = "a", "b"      # ledger entries by where they were served / by the member's branch
GROUPS = {"member": (SIDE_MEMBERS, "member_id"), "branch": (SIDE_MEMBERS, "branch_id"),
          "community": (SIDE_SERVED, "community_id")}


def member_not_found() -> NotFound:
    return NotFound("党员不存在或不在您的管辖范围内", code="MEMBER_NOT_FOUND", field="member_id")


class VolunteerStatistics(VolunteerTopic):
    # --- hours --------------------------------------------------------------------------------------
    def my_hours(self, caller: CallerScope, page_size, page_token) -> dict:
        member_id = require_member(caller)
        skip, limit = page_window(page_size, page_token)
        entries, token = page_of(self.store.hours_of_member(member_id, skip, limit + 1), skip, limit)
        return {"member_id": member_id, "total_hours": round(self.store.total_hours_of_member(member_id), 2),
                "entries": [entry_view(entry) for entry in entries], "next_page_token": token}

    def member_hours(self, caller: CallerScope, member_id) -> dict:
        """A member's hours for the managers of its branch (identity refuses anyone else, as not found)."""
        if not isinstance(member_id, str) or not member_id.strip():
            raise member_not_found()
        member = self.directory.member(self.identity, caller, member_id.strip())
        if member["member_id"] != caller.member_id and not caller.manages_path(member["branch_path"]):
            raise member_not_found()
        entries = self.store.hours_of_member(member["member_id"], 0, MEMBER_HOURS_SHOWN)
        return {"member_id": member["member_id"],
                "total_hours": round(self.store.total_hours_of_member(member["member_id"]), 2),
                "entries": [entry_view(entry) for entry in entries], "next_page_token": ""}

    # --- a subtree over a period -----------------------------------------------------------------------
    def statistics(self, caller: CallerScope, org_id, since, until) -> dict:
        org = self.managed_org(caller, org_id)
        when = rules.period(since, until)
        return self._statistics(caller, org, when)

    def ranking(self, caller: CallerScope, org_id, by, since, until, limit) -> dict:
        org = self.managed_org(caller, org_id)
        by, limit, when = rules.ranking_kind(by), rules.ranking_limit(limit), rules.period(since, until)
        return {"rows": self._ranking(caller, org, by, when, limit)}

    def export(self, caller: CallerScope, org_id, since, until) -> dict:
        org = self.managed_org(caller, org_id)
        when = rules.period(since, until)
        stats = self._statistics(caller, org, when)
        rankings = {by: self._ranking(caller, org, by, when, EXPORT_RANKING_ROWS) for by in rules.RANKING_KINDS}
        categories = self.store.settings_in_force(caller.tenant_id)["categories"]
        content = rules.workbook(org.get("name", ""), when, stats, categories, rankings)
        span = f"{when.since or '最早'}至{when.until or '今'}" if when.since or when.until else "全部"
        return {"filename": f"志愿服务统计-{org.get('name', '')}-{span}.xlsx", "content_type": XLSX_MEDIA_TYPE,
                "content": base64.b64encode(content).decode()}

    def _statistics(self, caller: CallerScope, org: dict, when: rules.Period) -> dict:
        settings = self.store.settings_in_force(caller.tenant_id)
        now = self.now()
        orders = self.store.orders_placed_under(org["path_ids"], when.since_stamp, when.until_stamp)
        stats = rules.order_statistics(orders, settings["categories"],
                                       lambda order: order_rules.is_overdue(order, settings, now))
        hours = self.store.hours_sum_under(SIDE_SERVED, org["path_ids"], when.since, when.until)
        return {**stats, "hours_total": round(hours, 2)}

    def _ranking(self, caller: CallerScope, org: dict, by: str, when: rules.Period, limit: int | None) -> list[dict]:
        side, field = GROUPS[by]
        totals = self.store.hours_totals_under(side, org["path_ids"], when.since, when.until, field, limit)
        hours = {key: total["hours"] for key, total in totals.items() if key}
        names = {key: total.get("name") or "" for key, total in totals.items() if key}
        rows = rules.ranked(hours, names, limit)
        if by != "member":
            self._name_nodes(caller, org, by, rows)
        return rows

    def _name_nodes(self, caller: CallerScope, org: dict, by: str, rows: list[dict]) -> None:
        """Branch and community names as identity and the community profiles know them now (the ledger keeps
        ids only): a node the caller cannot see any more keeps its id."""
        if by == "branch":
            names = {branch["org_id"]: branch["name"] for branch in
                     self.identity.branches_under(scope=caller.to_dict(), org_id=org["id"])["branches"]}
        else:
            names = {}
        for row in rows:
            name = names.get(row["id"])
            if name is None and by == "community":
                profile = self.store.profile(row["id"])
                name = profile.get("name") if profile and profile.get("tenant_id") == caller.tenant_id else None
            if name is None:
                try:
                    name = self.directory.org(self.identity, caller, row["id"]).get("name", "")
                except NotFound:
                    name = ""
            row["name"] = name


def entry_view(entry: dict) -> dict:
    return {"entry_id": entry["_id"], "source_kind": entry["source_kind"], "source_id": entry["source_id"],
            "title": entry.get("title", ""), "hours": round(float(entry.get("hours") or 0), 2),
            "credited_at": entry["credited_at"]}
