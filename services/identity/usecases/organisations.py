"""The organisation tree: reading a subtree, and changing it (organisation admins only)."""
from __future__ import annotations

from servicekit.errors import Conflict, InvalidArgument
from servicekit.security.scope import CallerScope
from servicekit.storage.paging import page_of, page_window

from services.identity import access, documents, events
from services.identity.arguments import text
from services.identity.domain import tree
from services.identity.store import path_of
from services.identity.usecases.common import UseCases, choice


MAX_NODES = 1000     # org_nodes: a batch of a peer's cold nodes, not a tree's export


def _org_ids(value) -> list[str]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(i, str) and i for i in value):
        raise InvalidArgument("org_ids 必须是组织编号列表", code="INVALID_TYPE", field="org_ids")
    if len(value) > MAX_NODES:
        raise InvalidArgument(f"org_ids 不能超过 {MAX_NODES} 个", code="TOO_MANY", field="org_ids")
    return list(dict.fromkeys(value))


class Organisations(UseCases):
    def get(self, caller: CallerScope, org_id) -> dict:
        return self.org_view(access.readable_org(caller, self.org(org_id), self.own_branch(caller)))

    def nodes(self, tenant_id, org_ids) -> dict[str, dict]:
        """``{org_id: view}`` (the view ``get`` answers) of the tenant's nodes among ``org_ids``; an id that is not
        the tenant's node is left out. For peer services only: no caller is checked, so a peer that keeps these
        serves each only to a caller ``get`` would answer."""
        tenant_id = text(tenant_id, "tenant_id", max_length=64)
        ids = _org_ids(org_ids)
        if not ids:
            return {}
        orgs = self.store.tenant_orgs(tenant_id, ids)
        return {org["_id"]: view for org, view in zip(orgs, self.org_views(orgs))}

    def all_nodes(self, after, limit) -> dict:
        """``{"nodes": [[tenant_id, view], ...], "next": id or ""}``: every tenant's nodes in id order after
        ``after``, at most ``limit`` (1-1,000), for a peer that keeps the whole tree (content's org paths); ``next``
        is the id to ask after for the following page, "" at the end. For peer services only, as ``nodes``."""
        after = text(after, "after", max_length=64, required=False)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_NODES:
            raise InvalidArgument(f"limit 必须是 1 到 {MAX_NODES} 之间的整数", code="INVALID_TYPE", field="limit")
        orgs = self.store.orgs_after(after, limit + 1)
        page = orgs[:limit]
        return {"nodes": [[org["tenant_id"], view] for org, view in zip(page, self.org_views(page))],
                "next": page[-1]["_id"] if len(orgs) > limit else ""}

    def tree_revision(self) -> int:
        """A number that changes whenever any tenant's nodes change (created, renamed, moved, dissolved,
        imported): a peer that keeps the whole tree (``all_nodes``) reads it again only when this moved."""
        return self.store.org_tree_revision()

    def list_subtree(self, caller: CallerScope, org_id, max_depth, kind, field, page_size, page_token) -> dict:
        root = access.readable_org(caller, self.org(org_id), self.own_branch(caller))
        skip, limit = page_window(page_size, page_token)
        query = {}
        if not isinstance(max_depth, int) or isinstance(max_depth, bool) or max_depth < 0:
            raise InvalidArgument("max_depth 必须是非负整数", code="INVALID_TYPE", field="max_depth")
        if not access.manages(caller, root):
            query["level"] = root["level"]  # a member sees its own branch, not what lies below
        elif max_depth:
            query["level"] = {"$lte": root["level"] + max_depth}
        if kind:
            query["kind"] = choice(kind, tree.KINDS, "kind")
        if field:
            query["field"] = choice(field, tree.FIELDS, "field")
        orgs, token = page_of(self.store.subtree(root, query, skip, limit + 1), skip, limit)
        return {"orgs": self.org_views(orgs), "next_page_token": token}

    def create(self, caller: CallerScope, parent_id, name, kind, category, field) -> dict:
        parent = access.administered_org(caller, self.org(parent_id, "parent_id"), "parent_id")
        fields = tree.validate_org_fields(text(name, "name"), text(kind, "kind"),
                                          text(category, "category", required=False),
                                          text(field, "field", required=False))
        tree.check_child_kind(parent["kind"], fields["kind"])
        if parent["level"] + 1 >= tree.MAX_DEPTH:
            raise InvalidArgument("组织层级过深", code="TREE_TOO_DEEP", field="parent_id")
        now = self.stamp()
        org = documents.child_org(caller.tenant_id, parent, fields, now)
        self.store.create_org(org, [events.organisation_created(org, now)])
        return self.org_view(org)

    def update(self, caller: CallerScope, org_id, name, category, field) -> dict:
        """``None`` leaves a field as it is."""
        org = access.administered_org(caller, self.org(org_id))
        merged = tree.validate_org_fields(
            org["name"] if name is None else text(name, "name"), org["kind"],
            org.get("category", "") if category is None else text(category, "category", required=False),
            org.get("field", "") if field is None else text(field, "field", required=False))
        changes = {key: merged[key] for key in ("name", "category", "field")}
        changes["updated_at"] = now = self.stamp()
        self.store.update_org(org["_id"], changes, [events.ORGANISATION_UPDATED.build(
            org["tenant_id"], now, org_id=org["_id"], name=changes["name"], category=changes["category"],
            field=changes["field"])])
        return self.org_view({**org, **changes})

    def move(self, caller: CallerScope, org_id, new_parent_id) -> dict:
        org = access.administered_org(caller, self.org(org_id))
        access.strictly_below_admin_root(caller, org)
        new_parent = access.administered_org(caller, self.org(new_parent_id, "new_parent_id"), "new_parent_id")
        tree.check_move(path_of(org), path_of(new_parent), org["kind"], new_parent["kind"],
                        self.store.subtree_height(org))
        new_path = path_of(new_parent) + [org["_id"]]
        now = self.stamp()
        self.store.move_org(org, new_path, now, [events.ORGANISATION_MOVED.build(
            org["tenant_id"], now, org_id=org["_id"], old_parent_id=org["parent_id"],
            new_parent_id=new_parent["_id"], path_ids=new_path)])
        return self.org_view(self.store.org(org["_id"]))

    def dissolve(self, caller: CallerScope, org_id) -> dict:
        """Only an empty organisation: no child organisation, no member."""
        org = access.administered_org(caller, self.org(org_id))
        access.strictly_below_admin_root(caller, org)
        if self.store.children(org["_id"], limit=1):
            raise Conflict("该组织仍有下级组织，不能撤销", code="ORG_HAS_CHILDREN", field="org_id")
        if self.store.has_members(org):
            raise Conflict("该组织仍有党员，不能撤销", code="ORG_HAS_MEMBERS", field="org_id")
        self.store.dissolve_org(org["_id"], [events.ORGANISATION_DISSOLVED.build(
            org["tenant_id"], self.stamp(), org_id=org["_id"], parent_id=org["parent_id"])])
        return {}

    def branches_under(self, caller: CallerScope, org_id) -> dict:
        """Every branch (党支部) in a manager's subtree, with its path, field and category (for other services)."""
        root = access.managed_org(caller, self.org(org_id), own_branch_id=self.own_branch(caller))
        branches = self.store.subtree(root, {"kind": "branch"})
        names = {org_id: doc["name"] for org_id, doc in
                 self.store.orgs_by_ids({i for b in branches for i in path_of(b)[:-1]}).items()}
        return {"branches": [{"org_id": b["_id"], "name": b["name"], "path_ids": path_of(b),
                              "path_names": [names.get(i, "") for i in path_of(b)[:-1]] + [b["name"]],
                              "field": b.get("field", ""), "category": b.get("category", ""),
                              "level": b["level"]} for b in branches]}
