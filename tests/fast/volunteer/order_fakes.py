"""Sample data and fixtures for the order side's fast tests: a small tree in two tenants, callers' scopes, a fake
identity that refuses what the real one refuses, and a fake store (a MagicMock shaped like the real one, so a
call to anything the store does not have fails) whose writes answer what the real ones would.

The fixtures are imported by the order-side test modules themselves (``from ... import *``), so they do not
depend on a conftest shared with the teams' tests."""
from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from unittest.mock import MagicMock

import pytest
from nameko.testing.services import worker_factory

from servicekit.errors import NotFound
from servicekit.process.clock import FixedClock
from servicekit.storage.subtree import ancestor_fields
from servicekit.timestamps import stamp
from services.volunteer.directory import Directory
from services.volunteer.domain import settings as setting_rules
from services.volunteer.service import VolunteerService
from services.volunteer.store import VolunteerStore

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=timezone.utc)     # 16:00 in China
TENANT, OTHER_TENANT = "ten_1", "ten_2"
TENANT_CODE, OTHER_CODE = "xian", "other"
CITY, COUNTY, COMMUNITY, BRANCH = "org_city", "org_county", "org_comm", "org_branch"
COUNTY_B, COMMUNITY_B = "org_county_b", "org_comm_b"
FOREIGN_CITY, FOREIGN_COMMUNITY = "org_city_x", "org_comm_x"
PATHS = {
    CITY: [CITY], COUNTY: [CITY, COUNTY], COMMUNITY: [CITY, COUNTY, COMMUNITY], BRANCH: [CITY, COUNTY, BRANCH],
    COUNTY_B: [CITY, COUNTY_B], COMMUNITY_B: [CITY, COUNTY_B, COMMUNITY_B],
    FOREIGN_CITY: [FOREIGN_CITY], FOREIGN_COMMUNITY: [FOREIGN_CITY, FOREIGN_COMMUNITY],
}
NAMES = {CITY: "市委", COUNTY: "一区委", COMMUNITY: "幸福社区", BRANCH: "一支部", COUNTY_B: "二区委",
         COMMUNITY_B: "和平社区", FOREIGN_CITY: "外市", FOREIGN_COMMUNITY: "外社区"}
MEMBERS = {"m_1": ("李党员", BRANCH), "m_2": ("赵党员", BRANCH), "m_3": ("钱党员", BRANCH),
           "m_x": ("外党员", FOREIGN_COMMUNITY)}


def tenant_of(org_id: str) -> str:
    return OTHER_TENANT if PATHS[org_id][0] == FOREIGN_CITY else TENANT


def org_view(org_id: str) -> dict:
    return {"id": org_id, "tenant_id": tenant_of(org_id), "name": NAMES[org_id], "field": "community",
            "kind": "committee", "path_ids": list(PATHS[org_id])}


def scope(role: str, org_id: str | None, tenant_id: str | None = TENANT, member_id: str | None = None,
          branch_id: str | None = None, account: str | None = None) -> dict:
    roles = [{"role": role, "org_id": org_id}] if role else []
    return {"account_id": account or f"acc_{role or 'member'}_{org_id or member_id}", "tenant_id": tenant_id,
            "roles": roles, "member_id": member_id, "branch_id": branch_id}


CITY_ADMIN = scope("org_admin", CITY)
COUNTY_ADMIN = scope("org_admin", COUNTY)
COMMUNITY_ADMIN = scope("branch_secretary", COMMUNITY)
OTHER_COUNTY_ADMIN = scope("org_admin", COUNTY_B)
FOREIGN_ADMIN = scope("org_admin", FOREIGN_CITY, tenant_id=OTHER_TENANT)
MEMBER = scope("member", None, member_id="m_1", branch_id=BRANCH)
MEMBER_2 = scope("member", None, member_id="m_2", branch_id=BRANCH)
MEMBER_3 = scope("member", None, member_id="m_3", branch_id=BRANCH)
FOREIGN_MEMBER = scope("member", None, tenant_id=OTHER_TENANT, member_id="m_x", branch_id=FOREIGN_COMMUNITY)
CITIZEN = scope("citizen", None, account="acc_citizen_1")
OTHER_CITIZEN = scope("citizen", None, account="acc_citizen_2")
FOREIGN_CITIZEN = scope("citizen", None, tenant_id=OTHER_TENANT, account="acc_citizen_x")

CLOSE_BY = (34.2601, 108.9402)      # a few metres from the order's position
ORDER_POSITION = (34.2600, 108.9400)


