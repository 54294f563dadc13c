"""Sample data for the scoring service's fast tests: a small tree, callers' scopes, stored documents."""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

from servicekit.storage.subtree import ancestor_fields
from servicekit.timestamps import stamp

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=timezone.utc)     # 16:00 in China: today is 2026-12-06 there
NOW_STAMP = stamp(NOW)
TODAY = "2026-12-06"
TENANT = "ten_1"
CITY, COUNTY, BRANCH, OTHER_BRANCH = "org_city", "org_county", "org_branch", "org_branch2"
BRANCH_PATH = [CITY, COUNTY, BRANCH]


def scope(role: str, org_id: str | None, tenant_id: str | None = TENANT, member_id: str | None = None,
          branch_id: str | None = None) -> dict:
    roles = [{"role": role, "org_id": org_id}] if role else []
    return {"account_id": f"acc_{role or 'member'}_{org_id}", "tenant_id": tenant_id, "roles": roles,
            "member_id": member_id, "branch_id": branch_id}


CITY_ADMIN = scope("org_admin", CITY)
COUNTY_ADMIN = scope("org_admin", COUNTY)
SECRETARY = scope("branch_secretary", BRANCH, member_id="m_secretary", branch_id=BRANCH)
MEMBER = scope("member", None, member_id="m_1", branch_id=BRANCH)
FOREIGN_ADMIN = scope("org_admin", "org_elsewhere", tenant_id="ten_2")
OPERATOR = scope("operator", None, tenant_id=None)

HELD = {"issued": "2026-11-01T00:00:00.000Z", "held": "2026-11-20T01:00:00.000Z"}
ISSUED_ONLY = {"issued": "2026-11-01T00:00:00.000Z"}


def activity(stages: dict | None = None, **fields) -> dict:
    """An activity document as the score consumer keeps it (a branch's themed day of November 2026)."""
    return {"_id": "act_1", "tenant_id": TENANT, "branch_id": BRANCH, "branch_name": "一支部", "month": "2026-11",
            "field": "rural", "category": "", **ancestor_fields(BRANCH_PATH), "stages": dict(stages or HELD),
            "rev": 3, "score": 76.5, "breakdown": {"signin": 60.0}, "counts": {"roster": 4}, **fields}


def member(member_id: str = "m_1", branch_path: list[str] = BRANCH_PATH, tenant_id: str = TENANT) -> dict:
    """A member as the points store knows it (learned from a roster)."""
    return {"_id": member_id, "tenant_id": tenant_id, "branch_id": branch_path[-1], **ancestor_fields(branch_path)}


ORGS = {org_id: {"id": org_id, "tenant_id": TENANT, "name": org_id, "path_ids": BRANCH_PATH[:level + 1]}
        for level, org_id in enumerate(BRANCH_PATH)}


class FakeIdentity:
    """The identity RPC proxy as scoring calls it: ``get_org.call_async(...).result()``."""

    def __init__(self, orgs: dict = ORGS):
        self.orgs = orgs
        self.asked: list[tuple[dict, str]] = []
        self.get_org = SimpleNamespace(call_async=self._get_org)

    def _get_org(self, scope: dict, org_id: str):
        self.asked.append((scope, org_id))
        return SimpleNamespace(result=lambda: self.orgs[org_id])
