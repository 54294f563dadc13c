"""Each tenant's volunteer settings (``domain/settings.py``: defaults and validation).

A mixin of ``services.volunteer.store.VolunteerStore``. ``settings_in_force`` is what every use case reads
(H2's 双报到 deadline included): the defaults overlaid with what the tenant stored.
"""
from __future__ import annotations

from services.volunteer.domain import settings as rules


class SettingsRecords:
    collections: dict[str, list] = {"settings": []}      # _id: tenant id

    def settings_of(self, tenant_id: str) -> dict | None:
        return self.db.settings.find_one({"_id": tenant_id})

    def settings_in_force(self, tenant_id: str) -> dict:
        return rules.merged(self.settings_of(tenant_id))

    def save_settings(self, tenant_id: str, settings: dict, by: str, at: str) -> None:
        self.db.settings.update_one({"_id": tenant_id},
                                    {"$set": {**settings, "updated_by": by, "updated_at": at}}, upsert=True)
