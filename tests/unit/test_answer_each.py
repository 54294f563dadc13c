"""A batch method's answers: each item its own result or error, one failing item never failing another."""
from __future__ import annotations

from servicekit.errors import InvalidArgument
from servicekit.messaging.rpc import answer_each


def test_each_item_gets_its_own_answer_in_order(caplog):
    def handle(item):
        if item == "bad":
            raise InvalidArgument("不对", code="BAD", field="x")
        if item == "broken":
            raise KeyError("oops")
        return item.upper()

    answers = answer_each(["a", "bad", "broken", "b"], handle)
    assert answers[0] == {"result": "A"} and answers[3] == {"result": "B"}
    assert answers[1] == {"error": {"kind": "INVALID_ARGUMENT", "code": "BAD", "message": "不对", "field": "x"}}
    assert answers[2]["error"]["kind"] == "INTERNAL" and "oops" not in answers[2]["error"]["message"]
    assert "a batch item failed" in caplog.text


def test_no_items_no_answers():
    assert answer_each((), lambda item: item) == [] and answer_each(None, lambda item: item) == []
