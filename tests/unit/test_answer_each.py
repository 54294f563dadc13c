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


def test_items_may_be_handled_at_once_and_are_answered_in_order():
    import eventlet

    running, most = [0], [0]

    def handle(item):
        running[0] += 1
        most[0] = max(most[0], running[0])
        eventlet.sleep(0.001 * (10 - item))      # later items finish first
        running[0] -= 1
        if item == 3:
            raise InvalidArgument("不对", code="BAD")
        return item * 2

    answers = answer_each(range(10), handle, concurrency=4)
    assert [a.get("result") for a in answers] == [0, 2, 4, None, 8, 10, 12, 14, 16, 18]
    assert answers[3]["error"]["code"] == "BAD"
    assert most[0] == 4                           # four at a time, never more
