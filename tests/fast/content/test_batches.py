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


def test_every_batched_method_answers_as_its_single_call(service, monkeypatch):
    calls = []
    monkeypatch.setattr(Notices, "open_items", lambda self, items:
                        [calls.append(("open", item["item_id"])) or {"result": {"id": item["item_id"]}}
                         for item in items])
    monkeypatch.setattr(Attempts, "start", lambda self, caller, quiz_id:
                        calls.append(("start", quiz_id)) or {"id": "att"})
    monkeypatch.setattr(Attempts, "save_answer", lambda self, caller, a, q, choices, text:
                        calls.append(("save", a, q, choices, text)) or {})
    monkeypatch.setattr(Attempts, "submit", lambda self, caller, a:
                        calls.append(("submit", a)) or {"state": "submitted"})
    assert service.get_items([{"scope": MEMBER, "item_id": "itm_1"}]) == [{"result": {"id": "itm_1"}}]
    assert service.start_quiz_attempts([{"scope": MEMBER, "quiz_id": "q1"}]) == [{"result": {"id": "att"}}]
    assert service.save_quiz_answers([{"scope": MEMBER, "attempt_id": "att", "question_id": "q",
                                       "choices": ["A"], "text": ""}]) == [{"result": {}}]
    assert service.submit_quiz_attempts([{"scope": CITY_ADMIN, "attempt_id": "att"}]) == \
        [{"result": {"state": "submitted"}}]
    assert calls == [("open", "itm_1"), ("start", "q1"), ("save", "att", "q", ["A"], ""), ("submit", "att")]
