"""Themes and plans: a superior issues the month's theme to every branch below it, a branch's secretary
submits the plan, the superior approves or rejects it (``domain.lifecycle``)."""
from __future__ import annotations

from datetime import datetime, timedelta

from servicekit.arguments import choice, text
from servicekit.errors import Conflict, PermissionDenied
from servicekit.security.scope import CallerScope
from servicekit.storage.paging import page_of, page_window
from servicekit.storage.subtree import ancestor_fields
from servicekit.timestamps import parse_stamp, stamp

from services.attendance import access, events
from services.attendance.arguments import MAX_REASON_CHARS, month_argument
from services.attendance.domain import lifecycle, plans, qrtoken
from services.attendance.store import new_id
from services.attendance.views import activity_view, theme_view

ROSTER_LEAD_MINUTES = 10


def activity_id_of(branch_id: str, month: str) -> str:
    """A branch holds one themed day a month: the id says which, so issuing twice cannot duplicate it."""
    return f"act_{branch_id}_{month}"


def freeze_time(plan: dict) -> str:
    """When the roster is frozen: ROSTER_LEAD_MINUTES before sign-in opens, so that a whole city's rosters
    are ready the moment members may scan."""
    return stamp(parse_stamp(plan["checkin_opens_at"]) - timedelta(minutes=ROSTER_LEAD_MINUTES))


def new_activity(theme: dict, branch: dict, now: str) -> dict:
    return {"_id": activity_id_of(branch["org_id"], theme["month"]), "tenant_id": theme["tenant_id"],
            "theme_id": theme["_id"],
            "month": theme["month"], "title": theme["title"], "required_actions": theme["required_actions"],
            "due_from": theme["due_from"], "due_to": theme["due_to"], "branch_id": branch["org_id"],
            "branch_name": branch["name"], "org_path": branch["path_ids"], **ancestor_fields(branch["path_ids"]),
            "field": branch.get("field", ""), "category": branch.get("category", ""),
            "branch_month": f"{branch['org_id']}:{theme['month']}", "status": lifecycle.PLANNING.value,
            "radius_m": theme["radius_m"], "plan": None, "review": None, "checkin_opens_at": None,
            "checkout_closes_at": None, "roster": None, "roster_frozen_at": None, "on_leave": {},
            "statuses": {}, "totals": None, "chain_head": None, "closed_at": None, "liked": {},
            "counts": {"reflections": 0, "photos": 0, "text_chars": 0}, "issued_at": now,
            "updated_at": now}


def stored_plan(plan: dict) -> dict:
    return {key: stamp(value) if isinstance(value, datetime) else value for key, value in plan.items()}


