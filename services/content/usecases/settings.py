"""A tenant's content settings: anyone of the tenant reads them, the city admin changes them."""
from __future__ import annotations

from servicekit.security.scope import CallerScope
from servicekit.timestamps import stamp

from services.content import access
from services.content.domain import settings as rules


class Settings:
    def __init__(self, store, clock, identity, org_paths):
        self.store, self.clock, self.identity, self.org_paths = store, clock, identity, org_paths

    def get(self, caller: CallerScope) -> dict:
        caller.require_tenant()
        return rules.merged(self.store.settings_of(caller.tenant_id))

    def set(self, caller: CallerScope, changes) -> dict:
        caller.require_tenant()
        access.require_city_admin(caller, self.org_paths, self.identity)
        result = rules.validate(changes, self.get(caller))
        self.store.save_settings(caller.tenant_id, result, caller.account_id, stamp(self.clock.now()))
        return result
