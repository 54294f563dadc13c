"""Helpers for scoring tests: a themed day's attendance events, published onto the bus like attendance would."""
from __future__ import annotations

import time
import uuid

from servicekit.storage.mongo import shared_client
from servicekit.messaging.outbox import Relay, add_events
from servicekit.process.clock import WallClock

from services.attendance import events as att


def today() -> str:
    """Today's date (YYYY-MM-DD) as the scoring service's clock sees it (China's)."""
    return WallClock().today().isoformat()


class AttendancePublisher:
    """Publishes attendance events through the real outbox relay, from a scratch database."""

    def __init__(self, mongo_uri: str, bus_uri: str, database: str):
        self.db = shared_client(mongo_uri)[database]
        self.relay = Relay("attendance", db=self.db, uri=bus_uri)

    def publish(self, events: list[dict]) -> None:
        for start in range(0, len(events), 500):
            add_events(self.db, events[start:start + 500], "attendance")
        while self.relay.run_once():
            pass

    def republish(self, events: list[dict]) -> None:
        """The same events again (same event ids), as a redelivery or a replay would bring them."""
        self.db.outbox.delete_many({"_id": {"$in": [event["event_id"] for event in events]}})
        self.publish(events)

    def close(self) -> None:
        self.relay.close()


class ThemedDay:
    """One branch's themed day of a month: builds its events in the order attendance publishes them."""

    def __init__(self, tenant_id: str, branch: dict, month: str, members: list[str], mobile: list[str] = (),
                 activity_id: str | None = None):
        self.tenant_id, self.branch, self.month = tenant_id, branch, month
        self.members, self.mobile = list(members), list(mobile)
        self.activity_id = activity_id or f"act_{uuid.uuid4().hex}"

    def _common(self) -> dict:
        return {"activity_id": self.activity_id, "branch_id": self.branch["id"]}

    def issued(self) -> dict:
        return att.ACTIVITY_ISSUED.build(self.tenant_id, **self._common(), theme_id="theme-1",
                                         branch_name=self.branch["name"], org_path=self.branch["path_ids"],
                                         field=self.branch.get("field", ""), category=self.branch.get("category", ""),
                                         month=self.month, title="学习党章", due_from=f"{self.month}-01",
                                         due_to=f"{self.month}-25", issued_by="acc-city")

    def planned_and_opened(self, outside_due_window: bool = False) -> list[dict]:
        day = f"{self.month}-15"
        return [
            att.PLAN_SUBMITTED.build(self.tenant_id, **self._common(), month=self.month, date=day,
                                     start_at=f"{day}T01:00:00.000Z", end_at=f"{day}T03:00:00.000Z",
                                     outside_due_window=outside_due_window, submitted_by="acc-sec"),
            att.PLAN_REVIEWED.build(self.tenant_id, **self._common(), month=self.month, decision="approved",
                                    reason="", reviewed_by="acc-county"),
            att.ACTIVITY_OPENED.build(self.tenant_id, **self._common(), month=self.month,
                                      start_at=f"{day}T01:00:00.000Z", end_at=f"{day}T03:00:00.000Z",
                                      checkin_opens_at=f"{day}T00:45:00.000Z",
                                      checkout_closes_at=f"{day}T03:30:00.000Z"),
            att.ROSTER_FROZEN.build(self.tenant_id, **self._common(), month=self.month,
                                    roster_size=len(self.members), on_site_expected=len(self.members) - len(self.mobile),
                                    mobile_count=len(self.mobile), member_ids=self.members,
                                    mobile_member_ids=self.mobile)]

    def scan(self, member_id: str, direction: str = "in", flags: list[str] = (), backfilled: bool = False) -> dict:
        spec = att.CHECKIN_RECORDED if direction == "in" else att.CHECKOUT_RECORDED
        return spec.build(self.tenant_id, **self._common(), member_id=member_id, record_id=f"rec_{uuid.uuid4().hex}",
                          at=f"{self.month}-15T01:0{'0' if direction == 'in' else '9'}:00.000Z", distance_m=12.5,
                          flags=list(flags), seq=1, hash="h", backfilled=backfilled)

    def leave(self, member_id: str) -> dict:
        return att.LEAVE_DECIDED.build(self.tenant_id, **self._common(), member_id=member_id,
                                       leave_id=f"lv_{uuid.uuid4().hex}", decision="approved", decided_by="acc-sec")

    def like(self, member_id: str) -> dict:
        return att.ACTIVITY_LIKED.build(self.tenant_id, **self._common(), member_id=member_id,
                                        mobile=member_id in self.mobile)

    def reflection(self, member_id: str, length: int = 120) -> dict:
        return att.REFLECTION_POSTED.build(self.tenant_id, **self._common(), member_id=member_id,
                                           reflection_id=f"rf_{uuid.uuid4().hex}", length=length, backfilled=False)

    def upload(self, kind: str = "photo", size: int = 100_000) -> dict:
        return att.UPLOAD_ADDED.build(self.tenant_id, **self._common(), upload_id=f"up_{uuid.uuid4().hex}", kind=kind,
                                      size=size, content_hash=uuid.uuid4().hex, backfilled=False)

    def closed(self, statuses: dict[str, str]) -> dict:
        totals = {name: sum(1 for s in statuses.values() if s == name)
                  for name in ("present", "incomplete", "excused", "absent", "mobile")}
        return att.ACTIVITY_CLOSED.build(self.tenant_id, **self._common(), month=self.month,
                                         org_path=self.branch["path_ids"], closed_at=f"{self.month}-15T04:00:00.000Z",
                                         totals={"roster": len(statuses), **totals}, statuses=statuses,
                                         chain_head="h")


def wait_for(check, timeout: float = 60.0, interval: float = 0.2):
    """Poll until check() returns a truthy value (events travel through the broker); generous on a busy machine."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except AssertionError as error:
            last = error
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s: {last!r}")
