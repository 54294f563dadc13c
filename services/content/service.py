"""Content service (nameko ``content``): columns and publishing, notices with read receipts, learning
packages with server-observed study time, the question bank, quizzes and contests, recommendations, role
models, development publicity, the branch's 三会一课 records (from attendance's meeting_recorded) and the
secretary mailbox (../shared/docs/domain.md, "Learning and content").

Entry points turn the caller's scope into a ``CallerScope`` and call one use case (``usecases/``); the RPC
contract is docs/content-rpc.md.
"""
from __future__ import annotations

import logging

from nameko.timer import timer

from servicekit.audit.entries import AuditEntries
from servicekit.messaging.consumers import BatchEventConsumer
from servicekit.messaging.outbox import OutboxRelay
from servicekit.messaging.peer_calls import peer
from servicekit.messaging.rpc import answer_each, rpc, service_rpc
from servicekit.process.clock import ServiceClock
from servicekit.process.metrics import Metrics
from servicekit.security.scope import caller_of
from servicekit.storage.mongo import MongoStore

from services.content.orgs import OrgPathsProvider, members_branches
from services.content.store import ContentStore
from services.content.usecases.settings import Settings
from services.content.usecases.community import Mailbox, Publicities, RoleModels
from services.content.usecases.community_events import PUBLICITY_SUBSCRIPTIONS, PublicityApplier
from services.content.usecases.learning import Learning
from services.content.usecases.meeting_records import MEETING_RECORD_SUBSCRIPTIONS, MeetingRecordApplier
from services.content.usecases.study import Study
from services.content.usecases.feed import Feed
from services.content.usecases.notices import Notices
from services.content.usecases.publishing import Publishing
from services.content.usecases.library import Library
from services.content.usecases.search import Search
from services.content.quizdesk import QuizDeskProvider
from services.content.usecases.attempts import Attempts
from services.content.usecases.questions import Questions
from services.content.usecases.quizzes import Quizzes
from services.content.usecases.recommendations import Recommendations

log = logging.getLogger(__name__)


