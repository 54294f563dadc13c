"""Volunteer teams (志愿服务队) and their events (活动): teams under an organisation node, members joining and
leaving, events with sign-up up to their capacity, check-in and check-out inside the event's fence, and the hours
credited when the event's managers close it.

- Managers of the team's node (its admins and secretaries, and every superior's) create teams and events, remove
  members with a reason, see the members and the sign-ups, and close events.
- A member sees and may join the teams of its branch's path (its branch and every superior) and of the community
  it reported to (双报到); it sees the teams it belongs to, and the events of its teams.
Anything outside the caller's tenant or reach answers with the not-found code of a missing id (``TEAM_NOT_FOUND``,
``EVENT_NOT_FOUND``, ``ORG_NOT_FOUND``).
"""
from __future__ import annotations

import uuid

from servicekit.errors import Conflict, NotFound, PermissionDenied
from servicekit.security.scope import CallerScope
from servicekit.storage.subtree import ancestor_fields, path_of
from servicekit.timestamps import parse_stamp, stamp

from services.volunteer.access import require_member
from services.volunteer.domain import hours as ledger
from services.volunteer.domain import teams as rules


def team_not_found() -> NotFound:
    return NotFound("志愿服务队不存在或不在您的范围内", code="TEAM_NOT_FOUND", field="team_id")


def event_not_found() -> NotFound:
    return NotFound("活动不存在或不在您的范围内", code="EVENT_NOT_FOUND", field="event_id")


def _id(value) -> str:
    return value.strip() if isinstance(value, str) and value.strip() and len(value) <= 100 else ""


class VolunteerTopic:
    """What the teams, 双报到 and statistics use cases share: the store, the clock, identity and the directory
    (identity's answers cached per process)."""

    def __init__(self, store, clock, identity, directory):
        self.store, self.clock, self.identity, self.directory = store, clock, identity, directory

    def now(self):
        return self.clock.now()

    def today(self):
        return self.clock.today()

    def org(self, caller: CallerScope, org_id) -> dict:
        """A node identity answers the caller (ORG_NOT_FOUND from identity otherwise)."""
        if not _id(org_id):
            raise NotFound("组织不存在或不在您的管辖范围内", code="ORG_NOT_FOUND", field="org_id")
        return self.directory.org(self.identity, caller, org_id.strip())

    def managed_org(self, caller: CallerScope, org_id) -> dict:
        org = self.org(caller, org_id)
        if not caller.manages_path(org["path_ids"]):
            raise PermissionDenied("您无权管理该组织", code="NOT_ORG_MANAGER", field="org_id")
        return org

    def me(self, caller: CallerScope) -> dict:
        """The calling member: ``member_id, name, branch_id, branch_path`` (identity, cached)."""
        require_member(caller)
        return self.directory.member(self.identity, caller, caller.member_id)

    def branch_name(self, caller: CallerScope, branch_id: str) -> str:
        return self.directory.org(self.identity, caller, branch_id).get("name", "")

    def reported_community(self, member_id: str) -> str:
        report = self.store.current_report(member_id)
        return report["community_id"] if report else ""


