"""Citizens' orders and the community's desk through the entry points (worker_factory, fake store and identity):
who may do what, each view's fields, and that bad input or a refusal stores nothing."""
from __future__ import annotations

import hashlib

import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied, TooManyRequests
from servicekit.timestamps import stamp
from tests.fast.volunteer.order_fakes import *  # noqa: F401,F403  the fixtures
from tests.fast.volunteer.order_fakes import (
    CITIZEN, CITY_ADMIN, COMMUNITY, COMMUNITY_ADMIN, COMMUNITY_B, COUNTY_ADMIN, FOREIGN_ADMIN, FOREIGN_CITIZEN,
    FOREIGN_COMMUNITY, FOREIGN_MEMBER, MEMBER, MEMBER_2, MEMBER_3, NOW, OTHER_CITIZEN, OTHER_COUNTY_ADMIN, OTHER_CODE,
    TENANT, TENANT_CODE,
    assert_nothing_written, stored_claim, stored_order)

ORDER = {"community_id": COMMUNITY, "category": "health", "description": "帮老人量血压", "address": "幸福小区 3 号楼",
         "lat": 34.2601, "lng": 108.9402, "wished_start": "2026-12-06T18:00:00+08:00",
         "wished_end": "2026-12-06T20:00:00+08:00", "contact_name": "王阿姨", "contact_phone": "13912345678"}
MEMBER_DATA = ("member_id", "branch_id", "phone", "contact_phone")


def no_member_data(view: dict) -> None:
    """A citizen's view names claimants and nothing more of them."""
    for claimant in view["claimants"]:
        assert set(claimant) == {"name", "status", "status_label"}
    assert "claims" not in view and "my_claim" not in view
    text = repr(view)
    assert "m_1" not in text and "13800000000" not in text and "org_branch" not in text


# --- placing -----------------------------------------------------------------------------------------------------
def test_a_citizen_places_an_order(service, stored):
    view = service.place_order(CITIZEN, **ORDER)
    order = stored.orders[view["order_id"]]
    assert order["tenant_id"] == TENANT and order["account_id"] == CITIZEN["account_id"]
    assert (order["a0"], order["a1"], order["a2"]) == ("org_city", "org_county", COMMUNITY)
    assert order["status"] == "placed" and order["review_due_at"] == "2026-12-07T08:00:00.000Z"
    assert order["history"][0]["to"] == "placed" and order["history"][0]["actor_kind"] == "citizen"
    assert view["status_label"] == "待审核" and view["community_name"] == "幸福社区"
    assert "contact_phone" not in view
    assert [event["event_type"] for event in stored.events] == ["order_placed"]
    assert stored.events[0]["tenant_id"] == TENANT and stored.events[0]["actor_kind"] == "citizen"


@pytest.mark.parametrize("caller, code", [(MEMBER, "CITIZEN_ONLY"), (COUNTY_ADMIN, "CITIZEN_ONLY")])
def test_only_citizens_place_orders_with_a_scope(service, store, caller, code):
    with pytest.raises(PermissionDenied, match=code):
        service.place_order(caller, **ORDER)
    assert_nothing_written(store)


@pytest.mark.parametrize("caller, community", [(CITIZEN, FOREIGN_COMMUNITY), (FOREIGN_CITIZEN, COMMUNITY),
                                               (CITIZEN, "org_nowhere")])
def test_another_tenants_or_an_unknown_community_is_not_found(service, store, caller, community):
    with pytest.raises(NotFound, match="ORG_NOT_FOUND"):
        service.place_order(caller, **{**ORDER, "community_id": community})
    assert_nothing_written(store)


def test_a_closed_community_takes_no_orders(service, store, stored):
    stored.profiles[COMMUNITY]["open"] = False
    with pytest.raises(NotFound, match="ORG_NOT_FOUND"):
        service.place_order(CITIZEN, **ORDER)
    assert_nothing_written(store)


@pytest.mark.parametrize("change, field", [
    ({"category": "cooking"}, "category"), ({"description": ""}, "description"), ({"lat": 200}, "lat"),
    ({"wished_end": "2026-12-06T17:00:00+08:00"}, "wished_end"), ({"contact_phone": "110"}, "contact_phone"),
    ({"wished_start": "2026-12-01T10:00:00+08:00"}, "wished_start"), ({"contact_name": None}, "contact_name"),
])
def test_bad_input_stores_nothing(service, store, change, field):
    with pytest.raises(InvalidArgument) as refused:
        service.place_order(CITIZEN, **{**ORDER, **change})
    assert refused.value.field == field
    assert_nothing_written(store)


