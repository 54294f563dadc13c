"""A tenant's volunteer settings: defaults and validation (pure). City admins change them; everyone of the
tenant reads them (docs/volunteer-rpc.md, "Settings")."""
from __future__ import annotations

import re
from datetime import date

from servicekit.errors import InvalidArgument

DEFAULT_CATEGORIES = [
    {"code": "skills", "label": "技能服务"},
    {"code": "services", "label": "生活服务"},
    {"code": "health", "label": "健康服务"},
]
DEFAULTS = {
    "review_hours": 24,            # an order not reviewed within this is overdue (its superior sees it)
    "start_grace_minutes": 30,     # a claim not checked in by the wished start + this is released
    "auto_confirm_hours": 72,      # a completed order with no dispute is confirmed after this
    "default_hours_cap": 8,        # hours credited per member per order at most
    "fence_radius_m": 300,         # check-in radius around the order's position
    "categories": DEFAULT_CATEGORIES,
    "report_deadline": "",         # 双报到: the date by which members should have reported ("" none)
}
LIMITS = {"review_hours": (1, 720), "start_grace_minutes": (1, 1440), "auto_confirm_hours": (1, 720),
          "default_hours_cap": (1, 24), "fence_radius_m": (50, 2000)}
FENCE_LIMITS = LIMITS["fence_radius_m"]
MAX_CATEGORIES = 30
MAX_LABEL_CHARS = 20
CATEGORY_CODE = re.compile(r"[a-z][a-z0-9_]{0,31}")


def merged(stored: dict | None) -> dict:
    """The settings in force: the defaults overlaid with what the tenant stored."""
    settings = {**DEFAULTS, **{key: value for key, value in (stored or {}).items() if key in DEFAULTS}}
    settings["categories"] = [dict(category) for category in settings["categories"]]
    return settings


def category_label(settings: dict, code: str) -> str | None:
    """The label of the tenant's category ``code``; None when the tenant has no such category."""
    for category in settings["categories"]:
        if category["code"] == code:
            return category["label"]
    return None


def check_categories(value, field: str = "categories") -> list[dict]:
    """A list of ``{code, label}``: codes lower-case ASCII (a letter first), unique; labels 1..20 characters."""
    if not isinstance(value, list) or not value:
        raise InvalidArgument("服务类别至少要有一项", code="CATEGORIES_INVALID", field=field)
    if len(value) > MAX_CATEGORIES:
        raise InvalidArgument(f"服务类别不能超过 {MAX_CATEGORIES} 项", code="CATEGORIES_INVALID", field=field)
    seen, result = set(), []
    for item in value:
        if not isinstance(item, dict):
            raise InvalidArgument("服务类别应为 {code, label} 对象", code="CATEGORIES_INVALID", field=field)
        code, label = item.get("code"), item.get("label")
        if not isinstance(code, str) or not CATEGORY_CODE.fullmatch(code.strip()):
            raise InvalidArgument("服务类别代码应为小写字母开头的字母、数字或下划线（至多 32 个字符）",
                                  code="CATEGORIES_INVALID", field=field)
        if not isinstance(label, str) or not 1 <= len(label.strip()) <= MAX_LABEL_CHARS:
            raise InvalidArgument(f"服务类别名称应为 1 到 {MAX_LABEL_CHARS} 个字符", code="CATEGORIES_INVALID",
                                  field=field)
        code = code.strip()
        if code in seen:
            raise InvalidArgument(f"服务类别代码重复：{code}", code="CATEGORIES_INVALID", field=field)
        seen.add(code)
        result.append({"code": code, "label": label.strip()})
    return result


def _deadline(value) -> str:
    if not isinstance(value, str):
        raise InvalidArgument("report_deadline 必须是字符串", code="INVALID_TYPE", field="report_deadline")
    value = value.strip()
    if value.lower() == "none":
        return ""
    if value:
        try:
            if not re.fullmatch(r"\d{4}-\d\d-\d\d", value):
                raise ValueError(value)
            date.fromisoformat(value)
        except ValueError:
            raise InvalidArgument("双报到截止日期格式应为 YYYY-MM-DD", code="DATE_INVALID",
                                  field="report_deadline") from None
    return value


def unchanged(value) -> bool:
    """What a partial update leaves as it is: a value not given. The gateway's messages carry every field, so a
    number not given arrives as 0, a list as [] and a text as "" (every number setting is at least 1, the category
    list never empty; the 双报到 deadline is cleared with "none")."""
    return value is None or (not isinstance(value, bool) and value in (0, "", []))


def validate(changes: dict, current: dict) -> dict:
    """The settings after ``changes`` (``unchanged`` values leave their setting as it is); InvalidArgument names
    the first bad field."""
    result = merged(current)
    for key, value in changes.items():
        if unchanged(value):
            continue
        if key not in DEFAULTS:
            raise InvalidArgument(f"未知的设置项 {key}", code="UNKNOWN_FIELD", field=key)
        if key == "categories":
            result[key] = check_categories(value)
        elif key == "report_deadline":
            result[key] = _deadline(value)
        else:
            low, high = LIMITS[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InvalidArgument(f"{key} 必须是 {low} 到 {high} 之间的整数", code="OUT_OF_RANGE", field=key)
            result[key] = value
    return result
