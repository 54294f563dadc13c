"""Accounts: creating one for a role over an organisation or a member, listing a subtree's, and the operator's
reset of a tenant admin's lost password."""
from __future__ import annotations

from servicekit.errors import Conflict, InvalidArgument, PermissionDenied
from servicekit.security.keys import new_password
from servicekit.security.scope import ROLE_BRANCH_SECRETARY, ROLE_MEMBER, ROLE_ORG_ADMIN, CallerScope
from servicekit.storage.paging import page_of, page_window

from services.identity import access, documents, events, passwords
from services.identity.arguments import text
from services.identity.store import PLACED_ROLES, path_of
from services.identity.usecases.common import USERNAME_MAX, UseCases, choice, username as checked_username
from services.identity.views import account_entry, account_view


class Accounts(UseCases):
    def create(self, caller: CallerScope, username, password, role, org_id, member_id) -> dict:
        username = checked_username(username, "username")
        passwords.check_strength(password)
        role = choice(role, (ROLE_ORG_ADMIN, ROLE_BRANCH_SECRETARY, ROLE_MEMBER), "role")
        grant_org, member = None, None
        if member_id:
            member = access.managed_member(caller, self.member(member_id))
        if role == ROLE_ORG_ADMIN:
            grant_org = access.administered_org(caller, self.org(org_id))
        elif role == ROLE_BRANCH_SECRETARY:
            grant_org = access.managed_org(caller, self.org(org_id))
            if grant_org["kind"] != "branch":
                raise InvalidArgument("支部书记只能设在党支部", code="NOT_A_BRANCH", field="org_id")
            if not access.administers(caller, grant_org):
                raise PermissionDenied("只有上级组织管理员可以任命支部书记", code="NOT_ORG_ADMIN", field="org_id")
        elif member is None:
            raise InvalidArgument("党员账号须指定党员", code="MEMBER_REQUIRED", field="member_id")
        roles = [{"role": ROLE_MEMBER, "org_id": member["branch_id"]}] if member and role == ROLE_MEMBER else []
        if grant_org is not None:
            roles.append({"role": role, "org_id": grant_org["_id"]})
        now = self.stamp()
        account = documents.account(caller.tenant_id, username, password, roles, now, member and member["_id"],
                                    path_of(grant_org if grant_org is not None else member))
        if self.store.account_by_login(account["login_key"]):
            raise Conflict("用户名已存在", code="USERNAME_EXISTS", field="username")
        self.store.create_account(account, [events.ACCOUNT_CREATED.build(
            caller.tenant_id, now, account_id=account["_id"], username=username, roles=roles,
            member_id=account["member_id"])])
        return account_view(account)

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
                                                reset_by=caller.account_id)])
        return {"account": account_view(account), "generated_password": generated}
