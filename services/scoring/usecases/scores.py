"""A branch's themed-day score: read it, and a superior's rating of the day."""
from __future__ import annotations

from servicekit.errors import InvalidArgument, Rejected
from servicekit.security.scope import CallerScope
from servicekit.timestamps import stamp

from services.scoring import access
from services.scoring.arguments import text
from services.scoring.domain import score as score_rules
from services.scoring.domain.periods import parse_month
from services.scoring.domain.progress import was_held
from services.scoring.ranking_cache import note_written
from services.scoring.store import ScoringStore, score_row_of
from services.scoring.views import score_view


class Scores:
    def __init__(self, store: ScoringStore, clock):
        self.store = store
        self.clock = clock

    def get(self, caller: CallerScope, activity_id, branch_id, month) -> dict:
        return score_view(access.readable_activity(caller, self._activity(caller, activity_id, branch_id, month)))

    def rate(self, caller: CallerScope, activity_id, rating, comment) -> dict:
        """A superior's rating (0-100) of a day that was held; the score is recomputed with it at once."""
        activity = access.rateable_activity(caller, self._activity(caller, activity_id, "", ""))
        value = score_rules.check_rating(rating)
        if not was_held(activity.get("stages") or {}):
            raise Rejected("该主题党日尚未开展，不能评分", code="ACTIVITY_NOT_HELD", field="activity_id")
        comment = text(comment, "comment", required=False, max_length=500)
        now = stamp(self.clock.now())
        self.store.set_rating(activity["_id"], value, comment, caller.account_id, now)
        written = self.store.recompute([activity["_id"]], now)
        note_written([row for row in map(score_row_of, written) if row])
        [scored] = written or [self.store.activity(activity["_id"])]
        return score_view(scored)

    def _activity(self, caller: CallerScope, activity_id, branch_id, month) -> dict | None:
        activity_id = text(activity_id, "activity_id", required=False)
        if activity_id:
            return self.store.activity(activity_id)
        branch_id = text(branch_id, "branch_id", required=False) or caller.branch_id or ""
        if not branch_id:
            raise InvalidArgument("需要 activity_id，或 branch_id 和 month", code="REQUIRED", field="activity_id")
        month = parse_month(month)
        return next((doc for doc in self.store.activities_of_branch(branch_id) if doc.get("month") == month), None)
