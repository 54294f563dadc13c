"""Volunteer service ordering through the gateway, over HTTP and gRPC, as its users would: a citizen registers and
orders (群众点单), the community approves and opens the order (审单、派单), two members race for its last place and
exactly one gets it (接单), the service is checked in and out inside the fence (refused outside), the citizen
confirms and rates it (评单), the members' hours move and the community's statistics show it. Guests order with a
tracking code; other tenants, other subtrees and other citizens are refused as if the order did not exist."""
from __future__ import annotations

import json
import threading

import grpc
import pytest

from gateway.client import ApiError, GrpcClient, HttpClient
from tests.support.identity import PASSWORD, City
from tests.support.scoring import wait_for
from tests.support.volunteer import FAR, GOOD_FIX, VolunteerCity, order_fields, served_for, unique_phone

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(rpc, operator_scope, volunteer_service, gateway_process) -> VolunteerCity:
    return VolunteerCity(rpc, operator_scope, gateway_process.http_url)


def refusal(call) -> ApiError:
    with pytest.raises(ApiError) as refused:
        call()
    return refused.value


def race(calls) -> list:
    """Run the calls at the same moment, one thread each; each one's answer or ApiError."""
    start, answers = threading.Barrier(len(calls)), [None] * len(calls)

    def run(index, call):
        start.wait()
        try:
            answers[index] = call()
        except ApiError as error:
            answers[index] = error
    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def credited(client: HttpClient, order_id: str) -> dict | None:
    """The member's hours once the order's entry is in its ledger."""
    hours = client.call("GetMyHours")
    return hours if any(row["source_id"] == order_id for row in hours["entries"]) else None


