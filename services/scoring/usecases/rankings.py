"""Rankings and what is built on them: a subtree's ranking, progress, a branch's trend, comparisons, spot checks,
and the supervision outputs (the monthly list, the quarterly bulletin, the annual assessment, their XLSX)."""
from __future__ import annotations

import base64
import random

from servicekit.errors import InvalidArgument
from servicekit.security.scope import CallerScope
from servicekit.storage.paging import page_of, page_window

from services.scoring import access, reports
from services.scoring.arguments import choice, integer, text
from services.scoring.domain import supervision
from services.scoring.domain.periods import MONTH, QUARTER, YEAR, month_range, parse_month, parse_period
from services.scoring.domain.progress import STAGES, progress
from services.scoring.domain.ranking import Ranked, chart
from services.scoring.ranking_cache import RankingCache
from services.scoring.store import ScoringStore
from services.scoring.usecases.subtrees import Subtrees
from services.scoring.views import score_view

GROUPS = ("", "field", "category")
REPORT_KINDS = {"supervision": MONTH, "bulletin": QUARTER, "assessment": YEAR}
SPOT_CHECK_MAX = 50


class Rankings:
    def __init__(self, store: ScoringStore, cache: RankingCache, clock, subtrees: Subtrees):
        self.store = store
        self.cache = cache
        self.clock = clock
        self.subtrees = subtrees

    # --------------------------------------------------------------- rankings
    def ranking(self, caller: CallerScope, org_id, period, field, category, page_size, page_token) -> dict:
        level, org_id = self.subtrees.level(caller, org_id)
        wanted = parse_period(period)
        skip, limit = page_window(page_size, page_token)
        field, category = text(field, "field", required=False), text(category, "category", required=False)
        ranked, previous_ranks = self._ranked(caller, wanted, level, org_id, field, category)
        page, token = page_of(ranked.page(skip, limit + 1, previous_ranks), skip, limit)
        over = wanted.months[-1] < self._this_month()
        rows = [ranking_view(row, over, with_breakdown=wanted.kind == MONTH) for row in page]
        return {"period": wanted.key, "previous_period": wanted.previous().key, "total": len(ranked),
                "rows": rows, "chart": chart([row for row in rows if row["held"]], "branch_name", "score"),
                "next_page_token": token}

    def progress(self, caller: CallerScope, org_id, period, group_by) -> dict:
        level, org_id = self.subtrees.level(caller, org_id)
        wanted = parse_period(period)
        group_by = choice(group_by, "group_by", GROUPS)
        rows = [row for month in wanted.months for row in self.cache.rows(f"{caller.tenant_id}:{month}")
                if row.get(f"a{level}") == org_id]
        groups = progress([{**row, "stages": row.get("stages") or {}} for row in rows], group_by)
        return {"period": wanted.key, "stages": list(STAGES), "groups": [
            {"group": group["group"], "branches": group["branches"],
             "stages": [{"stage": stage, "count": group["counts"][stage], "share": group["shares"][stage]}
                        for stage in STAGES]} for group in groups]}

    def trend(self, caller: CallerScope, branch_id, month_from, month_to) -> dict:
        branch_id = text(branch_id, "branch_id")
        months = month_range(month_from, month_to)
        docs = {doc.get("month"): doc for doc in self.store.activities_of_branch(branch_id)}
        sample = access.readable_branch(caller, next(iter(docs.values()), None))
        views = {month: score_view(doc) for month, doc in docs.items()}
        points = [{"month": month, "score": views[month]["score"], "final": views[month]["final"],
                   "held": views[month]["held"]} if month in views else
                  {"month": month, "score": 0.0, "final": False, "held": False} for month in months]
        return {"branch_id": branch_id, "branch_name": sample.get("branch_name", ""), "points": points,
                "chart": {"labels": months, "values": [point["score"] for point in points]}}

    def compare(self, caller: CallerScope, org_ids, period) -> dict:
        if not isinstance(org_ids, list) or not org_ids or len(org_ids) > 50:
            raise InvalidArgument("org_ids 必须是 1 到 50 个组织", code="ORG_IDS_INVALID", field="org_ids")
        wanted = parse_period(period)
        org_ids = [text(org_id, "org_ids") for org_id in org_ids]
        orgs = self.subtrees.places(caller, org_ids)
        table = self.cache.rows(f"{caller.tenant_id}:{wanted.key}")
        items = []
        for org_id, org in zip(org_ids, orgs):
            level = access.subtree_level(caller, org_id, org)
            rows = [row for row in table if row.get(f"a{level}") == org_id]
            scores = [row["score"] for row in rows if row.get("held", True)]
            items.append({"org_id": org_id, "name": org.get("name", ""), "branches": len(scores),
                          "not_held": len(rows) - len(scores), "no_data": not scores,
                          "average": round(sum(scores) / len(scores), 2) if scores else 0.0,
                          "best": max(scores, default=0.0), "worst": min(scores, default=0.0)})
        drawn = [item for item in items if not item["no_data"]]     # no bar where there is no score
        return {"period": wanted.key, "items": items,
                "chart": {"labels": [item["name"] for item in drawn], "values": [item["average"] for item in drawn]}}

    def spot_check(self, caller: CallerScope, org_id, month, sample_size, seed) -> dict:
        level, org_id = self.subtrees.level(caller, org_id)
        month = parse_month(month)
        size = integer(sample_size, "sample_size", 1, SPOT_CHECK_MAX, default=5)
        seed = integer(seed, "seed", 0, 2**31, default=0)
        rows = sorted((row for row in self.cache.rows(f"{caller.tenant_id}:{month}")
                       if row.get(f"a{level}") == org_id), key=lambda row: row["id"])
        chosen = (random.Random(seed) if seed else random.SystemRandom()).sample(rows, min(size, len(rows)))
        docs = {doc["_id"]: doc for doc in self.store.activities_by_ids([row["activity_id"] for row in chosen])}
        return {"month": month, "population": len(rows), "items": [
            evidence(docs[row["activity_id"]]) for row in chosen if row["activity_id"] in docs]}

    # ------------------------------------------------------------ supervision
    def supervision_list(self, caller: CallerScope, org_id, month, today) -> dict:
        level, org_id = self.subtrees.level(caller, org_id)
        month = parse_month(month)
        return {"month": month, "items": self._supervision(caller, level, org_id, month, today)}

    def bulletin(self, caller: CallerScope, org_id, quarter) -> dict:
        level, org_id = self.subtrees.level(caller, org_id)
        wanted = period_of_kind(quarter, QUARTER, "quarter")
        report = supervision.bulletin(self._ranked_with_changes(caller, wanted, level, org_id))
        return {"quarter": wanted.key, "branches": report["branches"], "not_held": report["not_held"],
                "average": report["average"], "best": [ranking_view(row) for row in report["best"]],
                "weakest": [ranking_view(row) for row in report["weakest"]]}

    def assessment(self, caller: CallerScope, org_id, year, page_size, page_token) -> dict:
        level, org_id = self.subtrees.level(caller, org_id)
        wanted = period_of_kind(year, YEAR, "year")
        skip, limit = page_window(page_size, page_token)
        ranked = self._ranked_with_changes(caller, wanted, level, org_id)
        page, token = page_of(ranked[skip:skip + limit + 1], skip, limit)
        return {"year": wanted.key, "total": len(ranked), "next_page_token": token,
                "rows": [{**ranking_view(row), "grade": supervision.graded(row)} for row in page]}

    def export(self, caller: CallerScope, org_id, kind, period, today) -> dict:
        level, org_id = self.subtrees.level(caller, org_id)
        kind = text(kind, "kind")
        if kind not in REPORT_KINDS:
            raise InvalidArgument("kind 只能是 supervision、bulletin 或 assessment", code="REPORT_KIND_INVALID",
                                  field="kind")
        wanted = period_of_kind(period, REPORT_KINDS[kind], "period")
        if kind == "supervision":
            content = reports.supervision_xlsx(wanted.key, self._supervision(caller, level, org_id, wanted.key, today))
            filename = f"督查清单-{wanted.key}.xlsx"
        else:
            ranked = self._ranked_with_changes(caller, wanted, level, org_id)
            # a branch with no real score is listed after the ranked ones, marked 未开展, with no rank or grade
            ranked = [{**row, "grade": supervision.graded(row)} if row.get("held", True) else
                      {**row, "rank": "", "score": 0.0, "grade": supervision.REASON_NAMES["NOT_HELD"]}
                      for row in ranked]
            if kind == "bulletin":
                content = reports.bulletin_xlsx(wanted.key, supervision.bulletin(ranked), ranked)
                filename = f"季度通报-{wanted.key}.xlsx"
            else:
                content = reports.assessment_xlsx(wanted.key, ranked)
                filename = f"年度考核-{wanted.key}.xlsx"
        return {"filename": filename, "media_type": reports.XLSX, "content": base64.b64encode(content).decode()}

    # ---------------------------------------------------------------- helpers
    def _this_month(self) -> str:
        return self.clock.today().isoformat()[:7]

    def _ranked(self, caller, wanted, level, org_id, field="", category="") -> tuple[Ranked, dict]:
        """The period's ranking of the subtree and the previous period's ranks by branch id, both kept by the
        ranking cache until a score of their period changes (a page then copies only its own rows)."""
        return (self.cache.ranked(f"{caller.tenant_id}:{wanted.key}", level, org_id, field, category),
                self.cache.ranks(f"{caller.tenant_id}:{wanted.previous().key}", level, org_id, field, category))

    def _ranked_with_changes(self, caller, wanted, level, org_id, field="", category="") -> list[dict]:
        keys = (f"{caller.tenant_id}:{wanted.key}", f"{caller.tenant_id}:{wanted.previous().key}")

        def whole_ranking() -> list[dict]:
            ranked, previous_ranks = self._ranked(caller, wanted, level, org_id, field, category)
            return ranked.page(0, len(ranked), previous_ranks)
        return self.cache.derived(keys, ("with_changes", *keys, level, org_id, field, category), whole_ranking)

    def _supervision(self, caller, level, org_id, month, today="") -> list[dict]:
        today = text(today, "today", required=False) or self.clock.today().isoformat()
        month_over = today[:7] > month
        rows = [row for row in self.cache.rows(f"{caller.tenant_id}:{month}") if row.get(f"a{level}") == org_id]
        docs = self.store.activities_by_ids([row["activity_id"] for row in rows])
        items = []
        for doc in docs:
            view = score_view(doc)
            reasons = supervision.supervision_reasons({**view, "stages": doc.get("stages") or {}}, month_over)
            if reasons:
                items.append({"activity_id": doc["_id"], "branch_id": view["branch_id"],
                              "branch_name": view["branch_name"], "field": view["field"], "score": view["score"],
                              "held": view["held"], "final": view["final"], "reasons": reasons,
                              "flags": view["counts"].get("flags", 0)})
        return sorted(items, key=lambda item: (item["score"], item["branch_name"]))


