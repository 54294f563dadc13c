"""Sample data for the content service's fast tests: a small tree in two tenants, callers' scopes, a fake
identity that refuses what the real one refuses."""
from __future__ import annotations

from datetime import datetime, timezone

from servicekit.errors import NotFound

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=timezone.utc)     # 16:00 in China: today is 2026-12-06 there
TENANT, OTHER_TENANT = "ten_1", "ten_2"
CITY, COUNTY, BRANCH, BRANCH2 = "org_city", "org_county", "org_branch", "org_branch2"
COUNTY_B, BRANCH_B = "org_county_b", "org_branch_b"          # another county of the same city
FOREIGN_CITY, FOREIGN_BRANCH = "org_city_x", "org_branch_x"  # another tenant

PATHS = {
    CITY: [CITY], COUNTY: [CITY, COUNTY], BRANCH: [CITY, COUNTY, BRANCH], BRANCH2: [CITY, COUNTY, BRANCH2],
    COUNTY_B: [CITY, COUNTY_B], BRANCH_B: [CITY, COUNTY_B, BRANCH_B],
    FOREIGN_CITY: [FOREIGN_CITY], FOREIGN_BRANCH: [FOREIGN_CITY, FOREIGN_BRANCH],
}
KINDS = {CITY: "committee", COUNTY: "committee", COUNTY_B: "committee", FOREIGN_CITY: "committee"}
NAMES = {CITY: "市委", COUNTY: "一区委", BRANCH: "一支部", BRANCH2: "二支部", COUNTY_B: "二区委", BRANCH_B: "三支部",
         FOREIGN_CITY: "外市", FOREIGN_BRANCH: "外支部"}
ROSTERS = {BRANCH: ["m_1", "m_2", "m_secretary"], BRANCH2: ["m_3"], BRANCH_B: ["m_4"], FOREIGN_BRANCH: ["m_x"]}


def tenant_of(org_id: str) -> str:
    return OTHER_TENANT if PATHS[org_id][0] == FOREIGN_CITY else TENANT


def org_view(org_id: str) -> dict:
    path = PATHS[org_id]
    return {"id": org_id, "tenant_id": tenant_of(org_id), "parent_id": path[-2] if len(path) > 1 else "",
            "name": NAMES[org_id], "kind": KINDS.get(org_id, "branch"), "category": "", "field": "rural",
            "level": len(path) - 1, "path_ids": list(path), "path_names": [NAMES[o] for o in path]}


def scope(role: str, org_id: str | None, tenant_id: str | None = TENANT, member_id: str | None = None,
          branch_id: str | None = None) -> dict:
    roles = [{"role": role, "org_id": org_id}] if role else []
    return {"account_id": f"acc_{role or 'member'}_{org_id or member_id}", "tenant_id": tenant_id, "roles": roles,
            "member_id": member_id, "branch_id": branch_id}


CITY_ADMIN = scope("org_admin", CITY)
COUNTY_ADMIN = scope("org_admin", COUNTY)
OTHER_COUNTY_ADMIN = scope("org_admin", COUNTY_B)
SECRETARY = scope("branch_secretary", BRANCH, member_id="m_secretary", branch_id=BRANCH)
MEMBER = scope("member", None, member_id="m_1", branch_id=BRANCH)
OTHER_MEMBER = scope("member", None, member_id="m_4", branch_id=BRANCH_B)
FOREIGN_ADMIN = scope("org_admin", FOREIGN_CITY, tenant_id=OTHER_TENANT)
OPERATOR = scope("operator", None, tenant_id=None)


class FakeIdentity:
    """The identity RPC proxy as content calls it, refusing as identity does: a node is answered to a caller
    that manages a node on its path or whose own branch it is; anything else is ORG_NOT_FOUND."""

    def __init__(self):
        self.asked: list[tuple[str, str]] = []

    def get_org(self, scope: dict, org_id: str) -> dict:
        self.asked.append(("get_org", org_id))
        managed = {grant["org_id"] for grant in scope.get("roles") or []
                   if grant["role"] in ("org_admin", "branch_secretary")}
        if org_id in PATHS and tenant_of(org_id) == scope.get("tenant_id") and (
                managed & set(PATHS[org_id]) or scope.get("branch_id") == org_id):
            return org_view(org_id)
        raise NotFound("组织不存在或不在您的管辖范围内", code="ORG_NOT_FOUND", field="org_id")

    def branches_under(self, scope: dict, org_id: str) -> dict:
        root = self.get_org(scope, org_id)
        views = [org_view(o) for o, path in PATHS.items()
                 if org_id in path and KINDS.get(o, "branch") == "branch" and tenant_of(o) == root["tenant_id"]]
        # as identity answers it: org_id (not id) per branch
        return {"branches": [{"org_id": v["id"], "name": v["name"], "path_ids": v["path_ids"],
                              "path_names": v["path_names"], "field": v["field"], "category": v["category"],
                              "level": v["level"]} for v in views]}

    def branch_rosters(self, tenant_id: str = "", branch_ids=()) -> dict:
        self.asked.append(("branch_rosters", ",".join(branch_ids)))
        return {branch_id: [{"member_id": m, "name": m, "mobile": False}
                            for m in ROSTERS.get(branch_id, [])]
                for branch_id in branch_ids if branch_id in PATHS and tenant_of(branch_id) == tenant_id}

    def branch_roster_sizes(self, tenant_id: str = "", branch_ids=()) -> dict:
        """As identity answers it: every branch asked, with the size of the roster ``branch_rosters`` lists (0 for
        another tenant's or an unknown branch), no names."""
        self.asked.append(("branch_roster_sizes", ",".join(branch_ids)))
        return {branch_id: len(ROSTERS.get(branch_id, []))
                if branch_id in PATHS and tenant_of(branch_id) == tenant_id else 0 for branch_id in branch_ids}
