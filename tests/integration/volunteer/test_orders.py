"""The volunteer service's order side as a real process (identity too) on the real broker and the embedded store:
an order's whole life, guests with a tracking code, hours credited once, and every operation refused to other
tenants and other subtrees with the not-found code, bad input storing nothing."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied, TooManyRequests
from servicekit.timestamps import stamp
from tests.support.identity import City
from tests.support.volunteer_orders import NEAR, Neighbourhood, order_fields, outbox_events, volunteer_store

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def town(rpc, operator_scope, volunteer_service):
    return Neighbourhood(rpc, operator_scope)


@pytest.fixture(scope="module")
def other_town(rpc, operator_scope, volunteer_service):
    return Neighbourhood(rpc, operator_scope)


@pytest.fixture(scope="module")
def store(volunteer_service):
    return volunteer_store()


def backdate_check_in(store, order_id: str, member_id: str, minutes: int) -> None:
    """The service's clock is the wall clock: a service of ``minutes`` is made by moving the check-in back."""
    checked_in = stamp(datetime.now(timezone.utc) - timedelta(minutes=minutes))
    store.db.claims.update_one({"_id": f"{order_id}:{member_id}"}, {"$set": {"checked_in_at": checked_in}})


def test_an_order_from_placing_to_hours_credited(rpc, town, store):
    volunteer = rpc.volunteer
    placed = volunteer.place_order(scope=town.citizen, **order_fields(town.community["id"]))
    assert placed["status"] == "placed" and placed["community_name"] == town.community["name"]
    order_id = placed["order_id"]
    volunteer.review_order(scope=town.manager, order_id=order_id, decision="approve", reason="")
    opened = volunteer.dispatch_order(scope=town.manager, order_id=order_id, mode="claim", team_id="",
                                      volunteers_needed=2, fence_radius_m=200, hours_cap=1)
    assert opened["status"] == "open" and opened["places_left"] == 2

    first, second, third = town.members
    claimable = volunteer.list_claimable_orders(scope=first["scope"])["orders"]
    assert order_id in [order["order_id"] for order in claimable]
    volunteer.claim_order(scope=first["scope"], order_id=order_id)
    volunteer.claim_order(scope=second["scope"], order_id=order_id)
    with pytest.raises(Conflict) as full:
        volunteer.claim_order(scope=third["scope"], order_id=order_id)
    assert full.value.code == "ORDER_FULL"
    assert order_id not in [order["order_id"] for order in
                            volunteer.list_claimable_orders(scope=third["scope"])["orders"]]

    with pytest.raises(Conflict) as outside:
        volunteer.check_in_service(scope=first["scope"], order_id=order_id, lat=34.27, lng=108.94, accuracy_m=10,
                                   mock_location=False)
    assert outside.value.code == "OUTSIDE_FENCE"
    for member in (first, second):
        volunteer.check_in_service(scope=member["scope"], order_id=order_id, **NEAR)
    assert volunteer.get_order(scope=town.citizen, order_id=order_id)["status"] == "in_service"
    backdate_check_in(store, order_id, first["member"]["id"], 45)
    backdate_check_in(store, order_id, second["member"]["id"], 150)      # capped at the order's 1 hour
    out = volunteer.check_out_service(scope=first["scope"], order_id=order_id, **NEAR)
    assert out["hours"] == pytest.approx(0.75, abs=0.02)
    assert volunteer.get_order(scope=town.citizen, order_id=order_id)["status"] == "in_service"
    volunteer.check_out_service(scope=second["scope"], order_id=order_id, **NEAR)
    volunteer.report_completion(scope=first["scope"], order_id=order_id, text="已上门量血压，一切正常")

    citizen_view = volunteer.get_order(scope=town.citizen, order_id=order_id)
    assert citizen_view["status"] == "completed" and citizen_view["completion_text"].startswith("已上门")
    assert sorted(claimant["name"] for claimant in citizen_view["claimants"]) == sorted(
        member["member"]["name"] for member in (first, second))
    text = repr(citizen_view)
    assert first["member"]["id"] not in text and town.branch["id"] not in text
    assert not store.db.hours.find_one({"source_id": order_id})             # nothing credited before confirmation

    confirmed = volunteer.confirm_order(scope=town.citizen, order_id=order_id, rating=5, comment="非常感谢")
    assert confirmed["status"] == "confirmed" and confirmed["rating"] == 5
    entries = {entry["member_id"]: entry for entry in store.db.hours.find({"source_id": order_id})}
    assert entries[first["member"]["id"]]["hours"] == pytest.approx(0.75, abs=0.02)
    assert entries[second["member"]["id"]]["hours"] == 1.0
    assert entries[first["member"]["id"]]["_id"] == f"order:{order_id}:{first['member']['id']}"
    assert entries[first["member"]["id"]][f"a{len(town.community['path_ids']) - 1}"] == town.community["id"]
    credited = outbox_events(store, "hours_credited", source_id=order_id)
    assert sorted(event["entry_id"] for event in credited) == sorted(entry["_id"] for entry in entries.values())
    assert all(event["branch_id"] == town.branch["id"] for event in credited)
    for kind in ("order_placed", "order_reviewed", "order_dispatched", "order_claimed", "service_checked_in",
                 "service_checked_out", "order_completed", "order_confirmed", "order_rated"):
        assert outbox_events(store, kind, order_id=order_id), kind

    with pytest.raises(Conflict, match="ORDER_STATE_CONFLICT"):
        volunteer.confirm_order(scope=town.citizen, order_id=order_id, rating=4)
    # a replay of the credit finds every entry and changes nothing
    again = list(store.db.hours.find({"source_id": order_id}))
    assert store.credit_hours(again) == []
    assert len(outbox_events(store, "hours_credited", source_id=order_id)) == 2
    history = [(step["from"], step["to"], step["actor_kind"]) for step in confirmed["history"]]
    assert history == [("", "placed", "citizen"), ("placed", "approved", "manager"), ("approved", "open", "manager"),
                       ("open", "in_service", "member"), ("in_service", "completed", "member"),
                       ("completed", "confirmed", "citizen")]