class FakeIdentity:
    """The identity RPC proxy as volunteer calls it, refusing as identity does."""

    def __init__(self):
        self.asked: list[tuple[str, str]] = []

    def tenant_by_code(self, tenant_code: str) -> dict:
        self.asked.append(("tenant_by_code", tenant_code))
        known = {TENANT_CODE: (TENANT, CITY), OTHER_CODE: (OTHER_TENANT, FOREIGN_CITY)}
        if tenant_code not in known:
            raise NotFound("租户不存在", code="TENANT_NOT_FOUND", field="tenant_code")
        tenant_id, root = known[tenant_code]
        return {"tenant_id": tenant_id, "code": tenant_code, "name": "测试市", "root_org_id": root}

    def get_org(self, scope: dict, org_id: str) -> dict:
        self.asked.append(("get_org", org_id))
        managed = {grant["org_id"] for grant in scope.get("roles") or []
                   if grant["role"] in ("org_admin", "branch_secretary")}
        if org_id in PATHS and tenant_of(org_id) == scope.get("tenant_id") and (
                managed & set(PATHS[org_id]) or scope.get("branch_id") == org_id):
            return org_view(org_id)
        raise NotFound("组织不存在或不在您的管辖范围内", code="ORG_NOT_FOUND", field="org_id")

    def get_member(self, scope: dict, member_id: str) -> dict:
        self.asked.append(("get_member", member_id))
        if member_id in MEMBERS and (scope.get("member_id") == member_id):
            name, branch = MEMBERS[member_id]
            return {"id": member_id, "name": name, "branch_id": branch, "tenant_id": tenant_of(branch),
                    "phone": "13800000000"}
        raise NotFound("党员不存在", code="MEMBER_NOT_FOUND", field="member_id")


def profile(org_id: str = COMMUNITY, open_: bool = True, categories=()) -> dict:
    return {"_id": org_id, "tenant_id": tenant_of(org_id), "name": NAMES[org_id], "path_ids": PATHS[org_id],
            **ancestor_fields(PATHS[org_id]), "address": "幸福路 1 号", "lat": ORDER_POSITION[0],
            "lng": ORDER_POSITION[1], "open": open_, "categories": list(categories)}


def stored_order(status: str = "placed", org_id: str = COMMUNITY, **fields) -> dict:
    """An order as the store keeps it."""
    doc = {"_id": "ord_1", "tenant_id": tenant_of(org_id), "community_id": org_id, "community_name": NAMES[org_id],
           **ancestor_fields(PATHS[org_id]), "category": "health", "category_label": "健康服务",
           "description": "帮老人量血压", "address": "幸福小区 3 号楼", "lat": ORDER_POSITION[0],
           "lng": ORDER_POSITION[1], "wished_start": stamp(NOW + timedelta(minutes=30)),
           "wished_end": stamp(NOW + timedelta(hours=3)), "contact_name": "王阿姨", "contact_phone": "13912345678",
           "phone_last4": "5678", "account_id": CITIZEN["account_id"], "placed_by": "citizen", "status": status,
           "placed_at": stamp(NOW - timedelta(hours=1)), "history": [], "claimed": 0, "places_left": 0,
           "pending": 0, "photo_ids": [], "wrong_guesses": 0, "review_due_at": stamp(NOW + timedelta(hours=23))}
    if status not in ("placed", "approved", "rejected", "merged", "cancelled"):
        doc.update(mode="claim", team_id="", volunteers_needed=2, places_left=2, fence_radius_m=300, hours_cap=8.0,
                   dispatched_at=stamp(NOW - timedelta(minutes=30)))
    doc.update(fields)
    return doc


def stored_claim(status: str = "claimed", member_id: str = "m_1", order_id: str = "ord_1", **fields) -> dict:
    name, branch = MEMBERS[member_id]
    doc = {"_id": f"{order_id}:{member_id}", "tenant_id": tenant_of(branch), "order_id": order_id,
           "community_id": COMMUNITY, "member_id": member_id, "name": name, "branch_id": branch,
           "branch_path": PATHS[branch], "status": status, "claimed_at": stamp(NOW - timedelta(minutes=20)),
           "release_at": stamp(NOW + timedelta(hours=1)), "checked_in_at": None, "checked_out_at": None,
           "hours": 0.0, "phone": "13800000000"}
    doc.update(fields)
    return doc


class Stored:
    """What the fake store holds: one order (or none), its claims, the community profiles, the tenant's settings;
    the store's writes change it as the real ones would, so a test reads what was written."""

    def __init__(self):
        self.orders: dict[str, dict] = {}
        self.claims: dict[str, dict] = {}
        self.profiles = {org_id: profile(org_id) for org_id in (COMMUNITY, COMMUNITY_B, FOREIGN_COMMUNITY)}
        self.reports: set[tuple[str, str]] = set()      # (member_id, community_id)
        self.teams: dict[str, dict] = {}
        self.team_members: set[tuple[str, str]] = set()  # (team_id, member_id)
        self.events: list[dict] = []
        self.credited: list[dict] = []

    def put(self, *docs: dict) -> None:
        for doc in docs:
            (self.claims if ":" in doc["_id"] else self.orders)[doc["_id"]] = copy.deepcopy(doc)


