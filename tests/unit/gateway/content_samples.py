"""Contract-shaped requests (by rpc) and answers (by nameko method) of the content service's content operations
(docs/content-rpc.md)."""
from __future__ import annotations

SETTINGS = {"study_points_public": False, "publicity_days": 5, "mailbox_overdue_days": 7, "excellent_percent": 90,
            "pass_percent": 60}

CONTENT_REQUESTS: dict[str, dict] = {
    "GetContentSettings": {},
    "SetContentSettings": {"settings": {"publicity_days": 7}},
}
CONTENT_RESULTS: dict[str, dict] = {
    "get_settings": SETTINGS,
    "set_settings": {**SETTINGS, "publicity_days": 7},
}
