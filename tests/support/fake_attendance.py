"""A stand-in attendance service for reconcile tests: answers ``activity_facts`` from a JSON file.

Run as ``python -m servicekit.runner tests.support.fake_attendance:FakeAttendance`` with
FAKE_ATTENDANCE_FACTS naming the file; the file is read on every call.
"""
from __future__ import annotations

import json
import os

from nameko.rpc import rpc


class FakeAttendance:
    name = "attendance"

    @rpc
    def activity_facts(self, scope, org_id, month_from, month_to, page_token="", page_size=500):
        with open(os.environ["FAKE_ATTENDANCE_FACTS"], encoding="utf-8") as source:
            items = [item for item in json.load(source)
                     if org_id in item["org_path"] and month_from <= item["month"] <= month_to]
        start = int(page_token or 0)
        following = str(start + page_size) if start + page_size < len(items) else ""
        return {"items": items[start:start + page_size], "next_page_token": following}