def fake_store(stored: Stored) -> MagicMock:
    store = MagicMock(spec=VolunteerStore)
    store.settings_in_force.side_effect = lambda tenant_id: setting_rules.merged(None)
    store.profile.side_effect = lambda org_id: copy.deepcopy(stored.profiles.get(org_id))
    store.open_profiles.side_effect = lambda tenant_id: [copy.deepcopy(p) for p in stored.profiles.values()
                                                         if p["tenant_id"] == tenant_id and p["open"]]
    store.order.side_effect = lambda order_id: copy.deepcopy(stored.orders.get(order_id))
    store.orders_by_ids.side_effect = lambda ids: {i: copy.deepcopy(stored.orders[i]) for i in ids
                                                   if i in stored.orders}
    store.order_by_tracking_hash.side_effect = lambda digest: next(
        (copy.deepcopy(o) for o in stored.orders.values() if o.get("tracking_hash") == digest), None)
    store.claim.side_effect = lambda claim_id: copy.deepcopy(stored.claims.get(claim_id))
    store.claims_of_order.side_effect = lambda order_id: [copy.deepcopy(c) for c in stored.claims.values()
                                                          if c["order_id"] == order_id]
    store.claims_of_orders.side_effect = lambda ids: {i: [copy.deepcopy(c) for c in stored.claims.values()
                                                          if c["order_id"] == i] for i in ids}
    store.member_claims_on.side_effect = lambda member_id, ids: {
        c["order_id"]: copy.deepcopy(c) for c in stored.claims.values()
        if c["member_id"] == member_id and c["order_id"] in set(ids)}
    store.reported_to.side_effect = lambda member_id, community_id: (member_id, community_id) in stored.reports
    store.current_report_community.side_effect = lambda member_id: next(
        (community for member, community in stored.reports if member == member_id), None)
    store.in_team.side_effect = lambda member_id, team_id: (team_id, member_id) in stored.team_members
    store.active_team_ids.side_effect = lambda member_id: [t for t, m in stored.team_members if m == member_id]
    store.team.side_effect = lambda team_id: copy.deepcopy(stored.teams.get(team_id))
    store.open_orders_of_community.side_effect = lambda community_id: [
        copy.deepcopy(o) for o in stored.orders.values()
        if o["community_id"] == community_id and o["status"] == "open" and o.get("mode") == "claim"]
    store.open_orders_of_teams.side_effect = lambda team_ids: [
        copy.deepcopy(o) for o in stored.orders.values()
        if o.get("team_id") in team_ids and o["status"] == "open" and o.get("mode") == "team"]

    def place_order(order, events):
        stored.put(order)
        stored.events.extend(events)
        return order

    def step_order(order_id, step, fields, events, unset=(), credit=None):
        order = stored.orders[order_id]
        assert order["status"] == step.source.value
        order.update(fields, status=step.target.value, history=[*order["history"], step.entry])
        for name in unset:
            order.pop(name, None)
        stored.events.extend(events)
        stored.credited.extend(credit or [])
        return copy.deepcopy(order)

    def take_place(claim, events):
        order = stored.orders[claim["order_id"]]
        order.update(places_left=order["places_left"] - 1, claimed=order["claimed"] + 1,
                     pending=order["pending"] + 1)
        stored.claims[claim["_id"]] = dict(claim)
        stored.events.extend(events)
        return dict(claim), copy.deepcopy(order)

    def change_claim(claim_id, action, changes, order_inc, follow_up, events):
        claim = stored.claims[claim_id]
        claim.update(changes)
        claim.pop("release_at", None)
        order = stored.orders[claim["order_id"]]
        for name, delta in (order_inc or {}).items():
            order[name] = order.get(name, 0) + delta
        stored.events.extend(events)
        then = follow_up(copy.deepcopy(order)) if follow_up else None
        if then is not None:
            step, fields, _unset, more = then
            order.update(fields, status=step.target.value, history=[*order["history"], step.entry])
            stored.events.extend(more)
        return copy.deepcopy(claim), copy.deepcopy(order)

    store.place_order.side_effect = place_order
    store.step_order.side_effect = step_order
    store.take_place.side_effect = take_place
    store.change_claim.side_effect = change_claim
    return store


WRITES = ("place_order", "step_order", "merge_order", "take_place", "change_claim", "save_profile", "save_settings",
          "add_order_photo", "set_completion_text", "note_wrong_guess", "credit_hours", "mark_overdue")


def assert_nothing_written(store: MagicMock) -> None:
    for name in WRITES:
        getattr(store, name).assert_not_called()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def stored() -> Stored:
    return Stored()


@pytest.fixture
def store(stored) -> MagicMock:
    return fake_store(stored)


@pytest.fixture
def identity() -> FakeIdentity:
    return FakeIdentity()


@pytest.fixture
def service(store, clock, identity) -> VolunteerService:
    return worker_factory(VolunteerService, store=store, clock=clock, identity=identity, directory=Directory())


__all__ = ["clock", "stored", "store", "identity", "service"]
