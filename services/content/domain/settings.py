"""A tenant's content settings: defaults and validation (pure)."""
from __future__ import annotations

from servicekit.errors import InvalidArgument

DEFAULTS = {
    # members' daily study points are not ranked publicly unless the tenant turns it on (contests keep theirs):
    # the branch's study ranking (learning's study_ranking) answers its members only when this is on
    "study_points_public": False,
    "publicity_days": 5,           # 发展党员公示: at least five working days is the common rule
    "mailbox_overdue_days": 7,     # a letter unanswered this long is overdue
    "excellent_percent": 90,       # quiz score bands: excellent at or above, pass at or above pass_percent
    "pass_percent": 60,
}
LIMITS = {"publicity_days": (1, 60), "mailbox_overdue_days": (1, 90), "excellent_percent": (1, 100),
          "pass_percent": (0, 100)}


def merged(stored: dict | None) -> dict:
    """The settings in force: the defaults overlaid with what the tenant stored."""
    settings = {**DEFAULTS, **{key: value for key, value in (stored or {}).items() if key in DEFAULTS}}
    for key, default in DEFAULTS.items():
        if isinstance(default, bool):   # nx-27017 stores a bool written by $set into a stored document as 1 or 0
            settings[key] = bool(settings[key])
    return settings


def validate(changes, current: dict) -> dict:
    """The settings after ``changes`` (only the keys given change; none given, none change); InvalidArgument names
    the first bad field."""
    if changes is None:         # the document's optional ``settings`` left out: a PATCH of nothing
        changes = {}
    if not isinstance(changes, dict):
        raise InvalidArgument("settings 必须是对象", code="INVALID_TYPE", field="settings")
    result = dict(current)
    for key, value in changes.items():
        if value is None:
            continue
        if key not in DEFAULTS:
            raise InvalidArgument(f"未知的设置项 {key}", code="UNKNOWN_FIELD", field=key)
        if isinstance(DEFAULTS[key], bool):
            if not isinstance(value, bool):
                raise InvalidArgument(f"{key} 必须是布尔值", code="INVALID_TYPE", field=key)
        else:
            low, high = LIMITS[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InvalidArgument(f"{key} 必须是 {low} 到 {high} 之间的整数", code="OUT_OF_RANGE", field=key)
        result[key] = value
    if result["pass_percent"] > result["excellent_percent"]:
        raise InvalidArgument("及格线不能高于优秀线", code="OUT_OF_RANGE", field="pass_percent")
    return result


def band(score: float, max_score: float, settings: dict) -> str:
    """A quiz score's band: "excellent", "pass" or "fail"."""
    percent = 100.0 * score / max_score if max_score else 0.0
    if percent >= settings["excellent_percent"]:
        return "excellent"
    return "pass" if percent >= settings["pass_percent"] else "fail"
