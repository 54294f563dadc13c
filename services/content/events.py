"""Events the content service publishes (exchange ``content.events``): the one definition.

Every payload also carries the envelope (event_id, event_type, occurred_at, schema_version, tenant_id).
Times are ISO-8601 UTC text; ``org_path`` is the ids from the tenant root down to the node itself.
"""
from servicekit.messaging.events import EventSpec

SOURCE = "content"


def _spec(name: str, *fields: str) -> EventSpec:
    return EventSpec(SOURCE, name, fields)


# --- columns and publishing (栏目、审核发布)
CONTENT_SUBMITTED = _spec("content_submitted", "item_id", "org_id", "org_path", "kind", "title", "submitted_by")
CONTENT_PUBLISHED = _spec("content_published", "item_id", "org_id", "org_path", "kind", "title", "version",
                          "pushed", "published_by")
CONTENT_REJECTED = _spec("content_rejected", "item_id", "org_id", "kind", "title", "reason", "reviewed_by")
# A member opened a notice for the first time (已读).
NOTICE_READ = _spec("notice_read", "item_id", "member_id", "branch_id", "read_at")
# --- learning (学习套餐): an item counts as studied once the server saw its minimum time. ``item_id`` is the
# content item's id ("" for a link); ``item_key`` names the item within its package.
ITEM_STUDIED = _spec("item_studied", "package_id", "item_id", "item_key", "member_id", "branch_id", "seconds",
                     "studied_at")
# --- quizzes and contests (以考促学): score band "excellent" | "pass" | "fail".
BAND_EXCELLENT, BAND_PASS, BAND_FAIL = "excellent", "pass", "fail"
QUIZ_ATTEMPT_FINISHED = _spec("quiz_attempt_finished", "quiz_id", "attempt_id", "kind", "member_id", "branch_id",
                              "score", "max_score", "band", "finished_at")
CONTEST_FINISHED = _spec("contest_finished", "quiz_id", "member_id", "branch_id", "rank", "score",
                         "participants")
# --- mailbox, role models, development publicity
QUESTION_ASKED = _spec("question_asked", "letter_id", "to_org_id", "to_kind", "anonymous", "asked_at")
QUESTION_ANSWERED = _spec("question_answered", "letter_id", "to_org_id", "answered_by", "answered_at",
                          "overdue")
ROLE_MODEL_NAMED = _spec("role_model_named", "role_model_id", "branch_id", "member_id", "kind", "period",
                         "named_by")
PUBLICITY_OPENED = _spec("publicity_opened", "publicity_id", "member_id", "branch_id", "org_id", "step",
                         "opens_on", "closes_on")

ALL = [value for value in dict(globals()).values() if isinstance(value, EventSpec)]