def test_a_guest_order_gets_a_tracking_code_of_which_only_a_hash_is_kept(service, stored):
    answer = service.place_guest_order(tenant_code=TENANT_CODE, client_address="10.0.0.1", **ORDER)
    code = answer["tracking_code"]
    order = stored.orders[answer["order"]["order_id"]]
    assert order["tracking_hash"] == hashlib.sha256(code.encode()).hexdigest()
    assert code not in repr(order) and order["account_id"] == "" and order["placed_by"] == "guest"
    assert stored.events[0]["actor_kind"] == "guest"


def test_a_guest_order_for_an_unknown_tenant_or_another_tenants_community(service, store):
    with pytest.raises(NotFound, match="TENANT_NOT_FOUND"):
        service.place_guest_order(tenant_code="nowhere", client_address="", **ORDER)
    with pytest.raises(NotFound, match="ORG_NOT_FOUND"):
        service.place_guest_order(tenant_code=OTHER_CODE, client_address="", **ORDER)
    assert_nothing_written(store)


# --- guests by tracking code --------------------------------------------------------------------------------------
@pytest.fixture
def guest_order(service, stored):
    answer = service.place_guest_order(tenant_code=TENANT_CODE, client_address="", **ORDER)
    return answer["tracking_code"], answer["order"]["order_id"]


def test_a_guest_follows_its_order_with_the_code_and_the_phones_last_digits(service, guest_order):
    code, order_id = guest_order
    view = service.get_tracked_order(tenant_code=TENANT_CODE, tracking_code=code.lower(), phone_last4="5678",
                                     client_address="")
    assert view["order_id"] == order_id and view["status"] == "placed"


def test_wrong_digits_unknown_codes_and_other_tenants_answer_not_found(service, store, guest_order):
    code, order_id = guest_order
    for tenant_code, tracking_code, last4 in ((TENANT_CODE, code, "0000"), (TENANT_CODE, "ABCDEFGHJK", "5678"),
                                              (OTHER_CODE, code, "5678"), (TENANT_CODE, "not a code", "5678")):
        with pytest.raises(NotFound, match="ORDER_NOT_FOUND"):
            service.get_tracked_order(tenant_code=tenant_code, tracking_code=tracking_code, phone_last4=last4,
                                      client_address="")
    assert store.note_wrong_guess.call_count == 1
    assert store.note_wrong_guess.call_args.args[0] == order_id


def test_a_locked_code_is_refused_even_with_the_right_digits(service, stored, guest_order):
    code, order_id = guest_order
    stored.orders[order_id]["guess_locked_until"] = "2026-12-06T08:10:00.000Z"
    with pytest.raises(TooManyRequests, match="TOO_MANY_ATTEMPTS"):
        service.get_tracked_order(tenant_code=TENANT_CODE, tracking_code=code, phone_last4="5678",
                                  client_address="")


def test_a_guest_cancels_before_dispatch(service, stored, guest_order):
    code, order_id = guest_order
    view = service.cancel_tracked_order(tenant_code=TENANT_CODE, tracking_code=code, phone_last4="5678",
                                        reason="不需要了", client_address="")
    assert view["status"] == "cancelled" and view["history"][-1]["actor_kind"] == "guest"
    assert "review_due_at" not in stored.orders[order_id]


def test_bad_last4_is_an_invalid_argument(service, store, guest_order):
    code, _ = guest_order
    with pytest.raises(InvalidArgument, match="PHONE_LAST4_INVALID"):
        service.get_tracked_order(tenant_code=TENANT_CODE, tracking_code=code, phone_last4="56", client_address="")
    store.note_wrong_guess.assert_not_called()


# --- views --------------------------------------------------------------------------------------------------------
@pytest.fixture
def order_in_service(stored):
    stored.put(stored_order("in_service", claimed=2, places_left=0, pending=1),
               stored_claim("checked_in", "m_1", checked_in_at=stamp(NOW)),
               stored_claim("checked_out", "m_2", hours=1.0), stored_claim("withdrawn", "m_2", order_id="ord_2"))
    stored.reports.add(("m_1", COMMUNITY))
    return "ord_1"