def test_withdrawing_opens_the_place_and_the_member_may_claim_again(rpc, town, store):
    order = town.open_order(needed=1)
    member, other = town.members[0], town.members[1]
    rpc.volunteer.claim_order(scope=member["scope"], order_id=order["order_id"])
    with pytest.raises(Conflict, match="ALREADY_CLAIMED"):
        rpc.volunteer.claim_order(scope=member["scope"], order_id=order["order_id"])
    withdrawn = rpc.volunteer.withdraw_claim(scope=member["scope"], order_id=order["order_id"], reason="临时有事")
    assert withdrawn["status"] == "withdrawn"
    assert rpc.volunteer.claim_order(scope=member["scope"], order_id=order["order_id"])["status"] == "claimed"
    with pytest.raises(Conflict, match="ORDER_FULL"):
        rpc.volunteer.claim_order(scope=other["scope"], order_id=order["order_id"])
    rows = list(store.db.claims.find({"order_id": order["order_id"]}))
    assert [(row["member_id"], row["status"]) for row in rows] == [(member["member"]["id"], "claimed")]
    doc = store.order(order["order_id"])
    assert (doc["claimed"], doc["places_left"], doc["pending"]) == (1, 0, 1)
    mine = rpc.volunteer.list_my_claims(scope=member["scope"])["claims"]
    assert [claim["order"]["order_id"] for claim in mine if claim["order_id"] == order["order_id"]] == [
        order["order_id"]]


def test_a_member_who_reported_elsewhere_may_not_claim(rpc, town):
    order = town.open_order(needed=1)
    stranger = town.new_member(reported=False)
    with pytest.raises(Conflict, match="NOT_REPORTED_HERE"):
        rpc.volunteer.claim_order(scope=stranger["scope"], order_id=order["order_id"])
    with pytest.raises(NotFound, match="ORDER_NOT_FOUND"):
        rpc.volunteer.get_order(scope=stranger["scope"], order_id=order["order_id"])


