"""Points from content's events against the real points store: caps apply, a better later attempt tops up, and
replaying a batch changes nothing."""
from __future__ import annotations

import secrets

import pytest

from servicekit.storage.mongo import open_store
from services.content import events as content
from services.scoring.points_store import PointsStore, points_database
from services.scoring.usecases.points_events import PointsApplier
from tests.support.scoring import ThemedDay

pytestmark = pytest.mark.integration
BRANCH = {"id": "b1", "name": "一支部", "path_ids": ["city", "county", "b1"], "field": "rural"}
DAY = "2026-05-12T02:00:00.000Z"


@pytest.fixture
def points(mongo_uri) -> PointsStore:
    return open_store(PointsStore, points_database(f"scoring_content_points_{secrets.token_hex(3)}"), mongo_uri)


def studied(member_id: str, key: str) -> dict:
    return content.ITEM_STUDIED.build("t1", package_id="pkg_1", item_id="", item_key=key, member_id=member_id,
                                      branch_id="b1", seconds=90, studied_at=DAY)


def finished(member_id: str, quiz_id: str, band: str) -> dict:
    return content.QUIZ_ATTEMPT_FINISHED.build("t1", quiz_id=quiz_id, attempt_id=secrets.token_hex(4), kind="quiz",
                                               member_id=member_id, branch_id="b1", score=1, max_score=1, band=band,
                                               finished_at=DAY)


def test_study_quiz_and_contest_points_respect_the_caps_and_replays_change_nothing(points):
    applier = PointsApplier(points)
    applier.apply([ThemedDay("t1", BRANCH, "2026-05", ["m1"]).issued()])        # the branch's place is known
    batch = [studied("m1", f"k{n}") for n in range(8)]                            # daily cap 6
    batch += [finished("m1", "q1", content.BAND_PASS), finished("m1", "q1", content.BAND_EXCELLENT),
              finished("m1", "q1", content.BAND_FAIL)]                            # levels 1, 2, 3 once each
    batch += [content.CONTEST_FINISHED.build("t1", quiz_id="c1", member_id="m1", branch_id="b1", rank=1, score=10,
                                             participants=50)]                    # 5 points, daily cap 5
    applier.apply(batch)
    balance = points.balance("m1", "2026")
    assert balance["by_category"] == {"study": 6, "quiz": 3, "contest": 5}
    assert balance["total"] == 14
    ledger = points.ledger_of("m1", "2026")
    assert len(ledger) == 12 and sorted(e["points"] for e in ledger if e["category"] == "study") == [0, 0] + [1] * 6
    # a member met only through content is placed under the branch, with its ancestors
    member = points.member("m1")
    assert (member["branch_id"], member["a1"]) == ("b1", "county")
    applier.apply(batch)                                                          # the whole batch again
    applier.apply([finished("m1", "q1", content.BAND_EXCELLENT)])                 # another attempt, same band
    assert points.balance("m1", "2026")["total"] == 14 and len(points.ledger_of("m1", "2026")) == 12


def test_a_quiz_cap_holds_across_quizzes_of_a_day(points):
    applier = PointsApplier(points)
    applier.apply([finished("m2", f"q{n}", content.BAND_EXCELLENT) for n in range(3)])   # 9 levels, daily cap 5
    assert points.balance("m2", "2026")["by_category"] == {"quiz": 5}
