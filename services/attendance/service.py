"""Attendance service (nameko ``attendance``): the monthly themed party day (主题党日).

Entry points parse arguments, check the caller's scope (``access``), apply the pure rules
in ``domain/`` and write state together with its events (one transaction, outbox).
Scans go through the scan desk in batches (``scanning``); the clock freezes rosters and
closes activities (``sweeps``). The RPC contract is docs/attendance-rpc.md.
"""
from __future__ import annotations

import base64
import binascii
import logging
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from eventlet import semaphore, tpool
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy
from nameko.timer import timer

from servicekit.arguments import choice, text
from servicekit.process.config import ConfigError, env
from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied, error_from_dict
from servicekit.timestamps import parse_stamp, stamp
from servicekit.process.metrics import Metrics
from servicekit.storage.mongo import MongoStore, open_store
from servicekit.messaging.outbox import OutboxRelay, add_events
from servicekit.storage.paging import page_of, page_window
from servicekit.messaging.peers import ServicePeers
from servicekit.messaging.rpc import rpc
from servicekit.security.scope import CallerScope
from servicekit.storage.subtree import ancestor_fields

from services.attendance import access, events, sweeps
from services.attendance.chaining import ChainWriter, Clock
from services.attendance.domain import chain, plans, qrtoken, stats, uploads
from services.attendance.domain.plans import LOCAL_ZONE
from services.attendance.scanning import ScanDesk, record_id
from services.attendance.store import AttendanceStore, scan_changed
from services.attendance.views import (activity_view, leave_view, rectification_view, reflection_view, scan_view,
                                       theme_view, upload_view)

log = logging.getLogger(__name__)
MAX_REFLECTION_CHARS = 2000
MAX_REASON_CHARS = 500
BUNDLE_SIZE = 1000
ROSTER_LEAD_MINUTES = 10
STATISTICS_GROUPS = ("activity", "branch", "member")
ACTIVITY_STATUSES = ("planning", "submitted", "approved", "closed")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PHOTO_SIZES = ("full", "thumb")
PHOTO_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
# Photos decoding at once (each on a native thread): CPU-bound, and a 40-megapixel one holds up to ~160 MB
PHOTO_DECODES = semaphore.Semaphore(2)


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def activity_id_of(branch_id: str, month: str) -> str:
    """A branch holds one themed day a month: the id says which, so issuing twice cannot duplicate it."""
    return f"act_{branch_id}_{month}"


def freeze_time(plan: dict) -> str:
    """When the roster is frozen: ROSTER_LEAD_MINUTES before sign-in opens, so that a whole city's
    rosters (9,000 branches starting together) are ready the moment members may scan."""
    return stamp(parse_stamp(plan["checkin_opens_at"]) - timedelta(minutes=ROSTER_LEAD_MINUTES))


def month_argument(value, field: str, default: str) -> str:
    value = value or default
    if not isinstance(value, str) or len(value) != 7 or value[4] != "-" or not (value[:4] + value[5:]).isdigit() \
            or not 1 <= int(value[5:]) <= 12:
        raise InvalidArgument("月份格式应为 YYYY-MM", code="MONTH_INVALID", field=field)
    return value


class QrKeys:
    """The QR-signing master key, loaded once per process; per-tenant keys derived from it."""

    def __init__(self):
        self.master = Path(env("QR_SIGNING_KEY_PATH", required=True)).read_bytes()
        self._keys: dict[str, bytes] = {}

    def tenant_key(self, tenant_id: str) -> bytes:
        if tenant_id not in self._keys:
            self._keys[tenant_id] = qrtoken.tenant_key(self.master, tenant_id)
        return self._keys[tenant_id]


def public_base_url() -> str:
    """PUBLIC_BASE_URL, checked when the process starts: a bad one would print codes that open nothing."""
    try:
        return qrtoken.public_base_url(env("PUBLIC_BASE_URL") or qrtoken.DEFAULT_PUBLIC_BASE_URL)
    except ValueError as error:
        raise ConfigError(str(error)) from None


class Desk(DependencyProvider):
    """The process's QR keys, chain writer, clock and scan desk (their caches live as long as the process)."""

    def setup(self):
        self.public_base_url = public_base_url()
        store = open_store(AttendanceStore, self.container.service_name)
        self.keys = QrKeys()
        self.chain = ChainWriter(store)
        self.clock = Clock(store)
        self.peers = ServicePeers(self.container.config["AMQP_URI"], self.container.service_name)
        self.scans = ScanDesk(store, self.chain, self.clock, self.keys.tenant_key, peers=self.peers)
        self.schedule = sweeps.Schedule(store)

    def get_dependency(self, worker_ctx):
        return self