def test_a_guest_follows_cancels_and_is_locked_out_after_wrong_guesses(rpc, town, store):
    answer = rpc.volunteer.place_guest_order(tenant_code=town.city.code, client_address="10.1.2.3",
                                             **order_fields(town.community["id"], contact_phone="029-88886666"))
    code, order_id = answer["tracking_code"], answer["order"]["order_id"]
    assert len(code) == 10 and code not in repr(store.order(order_id))
    seen = rpc.volunteer.get_tracked_order(tenant_code=town.city.code, tracking_code=code, phone_last4="6666",
                                           client_address="")
    assert seen["order_id"] == order_id and "contact_phone" not in seen
    for _ in range(5):
        with pytest.raises(NotFound, match="ORDER_NOT_FOUND"):
            rpc.volunteer.get_tracked_order(tenant_code=town.city.code, tracking_code=code, phone_last4="1234",
                                            client_address="")
    with pytest.raises(TooManyRequests, match="TOO_MANY_ATTEMPTS"):
        rpc.volunteer.cancel_tracked_order(tenant_code=town.city.code, tracking_code=code, phone_last4="6666",
                                           reason="", client_address="")
    store.db.orders.update_one({"_id": order_id}, {"$unset": {"guess_locked_until": ""}})
    cancelled = rpc.volunteer.cancel_tracked_order(tenant_code=town.city.code, tracking_code=code,
                                                   phone_last4="6666", reason="已自行解决", client_address="")
    assert cancelled["status"] == "cancelled" and cancelled["history"][-1]["actor_kind"] == "guest"


def test_a_guest_confirms_with_its_code(rpc, town, store):
    answer = rpc.volunteer.place_guest_order(tenant_code=town.city.code, client_address="",
                                             **order_fields(town.community["id"]))
    code, order_id = answer["tracking_code"], answer["order"]["order_id"]
    rpc.volunteer.review_order(scope=town.manager, order_id=order_id, decision="approve", reason="")
    rpc.volunteer.dispatch_order(scope=town.manager, order_id=order_id, mode="claim", team_id="",
                                 volunteers_needed=1, fence_radius_m=0, hours_cap=0)
    member = town.members[2]
    rpc.volunteer.claim_order(scope=member["scope"], order_id=order_id)
    rpc.volunteer.check_in_service(scope=member["scope"], order_id=order_id, **NEAR)
    backdate_check_in(store, order_id, member["member"]["id"], 30)
    rpc.volunteer.check_out_service(scope=member["scope"], order_id=order_id, **NEAR)
    with pytest.raises(InvalidArgument, match="RATING_INVALID"):
        rpc.volunteer.confirm_tracked_order(tenant_code=town.city.code, tracking_code=code, phone_last4="5678",
                                            rating=0, comment="", client_address="")
    done = rpc.volunteer.confirm_tracked_order(tenant_code=town.city.code, tracking_code=code, phone_last4="5678",
                                               rating=4, comment="准时", client_address="")
    assert done["status"] == "confirmed" and done["history"][-1]["actor_kind"] == "guest"
    assert store.db.hours.find_one({"_id": f"order:{order_id}:{member['member']['id']}"})["hours"] == \
        pytest.approx(0.5, abs=0.02)


def test_reject_merge_dispute_and_resolve(rpc, town, store):
    volunteer = rpc.volunteer
    first = volunteer.place_order(scope=town.citizen, **order_fields(town.community["id"]))
    twin = volunteer.place_order(scope=town.citizen, **order_fields(town.community["id"]))
    with pytest.raises(InvalidArgument, match="REQUIRED"):
        volunteer.review_order(scope=town.manager, order_id=first["order_id"], decision="reject", reason="")
    merged = volunteer.merge_order(scope=town.manager, order_id=twin["order_id"], into_order_id=first["order_id"],
                                   reason="重复下单")
    assert merged["status"] == "merged" and merged["merged_into"] == first["order_id"]
    rejected = volunteer.review_order(scope=town.manager, order_id=first["order_id"], decision="reject",
                                      reason="超出服务范围")
    assert rejected["status"] == "rejected"
    assert volunteer.get_order(scope=town.citizen, order_id=first["order_id"])["reject_reason"] == "超出服务范围"

    order = town.open_order(needed=1)
    member = town.members[0]
    volunteer.claim_order(scope=member["scope"], order_id=order["order_id"])
    volunteer.check_in_service(scope=member["scope"], order_id=order["order_id"], **NEAR)
    backdate_check_in(store, order["order_id"], member["member"]["id"], 60)
    volunteer.check_out_service(scope=member["scope"], order_id=order["order_id"], **NEAR)
    disputed = volunteer.dispute_order(scope=town.citizen, order_id=order["order_id"], reason="服务不完整")
    assert disputed["status"] == "disputed"
    assert "auto_confirm_at" not in store.order(order["order_id"])
    closed = volunteer.resolve_dispute(scope=town.manager, order_id=order["order_id"], credit=True,
                                       reason="核实已服务")
    assert closed["status"] == "closed" and closed["resolution"] == "核实已服务"
    assert store.db.hours.find_one({"source_id": order["order_id"]})["hours"] == pytest.approx(1.0, abs=0.02)


