"""Learning packages (学习套餐): an admin (or a secretary for its branch) puts a month's package together for its
node's subtree and publishes it; members see the published packages of their branch path with their own
progress; managers see progress per branch, per county, by field or category, ranked (完成率).

Visibility: a package is the business of the managers of its node (drafts too); once published, of every
member below it and of the managers of nodes below it (for their own part of it). Anything else is answered as
``PACKAGE_NOT_FOUND``, like an id that exists nowhere.

A branch's study ranking of a month (本支部学习榜) is its managers' progress view; its members see it only when
the tenant turned ``study_points_public`` on (the issue: study is not ranked publicly unless the tenant wants it).
"""
from __future__ import annotations

from servicekit.arguments import choice, text
from servicekit.errors import InvalidArgument, NotFound, PermissionDenied
from servicekit.security.scope import CallerScope
from servicekit.storage.paging import page_of, page_window
from servicekit.storage.subtree import ancestor_fields
from servicekit.timestamps import stamp

from services.content import access
from services.content.domain import learning as rules
from services.content.domain import settings as settings_rules
from services.content.stores.learning import new_package_id

VISIBLE_TO_MEMBERS = (rules.PUBLISHED.value, rules.CLOSED.value)


def package_view(package: dict) -> dict:
    return {"id": package["_id"], "tenant_id": package["tenant_id"], "org_id": package["org_id"],
            "org_name": package.get("org_name", ""), "org_path": list(package["org_path"]),
            "month": package["month"], "title": package["title"], "due_on": package["due_on"],
            "status": package["status"], "items": [item_view(item) for item in package["items"]],
            "item_count": len(package["items"]), "created_by": package["created_by"],
            "created_at": package["created_at"], "updated_at": package["updated_at"],
            "published_at": package.get("published_at") or "", "closed_at": package.get("closed_at") or ""}


def item_view(item: dict, studied: dict | None = None) -> dict:
    view = {key: item[key] for key in ("key", "title", "kind", "item_id", "url", "min_seconds", "cap_seconds")}
    view["tags"] = list(item.get("tags") or [])
    if studied is not None:
        view.update(seconds=int(studied.get("seconds", 0)), studied=bool(studied.get("studied_at")),
                    studied_at=studied.get("studied_at") or "")
    return view


def member_package_view(package: dict, studied_rows: list[dict]) -> dict:
    by_key = {row["item_key"]: row for row in studied_rows}
    items = [item_view(item, by_key.get(item["key"], {})) for item in package["items"]]
    return {**{key: value for key, value in package_view(package).items() if key != "items"},
            "items": items, "studied_count": sum(1 for item in items if item["studied"])}


def package_of(caller: CallerScope, package: dict | None, reach: list[list[str]]) -> dict:
    """The package if the caller may read it: the managers of its node always, once published the members and
    managers of its subtree; NotFound otherwise."""
    if access.same_tenant(caller, package):
        path = package["org_path"]
        if access.manages(caller, path):
            return package
        if package["status"] in VISIBLE_TO_MEMBERS and access.within_reach(caller, path, reach):
            return package
    raise NotFound("学习套餐不存在或不在您的范围内", code="PACKAGE_NOT_FOUND", field="package_id")