def test_an_order_from_the_citizen_to_the_hours_over_http(world):
    citizen, citizen_phone = world.citizen()
    community_id, manager = world.community["id"], world.manager
    first, second, third = world.members

    # the citizen finds the community on the public list and orders
    listed = HttpClient(world.base_url).call("ListOpenCommunities", {"tenant_code": world.code})
    [found] = [row for row in listed["communities"] if row["org_id"] == community_id]
    assert found["name"] == "幸福社区" and "health" in {category["code"] for category in found["categories"]}
    order = citizen.call("PlaceOrder", order_fields(community_id))
    order_id = order["order_id"]
    assert (order["status"], order["status_label"], order["community_name"]) == ("placed", "待审核", "幸福社区")
    assert [row["order_id"] for row in citizen.call("ListMyOrders")["orders"]] == [order_id]

    # the community sees it with the contact, approves it and opens it for two volunteers
    [desk] = manager.call("ListOrders", {"org_id": community_id, "status": "placed"})["orders"]
    assert (desk["order_id"], desk["contact_phone"]) == (order_id, "13912345678")
    assert manager.call("ReviewOrder", {"order_id": order_id, "decision": "approve"})["status"] == "approved"
    opened = manager.call("DispatchOrder", {"order_id": order_id, "mode": "claim", "volunteers_needed": 2})
    assert (opened["status"], opened["places_left"]) == ("open", 2)

    # members who reported to the community see it; the first claims, then two race for the last place
    claimable = first.client.call("ListClaimableOrders")["orders"]
    assert [(row["order_id"], row["places_left"]) for row in claimable if row["order_id"] == order_id] == [
        (order_id, 2)]
    assert first.client.call("ClaimOrder", {"order_id": order_id})["status"] == "claimed"
    again = refusal(lambda: first.client.call("ClaimOrder", {"order_id": order_id}))
    assert (again.status, again.code) == (409, "ALREADY_CLAIMED")
    answers = race([lambda member=member: member.client.call("ClaimOrder", {"order_id": order_id})
                    for member in (second, third)])
    won = [answer for answer in answers if isinstance(answer, dict)]
    lost = [answer for answer in answers if isinstance(answer, ApiError)]
    assert len(won) == 1 and won[0]["status"] == "claimed"
    assert [(error.status, error.code) for error in lost] == [(409, "ORDER_FULL")]
    winner, loser = (second, third) if won[0]["member_id"] == second.id else (third, second)
    full = manager.call("GetOrder", {"order_id": order_id})
    assert (full["claimed"], full["places_left"]) == (2, 0)
    assert sorted(claim["name"] for claim in full["claimants"]) == sorted([first.name, winner.name])

    # the service: refused outside the fence, checked in and out inside it
    outside = refusal(lambda: first.client.call("CheckInService", {"order_id": order_id, **FAR,
                                                                   "accuracy_m": 8.0}))
    assert (outside.status, outside.code) == (409, "OUTSIDE_FENCE")
    for member in (first, winner):
        assert member.client.call("CheckInService", {"order_id": order_id, **GOOD_FIX})["status"] == "checked_in"
    assert citizen.call("GetOrder", {"order_id": order_id})["status"] == "in_service"
    for member in (first, winner):
        served_for("order", order_id, member.id)
        out = member.client.call("CheckOutService", {"order_id": order_id, **GOOD_FIX})
        assert out["status"] == "checked_out" and out["hours"] == 0.5
    reported = winner.client.call("ReportCompletion", {"order_id": order_id, "text": "已陪同复诊，老人已安全到家"})
    assert reported["status"] == "completed" and reported["completion_text"] == "已陪同复诊，老人已安全到家"

    # the citizen's view names the volunteers and shows nothing else of them
    seen = citizen.call("GetOrder", {"order_id": order_id})
    assert seen["status"] == "completed"
    assert sorted(claim["name"] for claim in seen["claimants"]) == sorted([first.name, winner.name])
    shown = json.dumps(seen, ensure_ascii=False) + json.dumps(citizen.call("ListMyOrders"), ensure_ascii=False)
    for member in world.members:
        assert member.phone not in shown and member.id not in shown
    assert world.branch["id"] not in shown

    # 评单: the citizen confirms and rates; the volunteers' hours are credited
    confirmed = citizen.call("ConfirmOrder", {"order_id": order_id, "rating": 5, "comment": "非常感谢两位志愿者"})
    assert (confirmed["status"], confirmed["rating"], confirmed["comment"]) == ("confirmed", 5, "非常感谢两位志愿者")
    for member in (first, winner):
        hours = wait_for(lambda member=member: credited(member.client, order_id))
        [entry] = [row for row in hours["entries"] if row["source_id"] == order_id]
        assert (entry["source_kind"], entry["entry_id"]) == ("order", f"order:{order_id}:{member.id}")
        assert entry["hours"] >= 0.01 and hours["total_hours"] == pytest.approx(entry["hours"])
    assert loser.client.call("GetMyHours") == {"member_id": loser.id, "total_hours": 0, "entries": [],
                                               "next_page_token": ""}

    # the community's statistics show it, and the subtree above sees the same
    statistics = manager.call("GetVolunteerStatistics", {"org_id": community_id})
    assert statistics["orders_by_status"]["confirmed"] == 1 and statistics["orders_by_category"]["health"] == 1
    assert statistics["ratings"]["count"] == 1 and statistics["ratings"]["average"] == 5
    assert statistics["hours_total"] >= 0.02 and statistics["minutes_to_dispatch"]["count"] == 1
    above = world.county_admin.call("GetVolunteerStatistics", {"org_id": world.city.counties[0]["id"]})
    assert above["orders_by_status"]["confirmed"] == 1
    # rankings: the community among communities, its volunteers among the county's members (by their branches)
    [community_row] = manager.call("ListHoursRanking", {"org_id": community_id, "by": "community"})["rows"]
    assert (community_row["id"], community_row["rank"]) == (community_id, 1)
    members = world.county_admin.call("ListHoursRanking", {"org_id": world.city.counties[0]["id"], "by": "member"})
    assert {row["id"] for row in members["rows"]} == {first.id, winner.id}
    headers, workbook = manager.download("ExportVolunteerStatistics", {"org_id": community_id})
    assert headers["content-type"].startswith("application/vnd.openxmlformats") and workbook[:2] == b"PK"


