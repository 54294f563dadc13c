"""Volunteer teams, their members, their events and the events' sign-ups.

A mixin of ``services.volunteer.store.VolunteerStore``:

- ``teams``: ``_id`` "team_<hex>", ``tenant_id, org_id, org_name`` and the node's ancestor fields ``a0..a5``,
  ``member_count`` kept by the joins and leaves (nx-27017's ``count_documents`` scans);
- ``team_members``: ``_id`` "<team_id>:<member_id>", ``team_id, member_id, name, branch_id, status`` "active" |
  "left" (the order side reads it for orders dispatched to a team); a member who leaves and joins again reuses its
  row;
- ``team_events``: ``_id`` "evt_<hex>", the team's ids and ancestor fields, the event's place, times, ``capacity``
  and ``signed_up`` (the places taken), ``status`` "open" | "closed";
- ``event_signups``: ``_id`` "<event_id>:<member_id>", with the member's name, branch and branch path (so closing
  the event credits hours without asking identity).

Every write on a sign-up runs in a transaction that first writes the event conditionally on its state (and, to
take a place, on ``signed_up`` below ``capacity``): a sign-up is never taken over capacity, and none changes once
closing has started, in this process or another.
"""
from __future__ import annotations

from pymongo import ReturnDocument

from servicekit.errors import Conflict
from servicekit.storage.subtree import LEVEL_FIELDS, subtree_filter

from services.volunteer.domain.teams import CANCELLED, CHECKED_IN, CHECKED_OUT, MEMBER_ACTIVE, MEMBER_LEFT, OPEN, \
    SIGNED_UP

_EVENT_CLOSED = ("EVENT_CLOSED", "活动已结束")
_CHANGED = ("SIGNUP_CHANGED", "报名状态已变化，请刷新后重试")


