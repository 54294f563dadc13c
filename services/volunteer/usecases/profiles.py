"""Communities' volunteer profiles: a node's managers open it for citizens' orders (address, position,
categories); citizens list the open ones of their tenant by its code."""
from __future__ import annotations

from servicekit.errors import InvalidArgument
from servicekit.geo import check_coordinates
from servicekit.security.scope import CallerScope
from servicekit.storage.subtree import ancestor_fields
from servicekit.timestamps import stamp

from services.volunteer import access
from services.volunteer.domain.orders import ADDRESS_MAX
from services.volunteer.views import profile_view

QUERY_MAX = 50


class Communities:
    def __init__(self, store, clock, identity, directory):
        self.store, self.clock, self.identity, self.directory = store, clock, identity, directory

    def list_open(self, tenant_code, q) -> dict:
        tenant_id = self.directory.tenant(self.identity, tenant_code)["tenant_id"]
        if q is not None and not isinstance(q, str):
            raise InvalidArgument("q 必须是文字", code="INVALID_TYPE", field="q")
        words = (q or "").strip()[:QUERY_MAX]
        settings = self.store.settings_in_force(tenant_id)
        rows = []
        for profile in self.store.open_profiles(tenant_id):
            if words and words not in profile.get("name", "") and words not in profile.get("address", ""):
                continue
            rows.append({"org_id": profile["_id"], "name": profile.get("name", ""),
                         "address": profile.get("address", ""), "lat": profile.get("lat"), "lng": profile.get("lng"),
                         "categories": offered(profile, settings)})
        return {"communities": rows}

    def get(self, caller: CallerScope, org_id) -> dict:
        """The managers of the node (or above) see its profile, open or not; anyone of the tenant an open one."""
        profile = self.store.profile(org_id) if isinstance(org_id, str) else None
        if profile is not None and access.same_tenant(caller, profile) and (
                profile.get("open") or caller.manages_path(profile.get("path_ids", []))):
            return {**profile_view(profile), "categories_offered": offered(
                profile, self.store.settings_in_force(caller.tenant_id))}
        if not isinstance(org_id, str) or not org_id:
            raise access.community_not_found("org_id")
        org = self.directory.org(self.identity, caller, org_id)      # identity refuses a node out of reach
        access.managed_profile_path(caller, org)
        return {"org_id": org["id"], "name": org.get("name", ""), "address": "", "lat": None, "lng": None,
                "open": False, "categories": [], "updated_at": "", "categories_offered": []}

    def set(self, caller: CallerScope, org_id, address, lat, lng, open_, categories) -> dict:
        if not isinstance(org_id, str) or not org_id.strip():
            raise InvalidArgument("缺少组织", code="REQUIRED", field="org_id")
        org = self.directory.org(self.identity, caller, org_id.strip())
        path = access.managed_profile_path(caller, org)
        if open_ is None:
            open_ = False
        if not isinstance(open_, bool):
            raise InvalidArgument("open 必须是布尔值", code="INVALID_TYPE", field="open")
        if address is None:
            address = ""
        if not isinstance(address, str):
            raise InvalidArgument("地址必须是文字", code="INVALID_TYPE", field="address")
        address = address.strip()
        if not address:
            raise InvalidArgument("社区地址不能为空", code="REQUIRED", field="address")
        if len(address) > ADDRESS_MAX:
            raise InvalidArgument(f"社区地址不能超过 {ADDRESS_MAX} 个字", code="TOO_LONG", field="address")
        lat, lng = check_coordinates(lat, lng)
        settings = self.store.settings_in_force(caller.tenant_id)
        codes = category_codes(categories, settings)
        profile = {"_id": org["id"], "tenant_id": caller.tenant_id, "name": org.get("name", ""),
                   "field": org.get("field", ""), "path_ids": path, **ancestor_fields(path), "address": address,
                   "lat": lat, "lng": lng, "open": open_, "categories": codes, "updated_by": caller.account_id,
                   "updated_at": stamp(self.clock.now())}
        self.store.save_profile(profile)
        return {**profile_view(profile), "categories_offered": offered(profile, settings)}


def category_codes(value, settings: dict) -> list[str]:
    """The category codes a community offers: [] (or none) for all of the tenant's."""
    if value is None:
        return []
    if not isinstance(value, list) or any(not isinstance(code, str) for code in value):
        raise InvalidArgument("categories 应为服务类别代码的列表", code="INVALID_TYPE", field="categories")
    known = {category["code"] for category in settings["categories"]}
    codes = list(dict.fromkeys(code.strip() for code in value))
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise InvalidArgument(f"未知的服务类别：{'、'.join(unknown)}", code="CATEGORY_UNKNOWN", field="categories")
    return codes


def offered(profile: dict, settings: dict) -> list[dict]:
    """The ``{code, label}`` of the categories the community takes orders for, in the tenant's order."""
    chosen = set(profile.get("categories") or [])
    return [dict(category) for category in settings["categories"] if not chosen or category["code"] in chosen]