class Activities:
    def __init__(self, store, clock, identity):
        self.store, self.clock, self.identity = store, clock, identity

    def issue_theme(self, caller: CallerScope, org_id, month, title, due_from, due_to, required_actions,
                    radius_m) -> dict:
        scope = caller.to_dict()
        org = self.identity.get_org(scope=scope, org_id=org_id)
        if not any(org_id in caller.admin_org_ids for org_id in org["path_ids"]):
            raise PermissionDenied("只有组织管理员可以下发主题党日", code="NOT_ORG_ADMIN", field="org_id")
        theme_fields = plans.validate_theme(title, month, due_from, due_to, list(required_actions) or None)
        radius = plans.validate_radius(radius_m) if radius_m else plans.DEFAULT_RADIUS_M
        branches = self.identity.branches_under(scope=scope, org_id=org_id)["branches"]
        if not branches:
            raise Conflict("该组织下没有党支部", code="NO_BRANCHES", field="org_id")
        taken = self.store.existing_ids([activity_id_of(b["org_id"], theme_fields["month"]) for b in branches])
        branches = [b for b in branches if activity_id_of(b["org_id"], theme_fields["month"]) not in taken]
        if not branches:
            raise Conflict("这些支部本月的主题党日已下发", code="THEME_ALREADY_ISSUED", field="month")
        now = stamp(self.clock.now())
        theme = {"_id": new_id("thm"), "tenant_id": caller.tenant_id, "org_id": org_id,
                 "org_path": org["path_ids"], **ancestor_fields(org["path_ids"]), **theme_fields,
                 "radius_m": radius, "branch_count": len(branches), "issued_by": caller.account_id,
                 "issued_at": now}
        activities = [new_activity(theme, branch, now) for branch in branches]
        issued = [events.ACTIVITY_ISSUED.build(
            caller.tenant_id, activity_id=a["_id"], theme_id=theme["_id"], branch_id=a["branch_id"],
            branch_name=a["branch_name"], org_path=a["org_path"], field=a["field"], category=a["category"],
            month=a["month"], title=a["title"], due_from=a["due_from"], due_to=a["due_to"],
            issued_by=caller.account_id) for a in activities]
        self.store.issue_theme(theme, activities, issued)
        return {"theme": theme_view(theme), "activities_created": len(activities)}

    def list_themes(self, caller: CallerScope, org_id, page_size, page_token) -> dict:
        org = self.identity.get_org(scope=caller.to_dict(), org_id=org_id)
        skip, limit = page_window(page_size, page_token)
        themes = self.store.themes_of(caller.tenant_id, org["path_ids"], skip, limit + 1)
        found, token = page_of(themes, skip, limit)
        return {"themes": [theme_view(t) for t in found], "next_page_token": token}

    def list_activities(self, caller: CallerScope, org_id, month, status, theme_id, page_size, page_token) -> dict:
        org = self.identity.get_org(scope=caller.to_dict(), org_id=org_id)
        skip, limit = page_window(page_size, page_token)
        query = {}
        if month:
            query["month"] = month_argument(month, "month", month)
        else:       # a meeting (三会一课) is an activity of its own kind, listed by list_meetings; its month is ""
            query["meeting_type"] = {"$exists": False}
        if status:
            query["status"] = choice(status, "status", lifecycle.STORED_STATUSES)
        if theme_id:
            query["theme_id"] = theme_id
        if not caller.manages_path(org["path_ids"]):
            query["branch_id"] = caller.branch_id or "-"
        found, token = page_of(self.store.activities_in(org["path_ids"], query, skip, limit + 1), skip, limit)
        return {"activities": [activity_view(a, member_id=caller.member_id) for a in found],
                "next_page_token": token}

    def get_activity(self, caller: CallerScope, activity_id) -> dict:
        activity = access.readable(caller, self.store.activity(activity_id))
        records = self.store.records_of(activity_id, ("checkin", "checkout"),
                                        {"kind": 1, "flags": 1, "seq": 1, "code_kind": 1})
        counts = {"checkins": sum(1 for r in records if r["kind"] == "checkin"),
                  "checkouts": sum(1 for r in records if r["kind"] == "checkout"),
                  "flagged": sum(1 for r in records if r.get("flags")),
                  "printed_code_scans": sum(1 for r in records if r.get("code_kind") == qrtoken.CODE_PRINTED)}
        return activity_view(activity, counts, caller.member_id)

    def submit_plan(self, caller: CallerScope, activity_id, date, start_time, end_time, venue_name, venue_lat,
                    venue_lng, optional_actions, grace_minutes, checkout_window_minutes, venue_crs) -> dict:
        activity = access.as_secretary(caller, self.store.activity(activity_id))
        lifecycle.apply(lifecycle.submission(activity), activity)
        fields = {"date": date, "start_time": start_time, "end_time": end_time, "venue_name": venue_name,
                  "venue_lat": venue_lat, "venue_lng": venue_lng, "venue_crs": venue_crs,
                  "optional_actions": list(optional_actions)}
        if grace_minutes is not None:
            fields["grace_minutes"] = grace_minutes
        if checkout_window_minutes is not None:
            fields["checkout_window_minutes"] = checkout_window_minutes
        now = self.clock.now()
        plan = stored_plan(plans.validate_plan(fields, activity, now))
        event = events.PLAN_SUBMITTED.build(
            activity["tenant_id"], activity_id=activity_id, branch_id=activity["branch_id"], month=activity["month"],
            date=plan["date"], start_at=plan["start_at"], end_at=plan["end_at"],
            outside_due_window=plan["outside_due_window"], submitted_by=caller.account_id)
        return activity_view(self.store.submit_plan(activity, plan, caller.account_id, stamp(now), event))

    def review_plan(self, caller: CallerScope, activity_id, decision, reason, radius_m, grace_minutes) -> dict:
        activity = access.as_superior(caller, self.store.activity(activity_id))
        decision = choice(decision, "decision", (events.PLAN_APPROVED, events.PLAN_REJECTED), required=True)
        reason = text(reason, "reason", required=decision == events.PLAN_REJECTED, max_length=MAX_REASON_CHARS)
        now_moment = self.clock.now()
        approving = decision == events.PLAN_APPROVED
        lifecycle.apply(lifecycle.APPROVE if approving else lifecycle.REJECT, activity, now_moment)
        now = stamp(now_moment)
        review = {"decision": decision, "reason": reason, "reviewed_by": caller.account_id, "reviewed_at": now}
        reviewed = events.PLAN_REVIEWED.build(activity["tenant_id"], activity_id=activity_id,
                                              branch_id=activity["branch_id"], month=activity["month"],
                                              decision=decision, reason=reason, reviewed_by=caller.account_id)
        if not approving:
            return activity_view(self.store.reject_plan(activity_id, review, now, reviewed))
        plan = dict(activity["plan"])
        radius = plans.validate_radius(radius_m) if radius_m is not None else activity["radius_m"]
        if grace_minutes is not None:
            grace = plans.validate_grace(grace_minutes)
            plan["grace_minutes"] = grace
            plan["checkin_closes_at"] = stamp(parse_stamp(plan["start_at"]) + timedelta(minutes=grace))
        opened = events.ACTIVITY_OPENED.build(activity["tenant_id"], activity_id=activity_id,
                                              branch_id=activity["branch_id"], month=activity["month"],
                                              start_at=plan["start_at"], end_at=plan["end_at"],
                                              checkin_opens_at=plan["checkin_opens_at"],
                                              checkout_closes_at=plan["checkout_closes_at"])
        return activity_view(self.store.approve_plan(activity_id, plan, radius, review, now, [reviewed, opened],
                                                     freeze_time(plan)))