def test_a_dispute_and_a_rejection_over_grpc(world, gateway_process):
    community_id, member = world.community["id"], world.members[0]
    with GrpcClient(gateway_process.grpc_target) as stub:
        phone = unique_phone()
        registered = stub.call("RegisterCitizen", {"tenant_code": world.code, "phone": phone, "password": PASSWORD,
                                                   "name": "李大爷"})
        assert registered["phone_masked"] == f"{phone[:3]}****{phone[-4:]}"
        citizen = stub.login(world.code, phone, PASSWORD)["access_token"]
        manager, volunteer = world.manager.token, member.client.token

        rejected = stub.call("PlaceOrder", order_fields(community_id, description="帮忙修理水管"), citizen)
        stub.call("ReviewOrder", {"order_id": rejected["order_id"], "decision": "reject",
                                  "reason": "请联系物业报修"}, manager)
        seen = stub.call("GetOrder", {"order_id": rejected["order_id"]}, citizen)
        assert (seen["status"], seen["reject_reason"]) == ("rejected", "请联系物业报修")
        again = refusal(lambda: stub.call("ReviewOrder", {"order_id": rejected["order_id"], "decision": "approve"},
                                          manager))
        assert (again.status, again.code) == (grpc.StatusCode.FAILED_PRECONDITION, "ORDER_STATE_CONFLICT")

        order_id = stub.call("PlaceOrder", order_fields(community_id), citizen)["order_id"]
        stub.call("ReviewOrder", {"order_id": order_id, "decision": "approve"}, manager)
        stub.call("DispatchOrder", {"order_id": order_id, "mode": "claim", "volunteers_needed": 1}, manager)
        assert stub.call("ClaimOrder", {"order_id": order_id}, volunteer)["status"] == "claimed"
        stub.call("CheckInService", {"order_id": order_id, **GOOD_FIX}, volunteer)
        served_for("order", order_id, member.id)
        stub.call("CheckOutService", {"order_id": order_id, **GOOD_FIX}, volunteer)
        assert stub.call("GetOrder", {"order_id": order_id}, citizen)["status"] == "completed"

        disputed = stub.call("DisputeOrder", {"order_id": order_id, "reason": "服务时间太短"}, citizen)
        assert (disputed["status"], disputed["dispute_reason"]) == ("disputed", "服务时间太短")
        not_twice = refusal(lambda: stub.call("ConfirmOrder", {"order_id": order_id, "rating": 4}, citizen))
        assert not_twice.code == "ORDER_STATE_CONFLICT"
        closed = stub.call("ResolveDispute", {"order_id": order_id, "credit": True, "reason": "核实已按约服务"},
                           manager)
        assert closed["status"] == "closed" and [step["to"] for step in closed["history"]][-1] == "closed"
        entries = wait_for(lambda: [row for row in stub.call("GetMyHours", {}, volunteer)["entries"]
                                    if row["source_id"] == order_id])
        assert entries[0]["entry_id"] == f"order:{order_id}:{member.id}" and entries[0]["hours"] >= 0.01


def test_a_guest_orders_and_follows_it_with_its_tracking_code(world, gateway_process):
    anyone = HttpClient(world.base_url)
    placed = anyone.call("PlaceGuestOrder", {"tenant_code": world.code,
                                             **order_fields(world.community["id"], contact_phone="13700005678")})
    code, order_id = placed["tracking_code"], placed["order"]["order_id"]
    assert len(code) == 10 and placed["order"]["status"] == "placed"
    tracked = {"tenant_code": world.code, "tracking_code": code}
    assert anyone.call("GetTrackedOrder", {**tracked, "phone_last4": "5678"})["order_id"] == order_id
    wrong = refusal(lambda: anyone.call("GetTrackedOrder", {**tracked, "phone_last4": "0000"}))
    assert (wrong.status, wrong.code) == (404, "ORDER_NOT_FOUND")
    elsewhere = refusal(lambda: anyone.call("GetTrackedOrder", {"tenant_code": "no-such-city",
                                                                "tracking_code": code, "phone_last4": "5678"}))
    assert elsewhere.status == 404
    [desk] = [row for row in world.manager.call("ListOrders", {"org_id": world.community["id"]})["orders"]
              if row["order_id"] == order_id]
    assert desk["contact_phone"] == "13700005678"
    with GrpcClient(gateway_process.grpc_target) as stub:
        cancelled = stub.call("CancelTrackedOrder", {**tracked, "phone_last4": "5678", "reason": "已自行解决"})
        assert cancelled["status"] == "cancelled"
        assert stub.call("GetTrackedOrder", {**tracked, "phone_last4": "5678"})["status_label"] == "已取消"
    review = refusal(lambda: world.manager.call("ReviewOrder", {"order_id": order_id, "decision": "approve"}))
    assert (review.status, review.code) == (409, "ORDER_STATE_CONFLICT")


