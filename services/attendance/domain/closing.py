"""Closing an activity: each member's final status and the activity's totals.

A member who did not sign in is marked absent automatically (自动记为"缺勤"), unless their
leave was approved (excused) or they are a mobile member (流动党员), who takes part online
and is not counted absent. Anyone who signed in is present once signed out, else incomplete.
"""
from __future__ import annotations

PRESENT = "present"
INCOMPLETE = "incomplete"
EXCUSED = "excused"
ABSENT = "absent"
MOBILE = "mobile"
STATUSES = (PRESENT, INCOMPLETE, EXCUSED, ABSENT, MOBILE)

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
    statuses = {}
    for member_id, mobile in roster.items():
        if member_id in checked_in:
            statuses[member_id] = PRESENT if member_id in checked_out else INCOMPLETE
        elif member_id in on_leave:
            statuses[member_id] = EXCUSED
        elif mobile:
            statuses[member_id] = MOBILE
        else:
            statuses[member_id] = ABSENT
    return statuses


def totals(statuses: dict[str, str], roster: dict[str, bool], liked: set[str], reflections: int,
           photos: int, text_chars: int) -> dict:
    """The activity's figures: the status counts, how many were expected on site, and the
    mobile members who liked the activity (mobile_liked), reflections, photos and text written."""
    counts = {status: 0 for status in STATUSES}
    for status in statuses.values():
        counts[status] += 1
    mobile_members = {member_id for member_id, mobile in roster.items() if mobile}
    return {
        "roster": len(roster),
        "on_site_expected": len(roster) - len(mobile_members),
        **counts,
        "mobile_liked": len(mobile_members & set(liked)),
        "reflections": reflections,
        "photos": photos,
        "text_chars": text_chars,
    }
