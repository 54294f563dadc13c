"""Identity service (nameko ``identity``): tenants, the organisation tree, members, accounts, transfers.

Entry points parse arguments, check the caller's scope, apply the pure rules in
``domain/`` and write state together with its events (one transaction, outbox).
The RPC contract is docs/identity-rpc.md.
"""
from __future__ import annotations

import logging
import time
import uuid
from datetime import date, timedelta

from nameko.extensions import DependencyProvider
from nameko.timer import timer

from servicekit.process.config import env
from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied, TooManyRequests, Unauthenticated
from servicekit.timestamps import stamp, utc_now
from servicekit.security.fieldcrypt import FieldCipher
from servicekit.security.keys import new_password
from servicekit.process.metrics import Metrics
from servicekit.storage.mongo import MongoStore
from servicekit.messaging.outbox import OutboxRelay
from servicekit.storage.paging import page_of, page_window
from servicekit.messaging.rpc import rpc
from servicekit.security.scope import ROLE_BRANCH_SECRETARY, ROLE_MEMBER, ROLE_ORG_ADMIN, CallerScope
from servicekit.security.tokens import TokenSigner

from services.identity import access, events, passwords
from services.identity.arguments import boolean, text
from services.identity.bootstrap import Bootstrap
from services.identity.domain import idcard, lifecycle, members as member_rules, search as member_search, throttle, tree
from services.identity.importer import import_members, import_orgs
from services.identity.store import PLACED_ROLES, IdentityStore, account_place, ancestor_fields, path_of
from services.identity.views import account_entry, account_view, member_view, org_view, transfer_view

log = logging.getLogger(__name__)
USERNAME_MAX = 64


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


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
    never holds them all and the service's other requests are still served."""

    def setup(self):
        self.gate = passwords.HashGate(int(env("LOGIN_HASH_RUNNING", "2")), int(env("LOGIN_HASH_WAITING", "6")),
                                       passwords.native_offload())

    def get_dependency(self, worker_ctx):
        return self.gate


