"""Helpers for end-to-end tests of volunteer ordering through the gateway: a city with a community open for orders,
members who reported to it (双报到), and citizens who register and log in over HTTP as a new user would."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

from gateway.client import ApiError, HttpClient
from servicekit.timestamps import stamp
from tests.support.identity import PASSWORD, City
from tests.support.volunteer_orders import volunteer_store

# the community's service position (WGS-84) and a point some 2 km away, outside any fence
HOME = {"lat": 34.2610, "lng": 108.9420}
FAR = {"lat": 34.2790, "lng": 108.9420}
GOOD_FIX = {**HOME, "accuracy_m": 8.0, "mock_location": False}
SERVED_MINUTES = 30
_sequence = iter(range(1, 10_000_000))


def served_for(kind: str, record_id: str, member_id: str, minutes: float = SERVED_MINUTES) -> None:
    """The member checked in to the order or event ``minutes`` ago: the service counts hours from the stored
    check-in to the check-out, so a test of credited hours serves no wall-clock time. ``kind``: order | event."""
    store = volunteer_store()
    rows = store.db.claims if kind == "order" else store.db.event_signups
    at = stamp(datetime.now(timezone.utc) - timedelta(minutes=minutes))
    moved = rows.update_one({"_id": f"{record_id}:{member_id}", "status": "checked_in"},
                            {"$set": {"checked_in_at": at}})
    assert moved.modified_count == 1, f"{member_id} has not checked in to {kind} {record_id}"


def unique_phone(prefix: str = "139") -> str:
    """A mainland mobile number not used before in this test session."""
    return f"{prefix}{uuid.uuid4().int % 10_000:04d}{next(_sequence) % 10_000:04d}"


def forwarded_address() -> str:
    """A client address of its own, as the gateway's trusted proxy (127.0.0.1 in the e2e tier) forwards it: each
    registration is counted on its own address, so the session's registrations never meet the throttle."""
    return f"198.18.{uuid.uuid4().int % 256}.{uuid.uuid4().int % 254 + 1}"


def post_json(base_url: str, path: str, body: dict, headers: dict | None = None) -> tuple[int, dict, dict]:
    """POST a JSON body; (status, answer, response headers by lower-case name), errors included."""
    request = urllib.request.Request(base_url + path, data=json.dumps(body, ensure_ascii=False).encode(),
                                     method="POST", headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read()), {k.lower(): v for k, v in answer.headers.items()}
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}"), {k.lower(): v for k, v in error.headers.items()}


def register_citizen(base_url: str, tenant_code: str, phone: str, name: str = "王阿姨",
                     address: str | None = None) -> dict:
    status, answer, _ = post_json(base_url, "/v1/citizens", {"tenant_code": tenant_code, "phone": phone,
                                                             "password": PASSWORD, "name": name},
                                  {"X-Forwarded-For": address or forwarded_address()})
    if status != 200:
        error = answer.get("error", {})
        raise ApiError(status, error.get("code", ""), error.get("message", ""), error.get("field"))
    return answer


def citizen_client(base_url: str, tenant_code: str, name: str = "王阿姨") -> tuple[HttpClient, str]:
    """A citizen who registered and logged in over HTTP, and its phone."""
    phone = unique_phone()
    register_citizen(base_url, tenant_code, phone, name)
    citizen = HttpClient(base_url)
    citizen.login(tenant_code, phone, PASSWORD)
    return citizen, phone


def wished_window(start_in_minutes: int = 30, hours: int = 3) -> tuple[str, str]:
    """A wished service time starting soon (check-in opens an hour before the start), in China's time zone."""
    start = datetime.now(timezone(timedelta(hours=8))).replace(microsecond=0) + timedelta(minutes=start_in_minutes)
    return start.isoformat(), (start + timedelta(hours=hours)).isoformat()


def order_fields(community_id: str, **overrides) -> dict:
    start, end = wished_window()
    return {"community_id": community_id, "category": "health", "description": "陪同老人去医院复诊",
            "address": "幸福小区3号楼2单元", **HOME, "wished_start": start, "wished_end": end,
            "contact_name": "王阿姨", "contact_phone": "13912345678", **overrides}


class VolunteerCity:
    """A city (tests.support.identity.City) whose first committee has a community (幸福社区) open for orders, with
    its own admin; members of the first county's first branch who reported to it, each with a login and a phone
    of its own; everyone's HTTP clients through the gateway."""

    def __init__(self, rpc, operator_scope, base_url: str, members: int = 3):
        self.rpc, self.base_url = rpc, base_url
        self.city = City(rpc, operator_scope)
        self.code = self.city.code
        self.community = rpc.identity.create_org(scope=self.city.admin, parent_id=self.city.committees[0]["id"],
                                                 name="幸福社区", kind="general_branch", field="community")
        self.manager = self.staff_client("org_admin", self.community["id"])
        self.manager.call("SetCommunityProfile", {"org_id": self.community["id"], "address": "幸福路1号", **HOME,
                                                  "open": True})
        self.county_admin = self.login("county1")
        self.other_county_admin = self.login("county2")
        self.branch = self.city.branches[0][0]
        self.members = [self.member(f"志愿者{index}") for index in range(1, members + 1)]

    def login(self, username: str) -> HttpClient:
        client = HttpClient(self.base_url)
        client.login(self.code, username, PASSWORD)
        return client

    def staff_client(self, role: str, org_id: str) -> HttpClient:
        username = f"{role[:3]}-{uuid.uuid4().hex[:8]}"
        self.rpc.identity.create_account(scope=self.city.admin, username=username, password=PASSWORD, role=role,
                                         org_id=org_id)
        return self.login(username)

    def member(self, name: str, branch: dict | None = None, report: bool = True) -> "Member":
        phone = unique_phone("137")
        record = self.city.add_member(branch or self.branch, name, phone=phone)
        username = f"m-{uuid.uuid4().hex[:8]}"
        self.rpc.identity.create_account(scope=self.city.admin, username=username, password=PASSWORD, role="member",
                                         member_id=record["id"])
        member = Member(record["id"], name, phone, self.login(username))
        if report:
            member.client.call("ReportToCommunity", {"community_id": self.community["id"]})
        return member

    def citizen(self, name: str = "王阿姨") -> tuple[HttpClient, str]:
        return citizen_client(self.base_url, self.code, name)


class Member:
    def __init__(self, member_id: str, name: str, phone: str, client: HttpClient):
        self.id, self.name, self.phone, self.client = member_id, name, phone, client
