"""Documents and callers for attendance's fast tests: one branch (b1) under a county, its secretary, a superior
(an admin of the county) and a member."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from servicekit.timestamps import stamp
from services.attendance.usecases.activities import new_activity

NOW = datetime(2026, 11, 1, 2, 0, tzinfo=timezone.utc)
START = datetime(2026, 11, 20, 1, 0, tzinfo=timezone.utc)        # 09:00 in Beijing
END = START + timedelta(hours=2)
ACTIVITY_ID = "act_b1_2026-11"
PATH = ["root", "county", "b1"]

SECRETARY = {"account_id": "acc-sec", "tenant_id": "t1", "roles": [{"role": "branch_secretary", "org_id": "b1"}]}
SUPERIOR = {"account_id": "acc-county", "tenant_id": "t1", "roles": [{"role": "org_admin", "org_id": "county"}]}
MEMBER = {"account_id": "acc-m1", "tenant_id": "t1", "member_id": "m1", "branch_id": "b1",
          "roles": [{"role": "member", "org_id": "b1"}]}
OTHER_TENANT = {**SUPERIOR, "tenant_id": "t2"}


def plan(start: datetime = START) -> dict:
    return {"date": "2026-11-20", "start_at": stamp(start), "end_at": stamp(start + timedelta(hours=2)),
            "checkin_opens_at": stamp(start - timedelta(minutes=30)),
            "checkin_closes_at": stamp(start + timedelta(minutes=10)),
            "checkout_closes_at": stamp(start + timedelta(hours=3)), "grace_minutes": 10,
            "checkout_window_minutes": 60, "venue": {"name": "党员活动室", "lat": 33.0676, "lng": 107.0238},
            "optional_actions": [], "outside_due_window": False}


def activity(status: str = "planning", frozen: bool = False, **changes) -> dict:
    """An activity of branch b1 in ``status``; ``frozen``: its roster frozen (m1, and the mobile m2)."""
    theme = {"_id": "thm_1", "tenant_id": "t1", "month": "2026-11", "title": "学习党章", "required_actions": [],
             "due_from": "2026-11-15", "due_to": "2026-11-25", "radius_m": 300}
    doc = new_activity(theme, {"org_id": "b1", "name": "第一支部", "path_ids": PATH}, stamp(NOW))
    doc["status"] = status
    if status != "planning":
        doc["plan"] = plan()
    if frozen:
        doc["roster"] = {"m1": {"name": "张三", "mobile": False}, "m2": {"name": "李四", "mobile": True}}
        doc["roster_frozen_at"] = stamp(START - timedelta(minutes=40))
    doc.update(changes)
    return doc
