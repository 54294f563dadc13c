"""Identity service (nameko ``identity``): tenants, the organisation tree, members, accounts, transfers.

Each entry point hands the caller's scope and its arguments to one use case (``usecases/``). The RPC
contract is docs/identity-rpc.md.
"""
from __future__ import annotations

import time

from nameko.extensions import DependencyProvider
from nameko.timer import timer

from servicekit.audit.log import audit_log_for
from servicekit.messaging.outbox import OutboxRelay
from servicekit.messaging.peer_calls import peer
from servicekit.messaging.rpc import rpc, service_rpc
from servicekit.process.clock import ServiceClock
from servicekit.process.config import database_name, env
from servicekit.process.metrics import Metrics
from servicekit.security.fieldcrypt import FieldCipher
from servicekit.security.scope import CallerScope
from servicekit.security.tokens import TokenSigner
from servicekit.storage.mongo import MongoStore

from services.identity import login_metrics, passwords
from services.identity.domain import throttle
from services.identity.access import party_caller
from services.identity.bootstrap import Bootstrap
from services.identity.store import IdentityStore
from services.identity.usecases.accounts import Accounts
from services.identity.usecases.audit import AuditLogReads
from services.identity.usecases.citizens import Citizens
from services.identity.usecases.development import DevelopmentRecords
from services.identity.usecases.imports import Imports
from services.identity.usecases.dues import Dues
from services.identity.usecases.members import Members
from services.identity.usecases.organisations import Organisations
from services.identity.usecases.second_factor import SecondFactor
from services.identity.usecases.sessions import Sessions
from services.identity.usecases.tenants import Tenants
from services.identity.usecases.transfers import Transfers


class Secrets(DependencyProvider):
    """The token signer and the field cipher, loaded once per process from the key files."""

    def setup(self):
        self.signer = TokenSigner()
        self.cipher = FieldCipher()

    def get_dependency(self, worker_ctx):
        return self


class LoginHashGate(DependencyProvider):
    """The process's ``passwords.HashGate``: LOGIN_HASH_RUNNING (2) verifications at once, LOGIN_HASH_WAITING (6)
    more queued; together fewer than the process's workers (NAMEKO_MAX_WORKERS, 10), so a flood of logins
    never holds them all."""

    def setup(self):
        self.gate = passwords.HashGate(int(env("LOGIN_HASH_RUNNING", "2")), int(env("LOGIN_HASH_WAITING", "6")),
                                       passwords.native_offload())

    def get_dependency(self, worker_ctx):
        return self.gate


