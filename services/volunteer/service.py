"""Volunteer service (nameko ``volunteer``): citizens' service orders (群众点单 → 社区审单/派单 → 党员接单 → 服务 →
群众评单), volunteer teams with their events, members' 双报到 to their residential community, the hours ledger and
its statistics (../shared/docs/domain.md, "Volunteer service ordering").

Entry points turn the caller's scope into a ``CallerScope`` and call one use case (``usecases/``); public entry
points (no scope) take the tenant code and the caller's address instead. The RPC contract is
docs/volunteer-rpc.md.
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
from servicekit.storage.mongo import MongoStore

from services.volunteer.directory import DirectoryProvider
from services.volunteer.store import VolunteerStore
from services.volunteer.usecases.claims import Claims
from services.volunteer.usecases.orders import Orders
from services.volunteer.usecases.profiles import Communities
from services.volunteer.usecases.reports import CommunityReports
from services.volunteer.usecases.settings import VolunteerSettings
from services.volunteer.usecases.statistics import VolunteerStatistics
from services.volunteer.usecases.sweep import Sweep
from services.volunteer.usecases.teams import Teams

SWEEP_SECONDS = 60


class VolunteerService(AuditEntries):
    name = "volunteer"

    store: VolunteerStore = MongoStore(VolunteerStore)
    relay = OutboxRelay()
    metrics = Metrics()
    clock = ServiceClock()
    identity = peer("identity")           # tenants by code, members' names and branches, organisation paths
    directory = DirectoryProvider()       # what identity answered, cached per process for a few minutes

    # --- use cases ------------------------------------------------------------------
    @property
    def orders(self) -> Orders:
        return Orders(self.store, self.clock, self.identity, self.directory)

    @property
    def claims(self) -> Claims:
        return Claims(self.store, self.clock, self.identity, self.directory)

    @property
    def communities(self) -> Communities:
        return Communities(self.store, self.clock, self.identity, self.directory)

    @property
    def volunteer_settings(self) -> VolunteerSettings:
        return VolunteerSettings(self.store, self.clock, self.identity, self.directory)

    @property
    def sweep(self) -> Sweep:
        return Sweep(self.store, self.clock)

    # --- timeouts: overdue reviews, claims not started, confirmation with no dispute ---------------------------
    @timer(interval=SWEEP_SECONDS)
    def sweep_timeouts(self):
        self.sweep.run()

    # --- communities and settings (OrderApi) --------------------------------------------------------------
    @service_rpc("gateway")
    def list_open_communities(self, tenant_code="", q="", client_address=""):
        return self.communities.list_open(tenant_code, q)

    @rpc
    def get_community_profile(self, scope, org_id=""):
        return self.communities.get(caller_of(scope), org_id)

    @rpc
    def set_community_profile(self, scope, org_id="", address="", lat=None, lng=None, open=None, categories=None):
        return self.communities.set(caller_of(scope), org_id, address, lat, lng, open, categories)

    @rpc
    def get_volunteer_settings(self, scope):
        return self.volunteer_settings.get(caller_of(scope))

    @rpc
    def update_volunteer_settings(self, scope, review_hours=None, start_grace_minutes=None, auto_confirm_hours=None,
                                  default_hours_cap=None, fence_radius_m=None, categories=None,
                                  report_deadline=None):
        return self.volunteer_settings.update(caller_of(scope), {
            "review_hours": review_hours, "start_grace_minutes": start_grace_minutes,
            "auto_confirm_hours": auto_confirm_hours, "default_hours_cap": default_hours_cap,
            "fence_radius_m": fence_radius_m, "categories": categories, "report_deadline": report_deadline})

    # --- citizens' orders (OrderApi); public methods take the caller's address (the gateway sends it), unused
    # here: wrong tracking-code guesses are limited per tracking code, wherever they come from
    @rpc
    def place_order(self, scope, community_id="", category="", description="", address="", lat=None, lng=None,
                    wished_start="", wished_end="", contact_name="", contact_phone=""):
        return self.orders.place(caller_of(scope), community_id, category, description, address, lat, lng,
                                 wished_start, wished_end, contact_name, contact_phone)

    @service_rpc("gateway")
    def place_guest_order(self, tenant_code="", community_id="", category="", description="", address="",
                          lat=None, lng=None, wished_start="", wished_end="", contact_name="", contact_phone="",
                          client_address=""):
        return self.orders.place_as_guest(tenant_code, community_id, category, description, address, lat, lng,
                                          wished_start, wished_end, contact_name, contact_phone, client_address)

    @service_rpc("gateway")
    def get_tracked_order(self, tenant_code="", tracking_code="", phone_last4="", client_address=""):
        return self.orders.get_tracked(tenant_code, tracking_code, phone_last4)

    @service_rpc("gateway")
    def cancel_tracked_order(self, tenant_code="", tracking_code="", phone_last4="", reason="", client_address=""):
        return self.orders.cancel_tracked(tenant_code, tracking_code, phone_last4, reason)

    @service_rpc("gateway")
    def confirm_tracked_order(self, tenant_code="", tracking_code="", phone_last4="", rating=0, comment="",
                              client_address=""):
        return self.orders.confirm_tracked(tenant_code, tracking_code, phone_last4, rating, comment)

    @service_rpc("gateway")
    def dispute_tracked_order(self, tenant_code="", tracking_code="", phone_last4="", reason="", client_address=""):
        return self.orders.dispute_tracked(tenant_code, tracking_code, phone_last4, reason)

    @rpc
    def list_my_orders(self, scope, status="", page_size=0, page_token=""):
        return self.orders.list_mine(caller_of(scope), status, page_size, page_token)

    @rpc
    def get_order(self, scope, order_id=""):
        return self.orders.get(caller_of(scope), order_id)

    @rpc
    def cancel_order(self, scope, order_id="", reason=""):
        return self.orders.cancel(caller_of(scope), order_id, reason)

    @rpc
    def confirm_order(self, scope, order_id="", rating=0, comment=""):
        return self.orders.confirm(caller_of(scope), order_id, rating, comment)

    @rpc
    def dispute_order(self, scope, order_id="", reason=""):
        return self.orders.dispute(caller_of(scope), order_id, reason)

    # --- the community's desk: review, merge, dispatch, disputes (OrderApi) ----------------------------------
    @rpc
    def list_orders(self, scope, org_id="", status="", category="", overdue=False, page_size=0, page_token=""):
        return self.orders.list_for_org(caller_of(scope), org_id, status, category, overdue, page_size,
                                        page_token)

    @rpc
    def review_order(self, scope, order_id="", decision="", reason=""):
        return self.orders.review(caller_of(scope), order_id, decision, reason)

    @rpc
    def merge_order(self, scope, order_id="", into_order_id="", reason=""):
        return self.orders.merge(caller_of(scope), order_id, into_order_id, reason)

    @rpc
    def dispatch_order(self, scope, order_id="", mode="", team_id="", volunteers_needed=0, fence_radius_m=0,
                       hours_cap=0):
        return self.orders.dispatch(caller_of(scope), order_id, mode, team_id, volunteers_needed, fence_radius_m,
                                    hours_cap)

    @rpc
    def resolve_dispute(self, scope, order_id="", credit=False, reason=""):
        return self.orders.resolve(caller_of(scope), order_id, credit, reason)

    # --- members: claims and service (OrderApi) -------------------------------------------------------------
    @rpc
    def list_claimable_orders(self, scope, page_size=0, page_token=""):
        return self.claims.list_claimable(caller_of(scope), page_size, page_token)

    @rpc
    def claim_order(self, scope, order_id=""):
        return self.claims.claim(caller_of(scope), order_id)

    @rpc
    def withdraw_claim(self, scope, order_id="", reason=""):
        return self.claims.withdraw(caller_of(scope), order_id, reason)

    @rpc
    def list_my_claims(self, scope, status="", page_size=0, page_token=""):
        return self.claims.list_mine(caller_of(scope), status, page_size, page_token)

    @rpc
    def check_in_service(self, scope, order_id="", lat=None, lng=None, accuracy_m=None, mock_location=False):
        return self.claims.check_in(caller_of(scope), order_id, lat, lng, accuracy_m, mock_location)

    @rpc
    def check_out_service(self, scope, order_id="", lat=None, lng=None, accuracy_m=None, mock_location=False):
        return self.claims.check_out(caller_of(scope), order_id, lat, lng, accuracy_m, mock_location)

    @rpc
    def report_completion(self, scope, order_id="", text=""):
        return self.claims.report(caller_of(scope), order_id, text)

    @rpc
    def add_completion_photo(self, scope, order_id="", content=b"", content_type=""):
        return self.claims.add_photo(caller_of(scope), order_id, content, content_type)

    @rpc
    def get_completion_photo(self, scope, photo_id=""):
        return self.claims.get_photo(caller_of(scope), photo_id)

    # --- teams, events, 双报到 (TeamApi) ----------------------------------------------------------------------
    @property
    def teams(self) -> Teams:
        return Teams(self.store, self.clock, self.identity, self.directory)

    @property
    def community_reports(self) -> CommunityReports:
        return CommunityReports(self.store, self.clock, self.identity, self.directory)

    @rpc
    def create_team(self, scope, org_id="", name="", description=""):
        return self.teams.create_team(caller_of(scope), org_id, name, description)

    @rpc
    def list_teams(self, scope, org_id=""):
        return self.teams.list_teams(caller_of(scope), org_id)

    @rpc
    def get_team(self, scope, team_id=""):
        return self.teams.get_team(caller_of(scope), team_id)

    @rpc
    def join_team(self, scope, team_id=""):
        return self.teams.join_team(caller_of(scope), team_id)

    @rpc
    def leave_team(self, scope, team_id=""):
        return self.teams.leave_team(caller_of(scope), team_id)

    @rpc
    def remove_team_member(self, scope, team_id="", member_id="", reason=""):
        return self.teams.remove_team_member(caller_of(scope), team_id, member_id, reason)

    @rpc
    def create_team_event(self, scope, team_id="", title="", description="", address="", lat=None, lng=None,
                          fence_radius_m=0, starts_at="", ends_at="", capacity=0, hours_cap=0):
        return self.teams.create_event(caller_of(scope), team_id, title, description, address, lat, lng,
                                       fence_radius_m, starts_at, ends_at, capacity, hours_cap)

    @rpc
    def list_team_events(self, scope, team_id=""):
        return self.teams.list_team_events(caller_of(scope), team_id)

    @rpc
    def list_my_events(self, scope):
        return self.teams.list_my_events(caller_of(scope))

    @rpc
    def get_team_event(self, scope, event_id=""):
        return self.teams.get_event(caller_of(scope), event_id)

    @rpc
    def sign_up_event(self, scope, event_id=""):
        return self.teams.sign_up(caller_of(scope), event_id)

    @rpc
    def cancel_sign_up(self, scope, event_id=""):
        return self.teams.cancel_sign_up(caller_of(scope), event_id)

    @rpc
    def check_in_event(self, scope, event_id="", lat=None, lng=None, accuracy_m=None, mock_location=False):
        return self.teams.check_in(caller_of(scope), event_id, lat, lng, accuracy_m, mock_location)

    @rpc
    def check_out_event(self, scope, event_id="", lat=None, lng=None, accuracy_m=None, mock_location=False):
        return self.teams.check_out(caller_of(scope), event_id, lat, lng, accuracy_m, mock_location)

    @rpc
    def close_team_event(self, scope, event_id=""):
        return self.teams.close_event(caller_of(scope), event_id)

    @rpc
    def report_to_community(self, scope, community_id="", reported_on=""):
        return self.community_reports.report(caller_of(scope), community_id, reported_on)

    @rpc
    def get_my_community_report(self, scope):
        return self.community_reports.mine(caller_of(scope))

    @rpc
    def list_reported_members(self, scope, org_id="", page_size=0, page_token=""):
        return self.community_reports.reported_members(caller_of(scope), org_id, page_size, page_token)

    @rpc
    def list_unreported_members(self, scope, org_id=""):
        return self.community_reports.unreported_members(caller_of(scope), org_id)

    # --- hours and statistics (VolunteerStatsApi) --------------------------------------------------------
    @property
    def volunteer_statistics(self) -> VolunteerStatistics:
        return VolunteerStatistics(self.store, self.clock, self.identity, self.directory)

    @rpc
    def get_my_hours(self, scope, page_size=0, page_token=""):
        return self.volunteer_statistics.my_hours(caller_of(scope), page_size, page_token)

    @rpc
    def get_member_hours(self, scope, member_id=""):
        return self.volunteer_statistics.member_hours(caller_of(scope), member_id)

    @rpc
    def get_volunteer_statistics(self, scope, org_id="", since="", until=""):
        return self.volunteer_statistics.statistics(caller_of(scope), org_id, since, until)

    @rpc
    def list_hours_ranking(self, scope, org_id="", by="", since="", until="", limit=0):
        return self.volunteer_statistics.ranking(caller_of(scope), org_id, by, since, until, limit)

    @rpc
    def export_volunteer_statistics(self, scope, org_id="", since="", until=""):
        return self.volunteer_statistics.export(caller_of(scope), org_id, since, until)
