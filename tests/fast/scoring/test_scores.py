"""Reading a branch's score and a superior's rating of its day: who may, which days, what is written."""
from __future__ import annotations

import pytest

from servicekit.errors import InvalidArgument, NotFound, PermissionDenied, Rejected
from tests.fast.scoring.fakes import (COUNTY_ADMIN, FOREIGN_ADMIN, ISSUED_ONLY, MEMBER, NOW_STAMP, SECRETARY,
                                      activity)


def test_a_superior_rates_a_held_day_and_its_score_is_recomputed_at_the_clocks_time(service, store):
    day = activity()
    store.activity.return_value = day
    store.recompute.return_value = [{**day, "rating": 90, "rating_comment": "很好", "score": 81.5}]
    answer = service.rate_activity(scope=COUNTY_ADMIN, activity_id="act_1", rating=90, comment="很好")
    store.set_rating.assert_called_once_with("act_1", 90, "很好", "acc_org_admin_org_county", NOW_STAMP)
    store.recompute.assert_called_once_with(["act_1"], NOW_STAMP)
    assert (answer["activity_id"], answer["rating"], answer["score"], answer["rating_pending"]) == (
        "act_1", 90, 81.5, False)


def test_a_day_not_held_cannot_be_rated_and_nothing_is_written(service, store):
    store.activity.return_value = activity(ISSUED_ONLY)
    with pytest.raises(Rejected) as refused:
        service.rate_activity(scope=COUNTY_ADMIN, activity_id="act_1", rating=90)
    assert (refused.value.code, refused.value.field) == ("ACTIVITY_NOT_HELD", "activity_id")
    store.set_rating.assert_not_called()
    store.recompute.assert_not_called()


@pytest.mark.parametrize("scope, error, code", [
    (SECRETARY, PermissionDenied, "NOT_SUPERIOR"),          # the branch's own secretary is no superior
    (MEMBER, PermissionDenied, "NOT_SUPERIOR"),
    (FOREIGN_ADMIN, NotFound, "ACTIVITY_NOT_FOUND"),         # another city's admin does not see it at all
])
def test_only_an_admin_above_the_branch_rates(service, store, scope, error, code):
    store.activity.return_value = activity()
    with pytest.raises(error) as refused:
        service.rate_activity(scope=scope, activity_id="act_1", rating=90)
    assert refused.value.code == code
    store.set_rating.assert_not_called()


@pytest.mark.parametrize("rating, code", [(101, "RATING_OUT_OF_RANGE"), (-1, "RATING_OUT_OF_RANGE"),
                                          (80.5, "RATING_INVALID"), (True, "RATING_INVALID"), ("90", "RATING_INVALID")])
def test_a_rating_is_a_whole_number_from_0_to_100(service, store, rating, code):
    store.activity.return_value = activity()
    with pytest.raises(InvalidArgument) as refused:
        service.rate_activity(scope=COUNTY_ADMIN, activity_id="act_1", rating=rating)
    assert refused.value.code == code
    store.set_rating.assert_not_called()


def test_a_comment_longer_than_500_characters_is_refused_before_the_write(service, store):
    store.activity.return_value = activity()
    with pytest.raises(InvalidArgument):
        service.rate_activity(scope=COUNTY_ADMIN, activity_id="act_1", rating=90, comment="长" * 501)
    store.set_rating.assert_not_called()


def test_a_member_reads_the_score_of_the_own_branchs_month(service, store):
    store.activities_of_branch.return_value = [activity(month="2026-10", _id="act_0"), activity()]
    answer = service.get_branch_score(scope=MEMBER, month="2026-11")
    store.activities_of_branch.assert_called_once_with("org_branch")
    assert (answer["activity_id"], answer["score"], answer["held"]) == ("act_1", 76.5, True)


def test_a_day_not_held_reads_as_no_score(service, store):
    store.activity.return_value = activity(ISSUED_ONLY)
    answer = service.get_branch_score(scope=COUNTY_ADMIN, activity_id="act_1")
    assert (answer["score"], answer["held"], answer["breakdown"]) == (0.0, False, {})


def test_a_score_outside_the_callers_subtree_is_not_found(service, store):
    store.activity.return_value = activity()
    with pytest.raises(NotFound) as refused:
        service.get_branch_score(scope=FOREIGN_ADMIN, activity_id="act_1")
    assert refused.value.code == "ACTIVITY_NOT_FOUND"


def test_without_an_activity_id_a_caller_outside_a_branch_must_name_one(service, store):
    with pytest.raises(InvalidArgument) as refused:
        service.get_branch_score(scope=COUNTY_ADMIN, month="2026-11")
    assert refused.value.code == "REQUIRED"
    store.activities_of_branch.assert_not_called()
