"""Democratic appraisal of members (民主评议党员): a branch's yearly appraisal from its draft to its decided
grades (rules: domain/appraisal.py; records: appraisal_store.py; contract: docs/scoring-rpc.md)."""
from __future__ import annotations

import uuid
from datetime import timezone

from servicekit.errors import InvalidArgument, PermissionDenied
from servicekit.security.scope import CallerScope
from servicekit.storage.paging import page_of, page_window
from servicekit.storage.subtree import ancestor_fields
from servicekit.timestamps import parse_stamp, stamp

from services.scoring import access
from services.scoring import events
from services.scoring.arguments import text
from services.scoring.domain import appraisal as rules
from services.scoring.points_store import PointsStore
from services.scoring.store import ScoringStore
from services.scoring.views import review_view


class Appraisals:
    def __init__(self, store: ScoringStore, points_store: PointsStore, clock, identity):
        self.store = store
        self.points_store = points_store
        self.clock = clock
        self.identity = identity

    # ---------------------------------------------------------------- settings
    def settings(self, tenant_id: str) -> dict:
        stored = self.store.appraisal_settings(tenant_id) or {}
        return {"excellent_max_ratio": stored.get("excellent_max_ratio", rules.DEFAULT_EXCELLENT_MAX_RATIO),
                "flag_negative_share": stored.get("flag_negative_share", rules.DEFAULT_FLAG_NEGATIVE_SHARE)}

    def set_settings(self, caller: CallerScope, excellent_max_ratio, flag_negative_share) -> dict:
        access.city_admin(caller, self.points_store.tenant(caller.tenant_id))
        current = self.settings(caller.tenant_id)
        settings = {
            "excellent_max_ratio": current["excellent_max_ratio"] if excellent_max_ratio in (None, 0) else
            rules.check_ratio(excellent_max_ratio, "excellent_max_ratio", 0, 1),
            "flag_negative_share": current["flag_negative_share"] if flag_negative_share in (None, 0) else
            rules.check_ratio(flag_negative_share, "flag_negative_share", 0, 1)}
        self.store.save_appraisal_settings(caller.tenant_id, settings)
        return settings

    # ----------------------------------------------------------- the lifecycle
    def create(self, caller: CallerScope, org_id, year, closes_at) -> dict:
        """A draft for a branch's year, with its roster (the branch's party members now)."""
        org_id = text(org_id, "org_id", max_length=64)
        org = access.managed_branch(caller, self.identity.get_org(scope=caller.to_dict(), org_id=org_id))
        now = self.clock.now()
        year = rules.check_year(year)
        closes = rules.check_closes_at(closes_at, now).astimezone(timezone.utc)
        settings = self.settings(caller.tenant_id)
        doc = {"_id": f"apr_{uuid.uuid4().hex[:16]}", "tenant_id": caller.tenant_id, "branch_id": org["id"],
               "branch_name": org.get("name", ""), "year": year, "branch_year": f"{org['id']}:{year}",
               **ancestor_fields(org.get("path_ids")), "state": rules.DRAFT.value, "closes_at": stamp(closes),
               "excellent_max_ratio": settings["excellent_max_ratio"],
               "flag_negative_share": settings["flag_negative_share"],
               "roster": self._roster(caller.tenant_id, org["id"]), "created_by": caller.account_id,
               "created_at": stamp(now)}
        self.store.create_appraisal(doc)
        return self._view(caller, doc)

    def open(self, caller: CallerScope, appraisal_id) -> dict:
        doc = access.managed_appraisal(caller, self._find(caller, appraisal_id))
        now = self.clock.now()
        rules.check(rules.OPEN_VOTE, doc, now)
        if now >= parse_stamp(doc["closes_at"]):
            raise InvalidArgument("投票截止时间已过，请重新创建评议", code="CLOSES_AT_PASSED", field="closes_at")
        roster = self._roster(doc["tenant_id"], doc["branch_id"])
        if len(roster) < 2:
            raise InvalidArgument("参评党员不足 2 名，无法开展民主评议", code="ROSTER_TOO_SMALL", field="appraisal_id")
        changes = {"state": rules.OPEN.value, "roster": roster, "opened_by": caller.account_id,
                   "opened_at": stamp(now)}
        event = events.APPRAISAL_OPENED.build(doc["tenant_id"], now, appraisal_id=doc["_id"],
                                              branch_id=doc["branch_id"], year=doc["year"], members=len(roster),
                                              closes_at=doc["closes_at"], opened_by=caller.account_id)
        self.store.open_appraisal(doc["_id"], changes, event)
        return self._view(caller, {**doc, **changes})

    def review(self, caller: CallerScope, appraisal_id, member_id, text_value) -> dict:
        """A self-review (member_id: "" or one's own) or a mutual review of another member on the roster."""
        doc = access.appraised_member(caller, self._find(caller, appraisal_id))
        now = self.clock.now()
        rules.check(rules.REVIEW, doc, now)
        subject = text(member_id, "member_id", required=False, max_length=64) or caller.member_id
        if subject not in doc["roster"]:
            raise InvalidArgument("只能评议本次评议名单中的党员", code="NOT_IN_APPRAISAL", field="member_id")
        kind = "self" if subject == caller.member_id else "mutual"
        review = {"_id": f"{doc['_id']}:{caller.member_id}:{subject}", "appraisal_id": doc["_id"],
                  "tenant_id": doc["tenant_id"], "reviewer": caller.member_id, "subject": subject, "kind": kind,
                  "text": rules.check_text(text_value, "text", "自我评价" if kind == "self" else "互评意见"),
                  "submitted_at": stamp(now)}
        self.store.save_review(review)
        return review_view(review)

    def vote(self, caller: CallerScope, appraisal_id, choices) -> dict:
        doc = access.appraised_member(caller, self._find(caller, appraisal_id))
        rules.check(rules.VOTE, doc, self.clock.now())       # the server's clock: closed at closes_at
        ballot = rules.check_ballot(choices, caller.member_id, doc["roster"])
        event = events.VOTE_CAST.build(doc["tenant_id"], appraisal_id=doc["_id"], branch_id=doc["branch_id"],
                                       member_id=caller.member_id)
        self.store.cast_vote(doc["_id"], caller.member_id, ballot, event)
        return {"appraisal_id": doc["_id"], "voted": True}

    def decide(self, caller: CallerScope, appraisal_id, decided_by, grades) -> dict:
        doc = access.managed_appraisal(caller, self._find(caller, appraisal_id))
        now = self.clock.now()
        rules.check(rules.DECIDE, doc, now)
        decided_by = text(decided_by, "decided_by")
        if decided_by not in rules.DECIDERS:
            raise InvalidArgument("decided_by 只能是 committee（支委会）或 assembly（支部党员大会）",
                                  code="UNKNOWN_VALUE", field="decided_by")
        limit = rules.excellent_limit(len(doc["roster"]), doc["excellent_max_ratio"])
        decided = rules.check_grades(grades, doc["roster"], limit)
        counts = {grade: sum(1 for row in decided.values() if row["grade"] == grade) for grade in rules.GRADES}
        changes = {"state": rules.DECIDED.value, "grades": decided, "decided_by": decided_by,
                   "decided_by_account": caller.account_id, "decided_at": stamp(now), "counts": counts}
        event = events.APPRAISAL_DECIDED.build(doc["tenant_id"], now, appraisal_id=doc["_id"],
                                               branch_id=doc["branch_id"], year=doc["year"], decided_by=decided_by,
                                               counts=counts, decided_at=changes["decided_at"])
        self.store.decide_appraisal(doc["_id"], changes, event)
        return self._view(caller, {**doc, **changes})

    # ------------------------------------------------------------------- reads
    def get(self, caller: CallerScope, appraisal_id) -> dict:
        return self._view(caller, access.readable_appraisal(caller, self._find(caller, appraisal_id)))

    def list(self, caller: CallerScope, org_id, year, page_size, page_token) -> dict:
        """The appraisals of a subtree (its superior's view of results), newest year first."""
        org_id = text(org_id, "org_id", max_length=64)
        org = self.identity.get_org(scope=caller.to_dict(), org_id=org_id)
        if not caller.manages_path(org.get("path_ids") or []):
            raise PermissionDenied("只有支部书记或上级党组织可以查看民主评议", code="NOT_ORG_MANAGER", field="org_id")
        year = rules.check_year(year) if text(year, "year", required=False) else ""
        skip, limit = page_window(page_size, page_token)
        level = len(org.get("path_ids") or [org_id]) - 1
        found = [doc for doc in self.store.appraisals_under(org_id, level)
                 if doc.get("tenant_id") == caller.tenant_id and (not year or doc["year"] == year)]
        found.sort(key=lambda doc: (-int(doc["year"]), doc.get("branch_name", ""), doc["_id"]))
        page, token = page_of(found[skip:skip + limit + 1], skip, limit)
        now = self.clock.now()
        return {"total": len(found), "appraisals": [self._summary(doc, now) for doc in page],
                "next_page_token": token}

    def mine(self, caller: CallerScope) -> dict:
        """The appraisals the caller (a member) is on the roster of, newest first, each with its own part."""
        if not caller.member_id or not caller.branch_id:
            return {"total": 0, "appraisals": [], "next_page_token": ""}
        docs = [doc for doc in self.store.appraisals_of_branch(caller.branch_id)
                if doc.get("tenant_id") == caller.tenant_id and caller.member_id in doc["roster"]
                and doc["state"] != rules.DRAFT.value]
        docs.sort(key=lambda doc: doc["year"], reverse=True)
        now = self.clock.now()
        return {"total": len(docs), "appraisals": [{**self._summary(doc, now), "me": self._my_part(caller, doc, now)}
                                                   for doc in docs], "next_page_token": ""}

    # ----------------------------------------------------------------- helpers
    def _find(self, caller: CallerScope, appraisal_id) -> dict | None:
        return self.store.appraisal(text(appraisal_id, "appraisal_id", max_length=64))

    def _roster(self, tenant_id: str, branch_id: str) -> dict[str, dict]:
        rosters = self.identity.branch_rosters(tenant_id=tenant_id, branch_ids=[branch_id])
        return {row["member_id"]: {"name": row.get("name", "")} for row in rosters.get(branch_id, [])}

    def _summary(self, doc: dict, now) -> dict:
        state = rules.state_of(doc, now)
        return {"id": doc["_id"], "branch_id": doc["branch_id"], "branch_name": doc.get("branch_name", ""),
                "year": doc["year"], "state": state.value, "closes_at": doc["closes_at"],
                "member_count": len(doc["roster"]), "voter_count": self.store.voter_count(doc["_id"]),
                "excellent_limit": rules.excellent_limit(len(doc["roster"]), doc["excellent_max_ratio"]),
                "decided_by": doc.get("decided_by", ""), "decided_at": doc.get("decided_at", ""),
                "decided_counts": doc.get("counts") or {}}

    def _my_part(self, caller: CallerScope, doc: dict, now) -> dict:
        member = caller.member_id
        if not member or member not in doc["roster"]:
            return {"on_roster": False}
        state = rules.state_of(doc, now)
        reviews = [r for r in self.store.reviews(doc["_id"]) if r["reviewer"] == member]
        part = {"on_roster": True, "voted": self.store.has_voted(doc["_id"], member),
                "self_review": next((r["text"] for r in reviews if r["kind"] == "self"), ""),
                "given": [{"member_id": r["subject"], "text": r["text"]} for r in reviews if r["kind"] == "mutual"]}
        if state in (rules.CLOSED, rules.DECIDED):
            tally = self.store.tallies(doc["_id"]).get(member)
            part["tally_shown"] = rules.tally_shown(tally)
            if part["tally_shown"]:
                part["tally"] = {grade: tally.get(grade, 0) for grade in rules.GRADES}
        if state is rules.DECIDED:
            part.update(doc["grades"][member])
        return part

    def _view(self, caller: CallerScope, doc: dict) -> dict:
        now = self.clock.now()
        state = rules.state_of(doc, now)
        manager = access.manages_appraisal(caller, doc)
        view = {**self._summary(doc, now), "manager": manager, "me": self._my_part(caller, doc, now)}
        reviews = self.store.reviews(doc["_id"])
        view["self_review_count"] = sum(1 for r in reviews if r["kind"] == "self")
        if not manager:         # a member sees the names to review and vote on, nothing of anyone else's
            view["members"] = [{"member_id": member, "name": row.get("name", "")}
                               for member, row in sorted(doc["roster"].items(), key=lambda item: item[1]["name"])]
            return view
        tallies = self.store.tallies(doc["_id"]) if state in (rules.CLOSED, rules.DECIDED) else {}
        points = self._points(doc) if tallies else {}
        top, bottom = rules.deciles(points, doc["roster"])
        rows = []
        for member, row in sorted(doc["roster"].items(), key=lambda item: item[1]["name"]):
            tally = tallies.get(member)
            shown = rules.tally_shown(tally)
            rows.append({"member_id": member, "name": row.get("name", ""),
                         "self_review": next((r["text"] for r in reviews
                                              if r["kind"] == "self" and r["reviewer"] == member), ""),
                         # mutual reviews without their reviewer: the committee reads what was said
                         "mutual_reviews": [r["text"] for r in reviews if r["kind"] == "mutual"
                                            and r["subject"] == member],
                         "tally_shown": shown,
                         **({"tally": {grade: tally.get(grade, 0) for grade in rules.GRADES}} if shown else {}),
                         "points": round(points.get(member, 0.0), 2) if tallies else 0.0,
                         "flags": rules.flags_of(tally, member, top, bottom, doc["flag_negative_share"]),
                         **((doc.get("grades") or {}).get(member) or {})})
        view["members"] = rows
        return view

    def _points(self, doc: dict) -> dict[str, float]:
        """The roster's points of the appraisal's year, from the points ledger."""
        totals = self.points_store.points_of_members(sorted(doc["roster"]), f"{doc['year']}-01-01",
                                                     f"{doc['year']}-12-31")
        return {member: row["total"] for member, row in totals.items()}

