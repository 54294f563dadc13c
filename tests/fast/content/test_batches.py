"""The batch methods the gateway sends (gateway.batching): each item answered as its single call would be."""
from __future__ import annotations

from services.content.usecases.attempts import Attempts
from services.content.usecases.feed import Feed
from services.content.usecases.notices import Notices
from tests.fast.content.fakes import CITY_ADMIN, MEMBER


def test_a_batch_of_feeds_answers_each_caller_on_its_own(service, monkeypatch):
    monkeypatch.setattr(Feed, "feed", lambda self, caller, page_size, page_token:
                        {"member": caller.member_id, "size": page_size})
    answers = service.get_feeds([{"scope": MEMBER, "page_size": 5}, {"scope": {}}, {"scope": MEMBER}])
    assert answers[0] == {"result": {"member": "m_1", "size": 5}}
    assert answers[1]["error"]["code"] == "SCOPE_MISSING"             # the caller without a scope only
    assert answers[2] == {"result": {"member": "m_1", "size": 0}}


def test_every_batched_method_hands_its_items_to_its_use_case(service, monkeypatch):
    """Routing only: how each batch answers as its single calls is tested with the use cases (test_quizzes.py,
    test_feed_and_notices.py)."""
    calls = []
    monkeypatch.setattr(Notices, "open_items", lambda self, items:
                        [calls.append(("open", item["item_id"])) or {"result": {"id": item["item_id"]}}
                         for item in items])
    monkeypatch.setattr(Attempts, "start_all", lambda self, items:
                        [calls.append(("start", item["quiz_id"])) or {"result": {"id": "att"}} for item in items])
    monkeypatch.setattr(Attempts, "save_answers", lambda self, items:
                        [calls.append(("save", item["attempt_id"], item["question_id"])) or {"result": {}}
                         for item in items])
    monkeypatch.setattr(Attempts, "submit_all", lambda self, items:
                        [calls.append(("submit", item["attempt_id"])) or {"result": {"state": "submitted"}}
                         for item in items])
    assert service.get_items([{"scope": MEMBER, "item_id": "itm_1"}]) == [{"result": {"id": "itm_1"}}]
    assert service.start_quiz_attempts([{"scope": MEMBER, "quiz_id": "q1"}]) == [{"result": {"id": "att"}}]
    assert service.save_quiz_answers([{"scope": MEMBER, "attempt_id": "att", "question_id": "q",
                                       "choices": ["A"], "text": ""}]) == [{"result": {}}]
    assert service.submit_quiz_attempts([{"scope": CITY_ADMIN, "attempt_id": "att"}]) == \
        [{"result": {"state": "submitted"}}]
    assert calls == [("open", "itm_1"), ("start", "q1"), ("save", "att", "q"), ("submit", "att")]