def ranking_view(row: dict, period_over: bool = False, with_breakdown: bool = False) -> dict:
    """A ranking row; one not held (no real score) has rank 0, score 0, and is final once its period is over.
    A month's row carries its day's breakdown, counts and whether the rating is pending."""
    held = row.get("held", True)
    view = {"rank": row["rank"], "previous_rank": row.get("previous_rank", 0),
            "rank_change": row.get("rank_change", 0), "branch_id": row["id"], "branch_name": row["name"],
            "field": row.get("field") or "", "category": row.get("category") or "",
            "score": row["score"] if held else 0.0, "held": held,
            "final": bool(row.get("final")) or (not held and period_over),
            "activity_id": row.get("activity_id") or "",
            "months": row.get("months", 1 if row.get("activity_id") else 0)}
    if with_breakdown and row.get("breakdown") is not None:
        view["breakdown"] = row.get("breakdown") or {}
        view["counts"] = row.get("counts") or {}
        view["rating_pending"] = bool(row.get("rating_pending"))
    return view


def period_of_kind(value, kind: str, field: str):
    wanted = parse_period(value, field)
    if wanted.kind != kind:
        raise InvalidArgument(f"{field} 的时段类型不对", code="PERIOD_KIND_MISMATCH", field=field)
    return wanted


def evidence(doc: dict) -> dict:
    """What a spot check shows of a themed day: its score, plan and the facts behind them."""
    statuses = doc.get("statuses") or {}
    tally: dict[str, int] = {}
    for status in statuses.values():
        tally[status] = tally.get(status, 0) + 1
    return {"score": score_view(doc), "plan": {k: v or "" for k, v in (doc.get("plan") or {}).items()},
            "title": doc.get("title", ""), "status_counts": tally, "photos": len(doc.get("photos") or {}),
            "text_chars": sum((doc.get("texts") or {}).values()), "flagged_records": sorted(doc.get("flagged") or {}),
            "backfilled": len(doc.get("backfilled") or {}), "rejections": doc.get("rejections", 0),
            "rectifications_open": sorted(set(doc.get("rect_opened") or {}) - set(doc.get("rect_closed") or {}))}