def test_the_desk_lists_the_subtrees_orders(rpc, town):
    order = rpc.volunteer.place_order(scope=town.citizen, **order_fields(town.community["id"]))
    listed = rpc.volunteer.list_orders(scope=town.manager, org_id=town.community["id"], status="placed",
                                       category="", overdue=False, page_size=0, page_token="")
    assert order["order_id"] in [row["order_id"] for row in listed["orders"]]
    assert all(row["contact_phone"] for row in listed["orders"])
    mine = rpc.volunteer.list_my_orders(scope=town.citizen, status="placed")
    assert order["order_id"] in [row["order_id"] for row in mine["orders"]]


def test_other_tenants_and_other_subtrees_get_not_found_for_every_operation(rpc, town, other_town, store):
    volunteer = rpc.volunteer
    order = town.open_order(needed=2)
    order_id = order["order_id"]
    before = store.order(order_id)
    foreign_member = other_town.members[0]["scope"]
    for caller in (other_town.manager, other_town.city.admin, town.other_manager):
        for call in (lambda: volunteer.get_order(scope=caller, order_id=order_id),
                     lambda: volunteer.review_order(scope=caller, order_id=order_id, decision="approve", reason=""),
                     lambda: volunteer.merge_order(scope=caller, order_id=order_id, into_order_id=order_id, reason=""),
                     lambda: volunteer.dispatch_order(scope=caller, order_id=order_id, mode="claim", team_id="",
                                                      volunteers_needed=1, fence_radius_m=0, hours_cap=0),
                     lambda: volunteer.resolve_dispute(scope=caller, order_id=order_id, credit=True, reason="x")):
            with pytest.raises(NotFound) as refused:
                call()
            assert refused.value.code == "ORDER_NOT_FOUND"
        with pytest.raises(NotFound, match="ORG_NOT_FOUND"):
            volunteer.list_orders(scope=caller, org_id=town.community["id"], status="", category="", overdue=False,
                                  page_size=0, page_token="")
        with pytest.raises(NotFound, match="ORG_NOT_FOUND"):
            volunteer.set_community_profile(scope=caller, org_id=town.community["id"], address="x", lat=34.0,
                                            lng=108.0, open=False, categories=[])
    for citizen in (other_town.citizen, town.new_citizen()):
        for call in (lambda: volunteer.get_order(scope=citizen, order_id=order_id),
                     lambda: volunteer.cancel_order(scope=citizen, order_id=order_id, reason=""),
                     lambda: volunteer.confirm_order(scope=citizen, order_id=order_id, rating=5, comment=""),
                     lambda: volunteer.dispute_order(scope=citizen, order_id=order_id, reason="x")):
            with pytest.raises(NotFound, match="ORDER_NOT_FOUND"):
                call()
    for call in (lambda: volunteer.claim_order(scope=foreign_member, order_id=order_id),
                 lambda: volunteer.withdraw_claim(scope=foreign_member, order_id=order_id, reason=""),
                 lambda: volunteer.check_in_service(scope=foreign_member, order_id=order_id, **NEAR),
                 lambda: volunteer.check_out_service(scope=foreign_member, order_id=order_id, **NEAR),
                 lambda: volunteer.report_completion(scope=foreign_member, order_id=order_id, text="x"),
                 lambda: volunteer.add_completion_photo(scope=foreign_member, order_id=order_id, content="",
                                                        content_type="image/png"),
                 lambda: volunteer.get_order(scope=foreign_member, order_id=order_id)):
        with pytest.raises(NotFound, match="ORDER_NOT_FOUND"):
            call()
    with pytest.raises(NotFound, match="ORG_NOT_FOUND"):        # another tenant's community takes no orders
        volunteer.place_order(scope=other_town.citizen, **order_fields(town.community["id"]))
    with pytest.raises(NotFound, match="ORG_NOT_FOUND"):
        volunteer.place_guest_order(tenant_code=other_town.city.code, client_address="",
                                    **order_fields(town.community["id"]))
    assert store.order(order_id) == before


