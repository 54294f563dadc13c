"""Fakes for the volunteer service's teams, 双报到 and statistics fast tests: a small tree in two tenants, callers'
scopes, an identity that refuses what the real one refuses, and an in-memory store with the reads and writes of
those topics (the same conditions as the real ones: places under capacity, active rows, one current report)."""
from __future__ import annotations

import copy
from datetime import datetime, timezone

import pytest
from nameko.testing.services import worker_factory

from servicekit.errors import Conflict, NotFound
from servicekit.process.clock import FixedClock
from servicekit.storage.subtree import ancestor_fields
from services.volunteer.directory import Directory
from services.volunteer.domain import settings as settings_rules
from services.volunteer.service import VolunteerService
from services.volunteer.stores.hours import hours_credited

NOW = datetime(2026, 12, 6, 2, 0, tzinfo=timezone.utc)     # 10:00 in China
TENANT, OTHER_TENANT = "ten_1", "ten_2"
CITY, COUNTY, BRANCH, BRANCH2, COMMUNITY = "org_city", "org_county", "org_branch", "org_branch2", "org_community"
COUNTY_B, BRANCH_B, COMMUNITY_B = "org_county_b", "org_branch_b", "org_community_b"
FOREIGN_CITY, FOREIGN_BRANCH, FOREIGN_COMMUNITY = "org_city_x", "org_branch_x", "org_community_x"
PATHS = {
    CITY: [CITY], COUNTY: [CITY, COUNTY], BRANCH: [CITY, COUNTY, BRANCH], BRANCH2: [CITY, COUNTY, BRANCH2],
    COMMUNITY: [CITY, COUNTY, COMMUNITY], COUNTY_B: [CITY, COUNTY_B], BRANCH_B: [CITY, COUNTY_B, BRANCH_B],
    COMMUNITY_B: [CITY, COUNTY_B, COMMUNITY_B], FOREIGN_CITY: [FOREIGN_CITY],
    FOREIGN_BRANCH: [FOREIGN_CITY, FOREIGN_BRANCH], FOREIGN_COMMUNITY: [FOREIGN_CITY, FOREIGN_COMMUNITY],
}
NAMES = {CITY: "市委", COUNTY: "一区委", BRANCH: "一支部", BRANCH2: "二支部", COMMUNITY: "东关社区",
         COUNTY_B: "二区委", BRANCH_B: "三支部", COMMUNITY_B: "西关社区", FOREIGN_CITY: "外市",
         FOREIGN_BRANCH: "外支部", FOREIGN_COMMUNITY: "外社区"}
BRANCHES = {BRANCH, BRANCH2, BRANCH_B, FOREIGN_BRANCH}
MEMBERS = {"m_1": ("张三", BRANCH, "full"), "m_2": ("李四", BRANCH, "full"), "m_secretary": ("王书记", BRANCH, "full"),
           "m_3": ("赵六", BRANCH2, "probationary"), "m_4": ("孙七", BRANCH_B, "full"),
           "m_x": ("外人", FOREIGN_BRANCH, "full")}
VENUE = (33.0676, 107.0238)


def tenant_of(org_id: str) -> str:
    return OTHER_TENANT if PATHS[org_id][0] == FOREIGN_CITY else TENANT


def scope(role: str | None, org_id: str | None = None, tenant_id: str = TENANT, member_id: str | None = None,
          branch_id: str | None = None) -> dict:
    roles = [{"role": role, "org_id": org_id}] if role else []
    return {"account_id": f"acc_{role or 'member'}_{org_id or member_id}", "tenant_id": tenant_id, "roles": roles,
            "member_id": member_id, "branch_id": branch_id}


CITY_ADMIN = scope("org_admin", CITY)
COUNTY_ADMIN = scope("org_admin", COUNTY)
OTHER_COUNTY_ADMIN = scope("org_admin", COUNTY_B)
COMMUNITY_ADMIN = scope("org_admin", COMMUNITY)
SECRETARY = scope("branch_secretary", BRANCH, member_id="m_secretary", branch_id=BRANCH)
MEMBER = scope("member", member_id="m_1", branch_id=BRANCH)
MEMBER_2 = scope("member", member_id="m_2", branch_id=BRANCH)
MEMBER_3 = scope("member", member_id="m_3", branch_id=BRANCH2)
OTHER_MEMBER = scope("member", member_id="m_4", branch_id=BRANCH_B)
FOREIGN_ADMIN = scope("org_admin", FOREIGN_CITY, tenant_id=OTHER_TENANT)
FOREIGN_MEMBER = scope("member", tenant_id=OTHER_TENANT, member_id="m_x", branch_id=FOREIGN_BRANCH)
CITIZEN = {"account_id": "acc_citizen", "tenant_id": TENANT, "roles": [], "member_id": None, "branch_id": None}


