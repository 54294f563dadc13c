import pytest

from servicekit.errors import InvalidArgument
from services.scoring.domain.score import Facts, check_rating, facts_from_live, facts_from_record, \
    facts_from_statuses, score


def test_a_perfect_day_scores_100_once_rated_100():
    facts = Facts(roster=10, on_site_expected=8, present=8, mobile=2, mobile_liked=2, reflections=10, photos=6,
                  text_chars=300, rating=100)
    assert score(facts)["score"] == 100.0


def test_excused_members_leave_the_denominator_and_incomplete_counts_half():
    facts = Facts(roster=5, on_site_expected=4, present=2, incomplete=1, excused=1, mobile=1, mobile_liked=1,
                  reflections=2, photos=3, text_chars=150)
    result = score(facts)
    assert result["breakdown"] == {"signin": 58.33, "like": 10.0, "richness": 5.0, "comments": 2.5, "rating": 4.0}
    assert result["score"] == 79.83 and result["rating_pending"]


def test_a_branch_without_mobile_members_gets_the_full_like_component():
    assert score(Facts(roster=3, on_site_expected=3, present=3))["breakdown"]["like"] == 10.0


def test_richness_is_capped():
    assert score(Facts(photos=60, text_chars=30_000))["breakdown"]["richness"] == 10.0


def test_a_missing_rating_counts_80_until_given():
    assert score(Facts())["breakdown"]["rating"] == 4.0
    assert score(Facts(rating=0))["breakdown"]["rating"] == 0.0


@pytest.mark.parametrize("bad, code", [(101, "RATING_OUT_OF_RANGE"), (-1, "RATING_OUT_OF_RANGE"),
                                       (80.5, "RATING_INVALID"), ("90", "RATING_INVALID"), (True, "RATING_INVALID")])
def test_bad_ratings_are_refused(bad, code):
    with pytest.raises(InvalidArgument) as refused:
        check_rating(bad)
    assert refused.value.code == code


def test_live_sets_and_closed_statuses_agree_on_the_same_day():
    roster, mobile = {"a", "b", "c", "d", "e"}, {"e"}
    live = facts_from_live(roster, mobile, {"a", "b", "c"}, {"a", "b"}, {"d"}, {"e"}, {"a", "b"}, 3, 150, 0, None)
    closed = facts_from_statuses({"a": "present", "b": "present", "c": "incomplete", "d": "excused", "e": "mobile"},
                                 {"e"}, {"a", "b"}, 3, 150, 0, None)
    assert live == closed


def test_the_attendance_record_gives_the_same_facts_as_the_events():
    record = {"statuses": {"a": "present", "b": "absent"}, "liked": [], "reflection_members": ["a"], "photos": 1,
              "text_chars": 10, "flags": 2}
    assert facts_from_record(record, 90) == facts_from_statuses({"a": "present", "b": "absent"}, set(), {"a"}, 1, 10,
                                                                2, 90)


def test_members_signed_in_stand_for_an_unknown_roster():
    facts = facts_from_live(set(), set(), {"a", "b"}, {"a"}, set(), set(), set(), 0, 0, 0, None, roster_known=False)
    assert facts.roster == 2 and facts.present == 1 and facts.incomplete == 1


def test_the_counts_of_a_score_are_every_fact_by_name():
    facts = Facts(roster=10, on_site_expected=8, present=5, incomplete=1, excused=1, mobile=2, mobile_liked=1,
                  reflections=4, photos=3, text_chars=120, flags=2, rating=None)
    assert score(facts)["counts"] == {"roster": 10, "on_site_expected": 8, "present": 5, "incomplete": 1,
                                      "excused": 1, "mobile": 2, "mobile_liked": 1, "reflections": 4, "photos": 3,
                                      "text_chars": 120, "flags": 2, "rating": None}
