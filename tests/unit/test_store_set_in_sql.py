"""The embedded store's ``$set`` and ``$inc`` in SQL (``servicekit.storage.nx_server.update_one_in_sql``) against neosqlite's own
``update_one``: the same documents after the same updates, the same counts, the same refusals, on two in-memory
databases side by side."""
from datetime import datetime, timezone

import pytest
from neosqlite import Connection
from neosqlite.collection import Collection

from servicekit.storage.nx_server import _update_plan, update_one_in_sql

ORIGINAL = Collection.update_one

ATTEMPT = {"_id": "a1", "state": "in_progress", "deadline_at": "2026-12-07T10:00:00Z", "member_id": "m1",
           "questions": [{"id": "q1", "stem": "党章知识第1题", "options": ["甲", "乙"]}], "answers": {},
           "score": 0, "flag": False, "label": "text", "nested": {"kept": 1}, "list": [1, 2], "ratio": 0.5}


class Pair:
    """The same collection twice: one updated by neosqlite, one through the SQL path."""

    def __init__(self):
        self.theirs = Connection(":memory:")["docs"]
        self.ours = Connection(":memory:")["docs"]
        self.sql_writes = 0

    def insert(self, *docs) -> None:
        for doc in docs:
            self.theirs.insert_one(dict(doc))
            self.ours.insert_one(dict(doc))

    def update(self, filter, update, **options):
        theirs = _outcome(lambda: ORIGINAL(self.theirs, filter, update, **options))
        fell_back = []

        def original(*args, **kwargs):
            fell_back.append(True)
            return ORIGINAL(*args, **kwargs)
        ours = _outcome(lambda: update_one_in_sql(self.ours, original, filter, update, **options))
        self.sql_writes += not fell_back
        return theirs, ours, not fell_back

    def documents(self):
        return (sorted(self.theirs.find({}), key=lambda d: str(d["_id"])),
                sorted(self.ours.find({}), key=lambda d: str(d["_id"])))


def _outcome(update):
    try:
        result = update()
    except Exception as error:  # noqa: BLE001  the refusal is what is compared
        return type(error).__name__
    return result.matched_count, result.modified_count, result.upserted_id is not None


@pytest.fixture
def pair():
    made = Pair()
    made.insert(ATTEMPT, {**ATTEMPT, "_id": "a2", "state": "submitted"}, {"_id": "a3", "answers": "not an object"})
    return made


SQL_CASES = [
    ({"_id": "a1"}, {"$set": {"answers.q1": {"choices": ["A"]}}}),
    ({"_id": "a1", "state": "in_progress", "deadline_at": {"$gt": "2026-12-07T09:00:00Z"}},
     {"$set": {"answers.q1": {"text": "答案一"}}}),
    ({"_id": "a1"}, {"$set": {"label": "新的文字", "score": 7, "ratio": 0.25}}),
    ({"_id": "a1"}, {"$set": {"flag": True}}),
    ({"_id": "a1"}, {"$set": {"nested.added.deeper": [1, {"x": None}], "nested.kept": 2}}),
    ({"_id": "a1"}, {"$set": {"missing": None}}),
    ({"state": "in_progress"}, {"$set": {"answers.q-2": {"choices": ["B", "C"]}}}),
    ({"member_id": "m1"}, {"$set": {"score": 3.0}}),
    ({"_id": "a1"}, {"$inc": {"score": 2}}),
    ({"_id": "a1"}, {"$inc": {"count": 5, "nested.reads": -1}}),
    ({"_id": "a1"}, {"$inc": {"count": 0}}),
    ({"_id": "a1"}, {"$set": {"answers.q1": {"choices": ["A"]}}, "$inc": {"score": 10}}),
    ({"_id": "a1"}, {"$inc": {"score": 1}, "$setOnInsert": {"created": "today"}}, {"upsert": True}),
]


@pytest.mark.parametrize("case", SQL_CASES)
def test_a_plain_set_or_an_increment_is_written_in_sql_with_neosqlites_result(pair, case):
    filter, update, *options = case
    theirs, ours, in_sql = pair.update(filter, update, **(options[0] if options else {}))

    assert in_sql
    assert ours == theirs == (1, 1, False)
    assert pair.documents()[1] == pair.documents()[0]