class IdentityService:
    name = "identity"

    store: IdentityStore = MongoStore(IdentityStore)
    relay = OutboxRelay()
    secrets = Secrets()
    metrics = Metrics()
    bootstrap = Bootstrap()
    hash_gate = LoginHashGate()

    # ------------------------------------------------------------------ login
    @rpc
    def login(self, tenant_code="", username="", password="", client_address=""):
        """``client_address``: the caller's address as the gateway found it ("" from inside the platform)."""
        tenant_code, username = text(tenant_code, "tenant_code", required=False), text(username, "username")
        password = text(password, "password", max_length=128, strip=False)
        client_address = text(client_address, "client_address", required=False, max_length=128)
        # throttled before anything is looked up or hashed, by the names as typed: the same for every name
        counters = self._take_login_attempt(tenant_code, username, client_address)
        tenant = self.store.tenant_by_code(tenant_code) if tenant_code else None
        account = None
        if tenant is not None or not tenant_code:
            account = self.store.account_by_login(f"{tenant['_id'] if tenant else ''}:{username}")
        try:
            # an unknown name is hashed against a dummy hash too, so the time taken tells nothing
            matches, new_hash = self.hash_gate.verify(account and account.get("password_hash"), password)
        except passwords.GateFull:
            self._give_back(counters)
            raise TooManyRequests("登录请求过多，请稍后再试", code="LOGIN_BUSY",
                                  details=[{"retry_after_seconds": 1}]) from None
        if not account or not matches:
            raise Unauthenticated("用户名或密码错误", code="LOGIN_FAILED")
        self.store.clear_login_attempts(counters[0])
        self._give_back(counters[1:])
        self.store.record_login_success(account["_id"], new_hash)
        scope = self._scope_of(account)
        return {"access_token": self.secrets.signer.issue(scope), "token_type": "Bearer",
                "expires_in": self.secrets.signer.lifetime, "account": account_view(account)}

    def _take_login_attempt(self, tenant_code: str, username: str, client_address: str) -> list:
        """Count the attempt on each of its counters, or refuse it (``TOO_MANY_ATTEMPTS``) uncounted."""
        now, taken = time.time(), []
        for counter in throttle.counters(tenant_code, username, client_address):
            waiting = self.store.take_login_attempt(counter, now)
            if waiting:
                self._give_back(taken)
                seconds = throttle.retry_after(waiting)
                raise TooManyRequests("登录尝试过于频繁，请稍后再试", code="TOO_MANY_ATTEMPTS",
                                      details=[{"retry_after_seconds": seconds}])
            taken.append(counter)
        return taken

    def _give_back(self, counters: list) -> None:
        for counter in counters:
            self.store.give_back_login_attempt(counter)

    @timer(interval=600)
    def forget_login_attempts(self):
        self.store.forget_login_attempts(time.time())

    def _scope_of(self, account: dict) -> dict:
        member = self.store.member(account["member_id"]) if account.get("member_id") else None
        return CallerScope.from_dict({
            "account_id": account["_id"], "tenant_id": account.get("tenant_id"), "roles": account.get("roles", []),
            "member_id": account.get("member_id"), "branch_id": member and member["branch_id"]}).to_dict()

    # ---------------------------------------------------------------- tenants
    @rpc
    def create_tenant(self, scope, code="", name="", admin_username="", admin_password=""):
        CallerScope.from_dict(scope).require_operator()
        code = text(code, "code", max_length=32)
        if not code.replace("-", "").isalnum() or not code.isascii() or code != code.lower():
            raise InvalidArgument("租户代码只能包含小写字母、数字和连字符", code="TENANT_CODE_INVALID", field="code")
        name = tree.validate_org_fields(text(name, "name"), "city", "", "")["name"]
        admin_username = self._username(admin_username, "admin_username")
        passwords.check_strength(admin_password)
        if self.store.tenant_by_code(code):
            raise Conflict("租户代码已存在", code="TENANT_EXISTS", field="code")
        now = stamp()
        tenant = {"_id": new_id("ten"), "code": code, "name": name, "created_at": now,
                  "settings": {"transfer_deadline_days": int(env("TRANSFER_DEADLINE_DAYS", "30"))}}
        root = {"_id": new_id("org"), "tenant_id": tenant["_id"], "name": name, "kind": "city", "category": "",
                "field": "", "parent_id": None, "level": 0, **ancestor_fields([]), "created_at": now,
                "updated_at": now}
        root["a0"] = root["_id"]
        tenant["root_org_id"] = root["_id"]
        admin = self._new_account(tenant["_id"], admin_username, admin_password,
                                  [{"role": ROLE_ORG_ADMIN, "org_id": root["_id"]}], grant_path=[root["_id"]])

        def writes(session):
            self.store.db.tenants.insert_one(tenant, session=session)
            self.store.db.orgs.insert_one(root, session=session)
            self.store.db.accounts.insert_one(admin, session=session)
        self.store.commit(writes, [
            events.TENANT_CREATED.build(tenant["_id"], code=code, name=name, root_org_id=root["_id"]),
            self._org_created_event(root),
            events.ACCOUNT_CREATED.build(tenant["_id"], account_id=admin["_id"], username=admin_username,
                                         roles=admin["roles"], member_id=None)])
        self.relay.wake()
        return {"tenant": {"id": tenant["_id"], "code": code, "name": name}, "root_org": org_view(root),
                "admin_account": account_view(admin)}

    # ------------------------------------------------------------------- me
    @rpc
    def get_me(self, scope):
        caller = CallerScope.from_dict(scope)
        account = self.store.account(caller.account_id)
        if account is None:
            raise Unauthenticated("账号不存在", code="ACCOUNT_GONE")
        member = self.store.member(account["member_id"]) if account.get("member_id") else None
        org_ids = [grant["org_id"] for grant in account.get("roles", []) if grant.get("org_id")]
        if member:
            org_ids.append(member["branch_id"])
        orgs = self.store.orgs_by_ids(org_ids)
        return {"account": account_view(account), "member": member_view(member) if member else None,
                "orgs": [self._org_view(orgs[org_id]) for org_id in dict.fromkeys(org_ids) if org_id in orgs]}

    # ------------------------------------------------------------------ orgs
    @rpc
    def get_org(self, scope, org_id=""):
        caller = self._tenant_caller(scope)
        return self._org_view(access.readable_org(caller, self._org(org_id), self._own_branch(caller)))

    @rpc
    def list_subtree(self, scope, org_id="", max_depth=0, kind="", field="", page_size=0, page_token=""):
        caller = self._tenant_caller(scope)
        root = access.readable_org(caller, self._org(org_id), self._own_branch(caller))
        skip, limit = page_window(page_size, page_token)
        query = {}
        if not isinstance(max_depth, int) or isinstance(max_depth, bool) or max_depth < 0:
            raise InvalidArgument("max_depth 必须是非负整数", code="INVALID_TYPE", field="max_depth")
        if not access.manages(caller, root):
            query["level"] = root["level"]  # a member sees its own branch, not what lies below
        elif max_depth:
            query["level"] = {"$lte": root["level"] + max_depth}
        if kind:
            query["kind"] = self._choice(kind, tree.KINDS, "kind")
        if field:
            query["field"] = self._choice(field, tree.FIELDS, "field")
        orgs, token = page_of(self.store.subtree(root, query, skip, limit + 1), skip, limit)
        return {"orgs": self._org_views(orgs), "next_page_token": token}

    @rpc
    def create_org(self, scope, parent_id="", name="", kind="", category="", field=""):
        caller = self._tenant_caller(scope)
        parent = access.administered_org(caller, self._org(parent_id, "parent_id"), "parent_id")
        fields = tree.validate_org_fields(text(name, "name"), text(kind, "kind"),
                                          text(category, "category", required=False),
                                          text(field, "field", required=False))
        tree.check_child_kind(parent["kind"], fields["kind"])
        if parent["level"] + 1 >= tree.MAX_DEPTH:
            raise InvalidArgument("组织层级过深", code="TREE_TOO_DEEP", field="parent_id")
        org = self._new_org(caller.tenant_id, parent, fields)
        self.store.commit(lambda session: self.store.db.orgs.insert_one(org, session=session),
                          [self._org_created_event(org)])
        self.relay.wake()
        return self._org_view(org)

    @rpc
    def update_org(self, scope, org_id="", name=None, category=None, field=None):
        caller = self._tenant_caller(scope)
        org = access.administered_org(caller, self._org(org_id))
        merged = tree.validate_org_fields(
            org["name"] if name is None else text(name, "name"), org["kind"],
            org.get("category", "") if category is None else text(category, "category", required=False),
            org.get("field", "") if field is None else text(field, "field", required=False))
        changes = {key: merged[key] for key in ("name", "category", "field")}
        changes["updated_at"] = stamp()
        self.store.commit(
            lambda session: self.store.db.orgs.update_one({"_id": org["_id"]}, {"$set": changes}, session=session),
            [events.ORGANISATION_UPDATED.build(org["tenant_id"], org_id=org["_id"], name=changes["name"],
                                               category=changes["category"], field=changes["field"])])
        self.relay.wake()
        return self._org_view({**org, **changes})

    @rpc
    def move_org(self, scope, org_id="", new_parent_id=""):
        caller = self._tenant_caller(scope)
        org = access.administered_org(caller, self._org(org_id))
        access.strictly_below_admin_root(caller, org)
        new_parent = access.administered_org(caller, self._org(new_parent_id, "new_parent_id"), "new_parent_id")
        tree.check_move(path_of(org), path_of(new_parent), org["kind"], new_parent["kind"],
                        self.store.subtree_height(org))
        new_path = path_of(new_parent) + [org["_id"]]
        self.store.commit(
            lambda session: self.store.move_subtree(session, org, new_path),
            [events.ORGANISATION_MOVED.build(org["tenant_id"], org_id=org["_id"], old_parent_id=org["parent_id"],
                                             new_parent_id=new_parent["_id"], path_ids=new_path)])
        self.relay.wake()
        return self._org_view(self.store.org(org["_id"]))

    @rpc
    def dissolve_org(self, scope, org_id=""):
        caller = self._tenant_caller(scope)
        org = access.administered_org(caller, self._org(org_id))
        access.strictly_below_admin_root(caller, org)
        if self.store.children(org["_id"], limit=1):
            raise Conflict("该组织仍有下级组织，不能撤销", code="ORG_HAS_CHILDREN", field="org_id")
        if self.store.has_members(org):
            raise Conflict("该组织仍有党员，不能撤销", code="ORG_HAS_MEMBERS", field="org_id")
        self.store.commit(
            lambda session: self.store.db.orgs.delete_one({"_id": org["_id"]}, session=session),
            [events.ORGANISATION_DISSOLVED.build(org["tenant_id"], org_id=org["_id"], parent_id=org["parent_id"])])
        self.relay.wake()
        return {}

    # --------------------------------------------------------------- members
    @rpc
    def create_member(self, scope, branch_id="", name="", gender="", birth_date="", id_number="", phone="",
                      education="", status="applicant", status_dates=None, enrolment="none", mobile=False):
        caller = self._tenant_caller(scope)
        branch = self._branch_for_members(caller, branch_id, "branch_id")
        if status_dates is not None and not isinstance(status_dates, dict):
            raise InvalidArgument("status_dates 必须是对象", code="INVALID_TYPE", field="status_dates")
        strings = {"name": name, "gender": gender, "birth_date": birth_date, "id_number": id_number,
                   "phone": phone, "education": education, "status": status, "enrolment": enrolment}
        for field_name, value in strings.items():
            text(value, field_name, required=False)
        row = {**strings, "mobile": boolean(mobile, "mobile"),
               **{f"{key}_on" if key != "applicant" else "applied_on": value
                  for key, value in (status_dates or {}).items()}}
        normalized, problems = member_rules.member_problems(row, date.today())
        if problems:
            first = problems[0]
            raise InvalidArgument(first.message, code=first.code, field=first.field,
                                  details=[{"field": p.field, "reason": p.code, "message": p.message}
                                           for p in problems])
        member = self._member_document(caller.tenant_id, branch, normalized, None)
        if self.store.existing_id_indexes([member["id_number_index"]]):
            raise Conflict("该身份证号已登记", code="MEMBER_EXISTS", field="id_number")
        self.store.commit(lambda session: self.store.db.members.insert_one(member, session=session), [
            events.MEMBER_JOINED.build(caller.tenant_id, member_id=member["_id"], branch_id=branch["_id"],
                                       path_ids=path_of(member), status=member["status"],
                                       mobile=member["mobile"])])
        self.relay.wake()
        return member_view(member)

    @rpc
    def get_member(self, scope, member_id=""):
        caller = self._tenant_caller(scope)
        return member_view(access.readable_member(caller, self._member(member_id)))

    @rpc
    def update_member(self, scope, member_id="", name=None, phone=None, education=None, enrolment=None, mobile=None):
        caller = self._tenant_caller(scope)
        member = access.managed_member(caller, self._member(member_id))
        requested = {key: value for key, value in
                     {"name": name, "phone": phone, "education": education, "enrolment": enrolment,
                      "mobile": mobile}.items() if value is not None}
        for field_name, value in requested.items():
            boolean(value, field_name) if field_name == "mobile" else text(value, field_name, required=False)
        changes = member_rules.validate_member_update(requested)
        if not changes:
            return member_view(member)
        stored = {**changes, "updated_at": stamp()}

        def writes(session):
            if "name" in changes or "phone" in changes:
                # keys from the member as this transaction reads it: a parallel change of the other field counts
                current = self.store.db.members.find_one(
                    {"_id": member["_id"]}, {"name": 1, "phone": 1}, session=session) or member
                current = {**current, **changes}
                stored["search"] = member_search.member_keys(current["name"], current.get("phone", ""))
            self.store.db.members.update_one({"_id": member["_id"]}, {"$set": stored}, session=session)
        self.store.commit(
            writes,
            [events.MEMBER_UPDATED.build(member["tenant_id"], member_id=member["_id"],
                                         changes={k: v for k, v in changes.items() if k != "phone"})])
        self.relay.wake()
        return member_view({**member, **stored})

    @rpc
    def remove_member(self, scope, member_id=""):
        caller = self._tenant_caller(scope)
        member = access.managed_member(caller, self._member(member_id))
        if self.store.pending_transfer_of(member["_id"]):
            raise Conflict("该党员有未办结的组织关系转接", code="TRANSFER_PENDING", field="member_id")

        def writes(session):
            self.store.db.members.delete_one({"_id": member["_id"]}, session=session)
            self.store.db.accounts.delete_many({"member_id": member["_id"]}, session=session)
        self.store.commit(writes, [events.MEMBER_REMOVED.build(member["tenant_id"], member_id=member["_id"],
                                                               branch_id=member["branch_id"])])
        self.relay.wake()
        return {}

    @rpc
    def list_members(self, scope, org_id="", status="", mobile=None, page_size=0, page_token="", q=""):
        """``q``: only the members whose name contains it, or whose phone is it (11 digits) or ends in it
        (4 digits); services.identity.domain.search."""
        caller = self._tenant_caller(scope)
        own_branch = self._own_branch(caller)
        org = access.readable_org(caller, self._org(org_id), own_branch)
        skip, limit = page_window(page_size, page_token)
        search = member_search.parse_query(q)
        query = {}
        if status:
            query["status"] = self._choice(status, lifecycle.STATUSES, "status")
        if mobile is not None:
            query["mobile"] = boolean(mobile, "mobile")
        manages = access.manages(caller, org)
        if search is None:
            found = self.store.members_in(org, query, skip, limit + 1)
        elif search.by_phone and not manages:
            found = []          # a branch peer is not shown phones, so it cannot find members by them either
        else:
            found = self.store.search_members(org, search.conditions(), query, skip, limit + 1)
        found, token = page_of(found, skip, limit)
        views = [member_view(member) for member in found]
        if not manages:
            views = [self._as_branch_peer(view, caller) for view in views]
        return {"members": views, "next_page_token": token}

    @staticmethod
    def _as_branch_peer(view: dict, caller: CallerScope) -> dict:
        """What a member may see of fellow branch members: name, status and role in the branch."""
        if view["id"] == caller.member_id:
            return view
        return {**view, "phone": "", "birth_date": "", "id_number_masked": "", "education": "",
                "status_history": []}

    @rpc
    def change_member_status(self, scope, member_id="", status="", on=""):
        caller = self._tenant_caller(scope)
        member = access.managed_member(caller, self._member(member_id))
        target = self._choice(status, lifecycle.STATUSES, "status")
        on_date = member_rules.parse_date(on, "on")
        dates = {key: date.fromisoformat(value) for key, value in member.get("status_dates", {}).items()}
        lifecycle.check_advance(member["status"], dates, target, on_date, date.today())
        changes = {"status": target, f"status_dates.{target}": on_date.isoformat(), "updated_at": stamp()}
        self.store.commit(
            lambda session: self.store.db.members.update_one({"_id": member["_id"], "status": member["status"]},
                                                             {"$set": changes}, session=session),
            [events.MEMBER_STATUS_CHANGED.build(member["tenant_id"], member_id=member["_id"],
                                                branch_id=member["branch_id"], old_status=member["status"],
                                                new_status=target, on=on_date.isoformat())])
        self.relay.wake()
        return member_view(self.store.member(member["_id"]))

    # -------------------------------------------------------------- accounts
    @rpc
    def create_account(self, scope, username="", password="", role="", org_id="", member_id=""):
        caller = self._tenant_caller(scope)
        username = self._username(username, "username")
        passwords.check_strength(password)
        role = self._choice(role, (ROLE_ORG_ADMIN, ROLE_BRANCH_SECRETARY, ROLE_MEMBER), "role")
        grant_org, member = None, None
        if member_id:
            member = access.managed_member(caller, self._member(member_id))
        if role == ROLE_ORG_ADMIN:
            grant_org = access.administered_org(caller, self._org(org_id))
        elif role == ROLE_BRANCH_SECRETARY:
            grant_org = access.managed_org(caller, self._org(org_id))
            if grant_org["kind"] != "branch":
                raise InvalidArgument("支部书记只能设在党支部", code="NOT_A_BRANCH", field="org_id")
            if not access.administers(caller, grant_org):
                raise PermissionDenied("只有上级组织管理员可以任命支部书记", code="NOT_ORG_ADMIN", field="org_id")
        elif member is None:
            raise InvalidArgument("党员账号须指定党员", code="MEMBER_REQUIRED", field="member_id")
        roles = [{"role": ROLE_MEMBER, "org_id": member["branch_id"]}] if member and role == ROLE_MEMBER else []
        if grant_org is not None:
            roles.append({"role": role, "org_id": grant_org["_id"]})
        account = self._new_account(caller.tenant_id, username, password, roles, member and member["_id"],
                                    path_of(grant_org if grant_org is not None else member))
        if self.store.account_by_login(account["login_key"]):
            raise Conflict("用户名已存在", code="USERNAME_EXISTS", field="username")
        self.store.commit(lambda session: self.store.db.accounts.insert_one(account, session=session), [
            events.ACCOUNT_CREATED.build(caller.tenant_id, account_id=account["_id"], username=username,
                                         roles=roles, member_id=account["member_id"])])
        self.relay.wake()
        return account_view(account)

    @rpc
    def list_accounts(self, scope, org_id="", role="", page_size=0, page_token=""):
        """The accounts whose role grant lies in the subtree of ``org_id`` (one the caller manages), without
        anything secret: an organisation admin sees its subtree's, a secretary its branch's."""
        caller = self._tenant_caller(scope)
        org = access.managed_org(caller, self._org(org_id), own_branch_id=self._own_branch(caller))
        role = self._choice(role, PLACED_ROLES, "role") if role not in (None, "") else ""
        skip, limit = page_window(page_size, page_token)
        found, token = page_of(self.store.accounts_in(org, role, skip, limit + 1), skip, limit)
        orgs = self.store.orgs_by_ids({grant["org_id"] for account in found for grant in account.get("roles", [])
                                       if grant.get("org_id")})
        names = self.store.member_names({account["member_id"] for account in found if account.get("member_id")})
        return {"accounts": [account_entry(account, orgs, names) for account in found], "next_page_token": token}

    @rpc
    def reset_tenant_admin_password(self, scope, tenant_code="", username="", password=""):
        """Operator only: a new password for a tenant's admin, the one given or, for "", one generated and
        answered this once."""
        caller = CallerScope.from_dict(scope)
        caller.require_operator()
        tenant_code = text(tenant_code, "tenant_code", max_length=32)
        username = text(username, "username", max_length=USERNAME_MAX)
        if password in (None, ""):
            password = generated = new_password()
        else:
            generated = ""
            passwords.check_strength(password)
        tenant = self.store.tenant_by_code(tenant_code)
        account = access.tenant_admin_for_reset(
            caller, tenant, tenant and self.store.account_by_login(f"{tenant['_id']}:{username}"))
        password_hash = passwords.hash_password(password)
        self.store.commit(lambda session: self.store.replace_password(session, account["_id"], password_hash), [
            events.ACCOUNT_PASSWORD_RESET.build(tenant["_id"], account_id=account["_id"], username=username,
                                                reset_by=caller.account_id)])
        self.relay.wake()
        return {"account": account_view(account), "generated_password": generated}

    # ------------------------------------------------------------- transfers
    @rpc
    def request_transfer(self, scope, member_id="", to_branch_id="", reason=""):
        caller = self._tenant_caller(scope)
        member = access.managed_member(caller, self._member(member_id))
        target = self._org(to_branch_id, "to_branch_id")
        if target is None or target["tenant_id"] != caller.tenant_id or target["kind"] != "branch":
            raise NotFound("接收党支部不存在", code="BRANCH_NOT_FOUND", field="to_branch_id")
        if target["_id"] == member["branch_id"]:
            raise InvalidArgument("转入支部与当前支部相同", code="SAME_BRANCH", field="to_branch_id")
        if self.store.pending_transfer_of(member["_id"]):
            raise Conflict("该党员已有未办结的转接", code="TRANSFER_PENDING", field="member_id")
        source = self.store.org(member["branch_id"])
        moment = utc_now()
        now = stamp(moment)
        deadline = self.store.tenant(caller.tenant_id)["settings"]["transfer_deadline_days"]
        transfer = {"_id": new_id("trf"), "tenant_id": caller.tenant_id, "member_id": member["_id"],
                    "member_name": member["name"], "from_branch_id": source["_id"], "from_branch_name": source["name"],
                    "from_path_ids": path_of(source), "to_branch_id": target["_id"],
                    "to_branch_name": target["name"], "to_path_ids": path_of(target), "state": "pending",
                    "reason": text(reason, "reason", required=False, max_length=500), "requested_at": now,
                    "requested_by": caller.account_id, "due_at": stamp(moment + timedelta(days=deadline))}
        self.store.commit(lambda session: self.store.db.transfers.insert_one(transfer, session=session), [
            events.TRANSFER_REQUESTED.build(caller.tenant_id, transfer_id=transfer["_id"], member_id=member["_id"],
                                            from_branch_id=source["_id"], to_branch_id=target["_id"])])
        self.relay.wake()
        return transfer_view(transfer, now)

    def _receiving_transfer(self, caller: CallerScope, transfer_id) -> dict:
        transfer = self.store.transfer(text(transfer_id, "transfer_id"))
        visible = transfer and transfer["tenant_id"] == caller.tenant_id and (
            caller.manages_path(transfer["to_path_ids"]) or caller.manages_path(transfer["from_path_ids"]))
        if not visible:
            raise NotFound("转接记录不存在", code="TRANSFER_NOT_FOUND", field="transfer_id")
        if not caller.manages_path(transfer["to_path_ids"]):
            raise PermissionDenied("只有接收方可以办理转入", code="NOT_RECEIVING_SIDE", field="transfer_id")
        if transfer["state"] != "pending":
            raise Conflict("该转接已办结", code="TRANSFER_DECIDED", field="transfer_id")
        return transfer

    @rpc
    def accept_transfer(self, scope, transfer_id=""):
        caller = self._tenant_caller(scope)
        transfer = self._receiving_transfer(caller, transfer_id)
        target = self.store.org(transfer["to_branch_id"])
        if target is None:
            raise Conflict("接收党支部已撤销", code="BRANCH_GONE", field="transfer_id")
        now = stamp()
        new_path = path_of(target)

        def writes(session):
            decided = self.store.decide_transfer(session, transfer["_id"], {
                "state": "accepted", "decided_at": now, "decided_by": caller.account_id})
            if decided is None:
                raise Conflict("该转接已办结", code="TRANSFER_DECIDED", field="transfer_id")
            self.store.db.members.update_one({"_id": transfer["member_id"]}, {"$set": {
                "branch_id": target["_id"], **ancestor_fields(new_path), "updated_at": now}}, session=session)
            self._move_member_role(session, transfer["member_id"], target["_id"], new_path)
        self.store.commit(writes, [events.MEMBER_TRANSFERRED.build(
            caller.tenant_id, transfer_id=transfer["_id"], member_id=transfer["member_id"],
            from_branch_id=transfer["from_branch_id"], to_branch_id=target["_id"], path_ids=new_path)])
        self.relay.wake()
        return transfer_view(self.store.transfer(transfer["_id"]), now)

    def _move_member_role(self, session, member_id: str, branch_id: str, branch_path: list[str]) -> None:
        """The member's own role follows it, and with it where its account is listed; offices it held
        (secretary, admin) stay with the old branch."""
        for account in self.store.db.accounts.find({"member_id": member_id}, session=session):
            roles = [{**grant, "org_id": branch_id} if grant["role"] == ROLE_MEMBER else grant
                     for grant in account.get("roles", [])]
            changes = {"roles": roles}
            if roles and roles[0]["role"] == ROLE_MEMBER:
                changes.update(account_place(ROLE_MEMBER, branch_path))
            self.store.db.accounts.update_one({"_id": account["_id"]}, {"$set": changes}, session=session)

    @rpc
    def reject_transfer(self, scope, transfer_id="", reason=""):
        caller = self._tenant_caller(scope)
        transfer = self._receiving_transfer(caller, transfer_id)
        reason = text(reason, "reason", max_length=500)
        now = stamp()

        def writes(session):
            if self.store.decide_transfer(session, transfer["_id"], {
                    "state": "rejected", "reject_reason": reason, "decided_at": now,
                    "decided_by": caller.account_id}) is None:
                raise Conflict("该转接已办结", code="TRANSFER_DECIDED", field="transfer_id")
        self.store.commit(writes, [events.TRANSFER_REJECTED.build(
            caller.tenant_id, transfer_id=transfer["_id"], member_id=transfer["member_id"], reason=reason)])
        self.relay.wake()
        return transfer_view(self.store.transfer(transfer["_id"]), now)

    @rpc
    def list_transfers(self, scope, org_id="", side="", state="", page_size=0, page_token=""):
        caller = self._tenant_caller(scope)
        org = access.managed_org(caller, self._org(org_id), own_branch_id=self._own_branch(caller))
        side = self._choice(side, ("outgoing", "incoming"), "side")
        state = self._choice(state, ("pending", "overdue", "done"), "state")
        skip, limit = page_window(page_size, page_token)
        now = stamp()
        query = {"tenant_id": caller.tenant_id,
                 ("from_path_ids" if side == "outgoing" else "to_path_ids"): org["_id"]}
        if state == "done":
            query["state"] = {"$in": ["accepted", "rejected"]}
        else:
            query["state"] = "pending"
            query["due_at"] = {"$lt": now} if state == "overdue" else {"$gte": now}
        found, token = page_of(self.store.transfers(query, skip, limit + 1), skip, limit)
        return {"transfers": [transfer_view(item, now) for item in found], "next_page_token": token}

    # --------------------------------------------------------------- imports
    @rpc
    def import_orgs(self, scope, parent_id="", format="", content=""):
        caller = self._tenant_caller(scope)
        parent = access.administered_org(caller, self._org(parent_id, "parent_id"), "parent_id")
        result = import_orgs(self.store, caller, parent, format, content)
        self.relay.wake()
        return result

    @rpc
    def import_members(self, scope, org_id="", format="", content=""):
        caller = self._tenant_caller(scope)
        root = access.managed_org(caller, self._org(org_id), own_branch_id=self._own_branch(caller))
        result = import_members(self.store, self.secrets.cipher, caller, root, format, content,
                                self._member_document)
        self.relay.wake()
        return result

    # --------------------------------------------------------------- helpers
    # ------------------------------------------ internal: other services only
    # Not in the gateway's operation table, so unreachable from outside the cluster.
    @rpc
    def branches_under(self, scope, org_id=""):
        """Every branch (党支部) in an organisation admin's subtree, with its path, field and category."""
        caller = self._tenant_caller(scope)
        root = access.managed_org(caller, self._org(org_id), own_branch_id=self._own_branch(caller))
        branches = self.store.subtree(root, {"kind": "branch"})
        names = {org_id: doc["name"] for org_id, doc in
                 self.store.orgs_by_ids({i for b in branches for i in path_of(b)[:-1]}).items()}
        return {"branches": [{"org_id": b["_id"], "name": b["name"], "path_ids": path_of(b),
                              "path_names": [names.get(i, "") for i in path_of(b)[:-1]] + [b["name"]],
                              "field": b.get("field", ""), "category": b.get("category", ""),
                              "level": b["level"]} for b in branches]}

    @rpc
    def branch_rosters(self, tenant_id="", branch_ids=()):
        """The party members (probationary and full) of each branch now: the roster of a themed day."""
        rosters: dict[str, list[dict]] = {branch_id: [] for branch_id in branch_ids}
        for member in self.store.party_members_of(tenant_id, list(branch_ids)):
            rosters[member["branch_id"]].append({"member_id": member["_id"], "name": member["name"],
                                                 "mobile": bool(member.get("mobile"))})
        return rosters

    def _tenant_caller(self, scope) -> CallerScope:
        caller = CallerScope.from_dict(scope)
        caller.require_tenant()
        return caller

    def _own_branch(self, caller: CallerScope) -> str | None:
        if not caller.member_id:
            return None
        member = self.store.member(caller.member_id)
        return member["branch_id"] if member else None

    def _org(self, org_id, field="org_id") -> dict | None:
        return self.store.org(text(org_id, field))

    def _member(self, member_id) -> dict | None:
        return self.store.member(text(member_id, "member_id"))

    def _branch_for_members(self, caller: CallerScope, branch_id, field: str) -> dict:
        branch = access.managed_org(caller, self._org(branch_id, field), field, self._own_branch(caller))
        if branch["kind"] != "branch":
            raise InvalidArgument("党员只能编入党支部", code="NOT_A_BRANCH", field=field)
        return branch

    @staticmethod
    def _choice(value, allowed, field: str) -> str:
        value = text(value, field)
        if value not in allowed:
            raise InvalidArgument(f"{field} 取值无效，可选：{', '.join(allowed)}", code="VALUE_NOT_ALLOWED",
                                  field=field)
        return value

    @staticmethod
    def _username(value, field: str) -> str:
        value = text(value, field, max_length=USERNAME_MAX)
        if not all(ch.isalnum() or ch in "._-@" for ch in value):
            raise InvalidArgument("用户名只能包含字母、数字和 . _ - @", code="USERNAME_INVALID", field=field)
        return value

    def _new_account(self, tenant_id, username, password, roles, member_id=None, grant_path=()) -> dict:
        """``grant_path``: the path of the organisation of the account's one grant (``roles[0]``), where
        list_accounts finds it."""
        return {"_id": new_id("acc"), "tenant_id": tenant_id, "username": username,
                "login_key": f"{tenant_id or ''}:{username}", "password_hash": passwords.hash_password(password),
                "roles": roles, "member_id": member_id, "created_at": stamp(),
                **account_place(roles[0]["role"], grant_path)}

    def _new_org(self, tenant_id: str, parent: dict, fields: dict, org_id: str | None = None,
                 import_id: str | None = None) -> dict:
        org_id = org_id or new_id("org")
        now = stamp()
        org = {"_id": org_id, "tenant_id": tenant_id, "name": fields["name"], "kind": fields["kind"],
               "category": fields.get("category", ""), "field": fields.get("field", ""),
               "parent_id": parent["_id"], "level": parent["level"] + 1,
               **ancestor_fields(path_of(parent) + [org_id]), "created_at": now, "updated_at": now}
        if import_id:
            org["import_id"] = import_id
        return org

    def _org_created_event(self, org: dict) -> dict:
        return events.ORGANISATION_CREATED.build(
            org["tenant_id"], org_id=org["_id"], parent_id=org["parent_id"], name=org["name"], kind=org["kind"],
            category=org.get("category", ""), field=org.get("field", ""), path_ids=path_of(org))

    def _member_document(self, tenant_id: str, branch: dict, normalized: dict, import_id: str | None,
                         cipher: FieldCipher | None = None) -> dict:
        cipher = cipher or self.secrets.cipher
        number = normalized["id_number"]
        now = stamp()
        member = {"_id": new_id("mem"), "tenant_id": tenant_id, "branch_id": branch["_id"],
                  **ancestor_fields(path_of(branch)), "name": normalized["name"], "gender": normalized["gender"],
                  "birth_date": normalized["birth_date"].isoformat(),
                  "id_number_enc": cipher.encrypt(tenant_id, number, "id_number"),
                  "id_number_index": cipher.blind_index(tenant_id, number),
                  "id_number_masked": idcard.mask_id_number(number), "phone": normalized.get("phone", ""),
                  "education": normalized.get("education", ""), "status": normalized["status"],
                  "status_dates": {status: value.isoformat()
                                   for status, value in normalized.get("status_dates", {}).items() if value},
                  "enrolment": normalized.get("enrolment", "none"), "mobile": bool(normalized.get("mobile")),
                  "search": member_search.member_keys(normalized["name"], normalized.get("phone", "")),
                  "created_at": now, "updated_at": now}
        if import_id:
            member["import_id"] = import_id
        return member

    def _org_view(self, org: dict) -> dict:
        return self._org_views([org])[0]

    def _org_views(self, orgs: list[dict]) -> list[dict]:
        ancestor_ids = {org_id for org in orgs for org_id in path_of(org)[:-1]}
        names = {org_id: doc["name"] for org_id, doc in self.store.orgs_by_ids(ancestor_ids).items()}
        return [org_view(org, names) for org in orgs]