class Teams(VolunteerTopic):
    # --- teams ----------------------------------------------------------------------------------
    def create_team(self, caller: CallerScope, org_id, name, description) -> dict:
        org = self.managed_org(caller, org_id)
        fields = rules.team_fields(name, description)
        team = {"_id": f"team_{uuid.uuid4().hex}", "tenant_id": caller.tenant_id, "org_id": org["id"],
                "org_name": org.get("name", ""), **ancestor_fields(org["path_ids"]), **fields, "member_count": 0,
                "created_at": stamp(self.now()), "created_by": caller.account_id}
        return team_view(self.store.create_team(team), manager=True, members=[])

    def list_teams(self, caller: CallerScope, org_id) -> dict:
        """Managers: the teams of the node's subtree. A member (the node being on its branch's path or its
        community): the teams it may join and those it belongs to. Identity answers a member its own branch only,
        so a member's reach is checked here, against its branch's path and its report."""
        if caller.managed_org_ids:
            try:
                org = self.org(caller, org_id)
            except NotFound:
                if not caller.member_id:
                    raise
                org = None
            if org is not None and caller.manages_path(org["path_ids"]):
                return {"teams": [team_view(team, manager=True) for team in self.store.teams_under(org["path_ids"])]}
        if caller.member_id and caller.branch_id:
            return {"teams": self._member_teams(caller, _id(org_id))}
        raise NotFound("组织不存在或不在您的管辖范围内", code="ORG_NOT_FOUND", field="org_id")

    def _member_teams(self, caller: CallerScope, org_id: str) -> list[dict]:
        me = self.me(caller)
        community = self.reported_community(caller.member_id)
        if not org_id or org_id not in me["branch_path"] and org_id != community:
            raise NotFound("组织不存在或不在您的管辖范围内", code="ORG_NOT_FOUND", field="org_id")
        memberships = {row["team_id"] for row in self.store.memberships_of(caller.member_id)}
        teams = {team["_id"]: team for team in
                 self.store.teams_at(caller.tenant_id, [*me["branch_path"], *([community] if community else [])])}
        teams.update({team_id: team for team_id, team in self.store.teams_by_ids(memberships).items()
                      if team["tenant_id"] == caller.tenant_id})
        ordered = sorted(teams.values(), key=lambda team: (team["created_at"], team["_id"]))
        return [team_view(team, joined=team["_id"] in memberships) for team in ordered]

    def get_team(self, caller: CallerScope, team_id) -> dict:
        team, manager = self._visible_team(caller, team_id)
        if manager:
            return team_view(team, manager=True, members=self.store.active_team_members(team["_id"]))
        return team_view(team, joined=self._joined(team, caller.member_id))

    def join_team(self, caller: CallerScope, team_id) -> dict:
        me = self.me(caller)
        team, _ = self._visible_team(caller, team_id)
        if not rules.may_join(team["org_id"], me["branch_path"], self.reported_community(caller.member_id)):
            raise PermissionDenied("该队伍不在您所在支部或报到社区的范围内", code="TEAM_NOT_JOINABLE",
                                   field="team_id")
        membership = {"_id": f"{team['_id']}:{caller.member_id}", "tenant_id": caller.tenant_id,
                      "team_id": team["_id"], "member_id": caller.member_id, "name": me["name"],
                      "branch_id": me["branch_id"], "status": rules.MEMBER_ACTIVE, "joined_at": stamp(self.now())}
        self.store.join_team(membership)
        return team_view(self.store.team(team["_id"]), joined=True)

    def leave_team(self, caller: CallerScope, team_id) -> dict:
        require_member(caller)
        team = self._team_in_tenant(caller, team_id)
        if not self._joined(team, caller.member_id):
            self._visible_team(caller, team_id)          # not found for a team out of reach, else not in it
            raise Conflict("您不是该队伍的成员", code="NOT_IN_TEAM", field="team_id")
        self.store.leave_team(team["_id"], caller.member_id, {"left_at": stamp(self.now())})
        return team_view(self.store.team(team["_id"]), joined=False)

    def remove_team_member(self, caller: CallerScope, team_id, member_id, reason) -> dict:
        team = self._managed_team(caller, team_id)
        reason = rules.removal_reason(reason)
        member_id = _id(member_id)
        row = self.store.team_member(team["_id"], member_id) if member_id else None
        if row is None or row["status"] != rules.MEMBER_ACTIVE:
            raise NotFound("该党员不是队伍成员", code="TEAM_MEMBER_NOT_FOUND", field="member_id")
        self.store.leave_team(team["_id"], member_id, {"left_at": stamp(self.now()), "left_reason": reason,
                                                       "removed_by": caller.account_id})
        return team_view(self.store.team(team["_id"]), manager=True,
                         members=self.store.active_team_members(team["_id"]))

    # --- events ---------------------------------------------------------------------------------
    def create_event(self, caller: CallerScope, team_id, title, description, address, lat, lng, fence_radius_m,
                     starts_at, ends_at, capacity, hours_cap) -> dict:
        team = self._managed_team(caller, team_id)
        settings = self.store.settings_in_force(caller.tenant_id)
        now = self.now()
        fields = rules.event_fields(title=title, description=description, address=address, lat=lat, lng=lng,
                                    fence_radius_m=fence_radius_m, starts_at=starts_at, ends_at=ends_at,
                                    capacity=capacity, hours_cap=hours_cap, now=now,
                                    default_radius_m=settings["fence_radius_m"],
                                    default_hours_cap=settings["default_hours_cap"])
        event = {"_id": f"evt_{uuid.uuid4().hex}", "tenant_id": caller.tenant_id, "team_id": team["_id"],
                 "team_name": team["name"], "org_id": team["org_id"], **ancestor_fields(path_of(team)), **fields,
                 "signed_up": 0, "checked_in": 0, "checked_out": 0, "status": rules.OPEN.value,
                 "created_at": stamp(now), "created_by": caller.account_id}
        return event_view(self.store.create_event(event), signups=[])

    def list_team_events(self, caller: CallerScope, team_id) -> dict:
        team, manager = self._visible_team(caller, team_id)
        events = self.store.events_of_teams([team["_id"]])
        mine = {} if manager or not caller.member_id else self.store.signups_of_member(caller.member_id)
        return {"events": [event_view(event, my_signup=mine.get(event["_id"]), member=not manager)
                           for event in upcoming_first(events, self.now())]}

    def list_my_events(self, caller: CallerScope) -> dict:
        member_id = require_member(caller)
        team_ids = [row["team_id"] for row in self.store.memberships_of(member_id)]
        mine = self.store.signups_of_member(member_id)
        events = {event["_id"]: event for event in self.store.events_of_teams(team_ids)}
        signed = [event_id for event_id, row in mine.items()
                  if event_id not in events and row["status"] != rules.CANCELLED]
        for event_id in signed:        # the events it signed up to in a team it left since
            event = self.store.team_event(event_id)
            if event is not None and event["tenant_id"] == caller.tenant_id:
                events[event_id] = event
        return {"events": [event_view(event, my_signup=mine.get(event["_id"]), member=True)
                           for event in upcoming_first(list(events.values()), self.now())]}

    def get_event(self, caller: CallerScope, event_id) -> dict:
        event, manager = self._visible_event(caller, event_id)
        if manager:
            return event_view(event, signups=self.store.signups_of_event(event["_id"]))
        return event_view(event, my_signup=self.store.signup(event["_id"], caller.member_id), member=True)

    def sign_up(self, caller: CallerScope, event_id) -> dict:
        me = self.me(caller)
        event, _ = self._visible_event(caller, event_id)
        now = self.now()
        rules.apply(rules.SIGN_UP, event, now)
        row = self.store.team_member(event["team_id"], caller.member_id)
        if row is None or row["status"] != rules.MEMBER_ACTIVE:
            raise Conflict("请先加入该志愿服务队", code="NOT_IN_TEAM", field="event_id")
        current = self.store.signup(event["_id"], caller.member_id)
        rules.next_signup_state("sign_up", current)
        signup = {"_id": rules.signup_id(event["_id"], caller.member_id), "tenant_id": caller.tenant_id,
                  "event_id": event["_id"], "team_id": event["team_id"], "member_id": caller.member_id,
                  "name": me["name"], "branch_id": me["branch_id"], "branch_path": list(me["branch_path"]),
                  "status": rules.SIGNED_UP.value, "signed_up_at": stamp(now), "checked_in_at": None,
                  "checked_out_at": None, "hours": 0.0}
        return signup_view(self.store.sign_up(event, signup))

    def cancel_sign_up(self, caller: CallerScope, event_id) -> dict:
        require_member(caller)
        event, _ = self._visible_event(caller, event_id)
        rules.apply(rules.CANCEL_SIGN_UP, event, self.now())
        signup = self.store.signup(event["_id"], caller.member_id)
        rules.next_signup_state("cancel_sign_up", signup)
        return signup_view(self.store.cancel_sign_up(signup, {"cancelled_at": stamp(self.now())}))

    def check_in(self, caller: CallerScope, event_id, lat, lng, accuracy_m, mock_location) -> dict:
        return self._check(caller, event_id, "check_in", lat, lng, accuracy_m, mock_location)

    def check_out(self, caller: CallerScope, event_id, lat, lng, accuracy_m, mock_location) -> dict:
        return self._check(caller, event_id, "check_out", lat, lng, accuracy_m, mock_location)

    def _check(self, caller: CallerScope, event_id, action: str, lat, lng, accuracy_m, mock_location) -> dict:
        require_member(caller)
        event, _ = self._visible_event(caller, event_id)
        fix = rules.parse_fix(lat, lng, accuracy_m, mock_location)
        now = self.now()
        rules.apply(rules.CHECK_IN if action == "check_in" else rules.CHECK_OUT, event, now)
        signup = self.store.signup(event["_id"], caller.member_id)
        rules.next_signup_state(action, signup)
        refusal = rules.fence_refusal(fix, event["lat"], event["lng"], event["fence_radius_m"])
        if refusal is not None:
            details = ([{"distance_m": round(refusal.distance_m), "radius_m": event["fence_radius_m"]}]
                       if refusal.distance_m is not None else [])
            raise Conflict(refusal.message, code=refusal.code, details=details)
        at = stamp(now)
        position = {"lat": fix.lat, "lng": fix.lng, "accuracy_m": fix.accuracy_m}
        if action == "check_in":
            return signup_view(self.store.check_in_signup(signup, {"checked_in_at": at, "check_in": position}))
        hours = ledger.hours_between(signup["checked_in_at"], at, event["hours_cap"])
        return signup_view(self.store.check_out_signup(signup, {"checked_out_at": at, "check_out": position,
                                                                "hours": hours}))

    def close_event(self, caller: CallerScope, event_id) -> dict:
        event, manager = self._visible_event(caller, event_id)
        if not manager:
            raise PermissionDenied("只有队伍所属组织的管理员可以结束活动", code="NOT_ORG_MANAGER", field="event_id")
        now = self.now()
        rules.apply(rules.CLOSE, event, now)

        def ledger_entries(signups: list[dict]) -> list[dict]:
            return [ledger.ledger_entry(
                tenant_id=event["tenant_id"], source_kind=ledger.SOURCE_EVENT, source_id=event["_id"],
                member_id=signup["member_id"], member_name=signup["name"], branch_id=signup["branch_id"],
                branch_path=signup["branch_path"], community_id=event["org_id"], community_path=path_of(event),
                title=event["title"], hours=hours, credited_at=now)
                for signup, hours in rules.hours_owed(signups, event["hours_cap"])]
        closed, _ = self.store.close_event(
            event, {"status": rules.CLOSED.value, "closed_at": stamp(now), "closed_by": caller.account_id},
            ledger_entries)
        return event_view(closed, signups=self.store.signups_of_event(event["_id"]))

    # --- reach --------------------------------------------------------------------------------------
    def _team_in_tenant(self, caller: CallerScope, team_id) -> dict:
        team = self.store.team(_id(team_id))
        if team is None or team["tenant_id"] != caller.tenant_id:
            raise team_not_found()
        return team

    def _managed_team(self, caller: CallerScope, team_id) -> dict:
        team, manager = self._visible_team(caller, team_id)
        if not manager:
            raise PermissionDenied("只有队伍所属组织的管理员可以执行此操作", code="NOT_ORG_MANAGER", field="team_id")
        return team

    def _visible_team(self, caller: CallerScope, team_id) -> tuple[dict, bool]:
        """The team and whether the caller manages it; TEAM_NOT_FOUND when the caller neither manages it nor, as
        a member, may join it or belongs to it."""
        team = self._team_in_tenant(caller, team_id)
        if caller.manages_path(path_of(team)):
            return team, True
        if caller.member_id and caller.branch_id and self._member_sees(caller, team):
            return team, False
        raise team_not_found()

    def _visible_event(self, caller: CallerScope, event_id) -> tuple[dict, bool]:
        """The event and whether the caller manages its team; a member sees the events of the teams it sees and
        those it signed up to."""
        event = self.store.team_event(_id(event_id))
        if event is None or event["tenant_id"] != caller.tenant_id:
            raise event_not_found()
        if caller.manages_path(path_of(event)):
            return event, True
        if caller.member_id and caller.branch_id:
            if self.store.signup(event["_id"], caller.member_id) is not None:
                return event, False
            team = self.store.team(event["team_id"])
            if team is not None and self._member_sees(caller, team):
                return event, False
        raise event_not_found()

    def _member_sees(self, caller: CallerScope, team: dict) -> bool:
        return self._joined(team, caller.member_id) or rules.may_join(
            team["org_id"], self.me(caller)["branch_path"], self.reported_community(caller.member_id))

    def _joined(self, team: dict, member_id: str | None) -> bool:
        row = self.store.team_member(team["_id"], member_id) if member_id else None
        return row is not None and row["status"] == rules.MEMBER_ACTIVE


