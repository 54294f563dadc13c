"""Events the volunteer service publishes (exchange ``volunteer.events``): the one definition.

Every payload also carries the envelope (event_id, event_type, occurred_at, schema_version, tenant_id).
Times are ISO-8601 UTC text. ``actor_kind`` is who acted: "citizen", "guest", "member", "manager" or "system".
"""
from servicekit.messaging.events import EventSpec

SOURCE = "volunteer"


def _spec(name: str, *fields: str) -> EventSpec:
    return EventSpec(SOURCE, name, fields)


# --- orders (群众点单 → 审单 → 派单 → 接单 → 服务 → 评单)
ORDER_PLACED = _spec("order_placed", "order_id", "community_id", "category", "actor_kind", "placed_at")
# decision "approve" | "reject"
ORDER_REVIEWED = _spec("order_reviewed", "order_id", "community_id", "decision", "reason", "reviewed_by",
                       "reviewed_at")
ORDER_MERGED = _spec("order_merged", "order_id", "into_order_id", "community_id", "merged_by", "merged_at")
# mode "claim" (members who reported to the community) | "team"
ORDER_DISPATCHED = _spec("order_dispatched", "order_id", "community_id", "mode", "team_id", "volunteers_needed",
                         "dispatched_by", "dispatched_at")
ORDER_CLAIMED = _spec("order_claimed", "order_id", "claim_id", "community_id", "member_id", "branch_id",
                      "claimed_at")
# reason: the member's words, or "timeout" when the sweep released a claim not checked in by the start + grace
CLAIM_WITHDRAWN = _spec("claim_withdrawn", "order_id", "claim_id", "member_id", "reason", "withdrawn_at")
SERVICE_CHECKED_IN = _spec("service_checked_in", "order_id", "claim_id", "member_id", "checked_in_at")
SERVICE_CHECKED_OUT = _spec("service_checked_out", "order_id", "claim_id", "member_id", "checked_out_at", "hours")
ORDER_COMPLETED = _spec("order_completed", "order_id", "community_id", "completed_at")
# actor_kind "system" when confirmed after auto_confirm_hours with no dispute
ORDER_CONFIRMED = _spec("order_confirmed", "order_id", "community_id", "actor_kind", "confirmed_at")
ORDER_RATED = _spec("order_rated", "order_id", "community_id", "rating", "rated_at")
ORDER_DISPUTED = _spec("order_disputed", "order_id", "community_id", "reason", "disputed_at")
# --- the hours ledger: one entry per member per order or team event (``entry_id`` "order:<id>:<member>" or
# "event:<id>:<member>"); scoring's points consumer awards volunteer_hours once per entry_id.
SOURCE_ORDER, SOURCE_EVENT = "order", "event"
HOURS_CREDITED = _spec("hours_credited", "entry_id", "member_id", "branch_id", "hours", "source_kind", "source_id",
                       "credited_at")
# --- 双报到: a member reported to its residential community (``reported_on`` a date, YYYY-MM-DD)
MEMBER_REPORTED = _spec("member_reported", "report_id", "member_id", "branch_id", "community_id", "reported_on")

ALL = [value for value in dict(globals()).values() if isinstance(value, EventSpec)]
