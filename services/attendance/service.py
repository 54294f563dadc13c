"""Attendance service (nameko ``attendance``): the monthly themed party day (主题党日).

Entry points turn the caller's scope into a ``CallerScope`` and call one use case (``usecases/``). The RPC
contract is docs/attendance-rpc.md; the activity's lifecycle is ``domain/lifecycle.py``.
"""
from __future__ import annotations

from nameko.timer import timer

from servicekit.audit.entries import AuditEntries
from servicekit.messaging.outbox import OutboxRelay
from servicekit.messaging.peer_calls import peer
from servicekit.messaging.rpc import rpc, service_rpc
from servicekit.process.clock import ServiceClock
from servicekit.process.metrics import Metrics
from servicekit.security.scope import caller_of

from services.attendance.desk import Desk, ProcessStore, service_clock
from services.attendance.store import AttendanceStore
from services.attendance.usecases.activities import Activities
from services.attendance.usecases.chains import Chains
from services.attendance.usecases.leaves import Leaves
from services.attendance.usecases.meetings import Meetings
from services.attendance.usecases.records import Records
from services.attendance.usecases.rectifications import Rectifications
from services.attendance.usecases.scans import Scans
from services.attendance.usecases.statistics import Statistics
from services.attendance.usecases.sweeps import Sweeps


