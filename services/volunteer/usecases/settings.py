"""A tenant's volunteer settings: anyone of the tenant reads them, the city admin (an admin of the tenant's root
node) changes them."""
from __future__ import annotations

from servicekit.errors import PermissionDenied
from servicekit.security.scope import CallerScope
from servicekit.timestamps import stamp

from services.volunteer.domain import settings as rules


class VolunteerSettings:
    def __init__(self, store, clock, identity, directory):
        self.store, self.clock, self.identity, self.directory = store, clock, identity, directory

    def get(self, caller: CallerScope) -> dict:
        return self.store.settings_in_force(caller.require_tenant())

    def update(self, caller: CallerScope, changes: dict) -> dict:
        tenant_id = caller.require_tenant()
        self._require_city_admin(caller)
        result = rules.validate(changes, self.store.settings_in_force(tenant_id))
        self.store.save_settings(tenant_id, result, caller.account_id, stamp(self.clock.now()))
        return result

    def _require_city_admin(self, caller: CallerScope) -> None:
        for org_id in sorted(caller.admin_org_ids):
            if self.directory.path(self.identity, caller, org_id)[0] in caller.admin_org_ids:
                return
        raise PermissionDenied("只有市级管理员可以修改志愿服务设置", code="NOT_CITY_ADMIN")
