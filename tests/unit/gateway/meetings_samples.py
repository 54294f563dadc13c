"""Sample requests and service answers of the meetings' operations (MeetingApi, carried out by attendance)."""
from __future__ import annotations

SETTINGS = {"frequencies": {"assembly": "quarterly", "committee": "monthly", "group": "monthly", "lesson": "quarterly",
                            "life": "yearly"},
            "committee_min_full_members": 7, "backfill_after_days": 3,
            "types": [{"type": "lesson", "label": "党课", "frequency": "quarterly"}]}
MEETING = {"id": "mtg_1", "tenant_id": "tenant-xa", "branch_id": "org-branch-1", "branch_name": "第一党支部",
           "meeting_type": "lesson", "type_label": "党课", "title": "党课", "date": "2026-12-05",
           "start_at": "2026-12-05T02:00:00.000Z", "end_at": "2026-12-05T03:30:00.000Z",
           "checkin_opens_at": "2026-12-05T01:30:00.000Z", "checkin_closes_at": "2026-12-05T02:10:00.000Z",
           "checkout_closes_at": "2026-12-05T04:30:00.000Z", "venue_name": "党员活动室", "radius_m": 300,
           "venue_lat": 33.0676, "venue_lng": 107.0238,
           "state": "recorded", "planned_by": "acc-sec", "planned_at": "2026-12-01T02:00:00.000Z",
           "attendance": {"expected": 5, "present": 4, "excused": 1, "absent": 0},
           "record": {"host": "王书记", "recorder": "李委员", "topics": ["学习党章"], "resolutions": [], "minutes": "",
                      "backfilled": False, "backfill_reason": "", "recorded_by": "acc-sec",
                      "recorded_at": "2026-12-05T05:00:00.000Z"}}
LEDGER = {"org_id": "org-county", "month": "2026-12", "today": "2026-12-20", "branches": 1, "behind": 1, "yellow": 1,
          "red": 0, "by_field": [{"field": "rural", "branches": 1, "yellow": 1, "red": 0, "behind": 1}],
          "rows": [{"branch_id": "org-branch-1", "branch_name": "第一党支部", "field": "rural",
                    "path_names": ["西安市", "长安区", "某街道党工委", "第一党支部"], "state": "yellow", "behind": True,
                    "items": [{"type": "lesson", "label": "党课", "period": "2026-Q4", "period_start": "2026-10-01",
                               "period_end": "2026-12-31", "required": 1, "held": 0, "state": "yellow"}]}],
          "total_rows": 1, "next_page_token": ""}

MEETINGS_REQUESTS = {
    "GetMeetingSettings": {},
    "SetMeetingSettings": {"frequencies": {"lesson": "monthly"}, "backfill_after_days": 5},
    "PlanMeeting": {"branch_id": "org-branch-1", "meeting_type": "lesson", "date": "2026-12-05", "start_time": "10:00",
                    "end_time": "11:30", "venue_name": "党员活动室", "venue_lat": 33.0676, "venue_lng": 107.0238},
    "ListMeetings": {"org_id": "org-branch-1"},
    "GetMeeting": {"meeting_id": "mtg_1"},
    "RecordMeeting": {"meeting_id": "mtg_1", "host": "王书记", "recorder": "李委员", "topics": ["学习党章"]},
    "RescheduleMeeting": {"meeting_id": "mtg_1", "date": "2026-12-06", "start_time": "15:00", "end_time": "16:30",
                          "venue_name": "村委会会议室", "venue_lat": 33.0676, "venue_lng": 107.0238,
                          "reason": "与全县大会冲突"},
    "CancelMeeting": {"meeting_id": "mtg_1", "reason": "书记外出培训，另行安排"},
    "GetMeetingLedger": {"org_id": "org-county", "month": "2026-12"},
}
MEETINGS_RESULTS = {
    "get_meeting_settings": SETTINGS,
    "set_meeting_settings": SETTINGS,
    "plan_meeting": {**MEETING, "state": "planned", "record": {}},
    "list_meetings": {"meetings": [MEETING], "next_page_token": ""},
    "get_meeting": MEETING,
    "record_meeting": MEETING,
    "reschedule_meeting": {**MEETING, "state": "planned", "record": {}, "date": "2026-12-06",
                           "start_at": "2026-12-06T07:00:00.000Z", "end_at": "2026-12-06T08:30:00.000Z",
                           "venue_name": "村委会会议室",
                           "reschedules": [{"at": "2026-12-02T02:00:00.000Z", "by": "acc-sec", "reason": "与全县大会冲突",
                                            "changes": [{"field": "date", "before": "2026-12-05",
                                                         "after": "2026-12-06"}]}]},
    "cancel_meeting": {**MEETING, "state": "cancelled", "record": {}, "attendance": {},
                       "cancellation": {"reason": "书记外出培训，另行安排", "cancelled_by": "acc-sec",
                                        "cancelled_at": "2026-12-02T02:00:00.000Z"}},
    "get_meeting_ledger": LEDGER,
}