def test_other_tenants_other_subtrees_and_other_citizens_are_refused_as_not_found(world, rpc, operator_scope):
    community_id = world.community["id"]
    citizen, _ = world.citizen()
    order_id = citizen.call("PlaceOrder", order_fields(community_id))["order_id"]
    other_city = City(rpc, operator_scope)
    foreign = HttpClient(world.base_url)
    foreign.login(other_city.code, "city-admin", PASSWORD)
    other_citizen, _ = world.citizen("赵先生")
    for caller in (foreign, world.other_county_admin, other_citizen):
        hidden = refusal(lambda caller=caller: caller.call("GetOrder", {"order_id": order_id}))
        assert (hidden.status, hidden.code) == (404, "ORDER_NOT_FOUND")
    for caller in (foreign, world.other_county_admin):
        hidden = refusal(lambda caller=caller: caller.call("ReviewOrder", {"order_id": order_id,
                                                                          "decision": "approve"}))
        assert (hidden.status, hidden.code) == (404, "ORDER_NOT_FOUND")
        listing = refusal(lambda caller=caller: caller.call("ListOrders", {"org_id": community_id}))
        assert (listing.status, listing.code) == (404, "ORG_NOT_FOUND")
    cancel = refusal(lambda: other_citizen.call("CancelOrder", {"order_id": order_id}))
    assert (cancel.status, cancel.code) == (404, "ORDER_NOT_FOUND")
    assert other_citizen.call("ListMyOrders")["orders"] == []
    # the order is untouched, and the county above the community manages it
    assert world.county_admin.call("GetOrder", {"order_id": order_id})["status"] == "placed"

    # a member who did not report to the community may not claim its orders
    world.manager.call("ReviewOrder", {"order_id": order_id, "decision": "approve"})
    world.manager.call("DispatchOrder", {"order_id": order_id, "mode": "claim", "volunteers_needed": 1})
    stranger = world.member("未报到党员", branch=world.city.branches[1][0], report=False)
    not_here = refusal(lambda: stranger.client.call("ClaimOrder", {"order_id": order_id}))
    assert (not_here.status, not_here.code) == (409, "NOT_REPORTED_HERE")


def test_bad_input_is_refused_and_stores_nothing(world):
    citizen, _ = world.citizen()
    community_id = world.community["id"]
    for fields, code, field in ((order_fields(community_id, category="plumbing"), "CATEGORY_UNKNOWN", "category"),
                                (order_fields(community_id, description=""), "REQUIRED", "description"),
                                (order_fields(community_id, contact_phone="12345"), "PHONE_INVALID",
                                 "contact_phone"),
                                (order_fields("org_nowhere"), "ORG_NOT_FOUND", "community_id")):
        bad = refusal(lambda fields=fields: citizen.call("PlaceOrder", fields))
        assert (bad.status // 100, bad.code, bad.field) == (4, code, field)
    assert citizen.call("ListMyOrders")["orders"] == []
    assert world.manager.call("ListOrders", {"org_id": community_id})["orders"] == []
    order_id = citizen.call("PlaceOrder", order_fields(community_id))["order_id"]
    early = refusal(lambda: world.manager.call("DispatchOrder", {"order_id": order_id, "mode": "claim",
                                                                  "volunteers_needed": 2}))
    assert (early.status, early.code) == (409, "ORDER_STATE_CONFLICT")     # not approved yet
    world.manager.call("ReviewOrder", {"order_id": order_id, "decision": "approve"})
    none_needed = refusal(lambda: world.manager.call("DispatchOrder", {"order_id": order_id, "mode": "claim",
                                                                        "volunteers_needed": 99}))
    assert (none_needed.status, none_needed.code) == (400, "VOLUNTEERS_INVALID")
    assert world.manager.call("GetOrder", {"order_id": order_id})["status"] == "approved"