class IdentityService:
    name = "identity"

    store: IdentityStore = MongoStore(IdentityStore)
    # the other services' audit logs, read for the tenant's auditors (usecases/audit.py)
    attendance = peer("attendance")
    scoring = peer("scoring")
    content = peer("content")
    volunteer = peer("volunteer")
    relay = OutboxRelay()
    clock = ServiceClock()
    secrets = Secrets()
    metrics = Metrics()
    bootstrap = Bootstrap()
    hash_gate = LoginHashGate()

    @property
    def sessions(self) -> Sessions:
        return Sessions(self.store, self.clock, self.hash_gate, self.secrets.signer, self.secrets.cipher)

    @property
    def second_factor(self) -> SecondFactor:
        return SecondFactor(self.store, self.clock, self.secrets.cipher, self.sessions)

    @property
    def citizens(self) -> Citizens:
        return Citizens(self.store, self.clock, self.hash_gate)

    @property
    def tenants(self) -> Tenants:
        return Tenants(self.store, self.clock)

    @property
    def organisations(self) -> Organisations:
        return Organisations(self.store, self.clock)

    @property
    def members(self) -> Members:
        return Members(self.store, self.clock, self.secrets.cipher)

    @property
    def accounts(self) -> Accounts:
        return Accounts(self.store, self.clock, self.secrets.signer.lifetime)

    @property
    def transfers(self) -> Transfers:
        return Transfers(self.store, self.clock)

    @property
    def imports(self) -> Imports:
        return Imports(self.store, self.clock, self.secrets.cipher)

    @property
    def dues(self) -> Dues:
        return Dues(self.store, self.clock, self.secrets.cipher)

    @property
    def development(self) -> DevelopmentRecords:
        return DevelopmentRecords(self.store, self.clock, self.content)

    # ------------------------------------------------------------------ sessions
    @service_rpc("gateway")
    def login(self, tenant_code="", username="", password="", client_address=""):
        return self.sessions.login(tenant_code, username, password, client_address)

    @timer(interval=600)
    def forget_login_attempts(self):
        self.sessions.forget_attempts()
        self.sessions.forget_sessions()
        self.store.forget_challenges(time.time())

    @timer(interval=login_metrics.MEASURE_SECONDS)
    def measure_login_counters(self):
        login_metrics.measured(*self.store.login_counter_levels(self.clock.now().timestamp(), {
            rule.name: rule for rule in (throttle.ACCOUNT_FROM_ADDRESS, throttle.ADDRESS, throttle.PASSWORD,
                                         throttle.TOTP)}))

    # The second factor (TOTP): the login's second step, then one's own, an admin's reset, the tenant's rule.
    @service_rpc("gateway")
    def verify_login_totp(self, challenge_token="", code="", client_address=""):
        return self.second_factor.verify_login(challenge_token, code, client_address)

    @rpc
    def get_totp_status(self, scope):
        return self.second_factor.status(party_caller(scope))

    @rpc
    def begin_totp_enrolment(self, scope):
        return self.second_factor.begin_enrolment(party_caller(scope))

    @rpc
    def confirm_totp_enrolment(self, scope, code=""):
        return self.second_factor.confirm_enrolment(party_caller(scope), code)

    @rpc
    def disable_totp(self, scope, code=""):
        return self.second_factor.disable(party_caller(scope), code)

    @rpc
    def reset_account_totp(self, scope, account_id="", reason=""):
        return self.second_factor.reset(party_caller(scope), account_id, reason)

    @rpc
    def set_totp_policy(self, scope, totp_required_for_admins=False):
        return self.second_factor.set_policy(party_caller(scope), totp_required_for_admins)

    @rpc
    def get_me(self, scope):
        return self.sessions.me(CallerScope.from_dict(scope))

    @service_rpc("gateway")
    def refresh(self, refresh_token="", client_address=""):
        return self.sessions.refresh(refresh_token, client_address)

    # Any account's own session and password, the operator's and a citizen's too.
    @rpc
    def logout(self, scope):
        return self.sessions.logout(CallerScope.from_dict(scope))

    @rpc
    def list_sessions(self, scope, account_id=""):
        return self.sessions.list_sessions(CallerScope.from_dict(scope), account_id)

    @rpc
    def revoke_session(self, scope, session_id=""):
        return self.sessions.revoke_session(CallerScope.from_dict(scope), session_id)

    @rpc
    def change_password(self, scope, old_password="", new_password=""):
        return self.sessions.change_password(CallerScope.from_dict(scope), old_password, new_password)

    @service_rpc("gateway")
    def revocations_since(self, cursor=""):
        return self.sessions.revocations_since(cursor)

    # ------------------------------------------------------------------ citizens
    # Public: a citizen (群众) opens its own account, then logs in with its phone as the username. Every other
    # entry point below refuses a citizen's scope (party_caller).
    @service_rpc("gateway")
    def register_citizen(self, tenant_code="", phone="", password="", name="", client_address=""):
        return self.citizens.register(tenant_code, phone, password, name, client_address)

    # ------------------------------------------------------------------ tenants
    @rpc
    def create_tenant(self, scope, code="", name="", admin_username="", admin_password=""):
        return self.tenants.create(CallerScope.from_dict(scope), code, name, admin_username, admin_password)

    # ------------------------------------------------------------ organisations
    @rpc
    def get_org(self, scope, org_id=""):
        return self.organisations.get(party_caller(scope), org_id)

    @rpc
    def list_subtree(self, scope, org_id="", max_depth=0, kind="", field="", page_size=0, page_token=""):
        return self.organisations.list_subtree(party_caller(scope), org_id, max_depth, kind, field, page_size,
                                               page_token)

    @rpc
    def create_org(self, scope, parent_id="", name="", kind="", category="", field=""):
        return self.organisations.create(party_caller(scope), parent_id, name, kind, category, field)

    @rpc
    def update_org(self, scope, org_id="", name=None, category=None, field=None):
        return self.organisations.update(party_caller(scope), org_id, name, category, field)

    @rpc
    def move_org(self, scope, org_id="", new_parent_id=""):
        return self.organisations.move(party_caller(scope), org_id, new_parent_id)

    @rpc
    def dissolve_org(self, scope, org_id=""):
        return self.organisations.dissolve(party_caller(scope), org_id)

    # ------------------------------------------------------------------ members
    @rpc
    def create_member(self, scope, branch_id="", name="", gender="", birth_date="", id_number="", phone="",
                      education="", status="applicant", status_dates=None, enrolment="none", mobile=False):
        return self.members.create(party_caller(scope), branch_id, name, gender, birth_date, id_number, phone,
                                   education, status, status_dates, enrolment, mobile)

    @rpc
    def get_member(self, scope, member_id=""):
        return self.members.get(party_caller(scope), member_id)

    @rpc
    def update_member(self, scope, member_id="", name=None, phone=None, education=None, enrolment=None, mobile=None):
        return self.members.update(party_caller(scope), member_id, name, phone, education, enrolment, mobile)

    @rpc
    def remove_member(self, scope, member_id=""):
        return self.members.remove(party_caller(scope), member_id)

    @rpc
    def list_members(self, scope, org_id="", status="", mobile=None, page_size=0, page_token="", q=""):
        return self.members.list(party_caller(scope), org_id, status, mobile, page_size, page_token, q)

    @rpc
    def change_member_status(self, scope, member_id="", status="", on=""):
        return self.members.change_status(party_caller(scope), member_id, status, on)

    # ----------------------------------------------------------------- accounts
    @rpc
    def create_account(self, scope, username="", password="", role="", org_id="", member_id="", reason=""):
        return self.accounts.create(party_caller(scope), username, password, role, org_id, member_id, reason)

    @rpc
    def reset_account_password(self, scope, account_id="", password=""):
        return self.accounts.reset_password(party_caller(scope), account_id, password)

    @rpc
    def disable_account(self, scope, account_id="", reason=""):
        return self.accounts.disable(party_caller(scope), account_id, reason)

    @rpc
    def enable_account(self, scope, account_id=""):
        return self.accounts.enable(party_caller(scope), account_id)

    @rpc
    def remove_account(self, scope, account_id=""):
        return self.accounts.remove(party_caller(scope), account_id)

    @rpc
    def list_accounts(self, scope, org_id="", role="", page_size=0, page_token=""):
        return self.accounts.list(party_caller(scope), org_id, role, page_size, page_token)

    @rpc
    def reset_tenant_admin_password(self, scope, tenant_code="", username="", password=""):
        return self.accounts.reset_tenant_admin_password(CallerScope.from_dict(scope), tenant_code, username,
                                                         password)

    # ---------------------------------------------------------------- the audit log (auditors only)
    @property
    def audit_reads(self) -> AuditLogReads:
        return AuditLogReads(audit_log_for(self.name, database_name(self.name)),
                             {"attendance": self.attendance, "scoring": self.scoring, "content": self.content,
                              "volunteer": self.volunteer})

    @rpc
    def search_audit_log(self, scope, since="", until="", actor="", operation="", outcome="", target="",
                         service_name="", page_size=0):
        return self.audit_reads.search(CallerScope.from_dict(scope), since, until, actor, operation, outcome, target,
                                       service_name, page_size)

    @rpc
    def verify_audit_log(self, scope):
        return self.audit_reads.verify(CallerScope.from_dict(scope))

    @rpc
    def export_audit_log(self, scope, since="", until="", actor="", operation="", outcome="", target="",
                         service_name=""):
        return self.audit_reads.export(CallerScope.from_dict(scope), since, until, actor, operation, outcome, target,
                                       service_name)

    # ---------------------------------------------------------------- transfers
    @rpc
    def request_transfer(self, scope, member_id="", to_branch_id="", reason=""):
        return self.transfers.request(party_caller(scope), member_id, to_branch_id, reason)

    @rpc
    def accept_transfer(self, scope, transfer_id=""):
        return self.transfers.accept(party_caller(scope), transfer_id)

    @rpc
    def reject_transfer(self, scope, transfer_id="", reason=""):
        return self.transfers.reject(party_caller(scope), transfer_id, reason)

    @rpc
    def list_transfers(self, scope, org_id="", side="", state="", page_size=0, page_token=""):
        return self.transfers.list(party_caller(scope), org_id, side, state, page_size, page_token)

    # ------------------------------------------------------------------ imports
    @rpc
    def import_orgs(self, scope, parent_id="", format="", content=""):
        return self.imports.orgs(party_caller(scope), parent_id, format, content)

    @rpc
    def import_members(self, scope, org_id="", format="", content=""):
        return self.imports.members(party_caller(scope), org_id, format, content)

    # ------------------------------------------------- development records (发展党员纪实)
    @rpc
    def list_development_records(self, scope, org_id="", status="", page_size=0, page_token=""):
        return self.development.list(party_caller(scope), org_id, status, page_size, page_token)

    @rpc
    def get_development_record(self, scope, member_id=""):
        return self.development.get(party_caller(scope), member_id)

    @rpc
    def get_my_development_record(self, scope):
        return self.development.mine(party_caller(scope))

    @rpc
    def record_development_entry(self, scope, member_id="", kind="", on="", purpose="", talker="", summary="",
                                 introducer_ids=None, outcome="", conclusion="", stage="", course="", hours=0,
                                 corrects="", note=""):
        return self.development.record(party_caller(scope), member_id, kind, on, purpose, talker, summary,
                                       introducer_ids, outcome, conclusion, stage, course, hours, corrects, note)

    # ------------------------------------------------------------ party dues (党费)
    @rpc
    def get_dues_rules(self, scope):
        return self.dues.rules(party_caller(scope))

    @rpc
    def set_dues_rules(self, scope, brackets=(), fixed=(), arrears_flag_months=0):
        return self.dues.set_rules(party_caller(scope), brackets, fixed, arrears_flag_months)

    @rpc
    def set_dues_standard(self, scope, member_id="", category="", income_fen=0, amount_fen=0, from_month=""):
        return self.dues.set_standard(party_caller(scope), member_id, category, income_fen, amount_fen, from_month)

    @rpc
    def list_branch_dues(self, scope, org_id="", year=0, arrears_only=False):
        return self.dues.branch_dues(party_caller(scope), org_id, year, arrears_only)

    @rpc
    def record_dues_payment(self, scope, member_id="", months=(), amount_fen=0, paid_on="", payment_method="",
                            bank_txn_id="", note=""):
        return self.dues.record_payment(party_caller(scope), member_id, months, amount_fen, paid_on, payment_method,
                                        bank_txn_id, note)

    @rpc
    def import_dues_payments(self, scope, org_id="", format="", content=""):
        return self.dues.import_payments(party_caller(scope), org_id, format, content)

    @rpc
    def list_dues_payments(self, scope, org_id="", member_id="", paid_from="", paid_to="", page_size=0,
                           page_token=""):
        return self.dues.list_payments(party_caller(scope), org_id, member_id, paid_from, paid_to, page_size,
                                       page_token)

    @rpc
    def get_dues_receipt(self, scope, receipt_no=""):
        return self.dues.receipt(party_caller(scope), receipt_no)

    @rpc
    def get_my_dues(self, scope):
        return self.dues.my_dues(party_caller(scope))

    @rpc
    def get_dues_totals(self, scope, org_id="", month=""):
        return self.dues.totals(party_caller(scope), org_id, month)

    @rpc
    def export_dues_totals(self, scope, org_id="", month_from="", month_to=""):
        return self.dues.export_totals(party_caller(scope), org_id, month_from, month_to)

    # 连续6个月不交纳党费: flagged for the branch within hours (arrears grow by months; a sweep reads every account);
    # a flag is recorded once per streak, so instances sweeping at once flag each member once
    @timer(interval=int(env("DUES_ARREARS_SWEEP_SECONDS", "21600")))
    def flag_dues_arrears(self):
        self.dues.flag_arrears()

    # ------------------------------------------ internal: other services only
    # Not in the gateway's operation table, so unreachable from outside the cluster.
    @rpc
    def branches_under(self, scope, org_id=""):
        return self.organisations.branches_under(party_caller(scope), org_id)

    @service_rpc("volunteer")
    def tenant_by_code(self, tenant_code=""):
        return self.tenants.by_code(tenant_code)

    @service_rpc("attendance", "content", "volunteer", "scoring")      # scoring: the appraisal's roster
    def branch_rosters(self, tenant_id="", branch_ids=()):
        return self.members.branch_rosters(tenant_id, branch_ids)

    @service_rpc("attendance")
    def branch_meeting_facts(self, tenant_id="", branch_ids=()):
        """Full members and party groups per branch: what attendance's 三会一课 ledger owes depends on them."""
        return self.members.branch_meeting_facts(tenant_id, branch_ids)

    @service_rpc("content")
    def branch_roster_sizes(self, tenant_id="", branch_ids=()):
        return self.members.branch_roster_sizes(tenant_id, branch_ids)

    @service_rpc("content", "volunteer")
    def org_nodes(self, tenant_id="", org_ids=()):
        return self.organisations.nodes(tenant_id, org_ids)

    @service_rpc("content")
    def all_org_nodes(self, after="", limit=1000):
        return self.organisations.all_nodes(after, limit)

    @service_rpc("content")
    def org_tree_revision(self):
        return self.organisations.tree_revision()