def test_the_citizen_sees_claimant_names_and_nothing_more(service, order_in_service):
    view = service.get_order(CITIZEN, order_id=order_in_service)
    assert [claimant["name"] for claimant in view["claimants"]] == ["李党员", "赵党员"]
    no_member_data(view)


def test_managers_of_the_community_and_above_see_contact_and_full_claims(service, order_in_service):
    for caller in (COMMUNITY_ADMIN, COUNTY_ADMIN, CITY_ADMIN):
        view = service.get_order(caller, order_id=order_in_service)
        assert view["contact_phone"] == "13912345678"
        assert {claim["member_id"] for claim in view["claims"]} == {"m_1", "m_2"}
        assert view["claimants"][0]["branch_id"] == "org_branch"


def test_a_member_holding_a_claim_sees_the_contact_and_its_claim(service, order_in_service):
    view = service.get_order(MEMBER, order_id=order_in_service)
    assert view["contact_phone"] == "13912345678" and view["my_claim"]["status"] == "checked_in"
    assert "claims" not in view


def test_a_member_who_may_claim_sees_the_order_without_the_contact(service, stored):
    stored.put(stored_order("open"))
    stored.reports.add(("m_2", COMMUNITY))
    view = service.get_order(MEMBER_2, order_id="ord_1")
    assert "contact_phone" not in view and view["my_claim"] is None and view["places_left"] == 2


@pytest.mark.parametrize("caller", [OTHER_CITIZEN, FOREIGN_CITIZEN, OTHER_COUNTY_ADMIN, FOREIGN_ADMIN, MEMBER_3,
                                    FOREIGN_MEMBER])
def test_everyone_else_gets_not_found(service, order_in_service, caller):
    with pytest.raises(NotFound, match="ORDER_NOT_FOUND"):
        service.get_order(caller, order_id=order_in_service)


def test_a_missing_order_is_the_same_not_found(service):
    with pytest.raises(NotFound, match="ORDER_NOT_FOUND"):
        service.get_order(COUNTY_ADMIN, order_id="ord_missing")


def test_a_citizen_lists_only_its_own_orders(service, store, stored):
    stored.put(stored_order("placed"))
    store.orders_of_account.return_value = [stored.orders["ord_1"]]
    answer = service.list_my_orders(CITIZEN, status="placed")
    assert [order["order_id"] for order in answer["orders"]] == ["ord_1"]
    assert store.orders_of_account.call_args.args[:3] == (TENANT, CITIZEN["account_id"], "placed")
    with pytest.raises(InvalidArgument):
        service.list_my_orders(CITIZEN, status="lost")
    with pytest.raises(PermissionDenied):
        service.list_my_orders(MEMBER)


# --- the citizen's actions ----------------------------------------------------------------------------------------
@pytest.fixture
def completed(stored):
    stored.put(stored_order("completed", claimed=2, places_left=0, completed_at=stamp(NOW),
                            auto_confirm_at="2026-12-09T08:00:00.000Z"),
               stored_claim("checked_out", "m_1", checked_in_at="2026-12-06T06:00:00.000Z",
                            checked_out_at="2026-12-06T07:30:00.000Z", hours=1.5),
               stored_claim("checked_out", "m_2", checked_in_at="2026-12-06T06:00:00.000Z",
                            checked_out_at="2026-12-06T16:00:00.000Z", hours=8.0))
    return "ord_1"


def test_confirming_rates_and_credits_each_volunteers_hours(service, stored, completed):
    view = service.confirm_order(CITIZEN, order_id=completed, rating=5, comment="很好")
    assert view["status"] == "confirmed" and view["rating"] == 5 and view["comment"] == "很好"
    assert sorted((entry["_id"], entry["hours"]) for entry in stored.credited) == [
        ("order:ord_1:m_1", 1.5), ("order:ord_1:m_2", 8.0)]
    entry = stored.credited[0]
    assert entry["community_id"] == COMMUNITY and entry["a2"] == COMMUNITY and entry["b2"] == "org_branch"
    assert entry["day"] == "2026-12-06" and entry["title"].startswith("健康服务")
    assert [event["event_type"] for event in stored.events] == ["order_confirmed", "order_rated"]
    assert "auto_confirm_at" not in stored.orders[completed]


