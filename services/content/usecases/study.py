"""Study sessions with server-observed time: the member's page reports start, heartbeats and end; the service
credits the time between consecutive observations from its own clock (``domain.learning.observe``), never a
duration the page claims. When an item's credited total reaches its minimum, the item counts as studied and
``item_studied`` is committed with that write, once.

Two tabs on the same item: each has its own session, and the item's time is the union of the intervals all its
sessions observed, so overlapping time counts once. Two observations written at the same moment are told apart
by the item's ``rev`` and the session's ``last_seen_at``: the later one reads again and retries.
"""
from __future__ import annotations

from servicekit.errors import Conflict, InvalidArgument, NotFound
from servicekit.security.scope import CallerScope
from servicekit.timestamps import parse_stamp, stamp

from services.content import access, events
from services.content.domain import learning as rules
from services.content.stores.learning import new_session_id, study_item_id
from services.content.usecases.learning import VISIBLE_TO_MEMBERS

ATTEMPTS = 4


def session_view(session: dict, item: dict, studied: dict | None, repeat: bool = False) -> dict:
    studied = studied or {}
    return {"session_id": session["_id"], "package_id": session["package_id"], "item_key": session["item_key"],
            "state": session["state"], "started_at": session["started_at"],
            "last_seen_at": session["last_seen_at"], "ended_at": session.get("ended_at") or "",
            "session_seconds": int(session.get("credited", 0)), "seconds": int(studied.get("seconds", 0)),
            "min_seconds": item["min_seconds"], "cap_seconds": item["cap_seconds"],
            "studied": bool(studied.get("studied_at")), "studied_at": studied.get("studied_at") or "",
            "heartbeat_seconds": rules.HEARTBEAT_SECONDS, "max_gap_seconds": rules.MAX_GAP_SECONDS,
            "repeat": repeat}


def _item(package: dict, item_key: str) -> dict:
    for item in package["items"]:
        if item["key"] == item_key:
            return item
    raise NotFound("学习内容不存在", code="PACKAGE_ITEM_NOT_FOUND", field="item_key")


class Study:
    def __init__(self, store, clock, identity, org_paths):
        self.store, self.clock, self.identity, self.org_paths = store, clock, identity, org_paths

    def start(self, caller: CallerScope, package_id, item_key) -> dict:
        member_id = access.require_member(caller)
        for name, value in (("package_id", package_id), ("item_key", item_key)):
            if not isinstance(value, str) or not value:
                raise InvalidArgument(f"{name} 不能为空", code="REQUIRED", field=name)
        package = self.store.package(package_id)
        # a member studies the published packages of its own branch path; anything else does not exist for it
        if not (access.same_tenant(caller, package) and package["status"] in VISIBLE_TO_MEMBERS
                and package["org_id"] in self.org_paths.path(self.identity, caller, caller.branch_id)):
            raise NotFound("学习套餐不存在或不在您的范围内", code="PACKAGE_NOT_FOUND", field="package_id")
        rules.apply_package(rules.STUDY, package)
        item = _item(package, item_key)
        now = stamp(self.clock.now())
        session = self.store.open_session({
            "_id": new_session_id(), "tenant_id": caller.tenant_id, "package_id": package["_id"],
            "item_key": item["key"], "member_id": member_id, "branch_id": caller.branch_id, "state": rules.OPEN.value,
            "started_at": now, "last_seen_at": now, "ended_at": None, "credited": 0.0, "observations": 1})
        return session_view(session, item, self.store.study_item(package["_id"], item["key"], member_id))

    def heartbeat(self, caller: CallerScope, session_id) -> dict:
        return self._observe(caller, session_id, ending=False)

    def end(self, caller: CallerScope, session_id) -> dict:
        return self._observe(caller, session_id, ending=True)

    def _own_session(self, caller: CallerScope, session_id) -> dict:
        member_id = access.require_member(caller)
        if not isinstance(session_id, str) or not session_id:
            raise InvalidArgument("session_id 不能为空", code="REQUIRED", field="session_id")
        session = self.store.study_session(session_id)
        if not access.same_tenant(caller, session) or session["member_id"] != member_id:
            raise NotFound("学习记录不存在", code="SESSION_NOT_FOUND", field="session_id")
        return session

    def _observe(self, caller: CallerScope, session_id, ending: bool) -> dict:
        for attempt in range(ATTEMPTS):
            try:
                return self._observe_once(caller, session_id, ending)
            except Conflict as conflict:
                if conflict.code != "STUDY_CHANGED" or attempt == ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _observe_once(self, caller: CallerScope, session_id, ending: bool) -> dict:
        session = self._own_session(caller, session_id)
        package = self.store.package(session["package_id"])
        item = _item(package, session["item_key"])
        studied = self.store.study_item(package["_id"], item["key"], session["member_id"])
        moment = self.clock.now()
        now = stamp(moment)
        if rules.session_state(session) is not rules.OPEN and ending:
            return session_view(session, item, studied, repeat=True)      # a repeated end changes nothing
        if rules.is_stale(session, moment):
            self.store.expire_session(session["_id"], session["last_seen_at"], now)
            if ending:
                return session_view({**session, "state": rules.EXPIRED.value, "ended_at": now}, item, studied)
        rules.apply_session(rules.END if ending else rules.heartbeat_transition(moment), session)
        rules.apply_package(rules.STUDY, package)
        credit = rules.observe(rules.time_of(studied), parse_stamp(session["last_seen_at"]), moment,
                               item["min_seconds"], item["cap_seconds"])
        session_fields = {"last_seen_at": now, "credited": round(session.get("credited", 0.0) + credit.seconds, 3),
                          "observations": session.get("observations", 1) + 1}
        if ending:
            session_fields.update(state=rules.ENDED.value, ended_at=now)
        row = {"_id": study_item_id(package["_id"], item["key"], session["member_id"]),
               "tenant_id": session["tenant_id"], "package_id": package["_id"], "item_key": item["key"],
               "item_id": item["item_id"], "kind": item["kind"], "tags": list(item.get("tags") or []),
               "member_id": session["member_id"], "branch_id": session["branch_id"],
               "package_member": f"{package['_id']}:{session['member_id']}", **rules.stored_time(credit.time),
               "studied_at": (studied or {}).get("studied_at") or (now if credit.newly_studied else None),
               "updated_at": now, "rev": (studied or {}).get("rev", 0)}
        counted, studied_events = None, []
        if credit.newly_studied:
            counted = {"package_id": package["_id"], "member_id": session["member_id"],
                       "branch_id": session["branch_id"], "tenant_id": session["tenant_id"],
                       "item_count": len(package["items"]), "at": now}
            studied_events.append(events.ITEM_STUDIED.build(
                session["tenant_id"], moment, package_id=package["_id"], item_id=item["item_id"],
                item_key=item["key"], member_id=session["member_id"], branch_id=session["branch_id"],
                seconds=int(credit.time.seconds), studied_at=now))
        self.store.record_observation(session, session_fields, row, counted, studied_events)
        return session_view({**session, **session_fields}, item, {**row, "rev": row["rev"] + 1})
