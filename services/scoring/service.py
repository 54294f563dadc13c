"""Scoring service (nameko ``scoring``): branch scores, rankings, supervision outputs, member points.

Scores are learned from attendance events by two batched consumers (servicekit.messaging.consumers);
entry points read, rate, reconcile and manage points. The RPC contract is docs/scoring-rpc.md.
"""
from __future__ import annotations

import base64
import random
import uuid
from datetime import date

from nameko.rpc import RpcProxy

from servicekit.messaging.consumers import BatchEventConsumer
from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied, Rejected
from servicekit.timestamps import stamp
from servicekit.process.metrics import Metrics
from servicekit.storage.mongo import MongoStore
from servicekit.storage.paging import page_of, page_window
from servicekit.messaging.rpc import rpc
from servicekit.security.scope import CallerScope
from servicekit.storage.subtree import LEVEL_FIELDS

from services.scoring import access, ledger, reports
from services.scoring.arguments import choice, integer, text
from services.scoring.consumers import (POINTS_SUBSCRIPTIONS, SCORE_SUBSCRIPTIONS, PointsApplier, ScoreApplier,
                                        retried)
from services.scoring.domain import periods
from services.scoring.domain import points as points_rules
from services.scoring.domain import score as score_rules
from services.scoring.domain import supervision
from services.scoring.domain import talks as talk_rules
from services.scoring.domain.periods import MONTH, QUARTER, YEAR, cycle_of, month_range, parse_month, parse_period
from services.scoring.domain.progress import STAGES, progress, was_held
from services.scoring.domain.ranking import Ranked, chart
from services.scoring.points_store import PointsStore, points_database
from services.scoring.rankings import RankingsProvider, note_written
from services.scoring.store import ScoringStore, ancestor_fields, score_row_of
from services.scoring.views import entry_view, score_view, talk_summary, talk_view

GROUPS = ("", "field", "category")
REPORT_KINDS = {"supervision": MONTH, "bulletin": QUARTER, "assessment": YEAR}
SPOT_CHECK_MAX = 50