def _managed(scope_: dict) -> set[str]:
    return {grant["org_id"] for grant in scope_.get("roles") or [] if grant["role"] in ("org_admin", "branch_secretary")}


def org_view(org_id: str) -> dict:
    path = PATHS[org_id]
    return {"id": org_id, "tenant_id": tenant_of(org_id), "name": NAMES[org_id], "path_ids": list(path),
            "path_names": [NAMES[o] for o in path], "kind": "branch" if org_id in BRANCHES else "committee",
            "field": "community" if "community" in org_id else "", "level": len(path) - 1}


class FakeIdentity:
    """identity as volunteer calls it, refusing as identity does: a node to a caller that manages a node on its
    path or whose own branch it is, a member to itself or its managers; anything else is not found."""

    def __init__(self):
        self.asked: list[tuple] = []

    def get_org(self, scope: dict, org_id: str) -> dict:
        self.asked.append(("get_org", org_id))
        if org_id in PATHS and tenant_of(org_id) == scope.get("tenant_id") and (
                _managed(scope) & set(PATHS[org_id]) or scope.get("branch_id") == org_id):
            return org_view(org_id)
        raise NotFound("组织不存在或不在您的管辖范围内", code="ORG_NOT_FOUND", field="org_id")

    def get_member(self, scope: dict, member_id: str) -> dict:
        self.asked.append(("get_member", member_id))
        if member_id in MEMBERS:
            name, branch_id, status = MEMBERS[member_id]
            if tenant_of(branch_id) == scope.get("tenant_id") and (
                    member_id == scope.get("member_id") or _managed(scope) & set(PATHS[branch_id])):
                return {"id": member_id, "name": name, "branch_id": branch_id, "status": status}
        raise NotFound("党员不存在或不在您的管辖范围内", code="MEMBER_NOT_FOUND", field="member_id")

    def branches_under(self, scope: dict, org_id: str) -> dict:
        self.asked.append(("branches_under", org_id))
        root = self.get_org(scope, org_id)
        if not _managed(scope) & set(root["path_ids"]):
            raise NotFound("组织不存在或不在您的管辖范围内", code="ORG_NOT_FOUND", field="org_id")
        return {"branches": [{"org_id": b, "name": NAMES[b], "path_ids": PATHS[b]} for b in sorted(BRANCHES)
                             if org_id in PATHS[b] and tenant_of(b) == root["tenant_id"]]}

    def branch_rosters(self, tenant_id: str = "", branch_ids=()) -> dict:
        self.asked.append(("branch_rosters", tuple(branch_ids)))
        return {b: [{"member_id": m, "name": name, "mobile": False} for m, (name, branch, _) in MEMBERS.items()
                    if branch == b] for b in branch_ids if b in PATHS and tenant_of(b) == tenant_id}


def profile(org_id: str) -> dict:
    return {"_id": org_id, "tenant_id": tenant_of(org_id), "name": NAMES[org_id], **ancestor_fields(PATHS[org_id]),
            "open": True, "address": "某路 1 号", "lat": VENUE[0], "lng": VENUE[1], "categories": []}


def _level_match(doc: dict, side: str, path_ids: list[str]) -> bool:
    return doc.get(f"{side}{len(path_ids) - 1}") == path_ids[-1]