OTHER_CASES = [
    ({"_id": "a1"}, {"$set": {"when": datetime(2026, 12, 7, tzinfo=timezone.utc)}}, {}),
    ({"_id": "a1"}, {"$set": {"score": 1}, "$unset": {"label": ""}}, {}),
    ({"_id": "new"}, {"$set": {"score": 1}}, {"upsert": True}),
    ({"_id": "new"}, {"$inc": {"count": 1}, "$setOnInsert": {"branch": "b1"}}, {"upsert": True}),
    ({"_id": "a1"}, {"$inc": {"score": 1}, "$setOnInsert": {"branch": "b1"}}, {}),
    ({"_id": "a1"}, {"$inc": {"label": 1}}, {}),
    ({"_id": "a1"}, {"$inc": {"ratio": 1}}, {}),
    ({"_id": "a1"}, {"$inc": {"score": 0.5}}, {}),
    ({"_id": "a1"}, {"$inc": {"score": True}}, {}),
    ({"_id": "a1"}, {"$set": {"score": 1}, "$inc": {"score": 1}}, {}),
    ({"_id": "a1"}, {"$mul": {"score": 2}}, {}),
    ({"_id": "a1"}, {"$set": {"list.0": 9}}, {}),
    ({"_id": "a1"}, {"$set": {"_id": "other"}}, {}),
    ({"_id": "a1"}, {"$set": {"nested": {"$bad": 1}}}, {}),
    ({"_id": "a1"}, {"$set": {"answers": {}, "answers.q1": 1}}, {}),
    ({"_id": "a1"}, {"$set": {"it's": 1}}, {}),
    ({"_id": "a1"}, {"$set": {"big": 2 ** 70}}, {}),
]


@pytest.mark.parametrize("filter,update,options", OTHER_CASES)
def test_any_other_update_takes_neosqlites_path(pair, filter, update, options):
    theirs, ours, in_sql = pair.update(filter, update, **options)

    assert not in_sql
    assert ours == theirs
    assert pair.documents()[1] == pair.documents()[0]


def test_no_match_counts_nothing_and_writes_nothing(pair):
    theirs, ours, in_sql = pair.update({"_id": "a2", "state": "in_progress"}, {"$set": {"answers.q1": {"x": 1}}})

    assert in_sql and ours == theirs == (0, 0, False)
    assert pair.documents()[1] == pair.documents()[0]


def test_the_same_value_again_is_matched_but_not_modified(pair):
    pair.update({"_id": "a1"}, {"$set": {"answers.q1": {"choices": ["A"]}, "score": 5}})

    theirs, ours, in_sql = pair.update({"_id": "a1"}, {"$set": {"answers.q1": {"choices": ["A"]}, "score": 5}})

    assert ours == theirs == (1, 0, False)
    assert pair.documents()[1] == pair.documents()[0]


def test_a_number_of_another_type_is_modified_as_mongodb_counts_it(pair):
    """neosqlite compares the documents as Python does (3 == 3.0) and says unchanged; MongoDB and the SQL path
    count the type, and both store the new value."""
    pair.update({"_id": "a1"}, {"$set": {"score": 3}})

    theirs, ours, in_sql = pair.update({"_id": "a1"}, {"$set": {"score": 3.0}})

    assert in_sql and ours == (1, 1, False) and theirs == (1, 0, False)
    assert pair.ours.find_one({"_id": "a1"})["score"] == 3.0


def test_a_field_under_a_value_that_is_not_an_object_is_left_as_neosqlite_leaves_it(pair):
    theirs, ours, in_sql = pair.update({"_id": "a3"}, {"$set": {"answers.q1": {"choices": ["A"]}}})

    assert not in_sql and ours == theirs
    assert pair.documents()[1] == pair.documents()[0]


def test_only_the_first_match_is_written(pair):
    pair.insert({**ATTEMPT, "_id": "a4"})

    theirs, ours, in_sql = pair.update({"state": "in_progress"}, {"$set": {"score": 99}})

    assert in_sql and ours == theirs == (1, 1, False)
    assert pair.documents()[1] == pair.documents()[0]
    assert sum(doc.get("score") == 99 for doc in pair.documents()[1]) == 1


def test_a_collection_with_indexes_finds_the_new_value_by_them():
    pair = Pair()
    for side in (pair.theirs, pair.ours):
        side.create_index("answers.q1.text")
    pair.insert(ATTEMPT)

    pair.update({"_id": "a1"}, {"$set": {"answers.q1": {"text": "学习党章"}}})

    assert pair.ours.find_one({"answers.q1.text": "学习党章"})["_id"] == "a1"
    assert pair.documents()[1] == pair.documents()[0]


def test_paths_are_quoted_for_sqlite():
    assert _update_plan({"$set": {"answers.q-1": {"a": 1}}}, False) == [
        ("set", '$."answers"."q-1"', ('$."answers"',), '{"a":1}')]
    assert _update_plan({"$set": {"flag": True}}, False)[0][3] == "1"
    assert _update_plan({"$set": {"x": float("nan")}}, False) is None


def test_an_upsert_that_finds_its_document_increments_it_and_ignores_what_an_insert_would_set(pair):
    theirs, ours, in_sql = pair.update({"_id": "a1"}, {"$inc": {"reads": 3}, "$setOnInsert": {"branch": "b1"}},
                                       upsert=True)

    assert in_sql and ours == theirs == (1, 1, False)
    assert pair.ours.find_one({"_id": "a1"})["reads"] == 3 and "branch" not in pair.ours.find_one({"_id": "a1"})


def test_increments_add_up_as_neosqlites_do(pair):
    for step in (1, 2, -5, 40):
        pair.update({"_id": "a1"}, {"$inc": {"score": step, "nested.reads": 1}})

    assert pair.documents()[1] == pair.documents()[0]
    assert pair.ours.find_one({"_id": "a1"})["score"] == 38 and pair.sql_writes == 4
