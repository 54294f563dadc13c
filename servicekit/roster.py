"""The roster categories of one themed day, defined once: attendance's totals and statuses and scoring's
denominators (live and final) are all counted here, so the activity's figures and the score's agree.

Every member on the frozen roster is in exactly one category, decided in this order:

- ``present`` / ``incomplete``: signed in, then signed out / never signed out. This includes a mobile member
  (流动党员) who came on site: for that day she is counted on site like anyone (she is expected on site once
  she is there; leaving her out would let a sign-in without a sign-out go unnoticed).
- ``excused``: approved leave and did not sign in (a mobile member too).
- ``mobile``: a mobile member who neither came nor took leave: takes part online; only these count for the
  mobile likes, so a mobile member who came is no longer judged by her like.
- ``absent``: everyone else.

From the categories: ``on_site_expected`` is the roster minus the mobile category, and the members expected to
sign in (the sign-in denominator, attendance's rate denominator) are present + incomplete + absent, i.e.
``on_site_expected - excused``.
"""
from __future__ import annotations

PRESENT = "present"
INCOMPLETE = "incomplete"
EXCUSED = "excused"
ABSENT = "absent"
MOBILE = "mobile"
CATEGORIES = (PRESENT, INCOMPLETE, EXCUSED, ABSENT, MOBILE)


def category(mobile: bool, signed_in: bool, signed_out: bool, on_leave: bool) -> str:
    """One roster member's category for the day."""
    if signed_in:
        return PRESENT if signed_out else INCOMPLETE
    if on_leave:
        return EXCUSED
    return MOBILE if mobile else ABSENT


def categories(roster: dict[str, bool], on_leave, checked_in, checked_out) -> dict[str, str]:
    """member_id -> category for every member on the roster (``roster``: member_id -> mobile flag).
    Sign-ins and leave of members not on the roster are ignored."""
    return {member_id: category(mobile, member_id in checked_in, member_id in checked_out, member_id in on_leave)
            for member_id, mobile in roster.items()}


def figures(statuses: dict[str, str], liked=()) -> dict[str, int]:
    """The counts behind a day from its members' categories: ``roster``, ``on_site_expected``, one count per
    category and ``mobile_liked`` (members of the mobile category who liked the activity)."""
    counts = {name: 0 for name in CATEGORIES}
    for status in statuses.values():
        counts[status] += 1
    liked = liked if isinstance(liked, (set, frozenset, dict)) else set(liked)
    mobile_liked = sum(1 for member_id in liked if statuses.get(member_id) == MOBILE)
    return {"roster": len(statuses), "on_site_expected": len(statuses) - counts[MOBILE], **counts,
            "mobile_liked": mobile_liked}


def figures_of_sets(roster: set[str], mobile: set[str], checked_in: set[str], checked_out: set[str],
                    on_leave: set[str], liked: set[str]) -> dict[str, int]:
    """``figures(categories(...))`` from sets of member ids, without a per-member loop: what scoring's live score
    computes on every batch of scans (``mobile``: the roster's mobile members)."""
    signed_in = checked_in & roster
    present = signed_in & checked_out
    excused = (on_leave & roster) - signed_in
    online = (mobile & roster) - signed_in - excused
    return {"roster": len(roster), "on_site_expected": len(roster) - len(online), PRESENT: len(present),
            INCOMPLETE: len(signed_in) - len(present), EXCUSED: len(excused),
            ABSENT: len(roster) - len(signed_in) - len(excused) - len(online), MOBILE: len(online),
            "mobile_liked": len(liked & online)}


def expected_to_sign_in(counts: dict) -> int:
    """Members who had to come and were not excused: the sign-in denominator (present + incomplete + absent)."""
    return counts["on_site_expected"] - counts[EXCUSED]


def expected_to_like(counts: dict) -> int:
    """Members whose like counts: the mobile category (mobile members who took part online)."""
    return counts[MOBILE]


def expected_to_comment(counts: dict) -> int:
    """Members asked for a reflection: the roster minus the excused."""
    return counts["roster"] - counts[EXCUSED]