class AttendanceService(AuditEntries):
    name = "attendance"

    store: AttendanceStore = ProcessStore()
    relay = OutboxRelay()
    metrics = Metrics()
    identity = peer("identity")
    clock = ServiceClock(service_clock)
    desk = Desk()

    # --- use cases ------------------------------------------------------------------
    @property
    def activities(self) -> Activities:
        return Activities(self.store, self.clock, self.identity)

    @property
    def scans(self) -> Scans:
        return Scans(self.store, self.clock, self.desk)

    @property
    def leaves(self) -> Leaves:
        return Leaves(self.store, self.clock)

    @property
    def records(self) -> Records:
        return Records(self.store, self.clock, self.desk.chain)

    @property
    def chains(self) -> Chains:
        return Chains(self.store, self.clock, self.desk.chain)

    @property
    def rectifications(self) -> Rectifications:
        return Rectifications(self.store, self.clock, self.identity)

    @property
    def statistics(self) -> Statistics:
        return Statistics(self.store, self.clock, self.identity)

    @property
    def meetings(self) -> Meetings:
        return Meetings(self.store, self.clock, self.identity)

    @property
    def sweeps(self) -> Sweeps:
        return Sweeps(self.store, self.clock, self.identity, self.desk)

    # --- themes and plans -----------------------------------------------------------
    @rpc
    def issue_theme(self, scope, org_id="", month="", title="", due_from="", due_to="", required_actions=(),
                    radius_m=0):
        return self.activities.issue_theme(caller_of(scope), org_id, month, title, due_from, due_to,
                                           required_actions, radius_m)

    @rpc
    def list_themes(self, scope, org_id="", page_size=0, page_token=""):
        return self.activities.list_themes(caller_of(scope), org_id, page_size, page_token)

    @rpc
    def list_activities(self, scope, org_id="", month="", status="", theme_id="", page_size=0, page_token=""):
        return self.activities.list_activities(caller_of(scope), org_id, month, status, theme_id, page_size,
                                               page_token)

    @rpc
    def get_activity(self, scope, activity_id=""):
        return self.activities.get_activity(caller_of(scope), activity_id)

    @rpc
    def submit_plan(self, scope, activity_id="", date="", start_time="", end_time="", venue_name="", venue_lat=0.0,
                    venue_lng=0.0, optional_actions=(), grace_minutes=None, checkout_window_minutes=None,
                    venue_crs=""):
        return self.activities.submit_plan(caller_of(scope), activity_id, date, start_time, end_time, venue_name,
                                           venue_lat, venue_lng, optional_actions, grace_minutes,
                                           checkout_window_minutes, venue_crs)

    @rpc
    def review_plan(self, scope, activity_id="", decision="", reason="", radius_m=None, grace_minutes=None):
        return self.activities.review_plan(caller_of(scope), activity_id, decision, reason, radius_m, grace_minutes)

    # --- scans ----------------------------------------------------------------------
    @rpc
    def get_qr_code(self, scope, activity_id="", direction="", mode=""):
        return self.scans.get_qr_code(caller_of(scope), activity_id, direction, mode)

    @rpc
    def set_printed_code(self, scope, activity_id="", allowed=False, reason=""):
        return self.scans.set_printed_code(caller_of(scope), activity_id, allowed, reason)

    @rpc
    def record_scan(self, scope, token="", fix=None):
        """One scan, one call: the plain per-request path (the gateway batches through record_scans)."""
        return self.scans.record_scan(scope, token, fix)

    @service_rpc("gateway")
    def record_scans(self, items=()):
        """Many scans at once, each with its caller's scope: one answer per scan, in order."""
        return self.scans.record_scans(items)

    @rpc
    def list_scans(self, scope, activity_id="", flagged_only=False, page_size=0, page_token=""):
        return self.scans.list_scans(caller_of(scope), activity_id, flagged_only, page_size, page_token)

    # --- leave ----------------------------------------------------------------------
    @rpc
    def request_leave(self, scope, activity_id="", reason=""):
        return self.leaves.request_leave(caller_of(scope), activity_id, reason)

    @rpc
    def decide_leave(self, scope, leave_id="", decision="", note=""):
        return self.leaves.decide_leave(caller_of(scope), leave_id, decision, note)

    @rpc
    def list_leaves(self, scope, activity_id=""):
        return self.leaves.list_leaves(caller_of(scope), activity_id)

    # --- reflections, likes and uploads ---------------------------------------------
    @rpc
    def post_reflection(self, scope, activity_id="", text=""):
        return self.records.post_reflection(caller_of(scope), activity_id, text)

    @rpc
    def list_reflections(self, scope, activity_id="", page_size=0, page_token=""):
        return self.records.list_reflections(caller_of(scope), activity_id, page_size, page_token)

    @rpc
    def like_activity(self, scope, activity_id=""):
        return self.records.like_activity(caller_of(scope), activity_id)

    @rpc
    def add_photo(self, scope, activity_id="", content_type="", content="", backfill_reason=""):
        return self.records.add_photo(caller_of(scope), activity_id, content_type, content, backfill_reason)

    @rpc
    def add_text_record(self, scope, activity_id="", text="", backfill_reason=""):
        return self.records.add_text_record(caller_of(scope), activity_id, text, backfill_reason)

    @rpc
    def list_uploads(self, scope, activity_id=""):
        return self.records.list_uploads(caller_of(scope), activity_id)

    @rpc
    def get_upload_photo(self, scope, activity_id="", upload_id="", size=""):
        return self.records.get_upload_photo(caller_of(scope), activity_id, upload_id, size)

    # --- back-fill and the chain ----------------------------------------------------
    @rpc
    def backfill_scan(self, scope, activity_id="", member_id="", direction="", reason=""):
        return self.chains.backfill_scan(caller_of(scope), activity_id, member_id, direction, reason)

    @rpc
    def verify_chain(self, scope, activity_id=""):
        return self.chains.verify_chain(caller_of(scope), activity_id)

    # --- rectifications -------------------------------------------------------------
    @rpc
    def open_rectification(self, scope, activity_id="", title="", due_on=""):
        return self.rectifications.open_rectification(caller_of(scope), activity_id, title, due_on)

    @rpc
    def close_rectification(self, scope, rectification_id="", note=""):
        return self.rectifications.close_rectification(caller_of(scope), rectification_id, note)

    @rpc
    def list_rectifications(self, scope, org_id="", state="", page_size=0, page_token=""):
        return self.rectifications.list_rectifications(caller_of(scope), org_id, state, page_size, page_token)

    # --- statistics -----------------------------------------------------------------
    @rpc
    def get_statistics(self, scope, org_id="", month_from="", month_to="", by=""):
        return self.statistics.get_statistics(caller_of(scope), org_id, month_from, month_to, by)

    @rpc
    def export_statistics(self, scope, org_id="", month_from="", month_to=""):
        return self.statistics.export_statistics(caller_of(scope), org_id, month_from, month_to)

    @rpc
    def activity_facts(self, scope, org_id="", month_from="", month_to="", page_token="", page_size=500):
        """For other services only (scoring's reconcile)."""
        return self.statistics.activity_facts(caller_of(scope), org_id, month_from, month_to, page_token, page_size)

    # --- 三会一课: meetings and the compliance ledger ----------------------------------
    @rpc
    def get_meeting_settings(self, scope):
        return self.meetings.get_settings(caller_of(scope))

    @rpc
    def set_meeting_settings(self, scope, frequencies=None, committee_min_full_members=0, backfill_after_days=0):
        return self.meetings.set_settings(caller_of(scope), frequencies, committee_min_full_members,
                                          backfill_after_days)

    @rpc
    def plan_meeting(self, scope, branch_id="", meeting_type="", title="", date="", start_time="", end_time="",
                     venue_name="", venue_lat=0.0, venue_lng=0.0, venue_crs="", grace_minutes=None,
                     checkout_window_minutes=None):
        return self.meetings.plan_meeting(caller_of(scope), branch_id, meeting_type, title, date, start_time,
                                          end_time, venue_name, venue_lat, venue_lng, venue_crs, grace_minutes,
                                          checkout_window_minutes)

    @rpc
    def list_meetings(self, scope, org_id="", meeting_type="", state="", page_size=0, page_token=""):
        return self.meetings.list_meetings(caller_of(scope), org_id, meeting_type, state, page_size, page_token)

    @rpc
    def get_meeting(self, scope, meeting_id=""):
        return self.meetings.get_meeting(caller_of(scope), meeting_id)

    @rpc
    def record_meeting(self, scope, meeting_id="", host="", recorder="", topics=(), resolutions=(), minutes="",
                       backfill_reason=""):
        return self.meetings.record_meeting(caller_of(scope), meeting_id, host, recorder, topics,
                                            resolutions, minutes, backfill_reason)

    @rpc
    def reschedule_meeting(self, scope, meeting_id="", title="", date="", start_time="", end_time="", venue_name="",
                           venue_lat=0.0, venue_lng=0.0, venue_crs="", grace_minutes=None,
                           checkout_window_minutes=None, reason=""):
        return self.meetings.reschedule_meeting(caller_of(scope), meeting_id, title, date, start_time, end_time,
                                                venue_name, venue_lat, venue_lng, venue_crs, grace_minutes,
                                                checkout_window_minutes, reason)

    @rpc
    def cancel_meeting(self, scope, meeting_id="", reason=""):
        return self.meetings.cancel_meeting(caller_of(scope), meeting_id, reason)

    @rpc
    def get_meeting_ledger(self, scope, org_id="", month="", field="", state="", page_size=0, page_token=""):
        return self.meetings.get_ledger(caller_of(scope), org_id, month, field, state, page_size, page_token)

    # --- the clockwork --------------------------------------------------------------
    @service_rpc("attendance")
    def run_sweeps(self):
        return self.sweeps.run_sweeps()

    @timer(interval=1)
    def tick(self):
        self.sweeps.tick()
