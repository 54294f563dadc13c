"""Scans: the QR codes a secretary prints or shows, the members' scans (judged and stored by the process's
scan desk, ``scanning.ScanDesk``) and the list of an activity's scans."""
from __future__ import annotations

import base64
from datetime import datetime

from servicekit.arguments import choice, text
from servicekit.errors import Conflict, InvalidArgument, error_from_dict
from servicekit.security.scope import CallerScope
from servicekit.storage.paging import page_of, page_window
from servicekit.timestamps import LOCAL_ZONE, stamp

from services.attendance import access
from services.attendance.arguments import MAX_REASON_CHARS
from services.attendance.domain import lifecycle, qrtoken
from services.attendance.scanning import printed_code_allowed
from services.attendance.views import activity_view, scan_view


class Scans:
    def __init__(self, store, clock, desk):
        self.store, self.clock, self.desk = store, clock, desk

    def get_qr_code(self, caller: CallerScope, activity_id, direction, mode) -> dict:
        activity = access.as_secretary(caller, self.store.activity(activity_id))
        direction = choice(direction, "direction", qrtoken.DIRECTIONS, required=True)
        mode = choice(mode or "rotating", "mode", ("print", "rotating"), required=True)
        lifecycle.apply(lifecycle.ISSUE_QR_CODE, activity)
        if mode == "print" and not printed_code_allowed(activity):
            raise Conflict("本次活动未获上级批准使用打印的签到码，请使用动态二维码（投屏）",
                           code="PRINTED_CODE_NOT_ALLOWED", field="mode")
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

    def set_printed_code(self, caller: CallerScope, activity_id, allowed, reason) -> dict:
        """The superior allows (or stops allowing) the printed code for one activity, with a reason; the setting
        and every change of it are kept on the activity (who, when, why)."""
        activity = self.store.activity(activity_id)
        theme = self.store.theme(activity["theme_id"]) if activity else None
        activity = access.as_code_policy_superior(caller, activity, (theme or {}).get("issued_by", ""))
        if not isinstance(allowed, bool):
            raise InvalidArgument("allowed 应为 true 或 false", code="INVALID_TYPE", field="allowed")
        reason = text(reason, "reason", required=allowed, max_length=MAX_REASON_CHARS)
        lifecycle.apply(lifecycle.SET_PRINTED_CODE, activity)
        now = stamp(self.clock.now())
        setting = {"allowed": allowed, "reason": reason, "by": caller.account_id, "at": now}
        return activity_view(self.store.set_printed_code(activity_id, setting, now))

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