class TeamRecords:
    collections: dict[str, list] = {
        "teams": ["tenant_id", "org_id", *LEVEL_FIELDS],
        "team_members": ["team_id", "member_id"],
        "team_events": ["team_id", *LEVEL_FIELDS],
        "event_signups": ["event_id", "member_id"],
    }

    # --- teams ------------------------------------------------------------------------------------
    def team(self, team_id: str) -> dict | None:
        return self.db.teams.find_one({"_id": team_id}) if isinstance(team_id, str) and team_id else None

    def teams_under(self, path_ids: list[str]) -> list[dict]:
        return sorted(self.db.teams.find(subtree_filter(path_ids)), key=lambda team: (team["created_at"], team["_id"]))

    def teams_at(self, tenant_id: str, org_ids) -> list[dict]:
        """The teams of these nodes (a member's branch path and its community)."""
        found = self.db.teams.find({"org_id": {"$in": list(dict.fromkeys(org_ids))}})
        return sorted((team for team in found if team["tenant_id"] == tenant_id),
                      key=lambda team: (team["created_at"], team["_id"]))

    def teams_by_ids(self, team_ids) -> dict[str, dict]:
        ids = list(dict.fromkeys(team_ids))
        return {team["_id"]: team for team in self.db.teams.find({"_id": {"$in": ids}})} if ids else {}

    def create_team(self, team: dict) -> dict:
        self.commit(lambda session: self.db.teams.insert_one(team, session=session),
                    duplicate=("TEAM_EXISTS", "该队伍已存在"))
        return team

    # --- team members -------------------------------------------------------------------------------
    def team_member(self, team_id: str, member_id: str) -> dict | None:
        return self.db.team_members.find_one({"_id": f"{team_id}:{member_id}"})

    def active_team_members(self, team_id: str) -> list[dict]:
        found = self.db.team_members.find({"team_id": team_id})
        return sorted((row for row in found if row["status"] == MEMBER_ACTIVE),
                      key=lambda row: (row["joined_at"], row["_id"]))

    def memberships_of(self, member_id: str) -> list[dict]:
        """The teams a member belongs to now (its active rows)."""
        return [row for row in self.db.team_members.find({"member_id": member_id}) if row["status"] == MEMBER_ACTIVE]

    def join_team(self, membership: dict) -> dict:
        """The member's row active (a new row, or its row of an earlier stay); Conflict ``ALREADY_IN_TEAM`` when it
        is active already."""
        def writes(session):
            again = self.db.team_members.find_one_and_update(
                {"_id": membership["_id"], "status": MEMBER_LEFT},
                {"$set": _without_id(membership), "$unset": {"left_at": "", "left_reason": "", "removed_by": ""}},
                return_document=ReturnDocument.AFTER, session=session)
            if again is None:
                self.db.team_members.insert_one(membership, session=session)
            self.db.teams.update_one({"_id": membership["team_id"]}, {"$inc": {"member_count": 1}}, session=session)
            return again or membership
        return self.commit(writes, duplicate=("ALREADY_IN_TEAM", "您已是该队伍成员"))

    def leave_team(self, team_id: str, member_id: str, changes: dict) -> dict:
        """The member's active row marked left (``changes``: ``left_at``, and a removal's reason and remover);
        Conflict ``NOT_IN_TEAM`` when it is not active."""
        def writes(session):
            left = self.db.team_members.find_one_and_update(
                {"_id": f"{team_id}:{member_id}", "status": MEMBER_ACTIVE}, {"$set": {**changes, "status": MEMBER_LEFT}},
                return_document=ReturnDocument.AFTER, session=session)
            if left is None:
                raise Conflict("不是该队伍的成员", code="NOT_IN_TEAM", field="member_id")
            self.db.teams.update_one({"_id": team_id}, {"$inc": {"member_count": -1}}, session=session)
            return left
        return self.commit(writes)

    # --- events -------------------------------------------------------------------------------------
    def team_event(self, event_id: str) -> dict | None:
        return self.db.team_events.find_one({"_id": event_id}) if isinstance(event_id, str) and event_id else None

    def events_of_teams(self, team_ids) -> list[dict]:
        ids = list(dict.fromkeys(team_ids))
        return list(self.db.team_events.find({"team_id": {"$in": ids}})) if ids else []

    def create_event(self, event: dict) -> dict:
        self.commit(lambda session: self.db.team_events.insert_one(event, session=session),
                    duplicate=("EVENT_EXISTS", "该活动已存在"))
        return event

    # --- sign-ups -----------------------------------------------------------------------------------
    def signup(self, event_id: str, member_id: str) -> dict | None:
        return self.db.event_signups.find_one({"_id": f"{event_id}:{member_id}"})

    def signups_of_event(self, event_id: str) -> list[dict]:
        return sorted(self.db.event_signups.find({"event_id": event_id}),
                      key=lambda row: (row["signed_up_at"], row["_id"]))

    def signups_of_member(self, member_id: str) -> dict[str, dict]:
        """The member's sign-ups by event id."""
        return {row["event_id"]: row for row in self.db.event_signups.find({"member_id": member_id})}

    def sign_up(self, event: dict, signup: dict) -> dict:
        """Take a place: one transaction that counts the place on the open event only while ``signed_up`` is below
        its capacity, then writes the member's row (new, or its cancelled one again). Conflict ``EVENT_FULL``,
        ``EVENT_CLOSED`` or ``ALREADY_SIGNED_UP`` (the row is held already: the whole transaction is undone)."""
        def writes(session):
            taken = self.db.team_events.find_one_and_update(
                {"_id": event["_id"], "status": OPEN, "capacity": event["capacity"],
                 "signed_up": {"$lt": event["capacity"]}},
                {"$inc": {"signed_up": 1}}, return_document=ReturnDocument.AFTER, session=session)
            if taken is None:
                now = self.db.team_events.find_one({"_id": event["_id"]}, {"status": 1}, session=session)
                if now is None or now["status"] != OPEN:
                    raise Conflict(_EVENT_CLOSED[1], code=_EVENT_CLOSED[0])
                raise Conflict("报名人数已满", code="EVENT_FULL")
            again = self.db.event_signups.find_one_and_update(
                {"_id": signup["_id"], "status": CANCELLED}, {"$set": _without_id(signup), "$unset": {"cancelled_at": ""}},
                return_document=ReturnDocument.AFTER, session=session)
            if again is None:
                self.db.event_signups.insert_one(signup, session=session)
            return again or signup
        return self.commit(writes, duplicate=("ALREADY_SIGNED_UP", "您已报名该活动"))

    def cancel_sign_up(self, signup: dict, changes: dict) -> dict:
        """The member's place given back, before its check-in."""
        def writes(session):
            self._touch_open_event(signup["event_id"], {"$inc": {"signed_up": -1}}, session)
            return self._move_signup(signup, SIGNED_UP, {**changes, "status": CANCELLED}, session)
        return self.commit(writes)

    def check_in_signup(self, signup: dict, changes: dict) -> dict:
        def writes(session):
            self._touch_open_event(signup["event_id"], {"$inc": {"checked_in": 1}}, session)
            return self._move_signup(signup, SIGNED_UP, {**changes, "status": CHECKED_IN}, session)
        return self.commit(writes)

    def check_out_signup(self, signup: dict, changes: dict) -> dict:
        def writes(session):
            self._touch_open_event(signup["event_id"], {"$inc": {"checked_out": 1}}, session)
            return self._move_signup(signup, CHECKED_IN, {**changes, "status": CHECKED_OUT}, session)
        return self.commit(writes)

    def close_event(self, event: dict, changes: dict, ledger_entries_of) -> tuple[dict, list[dict]]:
        """Close the open event and credit its hours in one transaction: ``ledger_entries_of(signups)`` builds the
        ledger entries from the sign-ups as they are once the close holds (the hours ledger's ``credit_writes``
        inserts those not held yet, each with its ``hours_credited`` event). Returns the closed event and the
        entries credited; Conflict ``EVENT_CLOSED`` when it was closed already."""
        events: list[dict] = []

        def writes(session):
            closed = self._touch_open_event(event["_id"], {"$set": changes}, session)
            signups = list(self.db.event_signups.find({"event_id": event["_id"]}, session=session))
            credited = self.credit_writes(ledger_entries_of(signups), events, session)
            return closed, credited
        return self.commit(writes, events)

    def _touch_open_event(self, event_id: str, update: dict, session) -> dict:
        done = self.db.team_events.find_one_and_update({"_id": event_id, "status": OPEN}, update,
                                                       return_document=ReturnDocument.AFTER, session=session)
        if done is None:
            raise Conflict(_EVENT_CLOSED[1], code=_EVENT_CLOSED[0])
        return done

    def _move_signup(self, signup: dict, expected: str, changes: dict, session) -> dict:
        moved = self.db.event_signups.find_one_and_update({"_id": signup["_id"], "status": expected},
                                                          {"$set": changes}, return_document=ReturnDocument.AFTER,
                                                          session=session)
        if moved is None:
            raise Conflict(_CHANGED[1], code=_CHANGED[0])
        return moved


def _without_id(doc: dict) -> dict:
    return {key: value for key, value in doc.items() if key != "_id"}
