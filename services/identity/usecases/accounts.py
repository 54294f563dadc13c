"""Accounts: creating one for a role over an organisation or a member (one per member, unless an admin records
why), listing a subtree's, an admin's password reset, disabling, enabling and removing one in its subtree, and the
operator's reset of a tenant admin's lost password. Each cut-off revokes the account's sessions
(``usecases.sessions``)."""
from __future__ import annotations

from servicekit.errors import Conflict, InvalidArgument, PermissionDenied
from servicekit.security.keys import new_password
from servicekit.security.scope import ROLE_AUDITOR, ROLE_BRANCH_SECRETARY, ROLE_MEMBER, ROLE_ORG_ADMIN, CallerScope
from servicekit.storage.paging import page_of, page_window

from services.identity import access, documents, events, passwords
from services.identity.arguments import text
from services.identity.store import PLACED_ROLES, path_of
from services.identity.usecases.common import USERNAME_MAX, UseCases, choice, username as checked_username
from services.identity.usecases.sessions import administered_account, revocation
from services.identity.views import account_entry, account_view


class Accounts(UseCases):
    def __init__(self, store, clock, token_lifetime: int = 3600):
        super().__init__(store, clock)
        self.token_lifetime = token_lifetime        # how long a revocation must be kept (the access tokens' life)

    def create(self, caller: CallerScope, username, password, role, org_id, member_id, reason="") -> dict:
        """``reason``: why a member that has an account already gets another (an admin above its branch only;
        recorded on the account)."""
        username = checked_username(username, "username")
        passwords.check_strength(password)
        role = choice(role, (ROLE_ORG_ADMIN, ROLE_BRANCH_SECRETARY, ROLE_MEMBER, ROLE_AUDITOR), "role")
        reason = text(reason, "reason", required=False, max_length=200)
        grant_org, member = None, None
        if role == ROLE_AUDITOR and member_id:
            # an auditor reads what members' managers did: its login is nobody's member account
            raise InvalidArgument("审计员账号不属于党员", code="AUDITOR_NOT_MEMBER", field="member_id")
        if member_id:
            member = access.managed_member(caller, self.member(member_id))
            if self.store.member_accounts(member["_id"]):
                # one login per member: else whoever made the second could act as the member unseen
                if not access.administers(caller, member):
                    raise Conflict("该党员已有账号", code="MEMBER_HAS_ACCOUNT", field="member_id")
                if not reason:
                    raise InvalidArgument("为已有账号的党员再建账号须说明理由", code="REASON_REQUIRED", field="reason")
        if role == ROLE_ORG_ADMIN:
            grant_org = access.administered_org(caller, self.org(org_id))
        elif role == ROLE_BRANCH_SECRETARY:
            grant_org = access.managed_org(caller, self.org(org_id))
            if grant_org["kind"] != "branch":
                raise InvalidArgument("支部书记只能设在党支部", code="NOT_A_BRANCH", field="org_id")
            if not access.administers(caller, grant_org):
                raise PermissionDenied("只有上级组织管理员可以任命支部书记", code="NOT_ORG_ADMIN", field="org_id")
        elif role == ROLE_AUDITOR:
            grant_org = access.administered_org(caller, self.org(org_id))
            if grant_org.get("parent_id"):
                raise InvalidArgument("审计员须设在本单位的根组织", code="AUDITOR_AT_ROOT", field="org_id")
        elif member is None:
            raise InvalidArgument("党员账号须指定党员", code="MEMBER_REQUIRED", field="member_id")
        roles = [{"role": ROLE_MEMBER, "org_id": member["branch_id"]}] if member and role == ROLE_MEMBER else []
        if grant_org is not None:
            roles.append({"role": role, "org_id": grant_org["_id"]})
        now = self.stamp()
        account = documents.account(caller.tenant_id, username, password, roles, now, member and member["_id"],
                                    path_of(grant_org if grant_org is not None else member))
        account["created_by"] = caller.account_id
        if member is not None and reason:
            account["extra_account_reason"] = reason
        if self.store.account_by_login(account["login_key"]):
            raise Conflict("用户名已存在", code="USERNAME_EXISTS", field="username")
        self.store.create_account(account, [events.ACCOUNT_CREATED.build(
            caller.tenant_id, now, account_id=account["_id"], username=username, roles=roles,
            member_id=account["member_id"])])
        return account_view(account)

    def reset_password(self, caller: CallerScope, account_id, password) -> dict:
        """An admin sets a new password (given, or generated and answered this once) for an account in its
        subtree; every session of the account is revoked."""
        account = self._administered(caller, account_id)
        password, generated = self._new_password(password)
        now = self.stamp()
        self.store.change_password(account["_id"], passwords.hash_password(password), now, [
            events.ACCOUNT_PASSWORD_RESET.build(caller.tenant_id, now, account_id=account["_id"],
                                                username=account["username"], reset_by=caller.account_id)],
            revoke=self._revocation(account["_id"], "password_reset"))
        return {"account": account_view(account), "generated_password": generated}

    def disable(self, caller: CallerScope, account_id, reason) -> dict:
        """An admin disables an account in its subtree: it cannot log in, its sessions are revoked and the
        gateways refuse its tokens within seconds. Never one's own, never the tenant's last city admin."""
        account = self._administered(caller, account_id, cutting_off=True)
        reason = text(reason, "reason", required=False, max_length=200)
        now = self.stamp()
        changes = {"disabled": True, "disabled_at": now, "disabled_by": caller.account_id, "disabled_reason": reason}
        self.store.update_account(account["_id"], changes, [events.ACCOUNT_DISABLED.build(
            caller.tenant_id, now, account_id=account["_id"], disabled_by=caller.account_id, reason=reason)],
            revoke=self._revocation(account["_id"], "account_disabled"))
        return account_view({**account, **changes})

    def enable(self, caller: CallerScope, account_id) -> dict:
        account = self._administered(caller, account_id)
        now = self.stamp()
        changes = {"disabled": False, "enabled_at": now, "enabled_by": caller.account_id}
        self.store.update_account(account["_id"], changes, [events.ACCOUNT_ENABLED.build(
            caller.tenant_id, now, account_id=account["_id"], enabled_by=caller.account_id)])
        return account_view({**account, **changes})

    def remove(self, caller: CallerScope, account_id) -> dict:
        """An admin removes a login in its subtree (the member record, if any, stays); its tokens die with it."""
        account = self._administered(caller, account_id, cutting_off=True)
        now = self.stamp()
        self.store.remove_account(account["_id"], [events.ACCOUNT_REMOVED.build(
            caller.tenant_id, now, account_id=account["_id"], username=account["username"],
            removed_by=caller.account_id)], self._revocation(account["_id"], "account_removed"))
        return {"account_id": account["_id"]}

    def _administered(self, caller: CallerScope, account_id, cutting_off: bool = False) -> dict:
        account = administered_account(caller, self.store.account(text(account_id, "account_id", max_length=64)))
        if cutting_off:
            if account["_id"] == caller.account_id:
                raise PermissionDenied("不能停用或删除自己的账号", code="OWN_ACCOUNT", field="account_id")
            tenant = self.store.tenant(account["tenant_id"])
            root_id = tenant and tenant["root_org_id"]
            if root_id and any(grant.get("role") == ROLE_ORG_ADMIN and grant.get("org_id") == root_id
                               for grant in account.get("roles", [])):
                others = [admin for admin in self.store.root_admins(account["tenant_id"], root_id)
                          if admin["_id"] != account["_id"] and not admin.get("disabled")]
                if not others:
                    raise Conflict("不能停用或删除最后一个市级管理员", code="LAST_CITY_ADMIN", field="account_id")
        return account

    def _revocation(self, account_id: str, reason: str) -> dict:
        return revocation(account_id, reason, self.token_lifetime, all_of_account=True, cut_account=True)

    @staticmethod
    def _new_password(password) -> tuple[str, str]:
        """(the password, the same if generated else "")."""
        if password in (None, ""):
            password = new_password()
            return password, password
        passwords.check_strength(password)
        return password, ""

    def list(self, caller: CallerScope, org_id, role, page_size, page_token) -> dict:
        """The accounts whose role grant lies in the subtree of ``org_id`` (one the caller manages), without
        anything secret: an organisation admin sees its subtree's, a secretary its branch's."""
        org = access.managed_org(caller, self.org(org_id), own_branch_id=self.own_branch(caller))
        role = choice(role, PLACED_ROLES, "role") if role not in (None, "") else ""
        skip, limit = page_window(page_size, page_token)
        found, token = page_of(self.store.accounts_in(org, role, skip, limit + 1), skip, limit)
        orgs = self.store.orgs_by_ids({grant["org_id"] for account in found for grant in account.get("roles", [])
                                       if grant.get("org_id")})
        names = self.store.member_names({account["member_id"] for account in found if account.get("member_id")})
        return {"accounts": [account_entry(account, orgs, names) for account in found], "next_page_token": token}

    def reset_tenant_admin_password(self, caller: CallerScope, tenant_code, username, password) -> dict:
        """Operator only: a new password for a tenant's admin, the one given or, for "", one generated and
        answered this once."""
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
        now = self.stamp()
        self.store.reset_password(account["_id"], passwords.hash_password(password), now, [
            events.ACCOUNT_PASSWORD_RESET.build(tenant["_id"], now, account_id=account["_id"], username=username,
                                                reset_by=caller.account_id)],
            revoke=self._revocation(account["_id"], "password_reset"))
        return {"account": account_view(account), "generated_password": generated}