def test_bad_input_stores_nothing(rpc, town, store):
    volunteer = rpc.volunteer
    orders_before = store.db.orders.count_documents({"tenant_id": town.city.tenant_id})
    for change in ({"category": "cooking"}, {"description": ""}, {"lat": 200.0},
                   {"wished_end": "2020-01-01T00:00:00Z"}, {"contact_phone": "12"}, {"wished_start": "soon"}):
        with pytest.raises(InvalidArgument):
            volunteer.place_order(scope=town.citizen, **order_fields(town.community["id"], **change))
        with pytest.raises(InvalidArgument):
            volunteer.place_guest_order(tenant_code=town.city.code, client_address="",
                                        **order_fields(town.community["id"], **change))
    with pytest.raises(PermissionDenied, match="CITIZEN_ONLY"):
        volunteer.place_order(scope=town.members[0]["scope"], **order_fields(town.community["id"]))
    assert store.db.orders.count_documents({"tenant_id": town.city.tenant_id}) == orders_before

    order = town.open_order(needed=1)
    before = store.order(order["order_id"])
    with pytest.raises(InvalidArgument):
        volunteer.check_in_service(scope=town.members[0]["scope"], order_id=order["order_id"], lat="x", lng=1,
                                   accuracy_m=5, mock_location=False)
    with pytest.raises(InvalidArgument):
        volunteer.update_volunteer_settings(scope=town.city.admin, review_hours=0.5)
    with pytest.raises(InvalidArgument):
        volunteer.set_community_profile(scope=town.manager, org_id=town.community["id"], address="", lat=34.0,
                                        lng=108.0, open=True, categories=[])
    assert store.order(order["order_id"]) == before
    assert store.profile(town.community["id"])["address"] == "幸福路 1 号"
    assert volunteer.get_volunteer_settings(scope=town.citizen)["review_hours"] == 24


def test_settings_are_per_tenant_and_the_city_admins(rpc, town, other_town):
    changed = rpc.volunteer.update_volunteer_settings(scope=town.city.admin, review_hours=12, categories=[
        {"code": "health", "label": "健康服务"}, {"code": "legal", "label": "法律咨询"}])
    assert changed["review_hours"] == 12
    assert rpc.volunteer.get_volunteer_settings(scope=other_town.city.admin)["review_hours"] == 24
    with pytest.raises(PermissionDenied, match="NOT_CITY_ADMIN"):
        rpc.volunteer.update_volunteer_settings(scope=town.manager, review_hours=6)
    communities = rpc.volunteer.list_open_communities(tenant_code=town.city.code, q="", client_address="")
    row = next(row for row in communities["communities"] if row["org_id"] == town.community["id"])
    assert [category["code"] for category in row["categories"]] == ["health", "legal"]
    rpc.volunteer.update_volunteer_settings(scope=town.city.admin, review_hours=24, categories=[
        {"code": "skills", "label": "技能服务"}, {"code": "services", "label": "生活服务"},
        {"code": "health", "label": "健康服务"}])


def test_a_city_without_profiles_lists_no_communities(rpc, operator_scope, volunteer_service):
    city = City(rpc, operator_scope)
    assert rpc.volunteer.list_open_communities(tenant_code=city.code, q="", client_address="") == {"communities": []}
    with pytest.raises(NotFound, match="TENANT_NOT_FOUND"):
        rpc.volunteer.list_open_communities(tenant_code="no-such-city", q="", client_address="")
