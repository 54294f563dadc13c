"""Communities' volunteer profiles (collection ``profiles``, ``_id`` the org node's id): the node opened for
citizens' orders, with its address, position and categories. The node's path and name are kept on the profile
as its managers' identity answered them, so public callers (citizens, guests) never need identity.

A mixin of ``services.volunteer.store.VolunteerStore``.
"""
from __future__ import annotations

from servicekit.storage.subtree import LEVEL_FIELDS


class ProfileRecords:
    collections: dict[str, list] = {"profiles": ["tenant_id", *LEVEL_FIELDS]}

    def profile(self, org_id: str) -> dict | None:
        return self.db.profiles.find_one({"_id": org_id}) if org_id else None

    def open_profiles(self, tenant_id: str) -> list[dict]:
        return list(self.db.profiles.find({"tenant_id": tenant_id, "open": True}).sort("name", 1))

    def save_profile(self, profile: dict) -> dict:
        self.db.profiles.replace_one({"_id": profile["_id"]}, profile, upsert=True)
        return profile