@pytest.mark.parametrize("rating", [0, 6, None, "5"])
def test_confirming_needs_a_rating_of_one_to_five(service, store, completed, rating):
    with pytest.raises(InvalidArgument, match="RATING_INVALID"):
        service.confirm_order(CITIZEN, order_id=completed, rating=rating)
    assert_nothing_written(store)


def test_only_its_citizen_confirms_or_disputes(service, store, completed):
    for caller in (OTHER_CITIZEN, FOREIGN_CITIZEN, COUNTY_ADMIN, MEMBER):
        with pytest.raises(NotFound, match="ORDER_NOT_FOUND"):
            service.confirm_order(caller, order_id=completed, rating=5)
        with pytest.raises(NotFound, match="ORDER_NOT_FOUND"):
            service.dispute_order(caller, order_id=completed, reason="没来")
    assert_nothing_written(store)


def test_a_dispute_needs_a_reason_and_stops_the_automatic_confirmation(service, store, stored, completed):
    with pytest.raises(InvalidArgument, match="REQUIRED"):
        service.dispute_order(CITIZEN, order_id=completed, reason="")
    assert_nothing_written(store)
    view = service.dispute_order(CITIZEN, order_id=completed, reason="志愿者迟到")
    assert view["status"] == "disputed" and view["dispute_reason"] == "志愿者迟到"
    assert "auto_confirm_at" not in stored.orders[completed]
    assert stored.events[-1]["event_type"] == "order_disputed"


def test_cancelling_after_dispatch_is_a_state_conflict(service, store, stored):
    stored.put(stored_order("open"))
    with pytest.raises(Conflict, match="ORDER_STATE_CONFLICT"):
        service.cancel_order(CITIZEN, order_id="ord_1")
    assert_nothing_written(store)


# --- the community's desk -----------------------------------------------------------------------------------------
def test_approving_and_rejecting(service, stored):
    stored.put(stored_order("placed"))
    view = service.review_order(COMMUNITY_ADMIN, order_id="ord_1", decision="approve")
    assert view["status"] == "approved" and view["history"][-1]["actor_kind"] == "manager"
    assert stored.events[-1]["decision"] == "approve"
    stored.put(stored_order("placed", _id="ord_1"))
    view = service.review_order(COUNTY_ADMIN, order_id="ord_1", decision="reject", reason="不在服务范围")
    assert view["status"] == "rejected" and view["reject_reason"] == "不在服务范围"


@pytest.mark.parametrize("decision, reason, error", [("reject", "", InvalidArgument), ("maybe", "x", InvalidArgument)])
def test_bad_reviews_store_nothing(service, store, stored, decision, reason, error):
    stored.put(stored_order("placed"))
    with pytest.raises(error):
        service.review_order(COMMUNITY_ADMIN, order_id="ord_1", decision=decision, reason=reason)
    assert_nothing_written(store)


@pytest.mark.parametrize("caller", [OTHER_COUNTY_ADMIN, FOREIGN_ADMIN, MEMBER, CITIZEN])
def test_the_desk_refuses_other_subtrees_and_tenants_as_not_found(service, store, stored, caller):
    stored.put(stored_order("placed"), stored_order("placed", _id="ord_2"))
    calls = [lambda: service.review_order(caller, order_id="ord_1", decision="approve"),
             lambda: service.merge_order(caller, order_id="ord_1", into_order_id="ord_2"),
             lambda: service.dispatch_order(caller, order_id="ord_1", mode="claim", volunteers_needed=1),
             lambda: service.resolve_dispute(caller, order_id="ord_1", credit=True, reason="x")]
    for call in calls:
        with pytest.raises(NotFound, match="ORDER_NOT_FOUND"):
            call()
    with pytest.raises(NotFound, match="ORG_NOT_FOUND"):
        service.list_orders(caller, org_id=COMMUNITY)
    assert_nothing_written(store)


def test_a_review_in_the_wrong_state_names_it(service, store, stored):
    stored.put(stored_order("open"))
    with pytest.raises(Conflict) as refused:
        service.review_order(COMMUNITY_ADMIN, order_id="ord_1", decision="approve")
    assert refused.value.code == "ORDER_STATE_CONFLICT" and "接单中" in refused.value.message
    assert_nothing_written(store)


