"""三会一课: the branch secretary plans a meeting (held with the themed day's QR / geofence sign-in: the meeting is an
activity of its own kind, so its QR codes, scans, leave, photos and closing are the activities' operations), records
it once held, and superiors read the compliance ledger of any subtree (``domain.meetings``)."""
from __future__ import annotations

from datetime import timedelta

from servicekit.arguments import choice, text
from servicekit.errors import InvalidArgument, NotFound, PermissionDenied
from servicekit.security.scope import CallerScope
from servicekit.storage.paging import page_of, page_window
from servicekit.storage.subtree import ancestor_fields
from servicekit.timestamps import LOCAL_ZONE, parse_stamp, stamp

from services.attendance import access, events
from services.attendance.arguments import month_argument
from services.attendance.domain import leaves, lifecycle, meetings, plans
from services.attendance.store import new_id
from services.attendance.usecases.activities import freeze_time, stored_plan

MEETING_NOT_FOUND = "会议不存在或不在您的管辖范围内"
FACTS_TTL = timedelta(hours=6)      # how long what identity said of a branch (full members, groups) is trusted
FACTS_BATCH = 400                   # branches per identity call (one indexed query each, ~2 ms)
MAX_TITLE_CHARS = 100
LEDGER_STATES = (meetings.OK, meetings.PENDING, meetings.YELLOW, meetings.RED)


def meeting_view(meeting: dict, member_id: str | None = None) -> dict:
    plan = meeting.get("plan") or {}
    venue = plan.get("venue") or {}
    record = meeting.get("meeting_record") or {}
    view = {"id": meeting["_id"], "tenant_id": meeting["tenant_id"], "branch_id": meeting["branch_id"],
            "branch_name": meeting["branch_name"], "meeting_type": meeting["meeting_type"],
            "type_label": meetings.TYPE_LABELS[meeting["meeting_type"]], "title": meeting["title"],
            "date": plan.get("date", ""), "start_at": plan.get("start_at", ""), "end_at": plan.get("end_at", ""),
            "checkin_opens_at": plan.get("checkin_opens_at", ""),
            "checkin_closes_at": plan.get("checkin_closes_at", ""),
            "checkout_closes_at": plan.get("checkout_closes_at", ""),
            "venue_name": venue.get("name", ""), "radius_m": meeting["radius_m"], "venue_lat": venue.get("lat", 0.0),
            "venue_lng": venue.get("lng", 0.0),
            "state": meetings.meeting_state(meeting), "planned_by": meeting.get("planned_by", ""),
            "planned_at": meeting.get("issued_at", ""), "attendance": meetings.attendance_of(meeting.get("totals")),
            "record": {}}
    if record:
        view["record"] = {key: record[key] for key in ("host", "recorder", "topics", "resolutions", "minutes",
                                                       "backfilled", "backfill_reason", "recorded_by", "recorded_at")}
    if member_id and meeting.get("statuses"):
        view["my_status"] = meeting["statuses"].get(member_id, "")
    view["reschedules"] = [{key: change[key] for key in ("at", "by", "reason", "changes")}
                           for change in meeting.get("reschedules") or []]
    cancellation = meeting.get("cancellation") or {}
    view["cancellation"] = {key: cancellation[key] for key in ("reason", "cancelled_by", "cancelled_at")} \
        if cancellation else {}
    return view


