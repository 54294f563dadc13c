"""Helpers for the volunteer order side's integration tests: a community opened for orders in a test city, members
who reported to it (双报到), citizens, orders placed and moved along, and the service's store read directly."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from servicekit.storage.mongo import open_store
from servicekit.timestamps import stamp
from services.volunteer.store import VolunteerStore
from tests.support.identity import PASSWORD, City, login

POSITION = (34.2600, 108.9400)
NEAR = {"lat": 34.2601, "lng": 108.9402, "accuracy_m": 15, "mock_location": False}


def volunteer_store() -> VolunteerStore:
    """The volunteer database as the service process sees it (same DB_PREFIX and MONGO_URI)."""
    return open_store(VolunteerStore, "volunteer")


def iso_in(minutes: float) -> str:
    return stamp(datetime.now(timezone.utc) + timedelta(minutes=minutes))


def order_fields(community_id: str, **overrides) -> dict:
    fields = {"community_id": community_id, "category": "health", "description": "帮独居老人量血压",
              "address": "幸福小区 3 号楼 2 单元", "lat": POSITION[0], "lng": POSITION[1],
              "wished_start": iso_in(5), "wished_end": iso_in(125), "contact_name": "王阿姨",
              "contact_phone": "13912345678"}
    fields.update(overrides)
    return fields


class Neighbourhood:
    """A test city whose first township committee is a community open for orders, with members of one of its
    branches who reported to it and a registered citizen."""

    def __init__(self, rpc, operator_scope):
        self.rpc = rpc
        self.city = City(rpc, operator_scope)
        self.community = self.city.committees[0]
        self.branch = self.city.branches[0][0]
        self.manager = self.city.county_admins[0]                 # manages the community's county
        self.other_manager = self.city.county_admins[1]           # another county of the same city
        rpc.volunteer.set_community_profile(scope=self.city.admin, org_id=self.community["id"], address="幸福路 1 号",
                                            lat=POSITION[0], lng=POSITION[1], open=True, categories=[])
        self.members = [self.new_member(reported=True) for _ in range(3)]
        self.citizen = self.new_citizen()

    def new_member(self, reported: bool = True, name: str = "") -> dict:
        """A member of the branch with a login: ``{"member": ..., "scope": ...}``."""
        member = self.city.add_member(self.branch, name or f"党员{uuid.uuid4().hex[:4]}")
        scope = self.city.member_login(member, f"m-{uuid.uuid4().hex[:10]}")
        if reported:
            self.rpc.volunteer.report_to_community(scope=scope, community_id=self.community["id"], reported_on="")
        return {"member": member, "scope": scope}

    def new_citizen(self) -> dict:
        phone = f"139{uuid.uuid4().int % 10 ** 8:08d}"
        self.rpc.identity.register_citizen(tenant_code=self.city.code, phone=phone, password=PASSWORD, name="王阿姨",
                                           client_address="")
        return login(self.rpc, self.city.code, phone)

    def open_order(self, needed: int = 2, **overrides) -> dict:
        """An order placed by the citizen, approved and opened for claims by the community's members."""
        order = self.rpc.volunteer.place_order(scope=self.citizen, **order_fields(self.community["id"], **overrides))
        self.rpc.volunteer.review_order(scope=self.manager, order_id=order["order_id"], decision="approve", reason="")
        return self.rpc.volunteer.dispatch_order(scope=self.manager, order_id=order["order_id"], mode="claim",
                                                 team_id="", volunteers_needed=needed, fence_radius_m=0, hours_cap=0)


def outbox_events(store: VolunteerStore, event_type: str, **match) -> list[dict]:
    """The events of ``event_type`` the service stored to publish, whose payload has the ``match`` fields."""
    found = []
    for entry in store.db.outbox.find({"routing_key": event_type}):
        payload = entry["payload"]
        if all(payload.get(key) == value for key, value in match.items()):
            found.append(payload)
    return found
