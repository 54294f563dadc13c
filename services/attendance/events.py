"""Events the attendance service publishes (exchange ``attendance.events``): the one definition.

Every payload also carries the envelope (event_id, event_type, occurred_at,
schema_version, tenant_id). Times are ISO-8601 UTC text. ``org_path`` is the
branch's ancestor ids, the tenant root first and the branch itself last.
"""
from servicekit import roster
from servicekit.messaging.events import EventSpec

from services.attendance.domain import lifecycle, meetings

SOURCE = "attendance"

# The values consumers compare payload fields with, defined here once.
PLAN_APPROVED, PLAN_REJECTED = "approved", "rejected"        # plan_reviewed.decision
LEAVE_APPROVED, LEAVE_REFUSED = "approved", "refused"        # leave_decided.decision
UPLOAD_PHOTO, UPLOAD_TEXT = "photo", "text"                  # upload_added.kind
# activity_closed.statuses: member_id -> one of the roster categories
PRESENT, INCOMPLETE, EXCUSED, ABSENT, MOBILE = (roster.PRESENT, roster.INCOMPLETE, roster.EXCUSED, roster.ABSENT,
                                                roster.MOBILE)
# an activity's stored status, as ``activity_facts`` answers it
ACTIVITY_STATUSES = lifecycle.STORED_STATUSES
STATUS_PLANNING, STATUS_SUBMITTED, STATUS_APPROVED, STATUS_CLOSED, STATUS_CANCELLED = ACTIVITY_STATUSES
# meeting_*.meeting_type -> its Chinese name (支部党员大会, 支委会, 党小组会, 党课, 组织生活会)
MEETING_TYPE_LABELS = dict(meetings.TYPE_LABELS)


def _spec(name: str, *fields: str) -> EventSpec:
    return EventSpec(SOURCE, name, fields)


# One per branch when a superior issues the month's theme (一键下发).
ACTIVITY_ISSUED = _spec("activity_issued", "activity_id", "theme_id", "branch_id", "branch_name", "org_path",
                        "field", "category", "month", "title", "due_from", "due_to", "issued_by")
PLAN_SUBMITTED = _spec("plan_submitted", "activity_id", "branch_id", "month", "date", "start_at", "end_at",
                       "outside_due_window", "submitted_by")
# decision: "approved" or "rejected" (then reason is given).
PLAN_REVIEWED = _spec("plan_reviewed", "activity_id", "branch_id", "month", "decision", "reason", "reviewed_by")
# The approved plan opens as an activity (sign-in opens later, at checkin_opens_at).
ACTIVITY_OPENED = _spec("activity_opened", "activity_id", "branch_id", "month", "start_at", "end_at",
                        "checkin_opens_at", "checkout_closes_at")
# The roster is frozen shortly before sign-in opens: the branch's party members at that moment.
ROSTER_FROZEN = _spec("roster_frozen", "activity_id", "branch_id", "month", "roster_size", "on_site_expected",
                      "mobile_count", "member_ids", "mobile_member_ids")
# A counted scan. flags: e.g. ["MOCK_LOCATION", "SHARED_DEVICE", "IMPOSSIBLE_SPEED"]; backfilled when an
# admin entered it after closing.
CHECKIN_RECORDED = _spec("checkin_recorded", "activity_id", "branch_id", "member_id", "record_id", "at",
                         "distance_m", "flags", "seq", "hash", "backfilled")
CHECKOUT_RECORDED = _spec("checkout_recorded", "activity_id", "branch_id", "member_id", "record_id", "at",
                          "distance_m", "flags", "seq", "hash", "backfilled")
SCAN_FLAGGED = _spec("scan_flagged", "activity_id", "branch_id", "member_id", "record_id", "direction", "flags")
# decision: "approved" or "refused".
LEAVE_DECIDED = _spec("leave_decided", "activity_id", "branch_id", "member_id", "leave_id", "decision",
                      "decided_by")
# totals: roster, on_site_expected, present, incomplete, excused, absent, mobile, mobile_liked,
# reflections, photos, text_chars. statuses: member_id -> present|incomplete|excused|absent|mobile.
ACTIVITY_CLOSED = _spec("activity_closed", "activity_id", "branch_id", "month", "org_path", "closed_at",
                        "totals", "statuses", "chain_head")
REFLECTION_POSTED = _spec("reflection_posted", "activity_id", "branch_id", "member_id", "reflection_id",
                          "length", "backfilled")
ACTIVITY_LIKED = _spec("activity_liked", "activity_id", "branch_id", "member_id", "mobile")
# kind: "photo" or "text" (the secretary's written record); size in bytes (photo) or characters (text).
UPLOAD_ADDED = _spec("upload_added", "activity_id", "branch_id", "upload_id", "kind", "size", "content_hash",
                     "backfilled")
RECTIFICATION_OPENED = _spec("rectification_opened", "activity_id", "branch_id", "rectification_id", "due_on",
                             "opened_by")
RECTIFICATION_CLOSED = _spec("rectification_closed", "activity_id", "branch_id", "rectification_id",
                             "closed_by")
# 三会一课: a meeting (its sign-in the themed day's; its themed-day events are not published, scoring scores
# themed days) was held when its sign-in closed with someone present; period: the YYYY-MM it counts in.
# attendance: expected, present, excused, absent. present_member_ids: the members present at its closing (signed in
# and out), sorted, for scoring's meeting points; a branch has at most a few hundred.
MEETING_HELD = _spec("meeting_held", "meeting_id", "branch_id", "org_path", "meeting_type", "date", "month",
                     "attendance", "present_member_ids")
# Its record entered; backfilled when entered late (补录), with who and why. What a branch column shows of it
# (content publishes it there): the title, venue, host, recorder and topics, never the minutes or resolutions,
# which stay in the record for the secretary and superiors. org_path and branch_name as when it was planned.
MEETING_RECORDED = _spec("meeting_recorded", "meeting_id", "branch_id", "org_path", "branch_name", "meeting_type",
                         "title", "date", "month", "venue_name", "host", "recorder", "topics", "recorded_by",
                         "backfilled", "backfill_reason", "attendance")
# A planned meeting's new plan before its sign-in opened; changes: [{field, before, after}] (the plan's times as
# ISO-8601 UTC text, the venue's WGS-84 coordinates), reason as given ("" when none).
MEETING_RESCHEDULED = _spec("meeting_rescheduled", "meeting_id", "branch_id", "meeting_type", "date", "month",
                            "start_at", "end_at", "checkin_opens_at", "checkout_closes_at", "venue_name", "changes",
                            "reason", "rescheduled_by")
# A planned meeting called off before its sign-in opened: never held, never counted in the ledger.
MEETING_CANCELLED = _spec("meeting_cancelled", "meeting_id", "branch_id", "meeting_type", "date", "month", "reason",
                          "cancelled_by")

ALL = [value for value in dict(globals()).values() if isinstance(value, EventSpec)]
