"""The teams, 双报到 and statistics reads and writes of the volunteer store against the embedded store: no sign-up
over an event's capacity however many race for it, a refused write leaves nothing, closing credits each member once
with its event in the outbox, one current report per member, and the statistics' aggregations."""
from __future__ import annotations

import secrets
import threading
from datetime import datetime, timezone

import pytest

from servicekit.errors import Conflict
from servicekit.storage.mongo import open_store
from servicekit.storage.subtree import ancestor_fields
from services.volunteer import events as published
from services.volunteer.domain.hours import ledger_entry
from services.volunteer.domain.hours import branch_fields
from services.volunteer.store import VolunteerStore

pytestmark = pytest.mark.integration
AT = "2026-12-06T02:00:00.000Z"
NOW = datetime(2026, 12, 6, 2, 0, tzinfo=timezone.utc)
COUNTY_PATH, COMMUNITY_PATH, BRANCH_PATH = ["c1", "d1"], ["c1", "d1", "s1"], ["c1", "d1", "b1"]


@pytest.fixture
def store(mongo_uri):
    return open_store(VolunteerStore, f"vol_teams_{secrets.token_hex(3)}", mongo_uri)


def new_event(store, capacity: int = 3) -> dict:
    event = {"_id": f"evt_{secrets.token_hex(4)}", "tenant_id": "t1", "team_id": "team_1", "team_name": "青年队",
             "org_id": "d1", **ancestor_fields(COUNTY_PATH), "title": "清扫河堤", "description": "", "address": "河堤",
             "lat": 33.0, "lng": 107.0, "fence_radius_m": 300, "starts_at": AT, "ends_at": AT, "capacity": capacity,
             "hours_cap": 2.0, "signed_up": 0, "checked_in": 0, "checked_out": 0, "status": "open",
             "created_at": AT, "created_by": "acc_1"}
    return store.create_event(event)


def signup_of(event: dict, member_id: str) -> dict:
    return {"_id": f"{event['_id']}:{member_id}", "tenant_id": "t1", "event_id": event["_id"], "team_id": "team_1",
            "member_id": member_id, "name": f"党员{member_id}", "branch_id": "b1", "branch_path": BRANCH_PATH,
            "status": "signed_up", "signed_up_at": AT, "checked_in_at": None, "checked_out_at": None, "hours": 0.0}


def outbox_types(store) -> list[str]:
    return sorted(entry["routing_key"] for entry in store.db.outbox.find({}))


