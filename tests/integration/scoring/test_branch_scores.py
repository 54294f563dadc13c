import pytest

from servicekit.errors import InvalidArgument, NotFound, PermissionDenied
from tests.support.scoring import ThemedDay, wait_for

pytestmark = pytest.mark.integration
MONTH = "2026-05"


def members_of(city, branch, count, prefix):
    return [city.add_member(branch, f"{prefix}{index}")["id"] for index in range(count)]


def a_held_day(city, branch, month=MONTH):
    """5 members: m0, m1 attend fully, m2 signs in only, m3 is on leave, m4 is mobile and likes."""
    members = members_of(city, branch, 5, "党员")
    day = ThemedDay(city.tenant_id, branch, month, members, mobile=[members[4]])
    events = [day.issued(), *day.planned_and_opened(),
              day.scan(members[0]), day.scan(members[0], "out"), day.scan(members[1]), day.scan(members[1], "out"),
              day.scan(members[2]), day.leave(members[3]), day.like(members[4]),
              day.reflection(members[0]), day.reflection(members[1]),
              day.upload(), day.upload(), day.upload(), day.upload("text", 150)]
    statuses = {members[0]: "present", members[1]: "present", members[2]: "incomplete", members[3]: "excused",
                members[4]: "mobile"}
    return day, events, day.closed(statuses)


def score_of(rpc, scope, day, **expected):
    def check():
        try:
            answer = rpc.scoring.get_branch_score(scope=scope, activity_id=day.activity_id)
        except NotFound:
            return None
        assert all(answer[key] == value for key, value in expected.items()), answer
        return answer
    return wait_for(check)


def test_a_held_day_scores_live_then_final_with_its_breakdown(rpc, city, publisher):
    branch = city.branches[0][0]
    day, events, closed = a_held_day(city, branch)
    publisher.publish(events)
    live = score_of(rpc, city.admin, day, score=79.83, final=False)
    assert live["breakdown"] == {"signin": 58.33, "like": 10.0, "richness": 5.0, "comments": 2.5, "rating": 4.0}
    assert live["counts"]["present"] == 2 and live["counts"]["incomplete"] == 1 and live["counts"]["excused"] == 1
    assert live["rating_pending"] and live["stage"] == "held"
    publisher.publish([closed])
    final = score_of(rpc, city.admin, day, final=True)
    assert final["score"] == 79.83 and final["stage"] == "closed"


def test_a_late_superior_rating_changes_the_final_score(rpc, city, publisher):
    branch = city.branches[0][1]
    day, events, closed = a_held_day(city, branch)
    publisher.publish(events + [closed])
    score_of(rpc, city.admin, day, final=True, score=79.83)
    rated = rpc.scoring.rate_activity(scope=city.county_admins[0], activity_id=day.activity_id, rating=100,
                                      comment="很好")
    assert rated["score"] == 80.83 and rated["breakdown"]["rating"] == 5.0 and not rated["rating_pending"]
    with pytest.raises(InvalidArgument) as refused:
        rpc.scoring.rate_activity(scope=city.admin, activity_id=day.activity_id, rating=101)
    assert refused.value.code == "RATING_OUT_OF_RANGE"
    with pytest.raises(NotFound):
        rpc.scoring.rate_activity(scope=city.county_admins[1], activity_id=day.activity_id, rating=90)


def test_replaying_every_event_twice_changes_nothing(rpc, city, publisher):
    branch = city.branches[1][0]
    day, events, closed = a_held_day(city, branch)
    publisher.publish(events + [closed])
    before = score_of(rpc, city.admin, day, final=True)
    member = day.members[0]

    def both_entries():                    # one call: checking one answer and keeping another raced the consumer
        try:
            ledger = rpc.scoring.get_ledger(scope=city.admin, member_id=member, cycle="2026")
        except NotFound:                   # the points consumer has not learned the roster yet
            return None
        return ledger if len(ledger["entries"]) == 2 else None
    points_before = wait_for(both_entries)
    publisher.republish(events + [closed])
    publisher.republish(events + [closed])
    marker_day, marker_events, _ = a_held_day(city, city.branches[1][1])
    publisher.publish(marker_events)       # published after the replays: once it is scored, they were consumed
    score_of(rpc, city.admin, marker_day, final=False)
    after = rpc.scoring.get_branch_score(scope=city.admin, activity_id=day.activity_id)
    assert {k: after[k] for k in ("score", "breakdown", "counts")} == \
        {k: before[k] for k in ("score", "breakdown", "counts")}
    assert rpc.scoring.get_ledger(scope=city.admin, member_id=member, cycle="2026") == points_before


def test_another_tenant_and_another_county_cannot_see_a_score(rpc, city, other_city, publisher):
    branch = city.branches[0][0]
    day, events, closed = a_held_day(city, branch)
    publisher.publish(events + [closed])
    score_of(rpc, city.admin, day, final=True)
    for stranger in (other_city.admin, city.county_admins[1]):
        with pytest.raises(NotFound):
            rpc.scoring.get_branch_score(scope=stranger, activity_id=day.activity_id)
        with pytest.raises(NotFound):
            rpc.scoring.get_ranking(scope=stranger, org_id=city.counties[0]["id"], period=MONTH)
    with pytest.raises(NotFound):
        rpc.scoring.get_ranking(scope=other_city.admin, org_id=city.root["id"], period=MONTH)


def test_a_member_sees_its_branch_score_but_not_the_ranking(rpc, city, publisher):
    branch = city.branches[0][0]
    day, events, closed = a_held_day(city, branch)
    publisher.publish(events + [closed])
    score_of(rpc, city.admin, day, final=True)
    member = city.member_login({"id": day.members[0]}, "member-a")
    assert rpc.scoring.get_branch_score(scope=member, branch_id=branch["id"], month=MONTH)["score"] == 79.83
    with pytest.raises(PermissionDenied):
        rpc.scoring.get_ranking(scope=member, org_id=branch["id"], period=MONTH)
    with pytest.raises(NotFound):
        rpc.scoring.get_ranking(scope=member, org_id=city.root["id"], period=MONTH)