class ContentService(AuditEntries):
    name = "content"

    store: ContentStore = MongoStore(ContentStore)
    relay = OutboxRelay()
    metrics = Metrics()
    clock = ServiceClock()
    identity = peer("identity")           # organisation paths and rosters, with the caller's scope
    org_paths = OrgPathsProvider()
    quiz_desk = QuizDeskProvider()        # quizzes, question pools, settings and leaderboards kept per process
    scoring = peer("scoring")             # role models: the period's member points, with the caller's scope
    # development publicity: identity's member_status_changed (services/content/usecases/community_events.py)
    publicity_events = BatchEventConsumer("publicity", PUBLICITY_SUBSCRIPTIONS, PublicityApplier.for_container,
                                          max_batch=50, max_wait_ms=500, quiet_ms=50)
    # 三会一课 records in the branch's column: attendance's meeting_recorded (services/content/usecases/meeting_records.py)
    meeting_record_events = BatchEventConsumer("meeting_records", MEETING_RECORD_SUBSCRIPTIONS,
                                               MeetingRecordApplier.for_container, max_batch=50, max_wait_ms=500,
                                               quiet_ms=50)

    # --- use cases ------------------------------------------------------------------
    @property
    def recommendations(self) -> Recommendations:
        return Recommendations(self.store, self.clock, self.identity, self.org_paths)

    @property
    def bank_questions(self) -> Questions:
        return Questions(self.store, self.clock, self.identity, self.org_paths, self.quiz_desk)

    @property
    def quizzes(self) -> Quizzes:
        return Quizzes(self.store, self.clock, self.identity, self.org_paths, self.quiz_desk)

    @property
    def quiz_attempts(self) -> Attempts:
        return Attempts(self.store, self.clock, self.identity, self.org_paths, self.quiz_desk)

    @property
    def settings(self) -> Settings:
        return Settings(self.store, self.clock, self.identity, self.org_paths)

    @property
    def role_models(self) -> RoleModels:
        return RoleModels(self.store, self.clock, self.identity, self.org_paths, self.scoring)

    @property
    def publicities(self) -> Publicities:
        return Publicities(self.store, self.clock, self.identity, self.org_paths)

    @property
    def mailbox(self) -> Mailbox:
        return Mailbox(self.store, self.clock, self.identity, self.org_paths)

    @property
    def publishing(self) -> Publishing:
        return Publishing(self.store, self.clock, self.identity, self.org_paths)

    @property
    def feed(self) -> Feed:
        return Feed(self.store, self.clock, self.identity, self.org_paths)

    @property
    def notices(self) -> Notices:
        return Notices(self.store, self.clock, self.identity, self.org_paths)

    @property
    def library(self) -> Library:
        return Library(self.store, self.clock, self.identity, self.org_paths)

    @property
    def item_search(self) -> Search:
        return Search(self.store, self.clock, self.identity, self.org_paths)

    @property
    def learning(self) -> Learning:
        return Learning(self.store, self.clock, self.identity, self.org_paths)

    @property
    def study(self) -> Study:
        return Study(self.store, self.clock, self.identity, self.org_paths)

    # --- settings -------------------------------------------------------------------
    @rpc
    def get_settings(self, scope):
        return self.settings.get(caller_of(scope))

    @rpc
    def set_settings(self, scope, settings=None):
        return self.settings.set(caller_of(scope), settings)

    # --- columns, items, feed, notices, attachments, search -------------------------
    @rpc
    def list_columns(self, scope, org_id=""):
        return self.publishing.list_columns(caller_of(scope), org_id)

    @rpc
    def create_column(self, scope, org_id="", name="", review_required=None):
        return self.publishing.create_column(caller_of(scope), org_id, name, review_required)

    @rpc
    def create_item(self, scope, column_id="", kind="", title="", body="", summary="", tags=None,
                    attachment_ids=None):
        return self.publishing.create_item(caller_of(scope), column_id, kind, title, body, summary, tags,
                                           attachment_ids)

    @rpc
    def update_item(self, scope, item_id="", title=None, body=None, summary=None, tags=None, attachment_ids=None):
        return self.publishing.update_item(caller_of(scope), item_id, title, body, summary, tags, attachment_ids)

    @rpc
    def submit_item(self, scope, item_id=""):
        return self.publishing.submit_item(caller_of(scope), item_id)

    @rpc
    def review_item(self, scope, item_id="", decision="", reason=""):
        return self.publishing.review_item(caller_of(scope), item_id, decision, reason)

    @rpc
    def withdraw_item(self, scope, item_id="", reason=""):
        return self.publishing.withdraw_item(caller_of(scope), item_id, reason)

    @rpc
    def pin_item(self, scope, item_id="", pinned_until=""):
        return self.publishing.pin_item(caller_of(scope), item_id, pinned_until)

    @rpc
    def push_item(self, scope, item_id="", pushed=None):
        return self.publishing.push_item(caller_of(scope), item_id, pushed)

    @rpc
    def item_history(self, scope, item_id=""):
        return self.publishing.item_history(caller_of(scope), item_id)

    @rpc
    def list_items(self, scope, org_id="", status="", kind="", column_id="", page_size=0, page_token=""):
        return self.publishing.list_items(caller_of(scope), org_id, status, kind, column_id, page_size, page_token)

    @rpc
    def get_feed(self, scope, page_size=0, page_token=""):
        return self.feed.feed(caller_of(scope), page_size, page_token)

    @rpc
    def get_item(self, scope, item_id=""):
        return self.notices.open_item(caller_of(scope), item_id)

    @rpc
    def list_notices(self, scope, org_id=""):
        return self.notices.list_notices(caller_of(scope), org_id)

    @rpc
    def notice_receipts(self, scope, item_id="", page_size=0, page_token=""):
        return self.notices.receipts(caller_of(scope), item_id, page_size, page_token)

    @rpc
    def notice_branch_receipts(self, scope, item_id="", branch_id=""):
        return self.notices.branch_receipts(caller_of(scope), item_id, branch_id)

    @rpc
    def remind_unread(self, scope, item_id="", branch_id=""):
        return self.notices.remind(caller_of(scope), item_id, branch_id)

    # --- attachments and search (library) ------------------------------------------
    @rpc
    def upload_attachment(self, scope, org_id="", media_type="", filename="", content=""):
        return self.library.upload(caller_of(scope), org_id, media_type, content, filename)

    @rpc
    def list_attachments(self, scope, org_id="", page_size=0, page_token=""):
        return self.library.list(caller_of(scope), org_id, page_size, page_token)

    @rpc
    def download_attachment(self, scope, attachment_id=""):
        return self.library.download(caller_of(scope), attachment_id)

    @rpc
    def search_items(self, scope, query="", page_size=0, page_token=""):
        return self.item_search.search(caller_of(scope), query, page_size, page_token)

    @rpc
    def recent_searches(self, scope):
        return self.item_search.recent(caller_of(scope))

    # --- learning packages and study sessions ---------------------------------------
    @rpc
    def create_package(self, scope, org_id="", month="", title="", due_on="", items=None):
        return self.learning.create(caller_of(scope), org_id, month, title, due_on, items)

    @rpc
    def update_package(self, scope, package_id="", title=None, due_on=None, items=None):
        return self.learning.update(caller_of(scope), package_id, title, due_on, items)

    @rpc
    def publish_package(self, scope, package_id=""):
        return self.learning.publish(caller_of(scope), package_id)

    @rpc
    def close_package(self, scope, package_id=""):
        return self.learning.close(caller_of(scope), package_id)

    @rpc
    def get_package(self, scope, package_id=""):
        return self.learning.get(caller_of(scope), package_id)

    @rpc
    def list_packages(self, scope, org_id="", month="", status="", page_size=0, page_token=""):
        return self.learning.list(caller_of(scope), org_id, month, status, page_size, page_token)

    @rpc
    def list_my_packages(self, scope, month=""):
        return self.learning.mine(caller_of(scope), month)

    @rpc
    def package_progress(self, scope, package_id="", org_id="", by=""):
        return self.learning.progress(caller_of(scope), package_id, org_id, by)

    @rpc
    def package_branch_members(self, scope, package_id="", branch_id=""):
        return self.learning.branch_members(caller_of(scope), package_id, branch_id)

    @rpc
    def start_study(self, scope, package_id="", item_key=""):
        return self.study.start(caller_of(scope), package_id, item_key)

    @rpc
    def study_heartbeat(self, scope, session_id=""):
        return self.study.heartbeat(caller_of(scope), session_id)

    @rpc
    def end_study(self, scope, session_id=""):
        return self.study.end(caller_of(scope), session_id)

    @rpc
    def study_ranking(self, scope, branch_id="", month=""):
        return self.learning.study_ranking(caller_of(scope), branch_id, month)


    # --- question bank, quizzes, daily question, contests ---------------------------
    @rpc
    def create_bank_question(self, scope, org_id="", kind="", stem="", options=None, correct=None, accepted=None,
                             category="", tags=None, difficulty=0, explanation=""):
        return self.bank_questions.create(caller_of(scope), org_id, kind, stem, options, correct, accepted, category,
                                          tags, difficulty, explanation)

    @rpc
    def list_bank_questions(self, scope, org_id="", category="", difficulty=0, kind="", page_size=0, page_token=""):
        return self.bank_questions.list(caller_of(scope), org_id, category, difficulty, kind, page_size, page_token)

    @rpc
    def retire_bank_question(self, scope, question_id=""):
        return self.bank_questions.retire(caller_of(scope), question_id)

    @rpc
    def import_bank_questions(self, scope, org_id="", format="", content=""):  # noqa: A002  the request's field
        return self.bank_questions.import_file(caller_of(scope), org_id, format, content)

    @rpc
    def create_quiz(self, scope, org_id="", kind="", title="", description="", open_at="", close_at="",
                    time_limit_seconds=0, max_attempts=0, grading="", review="", draw=None):
        return self.quizzes.create(caller_of(scope), org_id, kind, title, description, open_at, close_at,
                                   time_limit_seconds, max_attempts, grading, review, draw)

    @rpc
    def list_quizzes(self, scope, org_id="", kind="", page_size=0, page_token=""):
        return self.quizzes.list(caller_of(scope), org_id, kind, page_size, page_token)

    @rpc
    def list_my_quizzes(self, scope):
        return self.quizzes.list_mine(caller_of(scope))

    @rpc
    def get_quiz(self, scope, quiz_id=""):
        return self.quizzes.get(caller_of(scope), quiz_id)

    @rpc
    def quiz_leaderboard(self, scope, quiz_id="", by="", limit=0):
        return self.quizzes.leaderboard(caller_of(scope), quiz_id, by, limit)

    @rpc
    def start_quiz_attempt(self, scope, quiz_id=""):
        return self.quiz_attempts.start(caller_of(scope), quiz_id)

    @rpc
    def get_quiz_attempt(self, scope, attempt_id=""):
        return self.quiz_attempts.get(caller_of(scope), attempt_id)

    @rpc
    def save_quiz_answer(self, scope, attempt_id="", question_id="", choices=None, text=""):
        return self.quiz_attempts.save_answer(caller_of(scope), attempt_id, question_id, choices, text)

    @rpc
    def submit_quiz_attempt(self, scope, attempt_id=""):
        return self.quiz_attempts.submit(caller_of(scope), attempt_id)

    @rpc
    def get_daily_question(self, scope):
        return self.quiz_attempts.daily(caller_of(scope))

    @rpc
    def answer_daily_question(self, scope, question_id="", choices=None, text=""):
        return self.quiz_attempts.answer_daily(caller_of(scope), question_id, choices, text)

    @service_rpc("content")
    def run_quiz_sweep(self):
        """Finish overdue attempts and rank closed contests now (tests; the timer does it every few seconds)."""
        return self.quiz_attempts.sweep()

    @timer(interval=5)
    def sweep_quizzes(self):
        self.quiz_attempts.tick()

    @timer(interval=30, eager=True)
    def keep_org_tree(self):
        """The whole organisation tree cached (``OrgPaths.keep_tree``): read at start, again when due. A failed
        read is logged and tried again at the next tick; until then paths are asked as they are needed."""
        try:
            self.org_paths.keep_tree(self.identity)
        except Exception as error:  # noqa: BLE001
            log.warning("organisation tree not read: %s", error)

    @timer(interval=30, eager=True)
    def keep_feed_heads(self):
        """Every node's published heads cached (``warm_feed_heads``), so that no member's feed reads the store
        after a start or another instance's publish. A failed read is tried again at the next tick."""
        try:
            self.store.warm_feed_heads()
        except Exception as error:  # noqa: BLE001
            log.warning("feed heads not read: %s", error)

    # --- recommendations and gap reports --------------------------------------------
    @rpc
    def list_recommendations(self, scope, limit=0):
        return self.recommendations.for_member(caller_of(scope), limit)

    @rpc
    def branch_gap_report(self, scope, branch_id="", month=""):
        return self.recommendations.branch_report(caller_of(scope), branch_id, month)

    # --- role models, development publicity, mailbox --------------------------------
    @rpc
    def propose_role_models(self, scope, branch_id="", kind="", period=""):
        return self.role_models.propose(caller_of(scope), branch_id, kind, period)

    @rpc
    def name_role_model(self, scope, branch_id="", kind="", period="", member_id="", citation=""):
        return self.role_models.name(caller_of(scope), branch_id, kind, period, member_id, citation)

    @rpc
    def list_role_models(self, scope, org_id="", kind="", page_size=0, page_token=""):
        return self.role_models.list(caller_of(scope), org_id, kind, page_size, page_token)

    @rpc
    def list_publicities(self, scope, org_id="", state="", page_size=0, page_token=""):
        return self.publicities.list(caller_of(scope), org_id, state, page_size, page_token)

    @rpc
    def get_publicity(self, scope, publicity_id=""):
        return self.publicities.get(caller_of(scope), publicity_id)

    @rpc
    def object_to_publicity(self, scope, publicity_id="", reason="", anonymous=None, name=""):
        return self.publicities.object(caller_of(scope), publicity_id, reason, anonymous, name)

    @rpc
    def list_objections(self, scope, publicity_id=""):
        return self.publicities.objections(caller_of(scope), publicity_id)

    @rpc
    def handle_objection(self, scope, objection_id="", outcome="", note=""):
        return self.publicities.handle(caller_of(scope), objection_id, outcome, note)

    @timer(interval=300)
    def close_due_publicities(self):
        return self.publicities.close_due()

    # a member's publicities, for identity's development record (发展党员纪实); identity checks the reader
    @service_rpc("identity")
    def member_publicities(self, tenant_id="", member_id=""):
        return self.publicities.of_member(tenant_id, member_id)

    @rpc
    def write_letter(self, scope, to_kind="", subject="", body="", anonymous=None):
        return self.mailbox.write(caller_of(scope), to_kind, subject, body, anonymous)

    @rpc
    def list_my_letters(self, scope, page_size=0, page_token=""):
        return self.mailbox.mine(caller_of(scope), page_size, page_token)

    @rpc
    def list_letters(self, scope, org_id="", state="", page_size=0, page_token=""):
        return self.mailbox.list(caller_of(scope), org_id, state, page_size, page_token)

    @rpc
    def get_letter(self, scope, letter_id=""):
        return self.mailbox.get(caller_of(scope), letter_id)

    @rpc
    def answer_letter(self, scope, letter_id="", answer=""):
        return self.mailbox.answer(caller_of(scope), letter_id, answer)

    @rpc
    def withdraw_letter(self, scope, letter_id=""):
        return self.mailbox.withdraw(caller_of(scope), letter_id)

    # --- batches the gateway sends (gateway.batching): the members' busiest calls, many in one RPC -----------
    @service_rpc("gateway")
    def get_feeds(self, items=()):
        members = members_branches(items)
        self.org_paths.warm(self.identity, members)
        self.feed.warm(members)
        return answer_each(items, lambda item: self.get_feed(**item))

    @service_rpc("gateway")
    def get_items(self, items=()):
        self.org_paths.warm(self.identity, members_branches(items))
        return self.notices.open_items(items)

    @service_rpc("gateway")
    def start_quiz_attempts(self, items=()):
        return self.quiz_attempts.start_all(items)

    @service_rpc("gateway")
    def save_quiz_answers(self, items=()):
        return self.quiz_attempts.save_answers(items)

    @service_rpc("gateway")
    def submit_quiz_attempts(self, items=()):
        return self.quiz_attempts.submit_all(items)
