"""Scoring service (nameko ``scoring``): branch scores, rankings, supervision outputs, member points.

Scores are learned from attendance events by the batched score consumer, points by ``PointsConsumer`` (a
process of its own); the entry points hand each call to one use case (``usecases/``). The RPC contract is
docs/scoring-rpc.md.
"""
from __future__ import annotations


from servicekit.audit.entries import AuditEntries
from servicekit.messaging.consumers import BatchEventConsumer
from servicekit.messaging.outbox import OutboxRelay
from servicekit.messaging.peer_calls import peer
from servicekit.messaging.rpc import rpc
from servicekit.process.clock import ServiceClock
from servicekit.process.metrics import Metrics
from servicekit.security.scope import caller_of
from servicekit.storage.mongo import MongoStore

from services.scoring.points_store import PointsStore, points_database
from services.scoring.ranking_cache import RankingsProvider
from services.scoring.store import ScoringStore
from services.scoring.usecases.appraisals import Appraisals
from services.scoring.usecases.points import Points
from services.scoring.usecases.points_events import POINTS_SUBSCRIPTIONS, PointsApplier
from services.scoring.usecases.rankings import Rankings
from services.scoring.usecases.reconcile import Reconciliations
from services.scoring.usecases.score_events import SCORE_SUBSCRIPTIONS, ScoreApplier
from services.scoring.usecases.scores import Scores
from services.scoring.usecases.subtrees import Subtrees