class Meetings:
    def __init__(self, store, clock, identity):
        self.store, self.clock, self.identity = store, clock, identity

    # --- settings -------------------------------------------------------------------------------------------
    def get_settings(self, caller: CallerScope) -> dict:
        if not caller.tenant_id:
            raise PermissionDenied("请先登录", code="TENANT_REQUIRED")
        return self._settings_view(caller.tenant_id)

    def set_settings(self, caller: CallerScope, frequencies, committee_min_full_members, backfill_after_days) -> dict:
        """The tenant's frequencies, committee size and back-fill days: an admin of the tenant's root only (the
        root found from the path of any node the caller manages, or of its branch)."""
        known = sorted(caller.managed_org_ids) or ([caller.branch_id] if caller.branch_id else [])
        root = self.identity.get_org(scope=caller.to_dict(), org_id=known[0])["path_ids"][0] if known else None
        if root is None or root not in caller.admin_org_ids:
            raise PermissionDenied("只有市级管理员可以设置三会一课频次", code="NOT_CITY_ADMIN")
        if frequencies is not None and not isinstance(frequencies, dict):
            raise InvalidArgument("frequencies 必须是会议类型到频次的映射", code="INVALID_TYPE", field="frequencies")
        settings = meetings.validate_settings(dict(frequencies or {}), committee_min_full_members,
                                              backfill_after_days, self.store.meeting_settings(caller.tenant_id))
        self.store.set_meeting_settings(caller.tenant_id, settings, caller.account_id, stamp(self.clock.now()))
        return self._settings_view(caller.tenant_id)

    def _settings_view(self, tenant_id: str) -> dict:
        settings = meetings.settings_of(self.store.meeting_settings(tenant_id))
        return {"frequencies": settings["frequencies"], "committee_min_full_members":
                settings["committee_min_full_members"], "backfill_after_days": settings["backfill_after_days"],
                "types": [{"type": kind, "label": meetings.TYPE_LABELS[kind],
                           "frequency": settings["frequencies"][kind]} for kind in meetings.TYPES]}

    # --- meetings -------------------------------------------------------------------------------------------
    def plan_meeting(self, caller: CallerScope, branch_id, meeting_type, title, date, start_time, end_time,
                     venue_name, venue_lat, venue_lng, venue_crs, grace_minutes, checkout_window_minutes) -> dict:
        scope = caller.to_dict()
        branch = self.identity.get_org(scope=scope, org_id=branch_id)
        if branch.get("kind") != "branch":
            raise InvalidArgument("只能为党支部安排会议", code="NOT_A_BRANCH", field="branch_id")
        holder = {"tenant_id": branch["tenant_id"], "org_path": branch["path_ids"], "branch_id": branch["id"]}
        if not (access.is_secretary(caller, holder) or access.is_superior(caller, holder)):
            raise PermissionDenied("只有本支部书记或上级组织可以安排会议", code="NOT_BRANCH_SECRETARY")
        kind = meetings.meeting_type(meeting_type)
        title = text(title, "title", required=False, max_length=MAX_TITLE_CHARS) or meetings.TYPE_LABELS[kind]
        fields = {"date": date, "start_time": start_time, "end_time": end_time, "venue_name": venue_name,
                  "venue_lat": venue_lat, "venue_lng": venue_lng, "venue_crs": venue_crs, "optional_actions": []}
        if grace_minutes is not None:
            fields["grace_minutes"] = grace_minutes
        if checkout_window_minutes is not None:
            fields["checkout_window_minutes"] = checkout_window_minutes
        now = self.clock.now()
        plan = stored_plan(plans.validate_plan(fields, {}, now))
        settings = meetings.settings_of(self.store.meeting_settings(caller.tenant_id))
        # what identity says now (the ledger's copy is refreshed with it): a committee, party groups
        facts = self._fresh_facts(branch["tenant_id"], {branch["id"]: branch["path_ids"]}, force=True)[branch["id"]]
        if kind not in meetings.owed_types(settings, facts["full_members"], facts["groups"]):
            if kind == meetings.COMMITTEE:
                raise InvalidArgument(f"正式党员不足 {settings['committee_min_full_members']} 人的支部不设支委会",
                                      code="NO_BRANCH_COMMITTEE", field="meeting_type")
            raise InvalidArgument("本支部未设党小组", code="NO_PARTY_GROUPS", field="meeting_type")
        meeting = self._new_meeting(caller, branch, kind, title, plan, stamp(now))
        return meeting_view(self.store.plan_meeting(meeting, [], freeze_time(plan)))

    @staticmethod
    def _new_meeting(caller: CallerScope, branch: dict, kind: str, title: str, plan: dict, now: str) -> dict:
        """An approved activity of the meeting's kind: the scan desk, the schedule and the closing take it as they
        take a themed day. ``month`` stays empty, so no themed-day listing or statistic counts it."""
        meeting_id = new_id("mtg")
        return {"_id": meeting_id, "tenant_id": branch["tenant_id"], "theme_id": "", "meeting_type": kind,
                "meeting_date": plan["date"], "month": "", "title": title, "required_actions": [],
                "due_from": plan["date"], "due_to": plan["date"], "branch_id": branch["id"],
                "branch_name": branch["name"], "org_path": branch["path_ids"], **ancestor_fields(branch["path_ids"]),
                "field": branch.get("field", ""), "category": branch.get("category", ""),
                "branch_month": f"{branch['id']}:{meeting_id}", "status": lifecycle.APPROVED.value,
                "radius_m": plans.DEFAULT_RADIUS_M, "plan": plan, "review": None,
                "checkin_opens_at": plan["checkin_opens_at"], "checkout_closes_at": plan["checkout_closes_at"],
                "roster": None, "roster_frozen_at": None, "on_leave": {}, "statuses": {}, "totals": None,
                "chain_head": None, "closed_at": None, "liked": {},
                "counts": {"reflections": 0, "photos": 0, "text_chars": 0}, "issued_at": now, "updated_at": now,
                "planned_by": caller.account_id, "meeting_held": None, "meeting_record": None}

    def _meeting(self, caller: CallerScope, meeting_id) -> dict:
        meeting = self.store.activity(meeting_id) if isinstance(meeting_id, str) and meeting_id else None
        if not meeting or not meeting.get("meeting_type"):
            raise NotFound(MEETING_NOT_FOUND, code="MEETING_NOT_FOUND", field="meeting_id")
        try:
            return access.readable(caller, meeting, "meeting_id")
        except NotFound:
            raise NotFound(MEETING_NOT_FOUND, code="MEETING_NOT_FOUND", field="meeting_id") from None

    def get_meeting(self, caller: CallerScope, meeting_id) -> dict:
        return meeting_view(self._meeting(caller, meeting_id), caller.member_id)

    def list_meetings(self, caller: CallerScope, org_id, meeting_type, state, page_size, page_token) -> dict:
        org = self.identity.get_org(scope=caller.to_dict(), org_id=org_id)
        skip, limit = page_window(page_size, page_token)
        query = {}
        if meeting_type:
            query["meeting_type"] = meetings.meeting_type(meeting_type)
        wanted = choice(state, "state", meetings.MEETING_STATES)
        if not caller.manages_path(org["path_ids"]):
            query["branch_id"] = caller.branch_id or "-"
        found = self.store.meetings_in(org["path_ids"], query)
        if wanted:
            found = [m for m in found if meetings.meeting_state(m) == wanted]
        page, token = page_of(found[skip:skip + limit + 1], skip, limit)
        return {"meetings": [meeting_view(m, caller.member_id) for m in page], "next_page_token": token}

    def record_meeting(self, caller: CallerScope, meeting_id, host, recorder, topics, resolutions, minutes,
                       backfill_reason) -> dict:
        meeting = self._meeting(caller, meeting_id)
        if not (access.is_secretary(caller, meeting) or access.is_superior(caller, meeting)):
            raise PermissionDenied("只有本支部书记或上级组织可以录入会议记录", code="NOT_BRANCH_SECRETARY")
        settings = meetings.settings_of(self.store.meeting_settings(meeting["tenant_id"]))
        now = self.clock.now()
        record = meetings.validate_record(meeting, host, recorder, topics, resolutions, minutes, backfill_reason,
                                          now.astimezone(LOCAL_ZONE).date(), settings["backfill_after_days"])
        record.update(recorded_by=caller.account_id, recorded_at=stamp(now))
        event = events.MEETING_RECORDED.build(
            meeting["tenant_id"], meeting_id=meeting["_id"], branch_id=meeting["branch_id"],
            org_path=list(meeting["org_path"]), branch_name=meeting.get("branch_name", ""),
            meeting_type=meeting["meeting_type"], title=meeting["title"], date=meeting["plan"]["date"],
            month=meeting["plan"]["date"][:7], venue_name=(meeting["plan"].get("venue") or {}).get("name", ""),
            host=record["host"], recorder=record["recorder"], topics=list(record["topics"]),
            recorded_by=caller.account_id, backfilled=record["backfilled"], backfill_reason=record["backfill_reason"],
            attendance=meetings.attendance_of(meeting.get("totals")))
        return meeting_view(self.store.record_meeting(meeting["_id"], record, event), caller.member_id)

    def reschedule_meeting(self, caller: CallerScope, meeting_id, title, date, start_time, end_time, venue_name,
                           venue_lat, venue_lng, venue_crs, grace_minutes, checkout_window_minutes, reason) -> dict:
        """A planned meeting's new time, venue (its fence) and title, before its sign-in can start; validated as
        PlanMeeting validates a plan. Unset grace and sign-out windows keep the meeting's. The change is kept in
        the meeting's history and published; a new date or new times make its pending and approved leave lapse
        (``domain.leaves``) in the same write, which meeting_rescheduled's ``changes`` tells without an event of
        its own."""
        meeting = self._secretarys_meeting(caller, meeting_id, "改期")
        now = self.clock.now()
        lifecycle.apply(lifecycle.RESCHEDULE, meeting, now)
        current = meeting["plan"]
        new_title = text(title, "title", required=False, max_length=MAX_TITLE_CHARS) or meeting["title"]
        fields = {"date": date, "start_time": start_time, "end_time": end_time, "venue_name": venue_name,
                  "venue_lat": venue_lat, "venue_lng": venue_lng, "venue_crs": venue_crs, "optional_actions": [],
                  "grace_minutes": current["grace_minutes"] if grace_minutes is None else grace_minutes,
                  "checkout_window_minutes": current["checkout_window_minutes"]
                  if checkout_window_minutes is None else checkout_window_minutes}
        plan = stored_plan(plans.validate_plan(fields, {}, now))
        reason = meetings.change_reason(reason)
        after = {**meeting, "title": new_title, "plan": plan}
        change = {"at": stamp(now), "by": caller.account_id, "reason": reason,
                  "changes": meetings.plan_changes(meeting, after)}
        event = events.MEETING_RESCHEDULED.build(
            meeting["tenant_id"], meeting_id=meeting["_id"], branch_id=meeting["branch_id"],
            meeting_type=meeting["meeting_type"], date=plan["date"], month=plan["date"][:7],
            start_at=plan["start_at"], end_at=plan["end_at"], checkin_opens_at=plan["checkin_opens_at"],
            checkout_closes_at=plan["checkout_closes_at"], venue_name=plan["venue"]["name"],
            changes=change["changes"], reason=reason, rescheduled_by=caller.account_id)
        changed = self.store.reschedule_meeting(meeting, {
            "title": new_title, "plan": plan, "meeting_date": plan["date"], "due_from": plan["date"],
            "due_to": plan["date"], "checkin_opens_at": plan["checkin_opens_at"],
            "checkout_closes_at": plan["checkout_closes_at"], "updated_at": stamp(now)},
            change, freeze_time(plan), event, lapse=leaves.lapse(change["changes"], change["at"]))
        return meeting_view(changed, caller.member_id)

    def cancel_meeting(self, caller: CallerScope, meeting_id, reason) -> dict:
        """A planned meeting called off, with its reason, before its sign-in can start: never frozen, opened or
        closed, so never held nor counted in the ledger."""
        meeting = self._secretarys_meeting(caller, meeting_id, "取消")
        now = self.clock.now()
        lifecycle.apply(lifecycle.CANCEL, meeting, now)
        reason = meetings.cancel_reason(reason)
        cancellation = {"reason": reason, "cancelled_by": caller.account_id, "cancelled_at": stamp(now)}
        event = events.MEETING_CANCELLED.build(
            meeting["tenant_id"], meeting_id=meeting["_id"], branch_id=meeting["branch_id"],
            meeting_type=meeting["meeting_type"], date=meeting["plan"]["date"], month=meeting["plan"]["date"][:7],
            reason=reason, cancelled_by=caller.account_id)
        return meeting_view(self.store.cancel_meeting(meeting, cancellation, event), caller.member_id)

    def _secretarys_meeting(self, caller: CallerScope, meeting_id, action: str) -> dict:
        """The meeting, if the caller may plan its branch's meetings (PlanMeeting's rule)."""
        meeting = self._meeting(caller, meeting_id)
        if not (access.is_secretary(caller, meeting) or access.is_superior(caller, meeting)):
            raise PermissionDenied(f"只有本支部书记或上级组织可以{action}会议", code="NOT_BRANCH_SECRETARY")
        return meeting

    # --- the compliance ledger --------------------------------------------------------------------------------
    def get_ledger(self, caller: CallerScope, org_id, month, field, state, page_size, page_token) -> dict:
        """Every branch of the subtree, for the periods containing ``month``: required against held per owed type,
        each row's worst state first; the counts of branches behind by field for the bar chart."""
        branches = self.identity.branches_under(scope=caller.to_dict(), org_id=org_id)["branches"]
        now = self.clock.now()
        today = now.astimezone(LOCAL_ZONE).date()
        month = month_argument(month, "month", today.strftime("%Y-%m"))
        wanted = choice(state, "state", LEDGER_STATES + ("behind",))
        field_filter = text(field, "field", required=False, max_length=50)
        skip, limit = page_window(page_size, page_token)
        settings = meetings.settings_of(self.store.meeting_settings(caller.tenant_id))
        paths = {b["org_id"]: b["path_ids"] for b in branches}
        root_path = branches[0]["path_ids"][:branches[0]["path_ids"].index(org_id) + 1] if branches else [org_id]
        entries = self.store.ledger_entries(root_path) if branches else {}
        facts = self._fresh_facts(caller.tenant_id, paths, entries=entries)
        first = meetings.parse_month(month)
        rows, by_field = [], {}
        for branch in branches:
            items = meetings.branch_ledger(settings, facts.get(branch["org_id"], {}),
                                           (entries.get(branch["org_id"]) or {}).get("held") or {}, first, today)
            worst = meetings.worst(item["state"] for item in items)
            for item in items:
                item["label"] = meetings.TYPE_LABELS[item["type"]]
            row = {"branch_id": branch["org_id"], "branch_name": branch["name"], "field": branch.get("field", ""),
                   "path_names": branch.get("path_names", []), "state": worst,
                   "behind": worst in (meetings.YELLOW, meetings.RED), "items": items}
            tally = by_field.setdefault(row["field"], {"field": row["field"], "branches": 0, "yellow": 0, "red": 0,
                                                       "behind": 0})
            tally["branches"] += 1
            if row["behind"]:
                tally[worst] += 1
                tally["behind"] += 1
            rows.append(row)
        shown = [r for r in rows if (not field_filter or r["field"] == field_filter)
                 and (not wanted or (r["behind"] if wanted == "behind" else r["state"] == wanted))]
        shown.sort(key=lambda r: (-meetings.STATE_ORDER[r["state"]], r["branch_name"], r["branch_id"]))
        page, token = page_of(shown[skip:skip + limit + 1], skip, limit)
        fields = sorted(by_field.values(), key=lambda t: (-t["behind"], t["field"]))
        return {"org_id": org_id, "month": month, "today": today.isoformat(),
                "branches": len(rows), "behind": sum(1 for r in rows if r["behind"]),
                "yellow": sum(1 for r in rows if r["state"] == meetings.YELLOW),
                "red": sum(1 for r in rows if r["state"] == meetings.RED), "by_field": fields,
                "rows": page, "total_rows": len(shown), "next_page_token": token}

    def _fresh_facts(self, tenant_id: str, paths: dict[str, list[str]], entries: dict | None = None,
                     force: bool = False) -> dict[str, dict]:
        """{branch_id: {full_members, groups}}: kept on the ledger's documents, asked of identity (one call for all
        that are missing or older than FACTS_TTL) and kept again."""
        entries = entries if entries is not None else {}
        now = self.clock.now()
        facts, stale = {}, []
        for branch_id in paths:
            entry = entries.get(branch_id) or {}
            at = entry.get("facts_at")
            if force or not at or now - parse_stamp(at) > FACTS_TTL:
                stale.append(branch_id)
            else:
                facts[branch_id] = {"full_members": entry.get("full_members", 0), "groups": entry.get("groups", 0)}
        if stale:
            found = {}
            for start in range(0, len(stale), FACTS_BATCH):     # each call well inside the peer's deadline
                found.update(self.identity.branch_meeting_facts(tenant_id=tenant_id,
                                                                branch_ids=stale[start:start + FACTS_BATCH]))
            found = {b: found.get(b) or {"full_members": 0, "groups": 0} for b in stale}
            self.store.keep_branch_facts(tenant_id, found, paths, stamp(now))
            facts.update(found)
        return facts