def test_merging_into_another_order_of_the_community(service, store, stored):
    stored.put(stored_order("placed"), stored_order("approved", _id="ord_2"),
               stored_order("placed", _id="ord_3", org_id=COMMUNITY_B))
    with pytest.raises(InvalidArgument, match="MERGE_OTHER_COMMUNITY"):
        service.merge_order(CITY_ADMIN, order_id="ord_1", into_order_id="ord_3")
    with pytest.raises(InvalidArgument, match="MERGE_INTO_ITSELF"):
        service.merge_order(COUNTY_ADMIN, order_id="ord_1", into_order_id="ord_1")
    with pytest.raises(NotFound, match="ORDER_NOT_FOUND"):
        service.merge_order(COMMUNITY_ADMIN, order_id="ord_1", into_order_id="ord_3")
    assert_nothing_written(store)
    store.merge_order.return_value = {**stored.orders["ord_1"], "status": "merged", "merged_into": "ord_2"}
    view = service.merge_order(COMMUNITY_ADMIN, order_id="ord_1", into_order_id="ord_2", reason="重复")
    assert view["status"] == "merged" and view["merged_into"] == "ord_2"
    order_id, step, fields, into, into_status, events = store.merge_order.call_args.args
    assert (order_id, step.target.value, into, into_status) == ("ord_1", "merged", "ord_2", "approved")
    assert events[0]["event_type"] == "order_merged"


def test_dispatching_for_claims_opens_the_places(service, stored):
    stored.put(stored_order("approved"))
    view = service.dispatch_order(COMMUNITY_ADMIN, order_id="ord_1", mode="claim", volunteers_needed=3)
    assert view["status"] == "open" and view["places_left"] == 3 and view["fence_radius_m"] == 300
    assert view["hours_cap"] == 8.0 and stored.events[-1]["event_type"] == "order_dispatched"


def test_dispatching_to_a_team(service, store, stored):
    stored.put(stored_order("approved"))
    stored.teams["team_1"] = {"_id": "team_1", "tenant_id": TENANT, "org_id": "org_county", "name": "红马甲",
                              "a0": "org_city", "a1": "org_county"}
    stored.teams["team_x"] = {"_id": "team_x", "tenant_id": "ten_2", "org_id": "org_city_x", "name": "外队",
                              "a0": "org_city_x"}
    stored.teams["team_b"] = {"_id": "team_b", "tenant_id": TENANT, "org_id": "org_county_b", "name": "二区队",
                              "a0": "org_city", "a1": "org_county_b"}
    for team_id in ("team_x", "team_b", "team_missing"):
        with pytest.raises(NotFound, match="TEAM_NOT_FOUND"):
            service.dispatch_order(COMMUNITY_ADMIN, order_id="ord_1", mode="team", team_id=team_id,
                                   volunteers_needed=2)
    assert_nothing_written(store)
    view = service.dispatch_order(COMMUNITY_ADMIN, order_id="ord_1", mode="team", team_id="team_1",
                                  volunteers_needed=2, fence_radius_m=500, hours_cap=3)
    assert (view["mode"], view["team_name"], view["fence_radius_m"], view["hours_cap"]) == ("team", "红马甲", 500, 3.0)


def test_resolving_a_dispute_with_or_without_credit(service, stored, completed):
    stored.orders[completed]["status"] = "disputed"
    view = service.resolve_dispute(COMMUNITY_ADMIN, order_id=completed, credit=False, reason="核实未服务")
    assert view["status"] == "closed" and view["resolution"] == "核实未服务" and stored.credited == []
    stored.orders[completed]["status"] = "disputed"
    service.resolve_dispute(COMMUNITY_ADMIN, order_id=completed, credit=True, reason="已服务")
    assert len(stored.credited) == 2


def test_listing_the_subtrees_orders(service, store, stored):
    stored.put(stored_order("placed"))
    store.orders_in_subtree.return_value = [stored.orders["ord_1"]]
    answer = service.list_orders(COUNTY_ADMIN, org_id="org_county", overdue=True)
    assert answer["orders"][0]["contact_phone"] == "13912345678"
    path, status, category, overdue, _skip, _limit = store.orders_in_subtree.call_args.args
    assert (path, status, category, overdue) == (["org_city", "org_county"], "", "", True)
