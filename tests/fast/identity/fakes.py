"""Fakes and sample data for the identity service's fast tests: a tree of organisations, callers' scopes, a
cipher that needs no keys."""
from __future__ import annotations

from datetime import datetime, timezone
from unittest.mock import MagicMock

from servicekit.timestamps import stamp
from services.identity.store import ancestor_fields

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=timezone.utc)
NOW_STAMP = stamp(NOW)
TENANT = "ten_1"


def org(org_id: str, kind: str, path: list[str], tenant_id: str = TENANT, name: str = "") -> dict:
    return {"_id": org_id, "tenant_id": tenant_id, "name": name or org_id, "kind": kind, "category": "", "field": "",
            "parent_id": path[-2] if len(path) > 1 else None, "level": len(path) - 1, **ancestor_fields(path)}


CITY = org("org_city", "city", ["org_city"])
COUNTY = org("org_county", "county", ["org_city", "org_county"])
COUNTY2 = org("org_county2", "county", ["org_city", "org_county2"])
BRANCH = org("org_branch", "branch", ["org_city", "org_county", "org_branch"])
OTHER_BRANCH = org("org_branch2", "branch", ["org_city", "org_county", "org_branch2"])
FOREIGN_BRANCH = org("org_foreign", "branch", ["org_elsewhere", "org_foreign"], tenant_id="ten_2")
ORGS = {doc["_id"]: doc for doc in (CITY, COUNTY, COUNTY2, BRANCH, OTHER_BRANCH, FOREIGN_BRANCH)}


def scope(role: str, org_id: str | None, tenant_id: str | None = TENANT, member_id: str | None = None) -> dict:
    return {"account_id": f"acc_{role}", "tenant_id": tenant_id, "roles": [{"role": role, "org_id": org_id}],
            "member_id": member_id, "branch_id": None}


CITY_ADMIN = scope("org_admin", "org_city")
COUNTY_ADMIN = scope("org_admin", "org_county")
SECRETARY = scope("branch_secretary", "org_branch")
FOREIGN_ADMIN = scope("org_admin", "org_elsewhere", tenant_id="ten_2")
OPERATOR = scope("operator", None, tenant_id=None)
CITIZEN = scope("citizen", None)


class FakeCipher:
    def encrypt(self, tenant_id: str, value: str, field: str, record_id: str) -> str:
        return f"enc:{tenant_id}:{value}"

    def blind_index(self, tenant_id: str, value: str) -> str:
        return f"idx:{tenant_id}:{value}"


def writes_of(store: MagicMock) -> list[str]:
    """The names of the store's writes that were called (a refusal must leave this empty)."""
    reads = {"org", "orgs_by_ids", "member", "subtree", "subtree_height", "children", "has_members",
             "existing_id_indexes", "pending_transfer_of", "account_by_login", "account", "tenant_by_code", "tenant",
             "transfer", "transfers", "members_in", "search_members", "accounts_in", "member_names",
             "party_members_of", "session", "live_sessions", "member_accounts", "root_admins", "revocations_since"}
    return [name for name, _, _ in store.method_calls if name.split(".")[0] not in reads]