class Learning:
    def __init__(self, store, clock, identity, org_paths):
        self.store, self.clock, self.identity, self.org_paths = store, clock, identity, org_paths

    # --- helpers ----------------------------------------------------------------------------------------
    def _reach(self, caller: CallerScope) -> list[list[str]]:
        return access.reach_paths(caller, self.org_paths, self.identity)

    def _readable(self, caller: CallerScope, package_id) -> dict:
        if not isinstance(package_id, str) or not package_id:
            raise InvalidArgument("package_id 不能为空", code="REQUIRED", field="package_id")
        package = self.store.package(package_id)
        return package_of(caller, package, self._reach(caller) if access.same_tenant(caller, package) else [])

    def _managed(self, caller: CallerScope, package_id) -> dict:
        """A package the caller manages (an admin of its node or above, or the secretary of its branch)."""
        if not caller.managed_org_ids:
            raise PermissionDenied("只有管理员或支部书记可以管理学习套餐", code="NOT_ORG_MANAGER")
        package = self._readable(caller, package_id)
        access.require_manager(caller, package["org_path"], field="package_id")
        return package

    def _staff_org(self, caller: CallerScope, org_id, field: str = "org_id") -> dict:
        if not caller.managed_org_ids:
            raise PermissionDenied("只有管理员或支部书记可以查看", code="NOT_ORG_MANAGER")
        if not isinstance(org_id, str) or not org_id:
            raise InvalidArgument(f"{field} 不能为空", code="REQUIRED", field=field)
        org = self.org_paths.org(self.identity, caller, org_id)
        access.require_manager(caller, org["path_ids"], field=field)
        return org

    # --- packages -----------------------------------------------------------------------------------------
    def create(self, caller: CallerScope, org_id, month, title, due_on, items) -> dict:
        org = self._staff_org(caller, org_id)
        fields = rules.validate_package(title, month, due_on, items)
        self._check_content_items(caller, fields["items"])
        now = stamp(self.clock.now())
        package = {"_id": new_package_id(), "tenant_id": caller.tenant_id, "org_id": org["id"],
                   "org_name": org.get("name", ""), "org_path": list(org["path_ids"]),
                   **ancestor_fields(org["path_ids"]), **fields, "status": rules.DRAFT.value,
                   "created_by": caller.account_id, "created_at": now, "updated_at": now, "published_at": None,
                   "closed_at": None}
        return package_view(self.store.insert_package(package))

    def update(self, caller: CallerScope, package_id, title, due_on, items) -> dict:
        package = self._managed(caller, package_id)
        rules.apply_package(rules.EDIT, package)
        fields = rules.validate_package(package["title"] if title in (None, "") else title, package["month"],
                                        package["due_on"] if due_on in (None, "") else due_on,
                                        items or package["items"])
        if items:       # an empty list keeps the items (a package is never published without any)
            self._check_content_items(caller, fields["items"])
        fields["updated_at"] = stamp(self.clock.now())
        return package_view(self.store.change_package(package["_id"], rules.DRAFT.value, fields))

    def publish(self, caller: CallerScope, package_id) -> dict:
        package = self._managed(caller, package_id)
        target = rules.apply_package(rules.PUBLISH, package)
        now = stamp(self.clock.now())
        return package_view(self.store.change_package(package["_id"], package["status"], {
            "status": target.value, "published_at": now, "published_by": caller.account_id, "updated_at": now}))

    def close(self, caller: CallerScope, package_id) -> dict:
        package = self._managed(caller, package_id)
        target = rules.apply_package(rules.CLOSE, package)
        now = stamp(self.clock.now())
        return package_view(self.store.change_package(package["_id"], package["status"], {
            "status": target.value, "closed_at": now, "closed_by": caller.account_id, "updated_at": now}))

    def get(self, caller: CallerScope, package_id) -> dict:
        package = self._readable(caller, package_id)
        if caller.member_id and not access.manages(caller, package["org_path"]) and caller.branch_id:
            return member_package_view(package, self.store.study_items_of(package["_id"], caller.member_id))
        return package_view(package)

    def list(self, caller: CallerScope, org_id, month, status, page_size, page_token) -> dict:
        """The packages a manager's node owns or is pushed: its subtree's (drafts too) and its superiors'
        published ones, newest month first."""
        org = self._staff_org(caller, org_id)
        skip, limit = page_window(page_size, page_token)
        month = rules.validate_month(month) if month else ""
        status = choice(status, "status", rules.PACKAGE_STATUSES)
        query = {"tenant_id": caller.tenant_id, **({"month": month} if month else {})}
        found = self.store.packages_below(org["path_ids"], query, skip + limit + 1)
        above = org["path_ids"][:-1]
        if above:
            found += self.store.packages_owned_by(caller.tenant_id, above, month, VISIBLE_TO_MEMBERS)
        if status:
            found = [p for p in found if p["status"] == status]
        found.sort(key=lambda p: (p["month"], p["created_at"]), reverse=True)
        page, token = page_of(found[skip:skip + limit + 1], skip, limit)
        return {"packages": [package_view(p) for p in page], "next_page_token": token}

    def mine(self, caller: CallerScope, month) -> dict:
        """A member's packages of a month (this month by default), each item with its studied time."""
        member_id = access.require_member(caller)
        month = rules.validate_month(month) if month else self.clock.today().strftime("%Y-%m")
        path = self.org_paths.path(self.identity, caller, caller.branch_id)
        packages = self.store.packages_owned_by(caller.tenant_id, path, month, VISIBLE_TO_MEMBERS)
        packages.sort(key=lambda p: (p["due_on"], p["created_at"]))
        return {"month": month, "packages": [member_package_view(p, self.store.study_items_of(p["_id"], member_id))
                                             for p in packages]}

    # --- progress -------------------------------------------------------------------------------------------
    def progress(self, caller: CallerScope, package_id, org_id, by) -> dict:
        """The package's progress over the caller's part of its subtree (``org_id``: the package's node by
        default, or a managed node below it), grouped ``by`` branch, county, field or category, ranked."""
        package = self._readable(caller, package_id)
        by = choice(by, "by", rules.PROGRESS_GROUPS) or "branch"
        org_id = org_id or (package["org_id"] if access.manages(caller, package["org_path"]) else
                            next(iter(sorted(caller.managed_org_ids)), ""))
        org = self._staff_org(caller, org_id)
        if package["org_id"] not in org["path_ids"]:
            raise NotFound("该组织不在学习套餐的下发范围内", code="ORG_NOT_FOUND", field="org_id")
        branches = self.identity.branches_under(scope=caller.to_dict(), org_id=org["id"])["branches"]
        sizes = self.org_paths.roster_sizes(self.identity, package["tenant_id"], [b["org_id"] for b in branches])
        item_count = len(package["items"])
        rows = rules.progress_rows(branches, sizes, self.store.package_branch_counters(package["_id"]), item_count,
                                   by)
        return {"package_id": package["_id"], "org_id": org["id"], "by": by, "item_count": item_count,
                "totals": rules.totals(rows, item_count), "rows": rows}

    def branch_members(self, caller: CallerScope, package_id, branch_id) -> dict:
        """Each member of a branch with its items studied of the package (the secretary's view)."""
        package = self._readable(caller, package_id)
        branch = self._staff_org(caller, branch_id, "branch_id")
        if package["org_id"] not in branch["path_ids"] or branch.get("kind") != "branch":
            raise NotFound("该支部不在学习套餐的下发范围内", code="ORG_NOT_FOUND", field="branch_id")
        members = self.members_of_branch(package, branch["id"])
        return {"package_id": package["_id"], "branch_id": branch["id"], "item_count": len(package["items"]),
                "completed": sum(1 for m in members if m["completed"]), "members": members}

    def members_of_branch(self, package: dict, branch_id: str) -> list[dict]:
        roster = self.identity.branch_rosters(tenant_id=package["tenant_id"], branch_ids=[branch_id]).get(
            branch_id, [])
        rows = {row["member_id"]: row for row in self.store.package_members_of_branch(package["_id"], branch_id)}
        item_count = len(package["items"])
        members = []
        for member in roster:
            row = rows.get(member["member_id"], {})
            studied = min(row.get("studied_count", 0), item_count)
            members.append({"member_id": member["member_id"], "name": member["name"], "studied_count": studied,
                            "item_count": item_count, "completed": studied == item_count and item_count > 0,
                            "completed_at": row.get("completed_at") or ""})
        members.sort(key=lambda m: (m["name"], m["member_id"]))
        return members

    def members_behind(self, package_id: str, branch_id: str) -> list[dict]:
        """The branch's members who have not studied every item of the package (for the gap report; the caller
        checked access to the branch). Unknown package: none."""
        package = self.store.package(package_id)
        if not package:
            return []
        return [m for m in self.members_of_branch(package, branch_id) if not m["completed"]]

    # --- the branch's study ranking (本支部学习榜) ------------------------------------------------------------
    def study_ranking(self, caller: CallerScope, branch_id, month) -> dict:
        """The branch's members ranked by items studied, then seconds, over the month's packages that reach it
        (``rules.study_ranking``). Its managers (the secretary, admins above) always; its own members only when
        the tenant's ``study_points_public`` is on (else ``STUDY_RANKING_OFF``); anyone else: not found."""
        caller.require_tenant()
        branch_id = text(branch_id, "branch_id", max_length=100)
        month = rules.validate_month(month) if month else self.clock.today().strftime("%Y-%m")
        branch = self._ranked_branch(caller, branch_id)
        public = settings_rules.merged(self.store.settings_of(caller.tenant_id))["study_points_public"]
        if not access.manages(caller, branch["path_ids"]) and not public:
            raise PermissionDenied("本单位未公开学习排行", code="STUDY_RANKING_OFF", field="branch_id")
        packages = self.store.packages_owned_by(caller.tenant_id, list(branch["path_ids"]), month,
                                                VISIBLE_TO_MEMBERS)
        roster = self.identity.branch_rosters(tenant_id=caller.tenant_id, branch_ids=[branch["id"]]).get(
            branch["id"], [])
        package_ids = sorted(p["_id"] for p in packages)
        rows = self.store.study_rows_of(package_ids, [m["member_id"] for m in roster]) if package_ids else []
        entries = rules.study_ranking(roster, rows, package_ids)
        return {"branch_id": branch["id"], "branch_name": branch.get("name", ""), "month": month, "public": public,
                "members": len(roster), "package_count": len(packages),
                "item_count": sum(len(p["items"]) for p in packages),
                "entries": [{**entry, "me": entry["member_id"] == caller.member_id} for entry in entries]}

    def _ranked_branch(self, caller: CallerScope, branch_id: str) -> dict:
        """The branch, to its managers and its own members; NotFound for anyone else, as for no such branch."""
        try:
            org = self.org_paths.org(self.identity, caller, branch_id)
        except NotFound:
            org = None
        if not access.same_tenant(caller, org) or not (access.manages(caller, org["path_ids"])
                                                        or org["id"] == caller.branch_id):
            raise NotFound("支部不存在或不在您的范围内", code="ORG_NOT_FOUND", field="branch_id")
        if org.get("kind") != "branch":
            raise InvalidArgument("只能查看党支部的学习排行", code="NOT_A_BRANCH", field="branch_id")
        return org

    # --- content items a package references ------------------------------------------------------------
    def _check_content_items(self, caller: CallerScope, items: list[dict]) -> None:
        """Items naming a content item must name a published one the caller may read (publishing's store)."""
        wanted = [item["item_id"] for item in items if item["item_id"]]
        if not wanted:
            return
        found = {item["_id"]: item for item in self.store.published_items_by_ids(wanted)}
        reach = self._reach(caller)
        for index, item in enumerate(items):
            content = found.get(item["item_id"]) if item["item_id"] else None
            if item["item_id"] and not (access.same_tenant(caller, content)
                                        and access.within_reach(caller, content.get("org_path") or [], reach)):
                raise InvalidArgument("引用的资讯不存在或未发布", code="CONTENT_ITEM_NOT_FOUND",
                                      field=f"items[{index}].item_id")
            if item["item_id"] and not item["tags"]:
                item["tags"] = list(content.get("tags") or [])