# --- views ---------------------------------------------------------------------------------------------
def team_view(team: dict, manager: bool = False, joined: bool = False, members: list[dict] | None = None) -> dict:
    view = {"team_id": team["_id"], "org_id": team["org_id"], "org_name": team.get("org_name", ""),
            "name": team["name"], "description": team.get("description", ""),
            "member_count": max(int(team.get("member_count", 0)), 0), "joined": joined,
            "created_at": team["created_at"], "created_by": team.get("created_by", ""), "members": []}
    if manager and members is not None:
        view["members"] = [{"member_id": row["member_id"], "name": row["name"], "branch_id": row["branch_id"],
                            "status": row["status"], "joined_at": row["joined_at"]} for row in members]
    return view


def signup_view(signup: dict) -> dict:
    state = rules.SignupState(signup["status"])
    return {"signup_id": signup["_id"], "event_id": signup["event_id"], "member_id": signup["member_id"],
            "name": signup["name"], "status": state.value, "status_label": rules.SIGNUP_LABELS[state],
            "signed_up_at": signup.get("signed_up_at") or "", "checked_in_at": signup.get("checked_in_at") or "",
            "checked_out_at": signup.get("checked_out_at") or "", "hours": float(signup.get("hours") or 0)}


def event_view(event: dict, my_signup: dict | None = None, member: bool = False,
               signups: list[dict] | None = None) -> dict:
    state = rules.EventState(event["status"])
    taken = int(event.get("signed_up", 0))
    view = {"event_id": event["_id"], "team_id": event["team_id"], "team_name": event.get("team_name", ""),
            "org_id": event["org_id"], "title": event["title"], "description": event.get("description", ""),
            "address": event["address"], "lat": event["lat"], "lng": event["lng"],
            "fence_radius_m": event["fence_radius_m"], "starts_at": event["starts_at"], "ends_at": event["ends_at"],
            "capacity": event["capacity"], "signed_up": taken, "places_left": max(event["capacity"] - taken, 0),
            "hours_cap": float(event["hours_cap"]), "status": state.value, "status_label": rules.STATUS_LABELS[state],
            "created_at": event["created_at"], "closed_at": event.get("closed_at") or "",
            "my_signup": signup_view(my_signup) if member and my_signup else None,
            "signups": [signup_view(row) for row in signups] if signups is not None else []}
    return view


def upcoming_first(events: list[dict], now) -> list[dict]:
    """Open events not ended yet, the soonest first; then the others, the latest first."""
    def ahead(event):
        return event["status"] == rules.OPEN.value and parse_stamp(event["ends_at"]) > now
    coming = sorted((e for e in events if ahead(e)), key=lambda e: (e["starts_at"], e["_id"]))
    past = sorted((e for e in events if not ahead(e)), key=lambda e: (e["starts_at"], e["_id"]), reverse=True)
    return coming + past
