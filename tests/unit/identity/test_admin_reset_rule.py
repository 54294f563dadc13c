"""Whose password the installation operator may reset: a tenant's admin, and only the operator may."""
import pytest

from servicekit.errors import NotFound, PermissionDenied
from servicekit.security.scope import CallerScope, RoleGrant
from services.identity.access import tenant_admin_for_reset

OPERATOR = CallerScope("acc-operator", None, (RoleGrant("operator"),))
TENANT = {"_id": "ten-xa", "code": "xa", "root_org_id": "org-city"}
ADMIN = {"_id": "acc-admin", "tenant_id": "ten-xa", "username": "admin",
         "roles": [{"role": "org_admin", "org_id": "org-city"}]}


def test_the_operator_may_reset_an_admin_of_the_tenants_root():
    assert tenant_admin_for_reset(OPERATOR, TENANT, ADMIN) is ADMIN


@pytest.mark.parametrize("caller", [
    CallerScope("acc-admin", "ten-xa", (RoleGrant("org_admin", "org-city"),)),     # the tenant's own admin
    CallerScope("acc-other", "ten-bj", (RoleGrant("org_admin", "org-bj"),)),       # another tenant's admin
    CallerScope("acc-sec", "ten-xa", (RoleGrant("branch_secretary", "org-b1"),)),
    CallerScope("acc-mem", "ten-xa", (RoleGrant("member", "org-b1"),), member_id="mem-1"),
])
def test_every_other_caller_is_refused_before_anything_is_said_about_the_tenant(caller):
    for tenant, account in ((TENANT, ADMIN), (None, None)):
        with pytest.raises(PermissionDenied) as refused:
            tenant_admin_for_reset(caller, tenant, account)
        assert refused.value.code == "OPERATOR_ONLY"


@pytest.mark.parametrize("tenant, account, error, code", [
    (None, None, NotFound, "TENANT_NOT_FOUND"),
    (TENANT, None, NotFound, "ACCOUNT_NOT_FOUND"),
    (TENANT, {**ADMIN, "tenant_id": "ten-bj"}, NotFound, "ACCOUNT_NOT_FOUND"),
    (TENANT, {**ADMIN, "roles": [{"role": "org_admin", "org_id": "org-county"}]}, PermissionDenied,
     "NOT_TENANT_ADMIN"),
    (TENANT, {**ADMIN, "roles": [{"role": "member", "org_id": "org-city"}]}, PermissionDenied, "NOT_TENANT_ADMIN"),
])
def test_only_an_admin_of_the_root_of_that_tenant_can_be_reset(tenant, account, error, code):
    with pytest.raises(error) as refused:
        tenant_admin_for_reset(OPERATOR, tenant, account)
    assert refused.value.code == code
