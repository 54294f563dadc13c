"""Helpers for tests that drive a themed party day through the attendance service.

The service's clock is shifted with ``set_clock_offset`` (its test build, tests/support/builds.py), so a
day runs from sign-in to closing in seconds. Each ThemedDay plans its activity on its own
future date, and sets the clock absolutely before every step.
"""
from __future__ import annotations

import copy
import io
import itertools
import math
import struct
import zlib
from datetime import date, datetime, timedelta, timezone

from PIL import Image

from servicekit.timestamps import parse_stamp, stamp

from tests.support.identity import PASSWORD, City, login
from tests.support.proofs import acting_as

VENUE = (33.0676, 107.0238)           # 汉中市 (WGS-84)
_days_ahead = itertools.count(3)


def point_at(distance_m: float, bearing_deg: float = 90.0, origin=VENUE) -> tuple[float, float]:
    """The position ``distance_m`` metres from ``origin`` along ``bearing_deg``."""
    radius = 6371008.8
    lat1, lng1 = math.radians(origin[0]), math.radians(origin[1])
    bearing, angle = math.radians(bearing_deg), distance_m / radius
    lat2 = math.asin(math.sin(lat1) * math.cos(angle) + math.cos(lat1) * math.sin(angle) * math.cos(bearing))
    lng2 = lng1 + math.atan2(math.sin(bearing) * math.sin(angle) * math.cos(lat1),
                             math.cos(angle) - math.sin(lat1) * math.sin(lat2))
    return math.degrees(lat2), math.degrees(lng2)


def photo(image_format: str = "PNG", size: tuple[int, int] = (64, 64), colour=(200, 30, 30)) -> bytes:
    """A real image of ``size`` pixels (by default the smallest photo the service takes): a photo must decode."""
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, image_format)
    return out.getvalue()


def png_declaring(width: int, height: int, idat: bytes = zlib.compress(b"")) -> bytes:
    """A PNG whose header declares ``width`` × ``height`` (8-bit grey) with ``idat`` as its only image data: a few
    bytes may claim any size (a decompression bomb, or a header with nothing behind it)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


class ThemedDay:
    """One county's themed day in a test City: issued, planned for one branch, approved."""

    def __init__(self, rpc, city: City, county: int = 0, branch: int = 0, members: int = 3, mobile: int = 1):
        self.rpc, self.city = rpc, city
        self.offset = 0.0
        self.rpc.attendance.set_clock_offset(seconds=0)
        self.day = date.today() + timedelta(days=next(_days_ahead))
        self.month = self.day.strftime("%Y-%m")
        self.branch = city.branches[county][branch]
        self.county = city.counties[county]
        self.county_admin = city.county_admins[county]
        self.members = [city.add_member(self.branch, f"党员{index}") for index in range(members)]
        self.mobile_members = [city.add_member(self.branch, f"流动党员{index}", mobile=True) for index in range(mobile)]
        tag = f"{county}{branch}{id(self) % 100000}"
        self.member_usernames = [f"m{tag}-{i}" for i in range(members)]
        self.secretary_username = f"sec{tag}"
        self.member_scopes = [city.member_login(m, f"m{tag}-{i}") for i, m in enumerate(self.members)]
        self.mobile_scopes = [city.member_login(m, f"mm{tag}-{i}") for i, m in enumerate(self.mobile_members)]
        city.rpc.identity.create_account(scope=city.admin, username=self.secretary_username, password=PASSWORD,
                                         role="branch_secretary", org_id=self.branch["id"])
        self.secretary = login(rpc, city.code, self.secretary_username)

    @classmethod
    def following(cls, earlier: "ThemedDay") -> "ThemedDay":
        """The same branch's themed day of the next month, with the same people: issued, planned and approved."""
        later = copy.copy(earlier)
        later.offset = earlier.offset
        later.day = (earlier.day.replace(day=1) + timedelta(days=32)).replace(day=min(earlier.day.day, 28))
        later.month = later.day.strftime("%Y-%m")
        return later.prepared()

    def issue(self, **overrides) -> dict:
        fields = {"org_id": self.county["id"], "month": self.month, "title": "学习党章 重温誓词",
                  "due_from": (self.day - timedelta(days=2)).isoformat(),
                  "due_to": (self.day + timedelta(days=2)).isoformat()}
        fields.update(overrides)
        issued = self.rpc.attendance.issue_theme(scope=self.county_admin, **fields)
        listed = self.rpc.attendance.list_activities(scope=self.secretary, org_id=self.branch["id"],
                                                     month=self.month)["activities"]
        self.activity = next(a for a in listed if a["theme_id"] == issued["theme"]["id"])
        return issued

    def submit(self, **overrides) -> dict:
        fields = {"date": self.day.isoformat(), "start_time": "10:00", "end_time": "11:30", "venue_name": "党员活动室",
                  "venue_lat": VENUE[0], "venue_lng": VENUE[1], "optional_actions": ["参观红色教育基地"]}
        fields.update(overrides)
        return self.rpc.attendance.submit_plan(scope=self.secretary, activity_id=self.activity["id"], **fields)

    def approve(self, **overrides) -> dict:
        self.activity = self.rpc.attendance.review_plan(scope=self.county_admin, activity_id=self.activity["id"],
                                                        decision="approved", **overrides)
        return self.activity

    def prepared(self) -> "ThemedDay":
        self.issue()
        self.submit()
        self.approve()
        return self

    # --- time ---------------------------------------------------------------------
    def at(self, field: str, minutes: float = 0) -> None:
        """Set the service clock to a plan time (e.g. "start_at") plus ``minutes``, then run the sweeps."""
        target = parse_stamp(self.activity["plan"][field]) + timedelta(minutes=minutes)
        self.offset = (target - datetime.now(timezone.utc)).total_seconds()
        self.rpc.attendance.set_clock_offset(seconds=self.offset)
        with acting_as("attendance"):            # the sweeps are attendance's own to run
            self.rpc.attendance.run_sweeps()

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + timedelta(seconds=self.offset)

    # --- scans --------------------------------------------------------------------
    def allow_printed_code(self, reason: str = "活动场地无法投屏") -> dict:
        """The county admin (the superior who issued the day) allows the printed code for this activity."""
        self.activity = self.rpc.attendance.set_printed_code(scope=self.county_admin, activity_id=self.activity["id"],
                                                             allowed=True, reason=reason)
        return self.activity

    def token(self, direction: str, mode: str = "rotating") -> str:
        return self.rpc.attendance.get_qr_code(scope=self.secretary, activity_id=self.activity["id"],
                                               direction=direction, mode=mode)["token"]

    def fix(self, distance_m: float = 20.0, **overrides) -> dict:
        lat, lng = point_at(distance_m)
        # the member page's earlier position of the day (NO_MOVEMENT_TODAY otherwise): an hour before, at the venue
        earlier = {"lat": VENUE[0], "lng": VENUE[1], "taken_at": stamp(self.now() - timedelta(hours=1))}
        fix = {"lat": lat, "lng": lng, "accuracy_m": 15.0, "mock_location": False,
               "device_id": f"device-{id(overrides)}-{distance_m}", "taken_at": stamp(self.now()),
               "history": [earlier]}
        fix.update(overrides)
        return fix

    def scan(self, scope: dict, direction: str, distance_m: float = 20.0, token: str | None = None, **fix) -> dict:
        return self.rpc.attendance.record_scan(scope=scope, token=token or self.token(direction),
                                               fix=self.fix(distance_m, **fix))
