"""Helpers for tests of 三会一课: a branch's meeting planned by its secretary and held with the themed day's QR
sign-in, the attendance service's clock shifted as for a themed day (``ThemedDay.at``)."""
from __future__ import annotations

from collections.abc import Iterator

from tests.support.attendance import VENUE, ThemedDay

PLAN_TIMES = ("start_at", "end_at", "checkin_opens_at", "checkin_closes_at", "checkout_closes_at")


class BranchMeeting(ThemedDay):
    """A branch with members, a secretary and (once ``plan`` is called) one meeting; ``activity`` is the meeting as
    the themed day's helpers (``at``, ``token``, ``scan``) need it: its id and plan times."""

    def plan(self, meeting_type: str = "lesson", **overrides) -> dict:
        fields = {"branch_id": self.branch["id"], "meeting_type": meeting_type, "title": "学习新修订的党章",
                  "date": self.day.isoformat(), "start_time": "14:00", "end_time": "15:30",
                  "venue_name": "党员活动室", "venue_lat": VENUE[0], "venue_lng": VENUE[1]}
        fields.update(overrides)
        self.meeting = self.rpc.attendance.plan_meeting(scope=self.secretary, **fields)
        self.activity = {"id": self.meeting["id"], "plan": {name: self.meeting[name] for name in PLAN_TIMES}}
        return self.meeting

    def reschedule(self, scope: dict | None = None, **overrides) -> dict:
        """The meeting moved (改期) to ``overrides`` over its current date, times and venue; ``at`` follows it."""
        fields = {"meeting_id": self.meeting["id"], "date": self.meeting["date"], "start_time": "14:00",
                  "end_time": "15:30", "venue_name": self.meeting["venue_name"], "venue_lat": VENUE[0],
                  "venue_lng": VENUE[1]}
        fields.update(overrides)
        self.meeting = self.rpc.attendance.reschedule_meeting(scope=scope or self.secretary, **fields)
        self.activity = {"id": self.meeting["id"], "plan": {name: self.meeting[name] for name in PLAN_TIMES}}
        return self.meeting

    def get(self, scope: dict | None = None) -> dict:
        self.meeting = self.rpc.attendance.get_meeting(scope=scope or self.secretary, meeting_id=self.meeting["id"])
        return self.meeting

    def hold(self, present: int = 1) -> dict:
        """Sign-in of the first ``present`` members, their sign-out, and the closing: the meeting is held."""
        self.at("start_at", -10)
        for scope in self.member_scopes[:present]:
            self.scan(scope, "in")
        self.at("end_at", 2)
        for scope in self.member_scopes[:present]:
            self.scan(scope, "out")
        self.at("checkout_closes_at", 1)
        return self.get()


def meeting_branch(rpc, city, members: int) -> Iterator[BranchMeeting]:
    """A fixture's body: a branch of ``members`` members and its secretary, then the attendance clock back at real
    time (its meetings' helpers shift it)."""
    branch = BranchMeeting(rpc, city, members=members, mobile=0)
    yield branch
    rpc.attendance.set_clock_offset(seconds=0)