def test_racing_sign_ups_never_exceed_the_capacity(store):
    event = new_event(store, capacity=3)
    outcomes: dict[str, str] = {}
    start = threading.Barrier(12)

    def sign_up(member_id: str) -> None:
        start.wait()
        try:
            store.sign_up(event, signup_of(event, member_id))
            outcomes[member_id] = "ok"
        except Conflict as refused:
            outcomes[member_id] = refused.code
    threads = [threading.Thread(target=sign_up, args=(f"m{n}",)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes.values()) == ["EVENT_FULL"] * 9 + ["ok"] * 3
    assert store.team_event(event["_id"])["signed_up"] == 3
    assert len(store.signups_of_event(event["_id"])) == 3


def test_a_second_sign_up_of_a_member_is_refused_and_leaves_the_count_alone(store):
    event = new_event(store)
    store.sign_up(event, signup_of(event, "m1"))
    with pytest.raises(Conflict) as refused:
        store.sign_up(event, signup_of(event, "m1"))
    assert refused.value.code == "ALREADY_SIGNED_UP"
    assert store.team_event(event["_id"])["signed_up"] == 1


def test_a_cancelled_place_is_taken_again_by_the_same_row(store):
    event = new_event(store, capacity=1)
    first = store.sign_up(event, signup_of(event, "m1"))
    store.cancel_sign_up(first, {"cancelled_at": AT})
    assert store.team_event(event["_id"])["signed_up"] == 0
    again = store.sign_up(event, signup_of(event, "m1"))
    assert again["status"] == "signed_up" and "cancelled_at" not in store.signup(event["_id"], "m1")
    with pytest.raises(Conflict) as full:
        store.sign_up(event, signup_of(event, "m2"))
    assert full.value.code == "EVENT_FULL"
    assert [s["member_id"] for s in store.signups_of_event(event["_id"])] == ["m1"]


def test_closing_credits_each_checked_out_member_once_with_its_event(store):
    event = new_event(store)
    for member_id in ("m1", "m2"):
        signup = store.sign_up(event, signup_of(event, member_id))
        store.check_in_signup(signup, {"checked_in_at": "2026-12-06T02:00:00.000Z"})
    store.check_out_signup(store.signup(event["_id"], "m1"), {"checked_out_at": "2026-12-06T03:30:00.000Z",
                                                              "hours": 1.5})

    def entries_of(signups):
        return [ledger_entry(tenant_id="t1", source_kind="event", source_id=event["_id"], member_id=s["member_id"],
                             member_name=s["name"], branch_id=s["branch_id"], branch_path=s["branch_path"],
                             community_id="d1", community_path=COUNTY_PATH, title=event["title"], hours=s["hours"],
                             credited_at=NOW) for s in signups if s["status"] == "checked_out"]
    closed, credited = store.close_event(event, {"status": "closed", "closed_at": AT}, entries_of)
    assert closed["status"] == "closed" and [entry["_id"] for entry in credited] == [f"event:{event['_id']}:m1"]
    assert store.hours_of_member("m1")[0]["hours"] == 1.5 and store.hours_of_member("m2") == []
    assert outbox_types(store) == ["hours_credited"]
    with pytest.raises(Conflict) as again:
        store.close_event(event, {"status": "closed", "closed_at": AT}, entries_of)
    assert again.value.code == "EVENT_CLOSED" and outbox_types(store) == ["hours_credited"]
    with pytest.raises(Conflict) as late:
        store.check_out_signup(store.signup(event["_id"], "m2"), {"checked_out_at": AT, "hours": 1.0})
    assert late.value.code == "EVENT_CLOSED" and store.signup(event["_id"], "m2")["status"] == "checked_in"


def test_joining_and_leaving_keep_the_team_s_count(store):
    store.create_team({"_id": "team_1", "tenant_id": "t1", "org_id": "d1", **ancestor_fields(COUNTY_PATH),
                       "name": "青年队", "member_count": 0, "created_at": AT})
    row = {"_id": "team_1:m1", "tenant_id": "t1", "team_id": "team_1", "member_id": "m1", "name": "张三",
           "branch_id": "b1", "status": "active", "joined_at": AT}
    store.join_team(row)
    with pytest.raises(Conflict) as twice:
        store.join_team(row)
    assert twice.value.code == "ALREADY_IN_TEAM" and store.team("team_1")["member_count"] == 1
    store.leave_team("team_1", "m1", {"left_at": AT, "left_reason": "搬家"})
    with pytest.raises(Conflict):
        store.leave_team("team_1", "m1", {"left_at": AT})
    assert store.team("team_1")["member_count"] == 0 and store.memberships_of("m1") == []
    store.join_team({**row, "joined_at": "2026-12-07T00:00:00.000Z"})
    assert store.team_member("team_1", "m1")["status"] == "active" and "left_reason" not in store.team_member("team_1",
                                                                                                              "m1")
    assert store.team("team_1")["member_count"] == 1
    assert [t["_id"] for t in store.teams_under(["c1"])] == ["team_1"] and store.teams_under(["c2"]) == []
    assert [t["_id"] for t in store.teams_at("t1", ["d1", "b1"])] == ["team_1"] and store.teams_at("t2", ["d1"]) == []


def report(member_id: str, sequence: int, community_path=COMMUNITY_PATH, reported_on="2026-12-01") -> dict:
    return {"_id": f"{member_id}:{sequence}", "tenant_id": "t1", "member_id": member_id, "name": "张三",
            "branch_id": "b1", "branch_name": "一支部", **branch_fields(BRANCH_PATH), "community_id": community_path[-1],
            "community_name": "社区", **ancestor_fields(community_path), "status": "current", "sequence": sequence,
            "reported_on": reported_on, "reported_at": AT}


def reported(member_id: str, report_id: str) -> dict:
    return published.MEMBER_REPORTED.build("t1", AT, report_id=report_id, member_id=member_id, branch_id="b1",
                                           community_id="s1", reported_on="2026-12-01")


def test_a_new_report_ends_the_current_one_and_a_racing_one_is_refused_whole(store):
    first = store.report_to_community(report("m1", 1), None, None, [reported("m1", "m1:1")])
    second = report("m1", 2, ["c1", "d1", "s2"], "2026-12-03")
    store.report_to_community(second, first, {"ended_at": AT}, [reported("m1", "m1:2")])
    assert store.current_report("m1")["_id"] == "m1:2"
    assert store.db.community_reports.find_one({"_id": "m1:1"})["status"] == "ended"
    with pytest.raises(Conflict) as raced:      # a report that still believed m1:1 current
        store.report_to_community(report("m1", 2), first, {"ended_at": AT}, [reported("m1", "m1:2")])
    assert raced.value.code == "REPORT_CHANGED"
    with pytest.raises(Conflict):               # the same place in the chain twice
        store.report_to_community(report("m1", 2), store.current_report("m1"), {"ended_at": AT}, [])
    assert store.current_report("m1")["community_id"] == "s2"
    assert outbox_types(store) == ["member_reported"] * 2
    assert [r["_id"] for r in store.current_reports_under(["c1", "d1", "s2"])] == ["m1:2"]
    assert store.current_reports_under(COMMUNITY_PATH) == []
    assert store.reported_member_ids(["c1", "d1"]) == {"m1"} and store.reported_member_ids(["c1", "d9"]) == set()


def test_the_statistics_reads_group_hours_and_select_orders_by_subtree_and_period(store):
    def entry(member_id, branch_path, community_path, hours, day):
        return ledger_entry(tenant_id="t1", source_kind="order", source_id=f"o_{secrets.token_hex(3)}",
                            member_id=member_id, member_name=f"党员{member_id}", branch_id=branch_path[-1],
                            branch_path=branch_path, community_id=community_path[-1], community_path=community_path,
                            title="服务", hours=hours, credited_at=datetime.fromisoformat(f"{day}T04:00:00+00:00"))
    store.credit_hours([entry("m1", BRANCH_PATH, COMMUNITY_PATH, 2.0, "2026-12-01"),
                        entry("m1", BRANCH_PATH, ["c1", "d2", "s9"], 1.5, "2026-12-02"),
                        entry("m2", ["c1", "d2", "b9"], COMMUNITY_PATH, 4.0, "2026-12-03"),
                        entry("m3", BRANCH_PATH, COMMUNITY_PATH, 1.0, "2026-11-01")])
    assert store.hours_sum_under("a", COUNTY_PATH, "2026-12-01", "2026-12-31") == 6.0
    assert store.hours_sum_under("b", COUNTY_PATH, "", "") == 4.5
    assert store.hours_sum_under("a", ["c1", "d7"], "", "") == 0.0
    by_member = store.hours_totals_under("b", COUNTY_PATH, "2026-12-01", "", "member_id")
    assert by_member == {"m1": {"hours": 3.5, "name": "党员m1"}}
    by_community = store.hours_totals_under("a", ["c1"], "", "2026-12-02", "community_id")
    assert by_community == {"s1": {"hours": 3.0, "name": ""}, "s9": {"hours": 1.5, "name": ""}}
    assert store.hours_totals_under("a", ["c1"], "", "", "community_id", limit=1) == {"s1": {"hours": 7.0, "name": ""}}
    assert store.hours_totals_under("b", ["c1"], "", "", "branch_id", limit=5) == \
        {"b1": {"hours": 4.5, "name": ""}, "b9": {"hours": 4.0, "name": ""}}
    assert store.total_hours_of_member("m1") == 3.5
    assert store.hours_by_member_at([("m1", "s1"), ("m2", "s1"), ("m9", "s1")]) == \
        {("m1", "s1"): 2.0, ("m2", "s1"): 4.0, ("m9", "s1"): 0.0}
    for order_id, path, placed in (("o1", COMMUNITY_PATH, "2026-11-30T15:59:59.000Z"),
                                   ("o2", COMMUNITY_PATH, "2026-11-30T16:00:00.000Z"),
                                   ("o3", ["c1", "d2", "s9"], "2026-12-01T00:00:00.000Z")):
        store.db.orders.insert_one({"_id": order_id, "tenant_id": "t1", **ancestor_fields(path), "status": "placed",
                                    "category": "skills", "placed_at": placed, "contact_phone": "13800000000"})
    found = store.orders_placed_under(COUNTY_PATH, "2026-11-30T16:00:00.000Z", "")
    assert found == [{"status": "placed", "category": "skills", "placed_at": "2026-11-30T16:00:00.000Z"}]
    assert [o["placed_at"] for o in store.orders_placed_under(COUNTY_PATH, "", "2026-11-30T16:00:00.000Z")] == \
        ["2026-11-30T15:59:59.000Z"]
    assert len(store.orders_placed_under(["c1"], "", "")) == 3
