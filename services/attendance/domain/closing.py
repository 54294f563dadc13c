"""Closing an activity: each member's final status and the activity's totals.

A member who did not sign in is marked absent automatically (自动记为"缺勤"), unless their
leave was approved (excused) or they are a mobile member (流动党员), who takes part online
and is not counted absent. Anyone who signed in is present once signed out, else incomplete
(a mobile member who came on site too). The statuses are the roster categories of
``servicekit.roster``, which scoring's denominators count the same way.
"""
from __future__ import annotations

from servicekit import roster as categories

from .qrtoken import CODE_PRINTED
from .scans import device_key

PRESENT = categories.PRESENT
INCOMPLETE = categories.INCOMPLETE
EXCUSED = categories.EXCUSED
ABSENT = categories.ABSENT
MOBILE = categories.MOBILE
STATUSES = categories.CATEGORIES

STATUS_LABELS = {
    PRESENT: "出席",
    INCOMPLETE: "未签退",
    EXCUSED: "请假",
    ABSENT: "缺勤",
    MOBILE: "流动党员（线上参与）",
}


def final_statuses(roster: dict[str, bool], on_leave: set[str], checked_in: set[str],
                   checked_out: set[str]) -> dict[str, str]:
    """member_id -> status for every member on the frozen roster (``roster``: member_id -> mobile).

    Sign-ins and leave of members not on the roster are ignored.
    """
    return categories.categories(roster, on_leave, checked_in, checked_out)


def totals(statuses: dict[str, str], liked: set[str], reflections: int, photos: int, text_chars: int) -> dict:
    """The activity's figures: the status counts, how many were expected on site (the roster minus the
    mobile members who took part online) and the mobile members who liked the activity (mobile_liked:
    only those in the mobile status), reflections, photos and text written (``servicekit.roster.figures``)."""
    return {**categories.figures(statuses, liked), "reflections": reflections, "photos": photos,
            "text_chars": text_chars}


def result(activity: dict, scans: list[dict]) -> tuple[dict, dict]:
    """(statuses, totals) of an activity from its sign-in/sign-out records and its own counters."""
    roster = {member_id: bool(entry.get("mobile")) for member_id, entry in (activity.get("roster") or {}).items()}
    checked_in = {r["member_id"] for r in scans if r.get("kind") == "checkin"}
    checked_out = {r["member_id"] for r in scans if r.get("kind") == "checkout"}
    counts = activity.get("counts") or {}
    statuses = final_statuses(roster, set(activity.get("on_leave") or {}), checked_in, checked_out)
    return statuses, totals(statuses, set(activity.get("liked") or {}), counts.get("reflections", 0),
                            counts.get("photos", 0), counts.get("text_chars", 0))


def member_devices(activity_id: str, scans: list[dict]) -> dict[str, list[str]]:
    """member_id -> the devices (compared form, ``scans.device_key``) of its sign-ins and sign-outs, kept on the
    closed activity so that the next themed days can tell a device new to the member (``NEW_DEVICE``)."""
    prefix = activity_id + ":"
    devices: dict[str, set[str]] = {}
    for record in scans:
        key = record.get("device_key")
        if key and key.startswith(prefix) and record.get("member_id"):
            devices.setdefault(record["member_id"], set()).add(device_key(key[len(prefix):]))
    return {member_id: sorted(keys) for member_id, keys in devices.items()}


def printed_scans(scans: list[dict]) -> dict[str, int]:
    """member_id -> how many of its scans were made with the printed code (``code_kind``)."""
    counts: dict[str, int] = {}
    for record in scans:
        if record.get("code_kind") == CODE_PRINTED:
            counts[record["member_id"]] = counts.get(record["member_id"], 0) + 1
    return counts


def previous_months(month: str, count: int) -> list[str]:
    """The ``count`` months before ``month`` (YYYY-MM), latest first; [] for a month that is not one."""
    try:
        year, number = int(month[:4]), int(month[5:7])
    except (TypeError, ValueError):
        return []
    if len(month) != 7 or month[4] != "-" or not 1 <= number <= 12:
        return []
    found = []
    for _ in range(count):
        year, number = (year - 1, 12) if number == 1 else (year, number - 1)
        found.append(f"{year:04d}-{number:02d}")
    return found