class FakeStore:
    """The teams, 双报到 and statistics reads and writes over dicts; ``events`` holds every event committed."""

    def __init__(self):
        self.teams: dict[str, dict] = {}
        self.team_members: dict[str, dict] = {}
        self.team_events: dict[str, dict] = {}
        self.signups: dict[str, dict] = {}
        self.reports: dict[str, dict] = {}
        self.hours: dict[str, dict] = {}
        self.orders: dict[str, dict] = {}
        self.profiles: dict[str, dict] = {COMMUNITY: profile(COMMUNITY), COMMUNITY_B: profile(COMMUNITY_B),
                                          FOREIGN_COMMUNITY: profile(FOREIGN_COMMUNITY)}
        self.settings: dict[str, dict] = {}
        self.events: list[dict] = []

    # --- shared ---------------------------------------------------------------------------------------------
    def settings_in_force(self, tenant_id: str) -> dict:
        return settings_rules.merged(self.settings.get(tenant_id))

    def profile(self, org_id: str) -> dict | None:
        return copy.deepcopy(self.profiles.get(org_id))

    # --- teams ----------------------------------------------------------------------------------------------
    def team(self, team_id):
        return copy.deepcopy(self.teams.get(team_id))

    def teams_under(self, path_ids):
        return sorted((copy.deepcopy(t) for t in self.teams.values() if _level_match(t, "a", path_ids)),
                      key=lambda t: (t["created_at"], t["_id"]))

    def teams_at(self, tenant_id, org_ids):
        return sorted((copy.deepcopy(t) for t in self.teams.values()
                       if t["org_id"] in set(org_ids) and t["tenant_id"] == tenant_id),
                      key=lambda t: (t["created_at"], t["_id"]))

    def teams_by_ids(self, team_ids):
        return {i: copy.deepcopy(self.teams[i]) for i in team_ids if i in self.teams}

    def create_team(self, team):
        self.teams[team["_id"]] = copy.deepcopy(team)
        return team

    def team_member(self, team_id, member_id):
        return copy.deepcopy(self.team_members.get(f"{team_id}:{member_id}"))

    def active_team_members(self, team_id):
        return sorted((copy.deepcopy(r) for r in self.team_members.values()
                       if r["team_id"] == team_id and r["status"] == "active"), key=lambda r: (r["joined_at"], r["_id"]))

    def memberships_of(self, member_id):
        return [copy.deepcopy(r) for r in self.team_members.values()
                if r["member_id"] == member_id and r["status"] == "active"]

    def join_team(self, membership):
        held = self.team_members.get(membership["_id"])
        if held is not None and held["status"] == "active":
            raise Conflict("您已是该队伍成员", code="ALREADY_IN_TEAM")
        self.team_members[membership["_id"]] = copy.deepcopy(membership)
        self.teams[membership["team_id"]]["member_count"] += 1
        return membership

    def leave_team(self, team_id, member_id, changes):
        held = self.team_members.get(f"{team_id}:{member_id}")
        if held is None or held["status"] != "active":
            raise Conflict("不是该队伍的成员", code="NOT_IN_TEAM")
        held.update(changes, status="left")
        self.teams[team_id]["member_count"] -= 1
        return copy.deepcopy(held)

    # --- events and sign-ups ---------------------------------------------------------------------------------
    def team_event(self, event_id):
        return copy.deepcopy(self.team_events.get(event_id))

    def events_of_teams(self, team_ids):
        return [copy.deepcopy(e) for e in self.team_events.values() if e["team_id"] in set(team_ids)]

    def create_event(self, event):
        self.team_events[event["_id"]] = copy.deepcopy(event)
        return event

    def signup(self, event_id, member_id):
        return copy.deepcopy(self.signups.get(f"{event_id}:{member_id}"))

    def signups_of_event(self, event_id):
        return sorted((copy.deepcopy(s) for s in self.signups.values() if s["event_id"] == event_id),
                      key=lambda s: (s["signed_up_at"], s["_id"]))

    def signups_of_member(self, member_id):
        return {s["event_id"]: copy.deepcopy(s) for s in self.signups.values() if s["member_id"] == member_id}

    def sign_up(self, event, signup):
        stored = self.team_events[event["_id"]]
        if stored["status"] != "open":
            raise Conflict("活动已结束", code="EVENT_CLOSED")
        if stored["signed_up"] >= stored["capacity"]:
            raise Conflict("报名人数已满", code="EVENT_FULL")
        held = self.signups.get(signup["_id"])
        if held is not None and held["status"] != "cancelled":
            raise Conflict("您已报名该活动", code="ALREADY_SIGNED_UP")
        stored["signed_up"] += 1
        self.signups[signup["_id"]] = copy.deepcopy(signup)
        return signup

    def _move(self, signup, expected, changes, counter, step):
        stored = self.team_events[signup["event_id"]]
        if stored["status"] != "open":
            raise Conflict("活动已结束", code="EVENT_CLOSED")
        held = self.signups[signup["_id"]]
        if held["status"] != expected:
            raise Conflict("报名状态已变化，请刷新后重试", code="SIGNUP_CHANGED")
        stored[counter] += step
        held.update(changes)
        return copy.deepcopy(held)

    def cancel_sign_up(self, signup, changes):
        return self._move(signup, "signed_up", {**changes, "status": "cancelled"}, "signed_up", -1)

    def check_in_signup(self, signup, changes):
        return self._move(signup, "signed_up", {**changes, "status": "checked_in"}, "checked_in", 1)

    def check_out_signup(self, signup, changes):
        return self._move(signup, "checked_in", {**changes, "status": "checked_out"}, "checked_out", 1)

    def close_event(self, event, changes, ledger_entries_of):
        stored = self.team_events[event["_id"]]
        if stored["status"] != "open":
            raise Conflict("活动已结束", code="EVENT_CLOSED")
        stored.update(changes)
        entries = ledger_entries_of(self.signups_of_event(event["_id"]))
        fresh = [entry for entry in entries if entry["_id"] not in self.hours]
        for entry in fresh:
            self.hours[entry["_id"]] = copy.deepcopy(entry)
            self.events.append(hours_credited(entry))
        return copy.deepcopy(stored), fresh

    # --- 双报到 --------------------------------------------------------------------------------------------------
    def current_report(self, member_id):
        return next((copy.deepcopy(r) for r in self.reports.values()
                     if r["member_id"] == member_id and r["status"] == "current"), None)

    def report_to_community(self, report, current, ended, events):
        if report["_id"] in self.reports:
            raise Conflict("报到信息已变化，请刷新后重试", code="REPORT_CHANGED")
        if current is not None:
            self.reports[current["_id"]].update(ended or {}, status="ended")
        self.reports[report["_id"]] = copy.deepcopy(report)
        self.events.extend(events)
        return report

    def current_reports_under(self, path_ids, skip=0, limit=0):
        found = sorted((copy.deepcopy(r) for r in self.reports.values()
                        if r["status"] == "current" and _level_match(r, "a", path_ids)),
                       key=lambda r: (r["reported_on"], r["reported_at"], r["_id"]), reverse=True)
        return found[skip:skip + limit] if limit else found[skip:]

    def reported_member_ids(self, branch_path):
        return {r["member_id"] for r in self.reports.values()
                if r["status"] == "current" and _level_match(r, "b", branch_path)}

    # --- hours and statistics ------------------------------------------------------------------------------------
    def hours_of_member(self, member_id, skip=0, limit=0):
        found = sorted((copy.deepcopy(h) for h in self.hours.values() if h["member_id"] == member_id),
                       key=lambda h: (h["credited_at"], h["_id"]), reverse=True)
        return found[skip:skip + limit] if limit else found[skip:]

    def total_hours_of_member(self, member_id):
        return sum(h["hours"] for h in self.hours.values() if h["member_id"] == member_id)

    def hours_by_member_at(self, pairs):
        totals = {pair: 0.0 for pair in pairs}
        for h in self.hours.values():
            if (h["member_id"], h["community_id"]) in totals:
                totals[(h["member_id"], h["community_id"])] += h["hours"]
        return totals

    def orders_placed_under(self, path_ids, since, until):
        return [copy.deepcopy(o) for o in self.orders.values() if _level_match(o, "a", path_ids)
                and (not since or o["placed_at"] >= since) and (not until or o["placed_at"] < until)]

    def _hours_under(self, side, path_ids, since_day, until_day):
        return [h for h in self.hours.values() if _level_match(h, side, path_ids)
                and (not since_day or h["day"] >= since_day) and (not until_day or h["day"] <= until_day)]

    def hours_sum_under(self, side, path_ids, since_day, until_day):
        return sum(h["hours"] for h in self._hours_under(side, path_ids, since_day, until_day))

    def hours_totals_under(self, side, path_ids, since_day, until_day, group_field, limit=None):
        totals: dict[str, dict] = {}
        for h in self._hours_under(side, path_ids, since_day, until_day):
            row = totals.setdefault(h[group_field], {"hours": 0.0, "name": ""})
            row["hours"] += h["hours"]
            if group_field == "member_id":
                row["name"] = max(row["name"], h["member_name"])
        kept = sorted(totals, key=lambda key: (-totals[key]["hours"], key))[:limit] if limit else list(totals)
        return {key: totals[key] for key in kept}


def make_service(store: FakeStore, clock: FixedClock, identity: FakeIdentity):
    return worker_factory(VolunteerService, store=store, clock=clock, identity=identity, directory=Directory())


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def identity() -> FakeIdentity:
    return FakeIdentity()


@pytest.fixture
def service(store, clock, identity):
    return make_service(store, clock, identity)
