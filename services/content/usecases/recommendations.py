"""Recommendations (为你推荐) for a member and the gap report (学习短板) of a branch for its secretary or admins.

A member's recommendations rank the published items of its branch path (the feed's cached heads of each node,
the newest ``CANDIDATES`` of them) by the member's reading, searching and quiz answers
(``domain/recommend.py``), leaving out what it read or studied. Each comes with its reason in Chinese. The other
topics' store reads are used as they are: publishing's heads and ``recent_reads_of``, library's
``recent_searches_of``, quizzes' ``category_stats_of`` and learning's ``studied_items_of``.

The gap report of a branch: its categories weakest first (from every member's answers), and for each package
pushed to the branch this month (``month``), the members who have not studied every item.
"""
from __future__ import annotations

from servicekit.arguments import integer, text
from servicekit.errors import InvalidArgument, PermissionDenied
from servicekit.security.scope import CallerScope

from services.content import access
from services.content.domain import learning as learning_rules
from services.content.domain import recommend
from services.content.usecases.learning import VISIBLE_TO_MEMBERS, Learning

CANDIDATES = 300          # newest published items of the member's path the recommender ranks
READS_CONSIDERED = 200    # the member's latest reads: its interest, and items not to recommend again
SEARCHES_CONSIDERED = 20
BRANCH = "branch"


class Recommendations:
    def __init__(self, store, clock, identity, org_paths):
        self.store, self.clock, self.identity, self.org_paths = store, clock, identity, org_paths

    # --- a member's recommendations ---------------------------------------------------------------------
    def for_member(self, caller: CallerScope, limit) -> dict:
        member_id = access.require_member(caller)
        limit = integer(limit, "limit", 1, recommend.MAX_LIMIT, default=recommend.DEFAULT_LIMIT)
        path = self.org_paths.path(self.identity, caller, caller.branch_id)
        reads = self.store.recent_reads_of(member_id, READS_CONSIDERED)
        studied = {row["item_id"] for row in self.store.studied_items_of(member_id) if row.get("item_id")}
        stats = [row for row in self.store.category_stats_of(member_id) if row.get("tenant_id") == caller.tenant_id]
        picks = recommend.recommend(self._candidates(path), reads=reads,
                                    searches=self.store.recent_searches_of(member_id, SEARCHES_CONSIDERED),
                                    stats=stats, exclude=studied, limit=limit)
        return {"recommendations": picks, "gaps": [gap.view() for gap in recommend.gaps(stats)],
                "min_answers": recommend.MIN_ANSWERS}

    def _candidates(self, path: list[str]) -> list[dict]:
        """The newest published items owned by the nodes of the member's path (its branch and every ancestor),
        each once: exactly what its feed shows."""
        found: dict[str, dict] = {}
        for heads, _complete in self.store.published_heads(list(path)).values():
            for head in heads:
                found.setdefault(head["_id"], head)
        newest = sorted(found.values(), key=lambda head: (head.get("published_at") or "", head["_id"]), reverse=True)
        return newest[:CANDIDATES]

    # --- a branch's gap report --------------------------------------------------------------------------
    def branch_report(self, caller: CallerScope, branch_id, month) -> dict:
        caller.require_tenant()
        if not caller.managed_org_ids:
            raise PermissionDenied("只有管理员或支部书记可以查看学习短板", code="NOT_ORG_MANAGER")
        branch_id = text(branch_id, "branch_id", max_length=100)
        month = learning_rules.validate_month(month) if month else self.clock.today().strftime("%Y-%m")
        branch = self.org_paths.org(self.identity, caller, branch_id)       # ORG_NOT_FOUND outside the reach
        access.require_manager(caller, branch["path_ids"], field="branch_id")
        if branch.get("kind") != BRANCH:
            raise InvalidArgument("请选择一个党支部", code="NOT_A_BRANCH", field="branch_id")
        stats = [row for row in self.store.category_stats_of_branch(branch["id"])
                 if row.get("tenant_id") == caller.tenant_id]
        categories = recommend.branch_categories(stats)
        learning = Learning(self.store, self.clock, self.identity, self.org_paths)
        packages = self.store.packages_owned_by(caller.tenant_id, list(branch["path_ids"]), month,
                                                VISIBLE_TO_MEMBERS)
        packages.sort(key=lambda package: (package["due_on"], package["created_at"], package["_id"]))
        return {"branch_id": branch["id"], "branch_name": branch.get("name", ""), "month": month,
                "min_answers": recommend.MIN_ANSWERS, "gap_percent": int(round(100 * recommend.GAP_RATE)),
                "categories": categories, "weakest": [row for row in categories if row["gap"]][:recommend.MAX_GAPS],
                "packages": [package_behind(package, learning.members_behind(package["_id"], branch["id"]))
                             for package in packages]}


def package_behind(package: dict, behind: list[dict]) -> dict:
    return {"package_id": package["_id"], "title": package["title"], "month": package["month"],
            "due_on": package["due_on"], "item_count": len(package["items"]), "behind_count": len(behind),
            "members_behind": [{"member_id": member["member_id"], "name": member["name"],
                                "studied_count": member["studied_count"], "item_count": member["item_count"]}
                               for member in behind]}
