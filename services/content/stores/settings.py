"""Each tenant's content settings (``domain/settings.py``).

A mixin of ``services.content.store.ContentStore``.
"""
from __future__ import annotations


class SettingsRecords:
    collections: dict[str, list] = {"settings": []}      # _id: tenant id

    def settings_of(self, tenant_id: str) -> dict | None:
        return self.db.settings.find_one({"_id": tenant_id})

    def save_settings(self, tenant_id: str, settings: dict, by: str, at: str) -> None:
        self.db.settings.update_one({"_id": tenant_id},
                                    {"$set": {**settings, "updated_by": by, "updated_at": at}}, upsert=True)