class AttendanceService:
    name = "attendance"

    store: AttendanceStore = MongoStore(AttendanceStore)
    relay = OutboxRelay()
    metrics = Metrics()
    identity = RpcProxy("identity")
    desk = Desk()

    # ------------------------------------------------------------ themes
    @rpc
    def issue_theme(self, scope, org_id="", month="", title="", due_from="", due_to="", required_actions=(),
                    radius_m=0):
        caller = self._caller(scope)
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
        now = stamp(self.desk.clock.now())
        theme = {"_id": new_id("thm"), "tenant_id": caller.tenant_id, "org_id": org_id,
                 "org_path": org["path_ids"], **ancestor_fields(org["path_ids"]), **theme_fields,
                 "radius_m": radius, "branch_count": len(branches), "issued_by": caller.account_id,
                 "issued_at": now}
        activities = [self._new_activity(theme, branch, now) for branch in branches]
        issued = [events.ACTIVITY_ISSUED.build(
            caller.tenant_id, activity_id=a["_id"], theme_id=theme["_id"], branch_id=a["branch_id"],
            branch_name=a["branch_name"], org_path=a["org_path"], field=a["field"], category=a["category"],
            month=a["month"], title=a["title"], due_from=a["due_from"], due_to=a["due_to"],
            issued_by=caller.account_id) for a in activities]

        def writes(session):
            self.store.db.themes.insert_one(theme, session=session)
            self.store.db.activities.insert_many(activities, ordered=True, session=session)
            for start in range(0, len(issued), BUNDLE_SIZE):
                add_events(self.store.db, issued[start:start + BUNDLE_SIZE], events.SOURCE, session=session,
                           bundle=True)
        self.store.commit_or_conflict(writes, [], "THEME_ALREADY_ISSUED", "这些支部本月的主题党日已下发")
        self.relay.wake()
        return {"theme": theme_view(theme), "activities_created": len(activities)}

    @staticmethod
    def _new_activity(theme: dict, branch: dict, now: str) -> dict:
        return {"_id": activity_id_of(branch["org_id"], theme["month"]), "tenant_id": theme["tenant_id"],
                "theme_id": theme["_id"],
                "month": theme["month"], "title": theme["title"], "required_actions": theme["required_actions"],
                "due_from": theme["due_from"], "due_to": theme["due_to"], "branch_id": branch["org_id"],
                "branch_name": branch["name"], "org_path": branch["path_ids"], **ancestor_fields(branch["path_ids"]),
                "field": branch.get("field", ""), "category": branch.get("category", ""),
                "branch_month": f"{branch['org_id']}:{theme['month']}", "status": "planning",
                "radius_m": theme["radius_m"], "plan": None, "review": None, "checkin_opens_at": None,
                "checkout_closes_at": None, "roster": None, "roster_frozen_at": None, "on_leave": {},
                "statuses": {}, "totals": None, "chain_head": None, "closed_at": None, "liked": {},
                "counts": {"reflections": 0, "photos": 0, "text_chars": 0}, "issued_at": now,
                "updated_at": now}

    @rpc
    def list_themes(self, scope, org_id="", page_size=0, page_token=""):
        caller = self._caller(scope)
        org = self.identity.get_org(scope=scope, org_id=org_id)
        skip, limit = page_window(page_size, page_token)
        themes = self.store.themes_of(caller.tenant_id, org["path_ids"], skip, limit + 1)
        found, token = page_of(themes, skip, limit)
        return {"themes": [theme_view(t) for t in found], "next_page_token": token}

    # -------------------------------------------------------- activities
    @rpc
    def list_activities(self, scope, org_id="", month="", status="", theme_id="", page_size=0, page_token=""):
        caller = self._caller(scope)
        org = self.identity.get_org(scope=scope, org_id=org_id)
        skip, limit = page_window(page_size, page_token)
        query = {}
        if month:
            query["month"] = month_argument(month, "month", month)
        if status:
            query["status"] = choice(status, "status", ACTIVITY_STATUSES)
        if theme_id:
            query["theme_id"] = theme_id
        if not caller.manages_path(org["path_ids"]):
            query["branch_id"] = caller.branch_id or "-"
        found, token = page_of(self.store.activities_in(org["path_ids"], query, skip, limit + 1), skip, limit)
        return {"activities": [activity_view(a, member_id=caller.member_id) for a in found],
                "next_page_token": token}

    @rpc
    def get_activity(self, scope, activity_id=""):
        caller = self._caller(scope)
        activity = access.readable(caller, self.store.activity(activity_id))
        records = self.store.records_of(activity_id, ("checkin", "checkout"), {"kind": 1, "flags": 1, "seq": 1})
        counts = {"checkins": sum(1 for r in records if r["kind"] == "checkin"),
                  "checkouts": sum(1 for r in records if r["kind"] == "checkout"),
                  "flagged": sum(1 for r in records if r.get("flags"))}
        return activity_view(activity, counts, caller.member_id)

    @rpc
    def submit_plan(self, scope, activity_id="", date="", start_time="", end_time="", venue_name="", venue_lat=0.0,
                    venue_lng=0.0, optional_actions=(), grace_minutes=None, checkout_window_minutes=None,
                    venue_crs=""):
        caller = self._caller(scope)
        activity = access.as_secretary(caller, self.store.activity(activity_id))
        if activity["status"] not in ("planning", "submitted"):
            raise Conflict("计划已审核通过或活动已结束，不能再修改", code="PLAN_LOCKED")
        fields = {"date": date, "start_time": start_time, "end_time": end_time, "venue_name": venue_name,
                  "venue_lat": venue_lat, "venue_lng": venue_lng, "venue_crs": venue_crs,
                  "optional_actions": list(optional_actions)}
        if grace_minutes is not None:
            fields["grace_minutes"] = grace_minutes
        if checkout_window_minutes is not None:
            fields["checkout_window_minutes"] = checkout_window_minutes
        plan = self._stored_plan(plans.validate_plan(fields, activity, self.desk.clock.now()))
        now = stamp(self.desk.clock.now())
        changes = {"$set": {"plan": plan, "status": "submitted", "submitted_by": caller.account_id,
                            "submitted_at": now, "updated_at": now}}
        event = events.PLAN_SUBMITTED.build(
            activity["tenant_id"], activity_id=activity_id, branch_id=activity["branch_id"], month=activity["month"],
            date=plan["date"], start_at=plan["start_at"], end_at=plan["end_at"],
            outside_due_window=plan["outside_due_window"], submitted_by=caller.account_id)
        updated = self._change(activity, {"status": activity["status"]}, changes, [event])
        return activity_view(updated)

    @staticmethod
    def _stored_plan(plan: dict) -> dict:
        return {key: stamp(value) if isinstance(value, datetime) else value for key, value in plan.items()}

    @rpc
    def review_plan(self, scope, activity_id="", decision="", reason="", radius_m=None, grace_minutes=None):
        caller = self._caller(scope)
        activity = access.as_superior(caller, self.store.activity(activity_id))
        decision = choice(decision, "decision", ("approved", "rejected"), required=True)
        reason = text(reason, "reason", required=decision == "rejected", max_length=MAX_REASON_CHARS)
        if activity["status"] != "submitted":
            raise Conflict("只能审核已提交的计划", code="PLAN_NOT_SUBMITTED")
        now_moment = self.desk.clock.now()
        now = stamp(now_moment)
        review = {"decision": decision, "reason": reason, "reviewed_by": caller.account_id, "reviewed_at": now}
        reviewed = events.PLAN_REVIEWED.build(activity["tenant_id"], activity_id=activity_id,
                                              branch_id=activity["branch_id"], month=activity["month"],
                                              decision=decision, reason=reason, reviewed_by=caller.account_id)
        if decision == "rejected":
            changes = {"$set": {"status": "planning", "review": review, "updated_at": now}}
            return activity_view(self._change(activity, {"status": "submitted"}, changes, [reviewed]))
        plan = dict(activity["plan"])
        if parse_stamp(plan["start_at"]) <= now_moment:
            raise Conflict("活动开始时间已过，请支部重新提交计划", code="PLAN_IN_PAST")
        radius = plans.validate_radius(radius_m) if radius_m is not None else activity["radius_m"]
        if grace_minutes is not None:
            grace = plans.validate_grace(grace_minutes)
            plan["grace_minutes"] = grace
            plan["checkin_closes_at"] = stamp(parse_stamp(plan["start_at"]) + timedelta(minutes=grace))
        changes = {"$set": {"status": "approved", "review": review, "plan": plan, "radius_m": radius,
                            "checkin_opens_at": plan["checkin_opens_at"],
                            "checkout_closes_at": plan["checkout_closes_at"], "updated_at": now}}
        opened = events.ACTIVITY_OPENED.build(activity["tenant_id"], activity_id=activity_id,
                                              branch_id=activity["branch_id"], month=activity["month"],
                                              start_at=plan["start_at"], end_at=plan["end_at"],
                                              checkin_opens_at=plan["checkin_opens_at"],
                                              checkout_closes_at=plan["checkout_closes_at"])
        approved = self._change(activity, {"status": "submitted"}, changes, [reviewed, opened],
                                lambda session: self.store.schedule(session, activity, plan, freeze_time(plan)))
        self.desk.schedule.mark_changed()
        return activity_view(approved)

    def _change(self, activity: dict, expected: dict, changes: dict, outbox: list[dict], also=None) -> dict:
        """Apply a conditional change (and ``also(session)``) with its events in one transaction;
        Conflict if the activity changed meanwhile."""
        result = {}

        def writes(session):
            result["doc"] = self.store.update_activity(activity["_id"], expected, changes, session=session)
            if result["doc"] is None:
                raise Conflict("活动状态已变化，请刷新后重试", code="ACTIVITY_CHANGED")
            if also:
                also(session)
        self.store.commit(writes, outbox)
        self.relay.wake()
        self.desk.scans.activities.forget(activity["_id"])
        return result["doc"]

    # ------------------------------------------------------------ QR codes
    @rpc
    def get_qr_code(self, scope, activity_id="", direction="", mode=""):
        caller = self._caller(scope)
        activity = access.as_secretary(caller, self.store.activity(activity_id))
        direction = choice(direction, "direction", qrtoken.DIRECTIONS, required=True)
        mode = choice(mode or "print", "mode", ("print", "rotating"), required=True)
        if activity["status"] != "approved":
            raise Conflict("活动计划审核通过后才能生成签到二维码", code="ACTIVITY_NOT_APPROVED")
        key = self.desk.keys.tenant_key(activity["tenant_id"])
        if mode == "print":
            token, valid_until, step_seconds = qrtoken.issue(key, activity_id, direction, None), "", 0
        else:
            step = qrtoken.step_of(self.desk.clock.now())
            token, step_seconds = qrtoken.issue(key, activity_id, direction, step), qrtoken.STEP_SECONDS
            valid_until = stamp(datetime.fromtimestamp((step + 2) * qrtoken.STEP_SECONDS, tz=LOCAL_ZONE))
        url = qrtoken.scan_url(self.desk.public_base_url, token)
        return {"token": token, "url": url, "valid_until": valid_until, "step_seconds": step_seconds,
                "png": base64.b64encode(qrtoken.render_png(url)).decode(), "svg": qrtoken.render_svg(url)}

    # --------------------------------------------------------------- scans
    @rpc
    def record_scan(self, scope, token="", fix=None):
        """One scan, one call: the plain per-request path (the gateway batches through record_scans)."""
        answer = self.desk.scans.record([{"scope": scope, "token": token, "fix": fix}])[0]
        self.relay.wake()
        if "error" in answer:
            raise error_from_dict(answer["error"])
        return answer["result"]

    @rpc
    def record_scans(self, items=()):
        """Many scans at once, each with its caller's scope: one answer per scan, in order."""
        answers = self.desk.scans.record(list(items))
        self.relay.wake()
        return answers

    @rpc
    def list_scans(self, scope, activity_id="", flagged_only=False, page_size=0, page_token=""):
        caller = self._caller(scope)
        activity = access.readable(caller, self.store.activity(activity_id))
        skip, limit = page_window(page_size, page_token)
        records = self.store.records_of(activity_id, ("checkin", "checkout"))
        if not (access.is_superior(caller, activity) or access.is_secretary(caller, activity)):
            records = [r for r in records if r["member_id"] == caller.member_id]
        if flagged_only:
            records = [r for r in records if r["content"].get("flags")]
        found, token = page_of(records[skip:skip + limit + 1], skip, limit)
        return {"scans": [scan_view(r) for r in found], "next_page_token": token}

    # --------------------------------------------------------------- leave
    @rpc
    def request_leave(self, scope, activity_id="", reason=""):
        caller = self._caller(scope)
        activity = access.as_member(caller, self.store.activity(activity_id))
        reason = text(reason, "reason", max_length=MAX_REASON_CHARS)
        self._before_start(activity, "请假须在活动开始前提出")
        roster = activity.get("roster")
        if roster is not None and caller.member_id not in roster:
            raise Conflict("您不在本次活动的参加人员名单中", code="NOT_ON_ROSTER")
        if self.store.records_by_ids([record_id(activity_id, "in", caller.member_id)]):
            raise Conflict("您已签到，无需请假", code="ALREADY_CHECKED_IN")
        existing = self.store.db.leaves.find_one({"leave_key": f"{activity_id}:{caller.member_id}"})
        now = stamp(self.desk.clock.now())
        if existing and existing["state"] != "refused":
            raise Conflict("您已提交过请假申请", code="LEAVE_EXISTS")
        leave = {"_id": existing["_id"] if existing else new_id("lv"), "tenant_id": activity["tenant_id"],
                 "activity_id": activity_id, "member_id": caller.member_id,
                 "leave_key": f"{activity_id}:{caller.member_id}",
                 "member_name": (roster or {}).get(caller.member_id, {}).get("name", ""), "reason": reason,
                 "state": "pending", "requested_at": now}

        def writes(session):
            self.store.db.leaves.replace_one({"_id": leave["_id"]}, leave, upsert=True, session=session)
        self.store.commit_or_conflict(writes, [], "LEAVE_EXISTS", "您已提交过请假申请")
        return leave_view(leave)

    @rpc
    def decide_leave(self, scope, leave_id="", decision="", note=""):
        caller = self._caller(scope)
        leave = self.store.leave(leave_id)
        activity = self.store.activity(leave["activity_id"]) if leave else None
        if leave is None or activity is None:
            raise NotFound("请假申请不存在或不在您的管辖范围内", code="LEAVE_NOT_FOUND", field="leave_id")
        try:
            access.as_secretary(caller, activity)
        except NotFound:
            raise NotFound("请假申请不存在或不在您的管辖范围内", code="LEAVE_NOT_FOUND", field="leave_id") from None
        decision = choice(decision, "decision", ("approved", "refused"), required=True)
        note = text(note, "note", required=False, max_length=MAX_REASON_CHARS)
        if leave["state"] != "pending":
            raise Conflict("该请假申请已处理", code="LEAVE_ALREADY_DECIDED")
        self._before_start(activity, "活动已开始，不能再审批请假")
        if decision == "approved" and self.store.records_by_ids([record_id(activity["_id"], "in", leave["member_id"])]):
            raise Conflict("该党员已签到", code="ALREADY_CHECKED_IN")
        now = stamp(self.desk.clock.now())
        changes = {"state": decision, "decision_note": note, "decided_by": caller.account_id, "decided_at": now}
        event = events.LEAVE_DECIDED.build(activity["tenant_id"], activity_id=activity["_id"],
                                           branch_id=activity["branch_id"], member_id=leave["member_id"],
                                           leave_id=leave_id, decision=decision, decided_by=caller.account_id)

        def writes(session):
            done = self.store.db.leaves.update_one({"_id": leave_id, "state": "pending"}, {"$set": changes},
                                                   session=session)
            if done.matched_count != 1:
                raise Conflict("该请假申请已处理", code="LEAVE_ALREADY_DECIDED")
            if decision == "approved":
                self.store.db.activities.update_one({"_id": activity["_id"]},
                                                    {"$set": {f"on_leave.{leave['member_id']}": True,
                                                              **scan_changed()}},
                                                    session=session)
        self.store.commit(writes, [event])
        self.relay.wake()
        self.desk.scans.activities.forget(activity["_id"])
        return leave_view({**leave, **changes})

    @rpc
    def list_leaves(self, scope, activity_id=""):
        caller = self._caller(scope)
        activity = access.readable(caller, self.store.activity(activity_id))
        leaves = self.store.leaves_of(activity_id)
        if not (access.is_superior(caller, activity) or access.is_secretary(caller, activity)):
            leaves = [leave for leave in leaves if leave["member_id"] == caller.member_id]
        return {"leaves": [leave_view(leave) for leave in leaves]}

    def _before_start(self, activity: dict, message: str) -> None:
        plan = activity.get("plan")
        if activity["status"] == "closed" or (plan and parse_stamp(plan["start_at"]) <= self.desk.clock.now()):
            raise Conflict(message, code="ACTIVITY_STARTED")

    # ------------------------------------------------ reflections and likes
    @rpc
    def post_reflection(self, scope, activity_id="", text=""):
        caller = self._caller(scope)
        activity = access.as_member(caller, self.store.activity(activity_id))
        text = uploads.check_text(text if isinstance(text, str) else "", "text", MAX_REFLECTION_CHARS)
        roster = activity.get("roster") or {}
        mobile = roster.get(caller.member_id, {}).get("mobile")
        if caller.member_id not in roster:
            raise Conflict("您不在本次活动的参加人员名单中", code="NOT_ON_ROSTER")
        if not mobile and not self.store.records_by_ids([record_id(activity_id, "out", caller.member_id)]):
            raise Conflict("签退后才能发表心得体会", code="CHECKOUT_REQUIRED")
        now = stamp(self.desk.clock.now())
        content = {"kind": "reflection", "activity_id": activity_id, "member_id": caller.member_id, "text": text,
                   "at": now, "backfilled": None}
        document = {"_id": f"{activity_id}:reflection:{caller.member_id}", "activity_id": activity_id,
                    "tenant_id": activity["tenant_id"], "kind": "reflection", "member_id": caller.member_id,
                    "size": len(text), "at": now}
        stored = self._append(activity, document, content, lambda doc: [events.REFLECTION_POSTED.build(
            activity["tenant_id"], activity_id=activity_id, branch_id=activity["branch_id"],
            member_id=caller.member_id, reflection_id=doc["_id"], length=len(text), backfilled=False)],
            "REFLECTION_EXISTS", "您已发表过心得体会",
            also=self._counting(activity_id, {"$inc": {"counts.reflections": 1}}))
        return reflection_view(stored, {caller.member_id: roster[caller.member_id].get("name", "")})

    @rpc
    def list_reflections(self, scope, activity_id="", page_size=0, page_token=""):
        caller = self._caller(scope)
        activity = access.readable(caller, self.store.activity(activity_id))
        skip, limit = page_window(page_size, page_token)
        found, token = page_of(self.store.records_of(activity_id, ("reflection",))[skip:skip + limit + 1], skip, limit)
        names = {m: entry.get("name", "") for m, entry in (activity.get("roster") or {}).items()}
        return {"reflections": [reflection_view(r, names) for r in found], "next_page_token": token}

    @rpc
    def like_activity(self, scope, activity_id=""):
        caller = self._caller(scope)
        activity = access.as_member(caller, self.store.activity(activity_id))
        roster = activity.get("roster") or {}
        if caller.member_id not in roster:
            raise Conflict("活动开始后，名单内的党员才能点赞", code="NOT_ON_ROSTER")
        mobile = bool(roster[caller.member_id].get("mobile"))
        liked = set(activity.get("liked") or {})
        repeat = caller.member_id in liked
        if not repeat:
            now = stamp(self.desk.clock.now())
            content = {"kind": "like", "activity_id": activity_id, "member_id": caller.member_id, "mobile": mobile,
                       "at": now}
            document = {"_id": f"{activity_id}:like:{caller.member_id}", "activity_id": activity_id,
                        "tenant_id": activity["tenant_id"], "kind": "like", "member_id": caller.member_id, "at": now}
            try:
                self._append(activity, document, content, lambda doc: [events.ACTIVITY_LIKED.build(
                    activity["tenant_id"], activity_id=activity_id, branch_id=activity["branch_id"],
                    member_id=caller.member_id, mobile=mobile)], "LIKE_EXISTS", "已点赞",
                    also=self._counting(activity_id, {"$set": {f"liked.{caller.member_id}": mobile}}))
            except Conflict:        # liked at the same moment from another request
                repeat = True
        return {"activity_id": activity_id, "likes": len(liked | {caller.member_id}), "repeat": repeat}

    def _counting(self, activity_id: str, change: dict):
        """A write keeping the activity's own counters (likes, reflections, uploads) with the record."""
        return lambda session: self.store.db.activities.update_one({"_id": activity_id}, change, session=session)

    def _append(self, activity: dict, document: dict, content: dict, make_events, code: str, message: str,
                also=None) -> dict:
        """Append one record to the activity's chain with its events, and ``also(session)`` in the same
        transaction; Conflict(code) if the record exists."""
        def write(documents):
            def writes(session):
                self.store.db.records.insert_many(documents, session=session)
                if also:
                    also(session)
            self.store.commit_or_conflict(writes, make_events(documents[0]), code, message)
        stored = self.desk.chain.append([(document, content)], write)[0]
        self.relay.wake()
        return stored

    # ------------------------------------------------------------- uploads
    @rpc
    def add_photo(self, scope, activity_id="", content_type="", content="", backfill_reason=""):
        caller = self._caller(scope)
        activity = access.as_secretary(caller, self.store.activity(activity_id))
        backfilled = self._upload_window(caller, activity, backfill_reason)
        try:
            data = base64.b64decode(content or "", validate=True)
        except (binascii.Error, ValueError):
            raise InvalidArgument("照片内容无效", code="UPLOAD_INVALID", field="content") from None
        # decoding is CPU work of up to a few hundred ms: on a native thread, the scans' greenlets keep running;
        # the thumbnail is made here too, so that listing an activity's photos only reads
        with PHOTO_DECODES:
            content_hash = tpool.execute(uploads.check_photo, data, content_type)
            thumb = tpool.execute(uploads.thumbnail, data, content_type)
        thumb_hash = uploads.content_hash(thumb)
        upload_id = new_id("upl")
        now = stamp(self.desk.clock.now())
        record = {"kind": "photo", "activity_id": activity_id, "upload_id": upload_id, "added_by": caller.account_id,
                  "content_type": content_type, "size": len(data), "content_hash": content_hash, "at": now,
                  "backfilled": backfilled}

        def store_blob(session):
            self.store.db.photos.insert_one({"_id": upload_id, "activity_id": activity_id, "content": data,
                                             "content_type": content_type, "content_hash": content_hash,
                                             "thumb": thumb, "thumb_hash": thumb_hash},
                                            session=session)
            self._counting(activity_id, {"$inc": {"counts.photos": 1}})(session)
        return self._add_upload(activity, record, store_blob)

    @rpc
    def add_text_record(self, scope, activity_id="", text="", backfill_reason=""):
        caller = self._caller(scope)
        activity = access.as_secretary(caller, self.store.activity(activity_id))
        backfilled = self._upload_window(caller, activity, backfill_reason)
        text = uploads.check_text(text if isinstance(text, str) else "")
        now = stamp(self.desk.clock.now())
        record = {"kind": "text", "activity_id": activity_id, "upload_id": new_id("upl"),
                  "added_by": caller.account_id, "content_type": "text/plain", "size": len(text),
                  "content_hash": uploads.content_hash_text(text), "text": text, "at": now, "backfilled": backfilled}
        counting = self._counting(activity_id, {"$inc": {"counts.text_chars": len(text)}})
        return self._add_upload(activity, record, counting)

    def _add_upload(self, activity: dict, content: dict, also) -> dict:
        document = {"_id": f"{activity['_id']}:upload:{content['upload_id']}", "activity_id": activity["_id"],
                    "tenant_id": activity["tenant_id"], "kind": content["kind"], "member_id": None,
                    "size": content["size"], "at": content["at"]}
        stored = self._append(activity, document, content, lambda doc: [events.UPLOAD_ADDED.build(
            activity["tenant_id"], activity_id=activity["_id"], branch_id=activity["branch_id"],
            upload_id=content["upload_id"], kind=content["kind"], size=content["size"],
            content_hash=content["content_hash"], backfilled=bool(content["backfilled"]))],
            "UPLOAD_EXISTS", "重复上传", also=also)
        return upload_view(stored)

    def _upload_window(self, caller: CallerScope, activity: dict, backfill_reason: str) -> dict | None:
        """Uploads open once the plan is approved; after closing they are back-filled, with who and why."""
        if activity["status"] not in ("approved", "closed"):
            raise Conflict("活动计划审核通过后才能上传资料", code="ACTIVITY_NOT_APPROVED")
        if activity["status"] != "closed":
            return None
        reason = text(backfill_reason, "backfill_reason", max_length=MAX_REASON_CHARS)
        return {"by": caller.account_id, "reason": reason, "at": stamp(self.desk.clock.now())}

    @rpc
    def list_uploads(self, scope, activity_id=""):
        caller = self._caller(scope)
        access.readable(caller, self.store.activity(activity_id))
        return {"uploads": [upload_view(r) for r in self.store.records_of(activity_id, ("photo", "text"))]}

    @rpc
    def get_upload_photo(self, scope, activity_id="", upload_id="", size=""):
        """A photo's bytes, as uploaded or as its thumbnail, for whoever may list the activity's uploads."""
        caller = self._caller(scope)
        access.readable(caller, self.store.activity(activity_id))
        size = choice(size or "full", "size", PHOTO_SIZES, required=True)
        upload_id = upload_id if isinstance(upload_id, str) else ""
        record = self.store.records_by_ids([f"{activity_id}:upload:{upload_id}"], {"kind": 1}) if upload_id else {}
        kind = next(iter(record.values()), {}).get("kind")
        if kind == "text":
            raise InvalidArgument("该资料是文字记录，不是照片", code="UPLOAD_NOT_A_PHOTO", field="upload_id")
        stored = self.store.photo(upload_id, size) if kind == "photo" else None
        if stored is None or stored.get("activity_id") != activity_id:
            raise NotFound("照片不存在", code="UPLOAD_NOT_FOUND", field="upload_id")
        if size == "full":       # the type as declared at upload, which may have carried parameters or capitals
            content, content_type = stored["content"], uploads.declared_type(stored["content_type"])
            content_hash = stored["content_hash"]
        else:
            content, content_type, content_hash = self._thumbnail(upload_id, stored)
        extension = PHOTO_EXTENSIONS[content_type]
        suffix = "-thumb" if size == "thumb" else ""
        return {"upload_id": upload_id, "size": size, "filename": f"{upload_id}{suffix}.{extension}",
                "content_type": content_type, "content": base64.b64encode(content).decode(),
                "content_hash": content_hash}

    def _thumbnail(self, upload_id: str, stored: dict) -> tuple[bytes, str, str]:
        """The stored thumbnail; for a photo uploaded before thumbnails were made, one made now (on a native
        thread, as at upload) and kept for the next request."""
        if stored.get("thumb") is not None:
            return stored["thumb"], uploads.THUMB_TYPE, stored["thumb_hash"]
        photo = self.store.photo(upload_id, "full")
        with PHOTO_DECODES:
            thumb = tpool.execute(uploads.thumbnail, photo["content"], photo["content_type"])
        thumb_hash = uploads.content_hash(thumb)
        self.store.keep_thumbnail(upload_id, thumb, thumb_hash)
        return thumb, uploads.THUMB_TYPE, thumb_hash

    # ------------------------------------------------------------ back-fill
    @rpc
    def backfill_scan(self, scope, activity_id="", member_id="", direction="", reason=""):
        caller = self._caller(scope)
        activity = access.as_superior(caller, self.store.activity(activity_id))
        direction = choice(direction, "direction", qrtoken.DIRECTIONS, required=True)
        reason = text(reason, "reason", max_length=MAX_REASON_CHARS)
        if activity["status"] != "closed":
            raise Conflict("活动结束后才能补录", code="BACKFILL_ONLY_AFTER_CLOSING")
        if member_id not in (activity.get("roster") or {}):
            raise NotFound("该党员不在本次活动名单中", code="MEMBER_NOT_ON_ROSTER", field="member_id")
        existing = self.store.records_by_ids([record_id(activity_id, d, member_id) for d in qrtoken.DIRECTIONS])
        if record_id(activity_id, direction, member_id) in existing:
            raise Conflict("该记录已存在", code="RECORD_EXISTS")
        if direction == "out" and record_id(activity_id, "in", member_id) not in existing:
            raise Conflict("须先补录签到", code="CHECKIN_REQUIRED")
        now = stamp(self.desk.clock.now())
        content = {"kind": "checkin" if direction == "in" else "checkout", "activity_id": activity_id,
                   "member_id": member_id, "direction": direction, "at": now, "lat": None, "lng": None,
                   "accuracy_m": None, "mock_location": False, "device_id": "", "taken_at": now, "distance_m": None,
                   "flags": ["BACKFILLED"], "backfilled": {"by": caller.account_id, "reason": reason, "at": now}}
        document = {"_id": record_id(activity_id, direction, member_id), "activity_id": activity_id,
                    "tenant_id": activity["tenant_id"], "kind": content["kind"], "member_id": member_id,
                    "device_key": None, "flags": ["BACKFILLED"], "at": now}
        spec = events.CHECKIN_RECORDED if direction == "in" else events.CHECKOUT_RECORDED

        def reseal(session):
            scans = self.store.records_of(activity_id, ("checkin", "checkout")) + [document]
            head = {"seq": document["seq"], "hash": document["hash"]}
            statuses, totals = sweeps.activity_result(activity, scans)
            self.store.db.activities.update_one({"_id": activity_id}, {"$set": {
                "statuses": statuses, "totals": totals, "chain_head": head, "updated_at": now}}, session=session)
        stored = self._append(activity, document, content, lambda doc: [spec.build(
            activity["tenant_id"], activity_id=activity_id, branch_id=activity["branch_id"], member_id=member_id,
            record_id=doc["_id"], at=now, distance_m=0.0, flags=["BACKFILLED"], seq=doc["seq"], hash=doc["hash"],
            backfilled=True)], "RECORD_EXISTS", "该记录已存在", also=reseal)
        return scan_view(stored)

    # ----------------------------------------------------- rectifications
    @rpc
    def open_rectification(self, scope, activity_id="", title="", due_on=""):
        caller = self._caller(scope)
        activity = access.as_superior(caller, self.store.activity(activity_id))
        title = text(title, "title", max_length=200)
        try:
            due = datetime.strptime(due_on or "", "%Y-%m-%d").date()
        except ValueError:
            raise InvalidArgument("整改期限格式应为 YYYY-MM-DD", code="DATE_INVALID", field="due_on") from None
        now = self.desk.clock.now()
        if due < now.astimezone(LOCAL_ZONE).date():
            raise InvalidArgument("整改期限不能早于今天", code="DUE_DATE_IN_PAST", field="due_on")
        item = {"_id": new_id("rec"), "tenant_id": activity["tenant_id"], "activity_id": activity_id,
                "branch_id": activity["branch_id"], **ancestor_fields(activity["org_path"]), "title": title,
                "due_on": due.isoformat(), "state": "open", "opened_by": caller.account_id, "opened_at": stamp(now)}
        event = events.RECTIFICATION_OPENED.build(activity["tenant_id"], activity_id=activity_id,
                                                  branch_id=activity["branch_id"], rectification_id=item["_id"],
                                                  due_on=item["due_on"], opened_by=caller.account_id)
        self.store.commit(lambda session: self.store.db.rectifications.insert_one(item, session=session), [event])
        self.relay.wake()
        return rectification_view(item, now.astimezone(LOCAL_ZONE).date())

    @rpc
    def close_rectification(self, scope, rectification_id="", note=""):
        caller = self._caller(scope)
        item = self.store.rectification(rectification_id)
        activity = self.store.activity(item["activity_id"]) if item else None
        try:
            access.as_superior(caller, activity)
        except NotFound:
            raise NotFound("整改事项不存在或不在您的管辖范围内", code="RECTIFICATION_NOT_FOUND",
                           field="rectification_id") from None
        note = text(note, "note", max_length=MAX_REASON_CHARS)
        if item["state"] != "open":
            raise Conflict("该整改事项已关闭", code="RECTIFICATION_CLOSED")
        now = self.desk.clock.now()
        changes = {"state": "closed", "closed_by": caller.account_id, "closed_at": stamp(now), "closing_note": note}
        event = events.RECTIFICATION_CLOSED.build(activity["tenant_id"], activity_id=activity["_id"],
                                                  branch_id=activity["branch_id"], rectification_id=rectification_id,
                                                  closed_by=caller.account_id)

        def writes(session):
            done = self.store.db.rectifications.update_one({"_id": rectification_id, "state": "open"},
                                                           {"$set": changes}, session=session)
            if done.matched_count != 1:
                raise Conflict("该整改事项已关闭", code="RECTIFICATION_CLOSED")
        self.store.commit(writes, [event])
        self.relay.wake()
        return rectification_view({**item, **changes}, now.astimezone(LOCAL_ZONE).date())

    @rpc
    def list_rectifications(self, scope, org_id="", state="", page_size=0, page_token=""):
        caller = self._caller(scope)
        org = self.identity.get_org(scope=scope, org_id=org_id)
        if not caller.manages_path(org["path_ids"]):
            raise PermissionDenied("只有组织管理员或支部书记可以查看整改事项", code="NOT_ORG_MANAGER", field="org_id")
        query = {"state": choice(state, "state", ("open", "closed"), required=True)} if state else {}
        skip, limit = page_window(page_size, page_token)
        found, token = page_of(self.store.rectifications_in(org["path_ids"], query, skip, limit + 1), skip, limit)
        today = self.desk.clock.now().astimezone(LOCAL_ZONE).date()
        return {"rectifications": [rectification_view(item, today) for item in found], "next_page_token": token}

    # ------------------------------------------------------------- the chain
    @rpc
    def verify_chain(self, scope, activity_id=""):
        caller = self._caller(scope)
        activity = access.as_secretary(caller, self.store.activity(activity_id))
        records = [{"seq": r.get("seq"), "prev_hash": r.get("prev_hash"), "hash": r.get("hash"),
                    "content": r.get("content")} for r in self.store.records_of(activity_id)]
        report = chain.verify(records, activity.get("chain_head"))
        head = report.get("head") or {}
        return {"ok": report["ok"], "checked": report["checked"], "head_seq": head.get("seq", 0),
                "head_hash": head.get("hash", ""), "sealed": bool(activity.get("chain_head")),
                "problems": report["problems"]}

    # ------------------------------------------------------------ statistics
    @rpc
    def get_statistics(self, scope, org_id="", month_from="", month_to="", by=""):
        caller = self._caller(scope)
        by = choice(by or "activity", "by", STATISTICS_GROUPS, required=True)
        summaries, own_only = self._summaries(caller, scope, org_id, month_from, month_to, names=by == "member")
        rows = self._statistics_rows(summaries, by, caller.member_id if own_only else None, scope)
        return {"by": by, "rows": rows}

    @rpc
    def export_statistics(self, scope, org_id="", month_from="", month_to=""):
        caller = self._caller(scope)
        summaries, own_only = self._summaries(caller, scope, org_id, month_from, month_to, names=True)
        member = caller.member_id if own_only else None
        sheets = {"按活动": self._statistics_rows(summaries, "activity", member, scope),
                  "按支部": self._statistics_rows(summaries, "branch", member, scope),
                  "按党员": self._statistics_rows(summaries, "member", member, scope)}
        content = stats.to_xlsx(sheets, stats.STAT_HEADERS)
        return {"filename": f"考勤统计-{month_from or 'current'}-{month_to or month_from or 'current'}.xlsx",
                "content_type": XLSX_TYPE, "content": base64.b64encode(content).decode()}

    def _summaries(self, caller: CallerScope, scope: dict, org_id, month_from, month_to, names: bool = False):
        """The activities of the subtree in the months; with ``names``, the names frozen on their rosters.

        Who sees a row sees its name: a manager of the subtree may read its members (as in identity), a
        plain member gets only its own row."""
        org = self.identity.get_org(scope=scope, org_id=org_id)
        current = self.desk.clock.now().astimezone(LOCAL_ZONE).strftime("%Y-%m")
        first = month_argument(month_from, "month_from", current)
        last = month_argument(month_to, "month_to", first)
        if last < first:
            raise InvalidArgument("结束月份不能早于开始月份", code="MONTH_RANGE_INVALID", field="month_to")
        query = {"month": {"$gte": first, "$lte": last}}
        own_only = not caller.manages_path(org["path_ids"])
        if own_only:
            query["branch_id"] = caller.branch_id or "-"
        projection = {"branch_id": 1, "branch_name": 1, "month": 1, "status": 1, "totals": 1, "statuses": 1,
                      **({"roster": 1} if names else {})}
        found = self.store.activities_in(org["path_ids"], query, projection=projection)
        return [{"activity_id": a["_id"], "branch_id": a["branch_id"], "branch_name": a["branch_name"],
                 "month": a["month"], "status": a["status"], "totals": a.get("totals"),
                 "statuses": a.get("statuses") or {},
                 "names": {m: entry.get("name", "") for m, entry in (a.get("roster") or {}).items()}}
                for a in found], own_only

    def _statistics_rows(self, summaries: list[dict], by: str, member_id: str | None, scope: dict) -> list[dict]:
        if member_id:
            if by != "member":
                return []
            rows = stats.by_member(summaries, member_id)
            if not rows[0]["member_name"]:      # on no roster in the range: the caller's own record
                rows[0].update(self._own_member(scope))
            return rows
        return {"activity": stats.by_activity, "branch": stats.by_branch, "member": stats.by_member}[by](summaries)

    def _own_member(self, scope: dict) -> dict:
        me = self.identity.get_me(scope=scope)
        member = me.get("member") or {}
        branch = next((org for org in me.get("orgs") or () if org["id"] == member.get("branch_id")), {})
        return {"member_name": member.get("name", ""), "branch_id": member.get("branch_id", ""),
                "branch_name": branch.get("name", "")}

    # ------------------------------------------- internal: other services only
    @rpc
    def activity_facts(self, scope, org_id="", month_from="", month_to="", page_token="", page_size=500):
        """What scoring's reconcile recomputes branch scores from (docs/attendance-rpc.md)."""
        caller = self._caller(scope)
        org = self.identity.get_org(scope=scope, org_id=org_id)
        if not caller.manages_path(org["path_ids"]):
            raise PermissionDenied("只有组织管理员可以核对", code="NOT_ORG_MANAGER", field="org_id")
        first = month_argument(month_from, "month_from", "")
        last = month_argument(month_to or first, "month_to", first)
        skip, limit = page_window(page_size, page_token)
        found, token = page_of(self.store.activities_in(org["path_ids"], {"month": {"$gte": first, "$lte": last}},
                                                        skip, limit + 1), skip, limit)
        records: dict[str, list[dict]] = {a["_id"]: [] for a in found}
        for record in self.store.records_of_many(list(records)):
            records[record["activity_id"]].append(record)
        return {"items": [self._facts(a, records[a["_id"]]) for a in found], "next_page_token": token}

    @staticmethod
    def _facts(activity: dict, records: list[dict]) -> dict:
        roster = activity.get("roster") or {}
        mobile = [m for m, entry in roster.items() if entry.get("mobile")]

        def members(kind):
            return sorted({r["member_id"] for r in records if r.get("kind") == kind})
        return {"activity_id": activity["_id"], "branch_id": activity["branch_id"],
                "branch_name": activity["branch_name"], "org_path": activity["org_path"],
                "field": activity.get("field", ""), "category": activity.get("category", ""),
                "month": activity["month"], "status": activity["status"],
                "outside_due_window": bool((activity.get("plan") or {}).get("outside_due_window")),
                "roster_size": len(roster), "on_site_expected": len(roster) - len(mobile), "mobile_count": len(mobile),
                "roster_frozen": bool(activity.get("roster_frozen_at")), "member_ids": sorted(roster),
                "mobile_member_ids": sorted(mobile),
                "checked_in": members("checkin"), "checked_out": members("checkout"),
                "excused": sorted(activity.get("on_leave") or {}), "liked": members("like"),
                "reflection_members": members("reflection"),
                "photos": sum(1 for r in records if r.get("kind") == "photo"),
                "text_chars": sum(r.get("size", 0) for r in records if r.get("kind") == "text"),
                "flags": sum(1 for r in records if r.get("flags")),
                "statuses": activity.get("statuses") or {}, "totals": activity.get("totals"),
                "closed_at": activity.get("closed_at")}

    @rpc
    def set_clock_offset(self, seconds=0.0):
        """Shift the service clock (only with ATTENDANCE_CLOCK_CONTROL=1: tests and benchmarks)."""
        self.desk.clock.set_offset(seconds)
        return {"now": stamp(self.desk.clock.now())}

    @rpc
    def run_sweeps(self):
        """Freeze due rosters and close due activities now (the timer does it every second)."""
        self.desk.schedule.mark_changed()
        return self._sweep()

    # ------------------------------------------------------------------ timer
    @timer(interval=1)
    def tick(self):
        self.desk.peers.refresh()               # every 30 s: are other instances storing scans?
        try:
            self._sweep()
        except Exception:  # noqa: BLE001  the next tick retries; nothing is half written (transactions)
            log.exception("attendance sweep failed")

    def _sweep(self) -> dict:
        now = self.desk.clock.now()
        frozen = sweeps.freeze_due_rosters(self.store, self.identity, self.desk.schedule, now)
        self.desk.chain.warm(frozen)            # before sign-in opens: the first scans read no chain head
        closed = sweeps.close_due_activities(self.store, self.desk.chain, self.desk.schedule, now)
        for activity_id in frozen + closed:
            self.desk.scans.activities.forget(activity_id)
        if frozen or closed:
            self.relay.wake()
        return {"frozen": len(frozen), "closed": len(closed)}

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def _caller(scope) -> CallerScope:
        caller = CallerScope.from_dict(scope)
        caller.require_tenant()
        return caller