class ScoringService(AuditEntries):
    name = "scoring"

    store: ScoringStore = MongoStore(ScoringStore)
    points_store: PointsStore = MongoStore(PointsStore, database_of=points_database)   # a database of its own
    ranking_cache = RankingsProvider()
    clock = ServiceClock()
    metrics = Metrics()
    attendance = peer("attendance")
    identity = peer("identity")          # organisations' names and places, with the caller's scope
    relay = OutboxRelay()                # the democratic appraisal's events (events.py)
    score_events = BatchEventConsumer("score", SCORE_SUBSCRIPTIONS, ScoreApplier.for_container,
                                      max_batch=1000, max_wait_ms=100)
    # Member points are learned by PointsConsumer below, a process of its own.

    # ------------------------------------------------------------------ scores
    @rpc
    def get_branch_score(self, scope, activity_id="", branch_id="", month=""):
        return self.scores.get(caller_of(scope), activity_id, branch_id, month)

    @rpc
    def rate_activity(self, scope, activity_id="", rating=None, comment=""):
        return self.scores.rate(caller_of(scope), activity_id, rating, comment)

    # ------------------------------------------------------ rankings, reports
    @rpc
    def get_ranking(self, scope, org_id="", period="", field="", category="", page_size=0, page_token=""):
        return self.rankings.ranking(caller_of(scope), org_id, period, field, category, page_size, page_token)

    @rpc
    def get_progress(self, scope, org_id="", period="", group_by=""):
        return self.rankings.progress(caller_of(scope), org_id, period, group_by)

    @rpc
    def get_trend(self, scope, branch_id="", month_from="", month_to=""):
        return self.rankings.trend(caller_of(scope), branch_id, month_from, month_to)

    @rpc
    def compare_orgs(self, scope, org_ids=None, period=""):
        return self.rankings.compare(caller_of(scope), org_ids, period)

    @rpc
    def spot_check(self, scope, org_id="", month="", sample_size=0, seed=0):
        return self.rankings.spot_check(caller_of(scope), org_id, month, sample_size, seed)

    @rpc
    def supervision_list(self, scope, org_id="", month="", today=""):
        return self.rankings.supervision_list(caller_of(scope), org_id, month, today)

    @rpc
    def quarterly_bulletin(self, scope, org_id="", quarter=""):
        return self.rankings.bulletin(caller_of(scope), org_id, quarter)

    @rpc
    def annual_assessment(self, scope, org_id="", year="", page_size=0, page_token=""):
        return self.rankings.assessment(caller_of(scope), org_id, year, page_size, page_token)

    @rpc
    def export_report(self, scope, org_id="", kind="", period="", today=""):
        return self.rankings.export(caller_of(scope), org_id, kind, period, today)

    # --------------------------------------------------------------- reconcile
    @rpc
    def reconcile(self, scope, org_id="", period=""):
        return self.reconciliations.reconcile(caller_of(scope), org_id, period)

    # ------------------------------------------------------------------ points
    @rpc
    def get_points_rules(self, scope):
        return self.points.rules(caller_of(scope))

    @rpc
    def set_points_rules(self, scope, rules=None):
        return self.points.set_rules(caller_of(scope), rules)

    @rpc
    def get_ledger(self, scope, member_id="", cycle=""):
        return self.points.ledger(caller_of(scope), member_id, cycle)

    @rpc
    def add_deduction(self, scope, member_id="", code="", reason="", request_id=""):
        return self.points.add_deduction(caller_of(scope), member_id, code, reason, request_id)

    @rpc
    def correct_entry(self, scope, entry_id="", reason=""):
        return self.points.correct_entry(caller_of(scope), entry_id, reason)

    @rpc
    def list_talk_candidates(self, scope, org_id="", cycle="", page_size=0, page_token=""):
        return self.points.talk_candidates(caller_of(scope), org_id, cycle, page_size, page_token)

    @rpc
    def record_talk(self, scope, member_id="", cycle="", held_on="", note=""):
        return self.points.record_talk(caller_of(scope), member_id, cycle, held_on, note)

    @rpc
    def list_talks(self, scope, org_id="", cycle="", page_size=0, page_token=""):
        return self.points.talks(caller_of(scope), org_id, cycle, page_size, page_token)

    # ------------------------------------------------- democratic appraisal
    @rpc
    def create_appraisal(self, scope, org_id="", year="", closes_at=""):
        return self.appraisals.create(caller_of(scope), org_id, year, closes_at)

    @rpc
    def open_appraisal(self, scope, appraisal_id=""):
        return self.appraisals.open(caller_of(scope), appraisal_id)

    @rpc
    def get_appraisal(self, scope, appraisal_id=""):
        return self.appraisals.get(caller_of(scope), appraisal_id)

    @rpc
    def list_appraisals(self, scope, org_id="", year="", page_size=0, page_token=""):
        return self.appraisals.list(caller_of(scope), org_id, year, page_size, page_token)

    @rpc
    def list_my_appraisals(self, scope):
        return self.appraisals.mine(caller_of(scope))

    @rpc
    def submit_review(self, scope, appraisal_id="", member_id="", text=""):
        return self.appraisals.review(caller_of(scope), appraisal_id, member_id, text)

    @rpc
    def cast_vote(self, scope, appraisal_id="", choices=None):
        return self.appraisals.vote(caller_of(scope), appraisal_id, choices)

    @rpc
    def decide_appraisal(self, scope, appraisal_id="", decided_by="", grades=None):
        return self.appraisals.decide(caller_of(scope), appraisal_id, decided_by, grades)

    @rpc
    def set_appraisal_settings(self, scope, excellent_max_ratio=0.0, flag_negative_share=0.0):
        return self.appraisals.set_settings(caller_of(scope), excellent_max_ratio, flag_negative_share)

    # ------------------------------------------ internal: other services only
    # Not in the gateway's operation table: content's role models (每周一先、每月一星) read the period's points.
    @rpc
    def member_points_totals(self, scope, branch_id="", since="", until=""):
        return self.points.member_totals(caller_of(scope), branch_id, since, until)

    # --------------------------------------------------------------- use cases
    @property
    def scores(self) -> Scores:
        return Scores(self.store, self.clock)

    @property
    def rankings(self) -> Rankings:
        return Rankings(self.store, self.ranking_cache, self.clock, self.subtrees)

    @property
    def reconciliations(self) -> Reconciliations:
        return Reconciliations(self.store, self.attendance, self.subtrees)

    @property
    def points(self) -> Points:
        return Points(self.points_store, self.clock, self.subtrees)

    @property
    def appraisals(self) -> Appraisals:
        return Appraisals(self.store, self.points_store, self.clock, self.identity)

    @property
    def subtrees(self) -> Subtrees:
        return Subtrees(self.store, self.identity)


class PointsConsumer:
    """Member points (积分), learned in a process of its own beside ScoringService
    (``python -m servicekit.process.runner services.scoring.service:PointsConsumer``) so that it can run at a
    lower CPU priority: points are not live, and at a themed day's peak the CPU goes to the scans and the live
    scores (docs/performance.md#points-consumer-priority). It bears the service's name, so its queues
    (``evt-...--scoring.points``) and its database (``points_database("scoring")``) are the scoring service's."""
    name = "scoring"

    metrics = Metrics()
    # While events keep coming (a city's closings), a batch gathers up to a second of them (large batches cost
    # the store less per sign-out); a lone event waits 200 ms.
    points_events = BatchEventConsumer("points", POINTS_SUBSCRIPTIONS, PointsApplier.for_container,
                                       max_batch=1000, max_wait_ms=1000, quiet_ms=200)
