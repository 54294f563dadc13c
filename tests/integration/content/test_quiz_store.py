"""The quiz store's batch writes against the embedded store: a batch of starts, answers or gradings is one write
each, and each item keeps what its single write would: a number started twice is refused alone, an answer to an
attempt finished since it was checked is not kept, and a batch of gradings in which one attempt was finished
meanwhile writes nothing."""
from __future__ import annotations

import secrets

import pytest

from servicekit.storage.mongo import open_store
from services.content import events
from services.content.store import ContentStore

pytestmark = pytest.mark.integration
NOW, LATER, DEADLINE = "2026-12-06T08:00:00.000Z", "2026-12-06T08:05:00.000Z", "2026-12-06T08:10:00.000Z"


@pytest.fixture
def store(mongo_uri):
    return open_store(ContentStore, f"content_quiz_{secrets.token_hex(3)}", mongo_uri)


def attempt(member_id: str, number: int = 1, quiz_id: str = "quz_1") -> dict:
    return {"_id": f"atp_{member_id}_{number}", "attempt_key": f"{quiz_id}:{member_id}:{number}", "tenant_id": "t1",
            "quiz_id": quiz_id, "kind": "contest", "title": "竞赛", "member_id": member_id, "branch_id": "b1",
            "number": number, "state": "in_progress", "started_at": NOW, "deadline_at": DEADLINE,
            "expires_at": DEADLINE, "questions": [{"id": "q1", "order": ["A", "B"], "points": 10}], "answers": {}}


def grading(row: dict, score: int) -> tuple:
    """What the use case hands over for one attempt (``Attempts._graded``): fields, result_of, stats, events."""
    fields = {"state": "submitted", "score": score, "max_score": 10, "band": "pass", "seconds": 60,
              "finished_at": LATER, "right": {}}

    def result_of(prior):
        result = prior or {"_id": f"{row['quiz_id']}:{row['member_id']}", "quiz_id": row["quiz_id"],
                           "member_id": row["member_id"], "attempts": 0, "best": None}
        best = result["best"] if result["best"] and result["best"]["score"] >= score else {"score": score}
        return {**result, "attempts": result["attempts"] + 1, "best": best, "last": {"score": score}}
    stats = [{"tenant_id": "t1", "member_id": row["member_id"], "branch_id": "b1", "category": "党章", "answered": 1,
              "correct": 1 if score else 0, "updated_at": LATER}]
    finished = events.QUIZ_ATTEMPT_FINISHED.build("t1", LATER, quiz_id=row["quiz_id"], attempt_id=row["_id"],
                                                  kind="contest", member_id=row["member_id"], branch_id="b1",
                                                  score=score, max_score=10, band="pass", finished_at=LATER)
    return fields, result_of, stats, [finished]


def test_a_batch_of_starts_is_one_write_and_a_number_started_twice_is_refused_alone(store):
    store.add_attempt(attempt("m1"))
    twice = {**attempt("m1"), "_id": "atp_m1_again"}          # a second tap: the same number again
    refused = store.add_attempts([attempt("m2"), twice, attempt("m3")])
    assert refused == {"atp_m1_again"}
    assert {row["_id"] for row in store.attempts_by_ids(["atp_m1_1", "atp_m2_1", "atp_m3_1", "atp_m1_again"])} == \
        {"atp_m1_1", "atp_m2_1", "atp_m3_1"}
    assert store.add_attempts([]) == set()


def test_a_batch_of_answers_keeps_each_one_its_single_write_would(store):
    store.add_attempts([attempt("m1"), attempt("m2")])
    answers = [("atp_m1_1", "q1", {"choices": ["A"]}), ("atp_m2_1", "q1", {"choices": ["B"]}),
               ("atp_m1_1", "q1", {"choices": ["B"]})]                    # the later answer to a question wins
    assert store.save_answers(answers, NOW) == [True, True, True]
    assert store.attempt("atp_m1_1")["answers"] == {"q1": {"choices": ["B"]}}
    store.finish_attempt("atp_m2_1", *grading(attempt("m2"), 0))          # finished since the batch checked it
    assert store.save_answers([("atp_m1_1", "q1", {"choices": ["A"]}), ("atp_m2_1", "q1", {"choices": ["A"]})],
                              NOW) == [True, False]
    assert store.attempt("atp_m1_1")["answers"]["q1"] == {"choices": ["A"]}
    assert store.attempt("atp_m2_1")["answers"]["q1"] == {"choices": ["B"]}
    assert store.save_answers([("atp_m1_1", "q1", {"choices": ["B"]})], DEADLINE) == [False]     # past its deadline
    assert store.attempt("atp_m1_1")["answers"]["q1"] == {"choices": ["A"]}


def test_a_batch_of_gradings_is_one_commit_with_its_events_in_one_entry(store):
    first, second, other = attempt("m1", 1), attempt("m1", 2), attempt("m2")
    store.add_attempts([first, second, other])
    outbox_before = store.db.outbox.count_documents({})
    assert store.finish_attempts([(first, *grading(first, 10)), (second, *grading(second, 0)),
                                  (other, *grading(other, 0))]) is True
    assert [store.attempt(row["_id"])["state"] for row in (first, second, other)] == ["submitted"] * 3
    assert "expires_at" not in store.attempt(first["_id"])
    assert store.overdue_attempts("2026-12-07T00:00:00.000Z") == []
    mine = store.result_of("quz_1", "m1")                     # two attempts of one member: its result row chained
    assert (mine["attempts"], mine["best"], mine["last"]) == (2, {"score": 10}, {"score": 0})
    assert store.result_of("quz_1", "m2")["attempts"] == 1
    assert [(row["answered"], row["correct"]) for row in store.category_stats_of("m1")] == [(2, 1)]
    assert store.db.outbox.count_documents({}) == outbox_before + 1
    entry = store.db.outbox.find_one({"messages": {"$exists": True}})
    assert entry["messages"][0][1] == events.QUIZ_ATTEMPT_FINISHED.name and entry["messages"][0][3] == 3


def test_a_batch_of_gradings_with_one_finished_meanwhile_writes_nothing(store):
    done, running = attempt("m1"), attempt("m2")
    store.add_attempts([done, running])
    store.finish_attempt(done["_id"], *grading(done, 10))
    outbox_before = store.db.outbox.count_documents({})
    assert store.finish_attempts([(running, *grading(running, 10)), (done, *grading(done, 0))]) is False
    assert store.attempt(running["_id"])["state"] == "in_progress"
    assert store.result_of("quz_1", "m2") is None and store.category_stats_of("m2") == []
    assert store.result_of("quz_1", "m1")["last"] == {"score": 10}
    assert store.db.outbox.count_documents({}) == outbox_before
