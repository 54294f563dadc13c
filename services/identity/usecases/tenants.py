"""Tenants (one city each): created by the installation operator with their root organisation and admin."""
from __future__ import annotations

from servicekit.errors import Conflict, InvalidArgument, NotFound
from servicekit.process.config import env
from servicekit.security.scope import ROLE_ORG_ADMIN, CallerScope

from services.identity import documents, events, passwords
from services.identity.arguments import text
from services.identity.domain import tree
from services.identity.usecases.common import UseCases, username
from services.identity.views import account_view, org_view


class Tenants(UseCases):
    def create(self, caller: CallerScope, code, name, admin_username, admin_password) -> dict:
        caller.require_operator()
        code = text(code, "code", max_length=32)
        if not code.replace("-", "").isalnum() or not code.isascii() or code != code.lower():
            raise InvalidArgument("租户代码只能包含小写字母、数字和连字符", code="TENANT_CODE_INVALID", field="code")
        name = tree.validate_org_fields(text(name, "name"), "city", "", "")["name"]
        admin_username = username(admin_username, "admin_username")
        passwords.check_strength(admin_password)
        if self.store.tenant_by_code(code):
            raise Conflict("租户代码已存在", code="TENANT_EXISTS", field="code")
        now = self.stamp()
        tenant = {"_id": documents.new_id("ten"), "code": code, "name": name, "created_at": now,
                  "settings": {"transfer_deadline_days": int(env("TRANSFER_DEADLINE_DAYS", "30"))}}
        root = documents.root_org(tenant["_id"], name, now)
        tenant["root_org_id"] = root["_id"]
        admin = documents.account(tenant["_id"], admin_username, admin_password,
                                  [{"role": ROLE_ORG_ADMIN, "org_id": root["_id"]}], now, grant_path=[root["_id"]])
        self.store.create_tenant(tenant, root, admin, [
            events.TENANT_CREATED.build(tenant["_id"], now, code=code, name=name, root_org_id=root["_id"]),
            events.organisation_created(root, now),
            events.ACCOUNT_CREATED.build(tenant["_id"], now, account_id=admin["_id"], username=admin_username,
                                         roles=admin["roles"], member_id=None)])
        return {"tenant": {"id": tenant["_id"], "code": code, "name": name}, "root_org": org_view(root),
                "admin_account": account_view(admin)}

    def by_code(self, tenant_code) -> dict:
        """A tenant named by its login code, for another service's public operation (a citizen's order names its
        tenant by code); its id, code, name and root organisation, nothing else."""
        tenant = self.store.tenant_by_code(text(tenant_code, "tenant_code", max_length=32))
        if tenant is None:
            raise NotFound("单位代码不存在", code="TENANT_NOT_FOUND", field="tenant_code")
        return {"tenant_id": tenant["_id"], "code": tenant["code"], "name": tenant["name"],
                "root_org_id": tenant["root_org_id"]}
