"""Sample data for the recommendation tests: the published heads of the member's path, its reads, searches,
quiz answers and studied items, a branch's answers and this month's package, set on the fast tests' store."""
from __future__ import annotations

from tests.fast.content.fakes import BRANCH, CITY, COUNTY, OTHER_TENANT, TENANT


def head(item_id: str, org_id: str, tags, published_at: str, kind: str = "article") -> dict:
    return {"_id": item_id, "org_id": org_id, "kind": kind, "title": f"标题{item_id}", "summary": "", "tags": tags,
            "published_at": published_at, "pinned_until": None, "pushed": False}


HEADS = {
    CITY: ([head("itm_city_dz", CITY, ["党章"], "2026-12-01T00:00:00.000Z"),
            head("itm_city_notice", CITY, ["党章"], "2026-12-05T00:00:00.000Z", kind="notice")], True),
    COUNTY: ([head("itm_county_ds", COUNTY, ["党史"], "2026-12-02T00:00:00.000Z"),
              head("itm_county_read", COUNTY, ["党史"], "2026-11-02T00:00:00.000Z")], True),
    BRANCH: ([head("itm_branch_studied", BRANCH, ["党章"], "2026-12-03T00:00:00.000Z"),
              head("itm_branch_xc", BRANCH, ["乡村振兴"], "2026-12-04T00:00:00.000Z")], True),
}
READS = [{"item_id": "itm_county_read", "member_id": "m_1", "tags": ["党史"], "kind": "article",
          "read_at": "2026-12-04T00:00:00.000Z"}]
SEARCHES = [{"member_id": "m_1", "tenant_id": TENANT, "query": "乡村振兴", "terms": ["乡村", "村振", "振兴"],
             "at": "2026-12-05T00:00:00.000Z"}]
STATS = [{"_id": "m_1:党章", "tenant_id": TENANT, "member_id": "m_1", "branch_id": BRANCH, "category": "党章",
          "answered": 20, "correct": 9},
         {"_id": "m_1:党史", "tenant_id": TENANT, "member_id": "m_1", "branch_id": BRANCH, "category": "党史",
          "answered": 10, "correct": 9},
         {"_id": "m_1:x", "tenant_id": OTHER_TENANT, "member_id": "m_1", "branch_id": BRANCH, "category": "时事政策",
          "answered": 10, "correct": 0}]
STUDIED = [{"package_id": "pkg_1", "item_key": "i1", "item_id": "itm_branch_studied", "tags": ["党章"],
            "studied_at": "2026-12-05T00:00:00.000Z"},
           {"package_id": "pkg_1", "item_key": "i2", "item_id": "", "tags": [], "studied_at": "2026-12-05T00:00:00Z"}]
BRANCH_STATS = [
    {"tenant_id": TENANT, "member_id": "m_1", "branch_id": BRANCH, "category": "党章", "answered": 20, "correct": 9},
    {"tenant_id": TENANT, "member_id": "m_2", "branch_id": BRANCH, "category": "党章", "answered": 10, "correct": 8},
    {"tenant_id": TENANT, "member_id": "m_2", "branch_id": BRANCH, "category": "党史", "answered": 10, "correct": 9},
    {"tenant_id": OTHER_TENANT, "member_id": "m_x", "branch_id": BRANCH, "category": "党史", "answered": 50,
     "correct": 0},
]
PACKAGE = {"_id": "pkg_1", "tenant_id": TENANT, "org_id": CITY, "org_path": [CITY], "month": "2026-12",
           "title": "十二月学习套餐", "due_on": "2026-12-25", "status": "published", "created_at": "2026-12-01T00:00:00Z",
           "items": [{"key": "i1", "title": "党章", "kind": "article", "item_id": "itm_branch_studied", "url": "",
                      "min_seconds": 60, "cap_seconds": 120, "tags": ["党章"]},
                     {"key": "i2", "title": "视频", "kind": "video", "item_id": "", "url": "https://example.org/v",
                      "min_seconds": 60, "cap_seconds": 120, "tags": []}]}
PACKAGE_MEMBERS = {BRANCH: [{"member_id": "m_1", "studied_count": 2, "completed_at": "2026-12-05T00:00:00Z"},
                            {"member_id": "m_2", "studied_count": 1}]}


def stock(store) -> None:
    """The reads the recommendations use, answered from the samples above."""
    store.published_heads.side_effect = lambda org_ids: {org_id: HEADS.get(org_id, ([], True)) for org_id in org_ids}
    store.recent_reads_of.return_value = READS
    store.recent_searches_of.return_value = SEARCHES
    store.category_stats_of.return_value = STATS
    store.studied_items_of.return_value = STUDIED
    store.category_stats_of_branch.side_effect = lambda branch_id: [
        row for row in BRANCH_STATS if row["branch_id"] == branch_id]
    store.packages_owned_by.side_effect = lambda tenant_id, org_ids, month="", statuses=(): [
        dict(PACKAGE)] if tenant_id == TENANT and PACKAGE["org_id"] in org_ids and month == PACKAGE["month"] \
        and PACKAGE["status"] in statuses else []
    store.package.side_effect = lambda package_id: dict(PACKAGE) if package_id == PACKAGE["_id"] else None
    store.package_members_of_branch.side_effect = lambda package_id, branch_id: list(
        PACKAGE_MEMBERS.get(branch_id, []))

