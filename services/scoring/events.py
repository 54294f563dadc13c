"""Events the scoring service publishes (exchange ``scoring.events``): the one definition.

Every payload also carries the envelope (event_id, event_type, occurred_at, schema_version, tenant_id).
Times are ISO-8601 UTC text. Scoring learns scores and points from other services' events; what it publishes
itself is the democratic appraisal of members (民主评议党员, services/scoring/usecases/appraisals.py).
"""
from servicekit.messaging.events import EventSpec

SOURCE = "scoring"


def _spec(name: str, *fields: str) -> EventSpec:
    return EventSpec(SOURCE, name, fields)


# --- democratic appraisal: a branch's yearly appraisal opened, a vote cast, the grades decided
APPRAISAL_OPENED = _spec("appraisal_opened", "appraisal_id", "branch_id", "year", "members", "closes_at",
                         "opened_by")
# Who voted, never how: the choices are tallied without their voter and are in no event (docs/security.md).
VOTE_CAST = _spec("vote_cast", "appraisal_id", "branch_id", "member_id")
# counts: {grade: how many members were decided so}; the member's own grade is read through the API
APPRAISAL_DECIDED = _spec("appraisal_decided", "appraisal_id", "branch_id", "year", "decided_by", "counts",
                          "decided_at")

ALL = [value for value in dict(globals()).values() if isinstance(value, EventSpec)]
