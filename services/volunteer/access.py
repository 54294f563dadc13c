"""Who may see and do what with orders (pure rules over a CallerScope and the stored documents).

- a citizen (role ``citizen``) sees and acts on its own orders only (``account_id``); a guest, by tracking code,
  on that one order;
- the managers (org admins, branch secretaries) of a community's node or of an ancestor see its orders and
  review, merge, dispatch and resolve them;
- a member claims orders of the community it reported to (双报到) or of its teams, and sees an order it holds a
  claim on or may claim.
Anything of another tenant or outside the caller's reach is reported as not found, with the same code as an id
that exists nowhere.
"""
from __future__ import annotations

from servicekit.errors import NotFound, PermissionDenied
from servicekit.security.scope import CallerScope
from servicekit.storage.subtree import path_of


def same_tenant(caller: CallerScope, doc: dict | None) -> bool:
    return bool(doc) and bool(caller.tenant_id) and doc.get("tenant_id") == caller.tenant_id


def order_not_found() -> NotFound:
    return NotFound("订单不存在或不在您的管辖范围内", code="ORDER_NOT_FOUND", field="order_id")


def community_not_found(field: str = "community_id") -> NotFound:
    return NotFound("社区不存在或未开放志愿服务", code="ORG_NOT_FOUND", field=field)


def manages_order(caller: CallerScope, order: dict | None) -> bool:
    return same_tenant(caller, order) and caller.manages_path(path_of(order))


def owns_order(caller: CallerScope, order: dict | None) -> bool:
    """The citizen who placed it with its account."""
    return (same_tenant(caller, order) and caller.is_citizen and bool(order.get("account_id"))
            and order["account_id"] == caller.account_id)


def managed_order(caller: CallerScope, order: dict | None) -> dict:
    if not manages_order(caller, order):
        raise order_not_found()
    return order


def own_order(caller: CallerScope, order: dict | None) -> dict:
    if not owns_order(caller, order):
        raise order_not_found()
    return order


def require_citizen(caller: CallerScope) -> None:
    caller.require_tenant()
    if not caller.is_citizen:
        raise PermissionDenied("此操作需要群众账号", code="CITIZEN_ONLY")


def require_member(caller: CallerScope) -> str:
    caller.require_tenant()
    if not caller.member_id or not caller.branch_id:
        raise PermissionDenied("此操作需要党员账号", code="MEMBER_ONLY")
    return caller.member_id


def managed_profile_path(caller: CallerScope, org: dict) -> list[str]:
    """The path of a node the caller manages (identity answered it with the caller's scope)."""
    path = list(org["path_ids"])
    if not caller.manages_path(path):
        raise NotFound("组织不存在或不在您的管辖范围内", code="ORG_NOT_FOUND", field="org_id")
    return path