class ScoringService:
    name = "scoring"

    store: ScoringStore = MongoStore(ScoringStore)
    points: PointsStore = MongoStore(PointsStore, database_of=points_database)   # a database of its own
    rankings = RankingsProvider()
    metrics = Metrics()
    attendance = RpcProxy("attendance")
    identity = RpcProxy("identity")      # organisations' names and places, with the caller's scope
    score_events = BatchEventConsumer("score", SCORE_SUBSCRIPTIONS, ScoreApplier.for_container,
                                      max_batch=1000, max_wait_ms=100)
    # Member points are learned by PointsConsumer below, a process of its own.

    # ------------------------------------------------------------------ scores
    @rpc
    def get_branch_score(self, scope, activity_id="", branch_id="", month=""):
        caller = self._caller(scope)
        return score_view(access.readable_activity(caller, self._activity(caller, activity_id, branch_id, month)))

    @rpc
    def rate_activity(self, scope, activity_id="", rating=None, comment=""):
        caller = self._caller(scope)
        activity = access.rateable_activity(caller, self._activity(caller, activity_id, "", ""))
        value = score_rules.check_rating(rating)
        if not was_held(activity.get("stages") or {}):
            raise Rejected("该主题党日尚未开展，不能评分", code="ACTIVITY_NOT_HELD", field="activity_id")
        self.store.set_rating(activity["_id"], value, text(comment, "comment", required=False, max_length=500),
                              caller.account_id)
        written = self.store.recompute([activity["_id"]])
        note_written([row for row in map(score_row_of, written) if row])
        [scored] = written or [self.store.activity(activity["_id"])]
        return score_view(scored)

    def _activity(self, caller: CallerScope, activity_id, branch_id, month) -> dict | None:
        activity_id = text(activity_id, "activity_id", required=False)
        if activity_id:
            return self.store.activity(activity_id)
        branch_id = text(branch_id, "branch_id", required=False) or caller.branch_id or ""
        if not branch_id:
            raise InvalidArgument("需要 activity_id，或 branch_id 和 month", code="REQUIRED", field="activity_id")
        month = parse_month(month)
        return next((doc for doc in self.store.activities_of_branch(branch_id) if doc.get("month") == month), None)

    # ---------------------------------------------------------------- rankings
    @rpc
    def get_ranking(self, scope, org_id="", period="", field="", category="", page_size=0, page_token=""):
        caller = self._caller(scope)
        level, org_id = self._subtree(caller, org_id)
        wanted = parse_period(period)
        skip, limit = page_window(page_size, page_token)
        field, category = text(field, "field", required=False), text(category, "category", required=False)
        ranked, previous_ranks = self._ranking(caller, wanted, level, org_id, field, category)
        page, token = page_of(ranked.page(skip, limit + 1, previous_ranks), skip, limit)
        if wanted.kind == MONTH:       # rows written before they carried the breakdown: read it
            details = {doc["_id"]: doc for doc in self.store.activities_by_ids(
                [row["activity_id"] for row in page if row.get("activity_id") and row.get("breakdown") is None])}
        else:
            details = {}
        over = wanted.months[-1] < periods.this_month()
        rows = [self._ranking_view(row, details.get(row.get("activity_id"), row if wanted.kind == MONTH else None),
                                   over) for row in page]
        return {"period": wanted.key, "previous_period": wanted.previous().key, "total": len(ranked),
                "rows": rows, "chart": chart([row for row in rows if row["held"]], "branch_name", "score"),
                "next_page_token": token}

    def _ranking(self, caller, wanted, level, org_id, field="", category="") -> tuple[Ranked, dict]:
        """The period's ranking of the subtree and the previous period's ranks by branch id, both kept by the
        ranking cache until a score of their period changes (a page then copies only its own rows)."""
        return (self.rankings.ranked(f"{caller.tenant_id}:{wanted.key}", level, org_id, field, category),
                self.rankings.ranks(f"{caller.tenant_id}:{wanted.previous().key}", level, org_id, field, category))

    @staticmethod
    def _ranking_view(row: dict, activity: dict | None, period_over: bool = False) -> dict:
        """A ranking row; one not held (no real score) has rank 0, score 0, and is final once its period is over."""
        held = row.get("held", True)
        view = {"rank": row["rank"], "previous_rank": row.get("previous_rank", 0),
                "rank_change": row.get("rank_change", 0), "branch_id": row["id"], "branch_name": row["name"],
                "field": row.get("field") or "", "category": row.get("category") or "",
                "score": row["score"] if held else 0.0, "held": held,
                "final": bool(row.get("final")) or (not held and period_over),
                "activity_id": row.get("activity_id") or "",
                "months": row.get("months", 1 if row.get("activity_id") else 0)}
        if activity and activity.get("breakdown") is not None:
            view["breakdown"] = activity.get("breakdown") or {}
            view["counts"] = activity.get("counts") or {}
            view["rating_pending"] = bool(activity.get("rating_pending"))
        return view

    def _subtree(self, caller: CallerScope, org_id) -> tuple[int, str]:
        org_id = text(org_id, "org_id")
        sample = self.store.any_activity_under(org_id)
        if sample is None:      # no themed day below it yet: an empty answer if identity says it is in scope
            sample = self._places_of([org_id], caller)[0]
        return access.subtree_level(caller, org_id, sample), org_id

    def _places_of(self, org_ids: list[str], caller: CallerScope) -> list[dict]:
        """Each organisation's name and ancestors, from identity (which knows every organisation, with or
        without a themed day) asked with the caller's scope, all at once; out of scope: ORG_NOT_FOUND."""
        replies = [self.identity.get_org.call_async(scope=caller.to_dict(), org_id=org_id) for org_id in org_ids]
        return [{"tenant_id": org.get("tenant_id"), "name": org.get("name", ""),
                 **ancestor_fields(org.get("path_ids"))} for org in (reply.result() for reply in replies)]

    # ---------------------------------------------------------- progress, trend
    @rpc
    def get_progress(self, scope, org_id="", period="", group_by=""):
        caller = self._caller(scope)
        level, org_id = self._subtree(caller, org_id)
        wanted = parse_period(period)
        group_by = choice(group_by, "group_by", GROUPS)
        rows = [row for month in wanted.months for row in self.rankings.rows(f"{caller.tenant_id}:{month}")
                if row.get(f"a{level}") == org_id]
        groups = progress([{**row, "stages": row.get("stages") or {}} for row in rows], group_by)
        return {"period": wanted.key, "stages": list(STAGES), "groups": [
            {"group": group["group"], "branches": group["branches"],
             "stages": [{"stage": stage, "count": group["counts"][stage], "share": group["shares"][stage]}
                        for stage in STAGES]} for group in groups]}

    @rpc
    def get_trend(self, scope, branch_id="", month_from="", month_to=""):
        caller = self._caller(scope)
        branch_id = text(branch_id, "branch_id")
        months = month_range(month_from, month_to)
        docs = {doc.get("month"): doc for doc in self.store.activities_of_branch(branch_id)}
        sample = next(iter(docs.values()), None)
        if sample is None:
            raise NotFound("组织不存在或不在您的管辖范围内", code="ORG_NOT_FOUND", field="branch_id")
        access.readable_activity(caller, sample)
        views = {month: score_view(doc) for month, doc in docs.items()}
        points = [{"month": month, "score": views[month]["score"], "final": views[month]["final"],
                   "held": views[month]["held"]} if month in views else
                  {"month": month, "score": 0.0, "final": False, "held": False} for month in months]
        return {"branch_id": branch_id, "branch_name": sample.get("branch_name", ""), "points": points,
                "chart": {"labels": months, "values": [point["score"] for point in points]}}

    @rpc
    def compare_orgs(self, scope, org_ids=None, period=""):
        caller = self._caller(scope)
        if not isinstance(org_ids, list) or not org_ids or len(org_ids) > 50:
            raise InvalidArgument("org_ids 必须是 1 到 50 个组织", code="ORG_IDS_INVALID", field="org_ids")
        wanted = parse_period(period)
        org_ids = [text(org_id, "org_ids") for org_id in org_ids]
        orgs = self._places_of(org_ids, caller)
        table = self.rankings.rows(f"{caller.tenant_id}:{wanted.key}")
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

    @rpc
    def spot_check(self, scope, org_id="", month="", sample_size=0, seed=0):
        caller = self._caller(scope)
        level, org_id = self._subtree(caller, org_id)
        month = parse_month(month)
        size = integer(sample_size, "sample_size", 1, SPOT_CHECK_MAX, default=5)
        seed = integer(seed, "seed", 0, 2**31, default=0)
        rows = sorted((row for row in self.rankings.rows(f"{caller.tenant_id}:{month}")
                       if row.get(f"a{level}") == org_id), key=lambda row: row["id"])
        chosen = (random.Random(seed) if seed else random.SystemRandom()).sample(rows, min(size, len(rows)))
        docs = {doc["_id"]: doc for doc in self.store.activities_by_ids([row["activity_id"] for row in chosen])}
        return {"month": month, "population": len(rows), "items": [
            self._evidence(docs[row["activity_id"]]) for row in chosen if row["activity_id"] in docs]}

    @staticmethod
    def _evidence(doc: dict) -> dict:
        statuses = doc.get("statuses") or {}
        tally: dict[str, int] = {}
        for status in statuses.values():
            tally[status] = tally.get(status, 0) + 1
        return {"score": score_view(doc), "plan": {k: v or "" for k, v in (doc.get("plan") or {}).items()},
                "title": doc.get("title", ""), "status_counts": tally, "photos": len(doc.get("photos") or {}),
                "text_chars": sum((doc.get("texts") or {}).values()), "flagged_records": sorted(doc.get("flagged") or {}),
                "backfilled": len(doc.get("backfilled") or {}), "rejections": doc.get("rejections", 0),
                "rectifications_open": sorted(set(doc.get("rect_opened") or {}) - set(doc.get("rect_closed") or {}))}

    # ------------------------------------------------------------- supervision
    @rpc
    def supervision_list(self, scope, org_id="", month="", today=""):
        caller = self._caller(scope)
        level, org_id = self._subtree(caller, org_id)
        month = parse_month(month)
        return {"month": month, "items": self._supervision(caller, level, org_id, month, today)}

    def _supervision(self, caller, level, org_id, month, today="") -> list[dict]:
        today = text(today, "today", required=False) or periods.today()
        month_over = today[:7] > month
        rows = [row for row in self.rankings.rows(f"{caller.tenant_id}:{month}") if row.get(f"a{level}") == org_id]
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

    @rpc
    def quarterly_bulletin(self, scope, org_id="", quarter=""):
        caller = self._caller(scope)
        level, org_id = self._subtree(caller, org_id)
        wanted = self._period_of_kind(quarter, QUARTER, "quarter")
        ranked = self._ranked_with_changes(caller, wanted, level, org_id)
        report = supervision.bulletin(ranked)
        return {"quarter": wanted.key, "branches": report["branches"], "not_held": report["not_held"],
                "average": report["average"], "best": [self._ranking_view(row, None) for row in report["best"]],
                "weakest": [self._ranking_view(row, None) for row in report["weakest"]]}

    @rpc
    def annual_assessment(self, scope, org_id="", year="", page_size=0, page_token=""):
        caller = self._caller(scope)
        level, org_id = self._subtree(caller, org_id)
        wanted = self._period_of_kind(year, YEAR, "year")
        skip, limit = page_window(page_size, page_token)
        ranked = self._ranked_with_changes(caller, wanted, level, org_id)
        page, token = page_of(ranked[skip:skip + limit + 1], skip, limit)
        return {"year": wanted.key, "total": len(ranked), "next_page_token": token,
                "rows": [{**self._ranking_view(row, None), "grade": supervision.graded(row)} for row in page]}

    def _ranked_with_changes(self, caller, wanted, level, org_id, field="", category="") -> list[dict]:
        keys = (f"{caller.tenant_id}:{wanted.key}", f"{caller.tenant_id}:{wanted.previous().key}")

        def whole_ranking() -> list[dict]:
            ranked, previous_ranks = self._ranking(caller, wanted, level, org_id, field, category)
            return ranked.page(0, len(ranked), previous_ranks)
        return self.rankings.derived(keys, ("with_changes", *keys, level, org_id, field, category), whole_ranking)

    @staticmethod
    def _period_of_kind(value, kind: str, field: str):
        wanted = parse_period(value, field)
        if wanted.kind != kind:
            raise InvalidArgument(f"{field} 的时段类型不对", code="PERIOD_KIND_MISMATCH", field=field)
        return wanted

    @rpc
    def export_report(self, scope, org_id="", kind="", period="", today=""):
        caller = self._caller(scope)
        level, org_id = self._subtree(caller, org_id)
        kind = text(kind, "kind")
        if kind not in REPORT_KINDS:
            raise InvalidArgument("kind 只能是 supervision、bulletin 或 assessment", code="REPORT_KIND_INVALID",
                                  field="kind")
        wanted = self._period_of_kind(period, REPORT_KINDS[kind], "period")
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

    # --------------------------------------------------------------- reconcile
    @rpc
    def reconcile(self, scope, org_id="", period=""):
        caller = self._caller(scope)
        level, org_id = self._subtree(caller, org_id)
        wanted = parse_period(period)
        records, token = [], ""
        while True:
            page = self.attendance.activity_facts(scope=caller.to_dict(), org_id=org_id, month_from=wanted.months[0],
                                                  month_to=wanted.months[-1], page_token=token, page_size=500)
            records.extend(page["items"])
            token = page.get("next_page_token") or ""
            if not token:
                break
        stored = {doc["_id"]: doc for month in wanted.months
                  for doc in self.store.activities_of_month(caller.tenant_id, month) if doc.get(f"a{level}") == org_id}
        found = []
        for record in records:
            doc = stored.pop(record["activity_id"], None)
            if doc is None:
                found.append({"activity_id": record["activity_id"], "branch_id": record.get("branch_id", ""),
                              "field": "activity", "live": "", "recomputed": "MISSING_HERE"})
                continue
            recomputed = score_rules.day_score(score_rules.facts_from_record(record, doc.get("rating")),
                                               score_rules.record_held(record))
            found.extend({"activity_id": doc["_id"], "branch_id": doc.get("branch_id", ""), **difference}
                         for difference in score_rules.differences(doc, recomputed))
        for doc in stored.values():
            found.append({"activity_id": doc["_id"], "branch_id": doc.get("branch_id", ""), "field": "activity",
                          "live": "present", "recomputed": "MISSING_AT_SOURCE"})
        return {"period": wanted.key, "checked": len(records), "differences": found}

    # ------------------------------------------------------------------ points
    @rpc
    def get_points_rules(self, scope):
        caller = self._caller(scope)
        return ledger.rules_of(self.points, caller.tenant_id)

    @rpc
    def set_points_rules(self, scope, rules=None):
        caller = self._caller(scope)
        access.city_admin(caller, self.points.tenant(caller.tenant_id))
        table = points_rules.validate_rules(rules)
        self.points.save_rules(caller.tenant_id, table, caller.account_id)
        return table

    @rpc
    def get_ledger(self, scope, member_id="", cycle=""):
        caller = self._caller(scope)
        member_id = text(member_id, "member_id", required=False) or caller.member_id or ""
        if not member_id:
            raise InvalidArgument("member_id 不能为空", code="REQUIRED", field="member_id")
        access.readable_member(caller, self.points.member(member_id), member_id)
        cycle = self._cycle(caller, cycle)
        table = ledger.rules_of(self.points, caller.tenant_id)
        # Total and categories are summed from the very entries returned, not read from the balance
        # document: a balance read separately can be older than the entries (a points batch committing
        # between the two reads; nx-27017 even shows a transaction's entries before its balance update).
        entries = self.points.ledger_of(member_id, cycle)
        by_category: dict[str, float] = {}
        for entry in entries:
            by_category[entry["category"]] = by_category.get(entry["category"], 0) + entry["points"]
        total = round(sum(by_category.values()), 2)
        return {"member_id": member_id, "cycle": cycle, "total": total,
                "by_category": {k: round(v, 2) for k, v in by_category.items()},
                "threshold": table["threshold"], "below_threshold": total < table["threshold"],
                "entries": [entry_view(entry) for entry in entries]}

    def _cycle(self, caller, cycle) -> str:
        cycle = text(cycle, "cycle", required=False)
        table = ledger.rules_of(self.points, caller.tenant_id)
        if not cycle:
            return cycle_of(date.today().isoformat(), table["cycle"])
        valid = (len(cycle) == 4 and cycle.isdigit()) or (
            len(cycle) == 9 and cycle[4] == "-" and cycle[:4].isdigit() and cycle[5:].isdigit()
            and int(cycle[5:]) == int(cycle[:4]) + 1)
        if not valid:
            raise InvalidArgument("cycle 格式应为 YYYY 或 YYYY-YYYY", code="CYCLE_INVALID", field="cycle")
        return cycle

    @rpc
    def add_deduction(self, scope, member_id="", code="", reason="", request_id=""):
        caller = self._caller(scope)
        member_id = text(member_id, "member_id")
        access.managed_member(caller, self.points.member(member_id), member_id)
        reason = text(reason, "reason", max_length=500)
        table = ledger.rules_of(self.points, caller.tenant_id)
        item = next((item for item in table["negative_list"] if item["code"] == text(code, "code")), None)
        if item is None:
            raise InvalidArgument("负面清单中没有该项", code="NEGATIVE_ITEM_UNKNOWN", field="code")
        entry_id = f"deduction:{text(request_id, 'request_id', required=False) or uuid.uuid4().hex}"
        candidate = {**ledger.entry(entry_id, caller.tenant_id, member_id, "negative", item["points"],
                                    f"{item['name']}：{reason}", {"kind": "person", "account_id": caller.account_id},
                                    stamp()), "uncapped": True}
        return entry_view(self._write_entry(candidate))

    @rpc
    def correct_entry(self, scope, entry_id="", reason=""):
        caller = self._caller(scope)
        original = self.points.ledger_entry(text(entry_id, "entry_id"))
        if original is None or original["tenant_id"] != caller.tenant_id:
            raise NotFound("积分记录不存在", code="ENTRY_NOT_FOUND", field="entry_id")
        access.managed_member(caller, self.points.member(original["member_id"]), original["member_id"])
        if original.get("corrects"):
            raise InvalidArgument("更正记录不能再次更正", code="ENTRY_IS_CORRECTION", field="entry_id")
        candidate = {**ledger.entry(f"correction:{original['_id']}", caller.tenant_id, original["member_id"],
                                    original["category"], -original["points"],
                                    f"更正：{text(reason, 'reason', max_length=500)}",
                                    {"kind": "person", "account_id": caller.account_id}, stamp()),
                     "uncapped": True, "corrects": original["_id"]}
        candidate["day"] = original["day"]
        return entry_view(self._write_entry(candidate))

    def _write_entry(self, candidate: dict) -> dict:
        def attempt():
            with self.points.transaction() as session:
                return ledger.write_entries(self.points, session, [candidate])
        written = retried(attempt)
        if not written:
            raise Conflict("该记录已存在", code="ALREADY_EXISTS")
        return written[0]

    @rpc
    def list_talk_candidates(self, scope, org_id="", cycle="", page_size=0, page_token=""):
        caller = self._caller(scope)
        level, org_id = self._subtree(caller, org_id)
        cycle = self._cycle(caller, cycle)
        skip, limit = page_window(page_size, page_token)
        table = ledger.rules_of(self.points, caller.tenant_id)
        balances = self.points.balances_of_cycle(caller.tenant_id, cycle)
        rows = [{"member_id": member["_id"], "branch_id": member.get("branch_id", ""),
                 "total": round((balances.get(member["_id"]) or {}).get("total", 0), 2)}
                for member in self.points.members_under(org_id, level)]
        listed = points_rules.below_threshold(rows, table["threshold"])
        page, token = page_of(listed[skip:skip + limit + 1], skip, limit)
        talks = self.points.talks_of_members([row["member_id"] for row in page], cycle)
        members = [{**row, "talked": row["member_id"] in talks,
                    **({"talk": talk_summary(talks[row["member_id"]])} if row["member_id"] in talks else {})}
                   for row in page]
        return {"cycle": cycle, "threshold": table["threshold"], "total": len(listed), "members": members,
                "next_page_token": token}

    @rpc
    def record_talk(self, scope, member_id="", cycle="", held_on="", note=""):
        """The secretary's talk (诫勉谈话) with a member on the cycle's talk list, held and recorded."""
        caller = self._caller(scope)
        member_id = text(member_id, "member_id")
        member = access.managed_member(caller, self.points.member(member_id), member_id)
        if member_id == caller.member_id:
            raise PermissionDenied("不能记录本人的诫勉谈话，应由上级党组织记录", code="OWN_TALK", field="member_id")
        cycle = self._cycle(caller, cycle)
        held_on = talk_rules.check_held_on(held_on, cycle, periods.today())
        note = talk_rules.check_note(note)
        table = ledger.rules_of(self.points, caller.tenant_id)
        total = round((self.points.balance(member_id, cycle) or {}).get("total", 0), 2)
        if not points_rules.on_talk_list(total, table["threshold"]):
            raise Rejected(f"该党员 {cycle} 周期积分 {total:g} 分，不低于谈话线 {table['threshold']:g} 分，"
                           "不在诫勉谈话名单中", code="NOT_ON_TALK_LIST", field="member_id")
        talk = {"tenant_id": caller.tenant_id, "member_id": member_id, "cycle": cycle, "held_on": held_on,
                "note": note, "recorded_by": caller.account_id, "recorded_at": stamp(), "total": total,
                "threshold": table["threshold"], "branch_id": member.get("branch_id", ""),
                **{name: member[name] for name in LEVEL_FIELDS if member.get(name)}}
        if not self.points.record_talk(talk):
            raise Conflict(f"该党员 {cycle} 周期的诫勉谈话已记录，每个周期只记录一次", code="TALK_EXISTS",
                           field="member_id")
        return talk_view(talk)

    @rpc
    def list_talks(self, scope, org_id="", cycle="", page_size=0, page_token=""):
        caller = self._caller(scope)
        level, org_id = self._subtree(caller, org_id)
        cycle = self._cycle(caller, cycle)
        skip, limit = page_window(page_size, page_token)
        talks = self.points.talks_under(caller.tenant_id, cycle, org_id, level)
        page, token = page_of(talks[skip:skip + limit + 1], skip, limit)
        return {"cycle": cycle, "total": len(talks), "talks": [talk_view(talk) for talk in page],
                "next_page_token": token}

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def _caller(scope) -> CallerScope:
        caller = CallerScope.from_dict(scope)
        caller.require_tenant()
        return caller


class PointsConsumer:
    """The scoring service's points ledger learner (积分), run as a process of its own beside ScoringService
    (``python -m servicekit.process.runner services.scoring.service:PointsConsumer``). It bears the service's name, so
    its queues (``evt-...--scoring.points``) and its database (``points_database("scoring")``) are the
    scoring service's: ScoringService's RPCs read and correct what it writes.

    Apart so that it can run at a lower CPU priority (``PROCESS_NICE``; bin/run gives it 10): points are
    not live, and at a themed day's peak the CPU it would take goes to the members' scans and the live
    scores. The sign-outs cost it almost nothing there: their attendance points are credited at the closing
    (``consumers.has_points_work``)."""
    name = "scoring"

    metrics = Metrics()
    # While events keep coming (a city's closings), a batch gathers up to a second of them (batches of 300 sign-outs,
    # credited one by one before session 19, cost scoring's store a fifth less per sign-out than batches of 30:
    # 0.30-0.39 against 0.42-0.50 ms); a lone event waits 200 ms.
    points_events = BatchEventConsumer("points", POINTS_SUBSCRIPTIONS, PointsApplier.for_container,
                                       max_batch=1000, max_wait_ms=1000, quiet_ms=200)
