"""Scans: the QR codes a secretary prints or shows, the members' scans (judged and stored by the process's
scan desk, ``scanning.ScanDesk``) and the list of an activity's scans."""
from __future__ import annotations

import base64
from datetime import datetime

from servicekit.arguments import choice
from servicekit.errors import error_from_dict
from servicekit.security.scope import CallerScope
from servicekit.storage.paging import page_of, page_window
from servicekit.timestamps import LOCAL_ZONE, stamp

from services.attendance import access
from services.attendance.domain import lifecycle, qrtoken
from services.attendance.views import scan_view


class Scans:
    def __init__(self, store, clock, desk):
        self.store, self.clock, self.desk = store, clock, desk

    def get_qr_code(self, caller: CallerScope, activity_id, direction, mode) -> dict:
        activity = access.as_secretary(caller, self.store.activity(activity_id))
        direction = choice(direction, "direction", qrtoken.DIRECTIONS, required=True)
        mode = choice(mode or "print", "mode", ("print", "rotating"), required=True)
        lifecycle.apply(lifecycle.ISSUE_QR_CODE, activity)
        key = self.desk.keys.tenant_key(activity["tenant_id"])
        if mode == "print":
            token, valid_until, step_seconds = qrtoken.issue(key, activity_id, direction, None), "", 0
        else:
            step = qrtoken.step_of(self.clock.now())
            token, step_seconds = qrtoken.issue(key, activity_id, direction, step), qrtoken.STEP_SECONDS
            valid_until = stamp(datetime.fromtimestamp((step + 2) * qrtoken.STEP_SECONDS, tz=LOCAL_ZONE))
        url = qrtoken.scan_url(self.desk.public_base_url, token)
        return {"token": token, "url": url, "valid_until": valid_until, "step_seconds": step_seconds,
                "png": base64.b64encode(qrtoken.render_png(url)).decode(), "svg": qrtoken.render_svg(url)}

    def record_scan(self, scope, token, fix) -> dict:
        """One scan, one call: the desk checks the scope as it does each scan of a batch."""
        answer = self.desk.scans.record([{"scope": scope, "token": token, "fix": fix}])[0]
        if "error" in answer:
            raise error_from_dict(answer["error"])
        return answer["result"]

    def record_scans(self, items) -> list[dict]:
        return self.desk.scans.record(list(items))

    def list_scans(self, caller: CallerScope, activity_id, flagged_only, page_size, page_token) -> dict:
        activity = access.readable(caller, self.store.activity(activity_id))
        skip, limit = page_window(page_size, page_token)
        records = self.store.records_of(activity_id, ("checkin", "checkout"))
        if not (access.is_superior(caller, activity) or access.is_secretary(caller, activity)):
            records = [r for r in records if r["member_id"] == caller.member_id]
        if flagged_only:
            records = [r for r in records if r["content"].get("flags")]
        found, token = page_of(records[skip:skip + limit + 1], skip, limit)
        return {"scans": [scan_view(r) for r in found], "next_page_token": token}
