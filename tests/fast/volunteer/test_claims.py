"""Members on orders through the entry points: claiming (who may), withdrawing, checking in and out inside the
fence, the completion report and photos; refusals store nothing."""
from __future__ import annotations

import base64
import io
from datetime import timedelta

import pytest
from PIL import Image

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from servicekit.timestamps import stamp
from tests.fast.volunteer.order_fakes import *  # noqa: F401,F403  the fixtures
from tests.fast.volunteer.order_fakes import (
    CITIZEN, CLOSE_BY, COMMUNITY, COMMUNITY_ADMIN, FOREIGN_MEMBER, MEMBER, MEMBER_2, NOW, OTHER_CITIZEN, TENANT,
    assert_nothing_written, stored_claim, stored_order)

FIX = {"lat": CLOSE_BY[0], "lng": CLOSE_BY[1], "accuracy_m": 20, "mock_location": False}


def png() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (80, 80), (200, 30, 30)).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture
def open_order(stored):
    stored.put(stored_order("open"))
    stored.reports.add(("m_1", COMMUNITY))
    stored.reports.add(("m_2", COMMUNITY))
    return "ord_1"


# --- claiming --------------------------------------------------------------------------------------------------------
def test_a_member_who_reported_to_the_community_claims(service, stored, open_order):
    claim = service.claim_order(MEMBER, order_id=open_order)
    assert claim["claim_id"] == "ord_1:m_1" and claim["status"] == "claimed" and claim["name"] == "李党员"
    row = stored.claims["ord_1:m_1"]
    assert row["branch_path"] == ["org_city", "org_county", "org_branch"] and row["tenant_id"] == TENANT
    # released 30 minutes after the wished start (which is 30 minutes away)
    assert row["release_at"] == stamp(NOW + timedelta(minutes=60))
    assert stored.orders[open_order]["places_left"] == 1
    assert stored.events[-1]["event_type"] == "order_claimed" and stored.events[-1]["branch_id"] == "org_branch"


def test_a_member_who_did_not_report_there_is_told_so(service, store, stored, open_order):
    stored.reports.clear()
    stored.reports.add(("m_1", "org_comm_b"))
    with pytest.raises(Conflict, match="NOT_REPORTED_HERE"):
        service.claim_order(MEMBER, order_id=open_order)
    assert_nothing_written(store)


def test_a_team_order_takes_only_the_teams_members(service, store, stored):
    stored.put(stored_order("open", mode="team", team_id="team_1"))
    stored.reports.add(("m_1", COMMUNITY))
    with pytest.raises(Conflict, match="NOT_IN_TEAM"):
        service.claim_order(MEMBER, order_id="ord_1")
    assert_nothing_written(store)
    stored.team_members.add(("team_1", "m_1"))
    assert service.claim_order(MEMBER, order_id="ord_1")["status"] == "claimed"


@pytest.mark.parametrize("status", ["placed", "approved", "in_service", "completed", "cancelled"])
def test_only_open_orders_take_claims(service, store, stored, status):
    stored.put(stored_order(status))
    stored.reports.add(("m_1", COMMUNITY))
    with pytest.raises(Conflict, match="ORDER_NOT_OPEN"):
        service.claim_order(MEMBER, order_id="ord_1")
    assert_nothing_written(store)


def test_a_second_claim_of_the_same_member_is_refused_before_writing(service, store, stored, open_order):
    stored.put(stored_claim("claimed"))
    with pytest.raises(Conflict, match="ALREADY_CLAIMED"):
        service.claim_order(MEMBER, order_id=open_order)
    assert_nothing_written(store)


def test_a_full_order_is_refused_from_the_order_read_without_asking_identity(service, store, stored, identity,
                                                                            open_order):
    stored.orders[open_order].update(places_left=0, claimed=2, pending=2)
    with pytest.raises(Conflict, match="ORDER_FULL"):
        service.claim_order(MEMBER, order_id=open_order)
    assert identity.asked == []
    store.reported_to.assert_not_called()
    assert_nothing_written(store)


def test_claiming_again_after_withdrawing(service, stored, open_order):
    stored.put(stored_claim("withdrawn"))
    assert service.claim_order(MEMBER, order_id=open_order)["status"] == "claimed"


@pytest.mark.parametrize("caller, error, code", [
    (CITIZEN, PermissionDenied, "MEMBER_ONLY"), (COMMUNITY_ADMIN, PermissionDenied, "MEMBER_ONLY"),
    (FOREIGN_MEMBER, NotFound, "ORDER_NOT_FOUND")])
def test_only_members_of_the_tenant_claim(service, store, open_order, caller, error, code):
    for call in (lambda: service.claim_order(caller, order_id=open_order),
                 lambda: service.withdraw_claim(caller, order_id=open_order),
                 lambda: service.check_in_service(caller, order_id=open_order, **FIX),
                 lambda: service.check_out_service(caller, order_id=open_order, **FIX),
                 lambda: service.report_completion(caller, order_id=open_order, text="已完成"),
                 lambda: service.add_completion_photo(caller, order_id=open_order, content=png(),
                                                      content_type="image/png")):
        with pytest.raises(error, match=code):
            call()
    assert_nothing_written(store)


def test_a_missing_order_is_not_found(service, store):
    with pytest.raises(NotFound, match="ORDER_NOT_FOUND"):
        service.claim_order(MEMBER, order_id="ord_missing")


def test_withdrawing_opens_the_place_again(service, stored, open_order):
    service.claim_order(MEMBER, order_id=open_order)
    claim = service.withdraw_claim(MEMBER, order_id=open_order, reason="临时有事")
    assert claim["status"] == "withdrawn"
    assert stored.orders[open_order]["places_left"] == 2 and stored.orders[open_order]["pending"] == 0
    assert stored.events[-1]["event_type"] == "claim_withdrawn" and stored.events[-1]["reason"] == "临时有事"


def test_withdrawing_after_check_in_is_refused(service, store, stored, open_order):
    stored.put(stored_claim("checked_in", checked_in_at=stamp(NOW)))
    with pytest.raises(Conflict, match="ALREADY_CHECKED_IN"):
        service.withdraw_claim(MEMBER, order_id=open_order)
    assert_nothing_written(store)


def test_claimable_orders_are_those_of_the_reported_community_and_the_teams_with_places(service, stored):
    stored.put(stored_order("open", _id="ord_a"), stored_order("open", _id="ord_full", places_left=0),
               stored_order("open", _id="ord_team", mode="team", team_id="team_1"),
               stored_order("open", _id="ord_other_team", mode="team", team_id="team_2"),
               stored_order("open", _id="ord_held"), stored_claim("claimed", order_id="ord_held"),
               stored_order("approved", _id="ord_not_open"))
    stored.reports.add(("m_1", COMMUNITY))
    stored.team_members.add(("team_1", "m_1"))
    answer = service.list_claimable_orders(MEMBER)
    assert sorted(order["order_id"] for order in answer["orders"]) == ["ord_a", "ord_team"]
    assert all("contact_phone" not in order for order in answer["orders"])


# --- service ------------------------------------------------------------------------------------------------------
@pytest.fixture
def claimed(stored, open_order):
    stored.orders[open_order].update(places_left=1, claimed=1, pending=1)
    stored.put(stored_claim("claimed"))
    return open_order


def test_the_first_check_in_starts_the_service(service, stored, claimed):
    claim = service.check_in_service(MEMBER, order_id=claimed, **FIX)
    assert claim["status"] == "checked_in" and claim["checked_in_at"] == stamp(NOW)
    assert stored.orders[claimed]["status"] == "in_service"
    assert [event["event_type"] for event in stored.events] == ["service_checked_in"]
    assert stored.claims["ord_1:m_1"]["check_in_position"]["accuracy_m"] == 20


@pytest.mark.parametrize("fix, code", [
    ({**FIX, "lat": 34.27}, "OUTSIDE_FENCE"), ({**FIX, "mock_location": True}, "MOCK_LOCATION"),
    ({**FIX, "accuracy_m": 150}, "ACCURACY_TOO_LOW")])
def test_check_in_outside_the_fence_or_with_a_doubtful_fix_is_refused(service, store, claimed, fix, code):
    with pytest.raises(Conflict) as refused:
        service.check_in_service(MEMBER, order_id=claimed, **fix)
    assert refused.value.code == code
    if code == "OUTSIDE_FENCE":
        assert refused.value.details[0]["radius_m"] == 300 and refused.value.details[0]["distance_m"] > 1000
    assert_nothing_written(store)


@pytest.mark.parametrize("fix, field", [({**FIX, "lat": "34"}, "lat"), ({**FIX, "accuracy_m": 0}, "accuracy_m"),
                                        ({**FIX, "mock_location": "no"}, "mock_location")])
def test_a_malformed_fix_is_an_invalid_argument(service, store, claimed, fix, field):
    with pytest.raises(InvalidArgument) as refused:
        service.check_in_service(MEMBER, order_id=claimed, **fix)
    assert refused.value.field == field
    assert_nothing_written(store)


def test_too_early_and_too_late(service, store, stored, claimed, clock):
    stored.orders[claimed]["wished_start"] = stamp(NOW + timedelta(hours=2))
    with pytest.raises(Conflict, match="TOO_EARLY"):
        service.check_in_service(MEMBER, order_id=claimed, **FIX)
    stored.orders[claimed]["wished_start"] = stamp(NOW - timedelta(hours=1))
    stored.claims["ord_1:m_1"]["release_at"] = stamp(NOW - timedelta(minutes=1))
    with pytest.raises(Conflict, match="TOO_LATE"):
        service.check_in_service(MEMBER, order_id=claimed, **FIX)
    assert_nothing_written(store)


def test_check_out_credits_nothing_yet_and_the_last_one_completes_the_order(service, stored, claimed, clock):
    service.check_in_service(MEMBER, order_id=claimed, **FIX)
    clock.advance(minutes=150)
    claim = service.check_out_service(MEMBER, order_id=claimed, **FIX)
    assert claim["status"] == "checked_out" and claim["hours"] == 2.5
    order = stored.orders[claimed]
    assert order["status"] == "completed" and order["completed_at"] == stamp(NOW + timedelta(minutes=150))
    assert order["auto_confirm_at"] == stamp(NOW + timedelta(minutes=150, hours=72))
    assert [event["event_type"] for event in stored.events] == [
        "service_checked_in", "service_checked_out", "order_completed"]
    assert stored.credited == []


def test_check_out_waits_for_the_others(service, stored, claimed, clock):
    stored.orders[claimed].update(places_left=0, claimed=2, pending=2)
    stored.put(stored_claim("claimed", "m_2"))
    service.check_in_service(MEMBER, order_id=claimed, **FIX)
    service.check_out_service(MEMBER, order_id=claimed, **FIX)
    assert stored.orders[claimed]["status"] == "in_service"


def test_hours_are_capped_by_the_order(service, stored, claimed, clock):
    stored.orders[claimed]["hours_cap"] = 1.0
    service.check_in_service(MEMBER, order_id=claimed, **FIX)
    clock.advance(hours=3)
    assert service.check_out_service(MEMBER, order_id=claimed, **FIX)["hours"] == 1.0


def test_check_out_without_check_in_is_refused(service, store, claimed):
    with pytest.raises(Conflict, match="NOT_CHECKED_IN"):
        service.check_out_service(MEMBER, order_id=claimed, **FIX)
    assert_nothing_written(store)


def test_the_list_of_my_claims_carries_each_orders_summary(service, store, stored, claimed):
    store.claims_of_member.return_value = [stored.claims["ord_1:m_1"]]
    answer = service.list_my_claims(MEMBER)
    assert answer["claims"][0]["order"]["order_id"] == "ord_1"
    assert "contact_phone" not in answer["claims"][0]["order"]
    with pytest.raises(InvalidArgument):
        service.list_my_claims(MEMBER, status="lost")


# --- completion report and photos ---------------------------------------------------------------------------------
@pytest.fixture
def serving(stored, claimed):
    stored.orders[claimed]["status"] = "in_service"
    stored.claims["ord_1:m_1"].update(status="checked_in", checked_in_at=stamp(NOW))
    return claimed


def test_a_volunteer_reports_the_service(service, store, stored, serving):
    store.set_completion_text.return_value = {**stored.orders[serving], "completion_text": "已帮助量血压"}
    view = service.report_completion(MEMBER, order_id=serving, text="已帮助量血压")
    assert view["completion_text"] == "已帮助量血压"
    assert store.set_completion_text.call_args.args[:3] == (serving, ["in_service", "completed"], "已帮助量血压")


def test_only_a_volunteer_who_checked_in_reports(service, store, stored, serving):
    stored.put(stored_claim("claimed", "m_2"))
    for caller in (MEMBER_2,):
        with pytest.raises(Conflict, match="NOT_A_VOLUNTEER"):
            service.report_completion(caller, order_id=serving, text="x")
    with pytest.raises(InvalidArgument, match="REQUIRED"):
        service.report_completion(MEMBER, order_id=serving, text="")
    assert_nothing_written(store)


def test_a_completion_photo_is_checked_hashed_and_stored(service, store, serving):
    store.add_order_photo.return_value = True
    answer = service.add_completion_photo(MEMBER, order_id=serving, content=png(), content_type="image/png")
    photo, statuses = store.add_order_photo.call_args.args
    assert answer == {"photo_id": photo["_id"], "content_hash": photo["content_hash"]}
    assert photo["order_id"] == serving and photo["content"].startswith(b"\x89PNG") and statuses == [
        "in_service", "completed"]


@pytest.mark.parametrize("content, content_type, code", [
    (base64.b64encode(b"GIF89a....").decode(), "image/gif", "UPLOAD_TYPE_UNSUPPORTED"),
    (base64.b64encode(b"not a png at all").decode(), "image/png", "UPLOAD_TYPE_MISMATCH"),
    (base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40).decode(), "image/png", "NOT_AN_IMAGE"),
    ("", "image/png", "UPLOAD_EMPTY"), ("***", "image/png", "UPLOAD_INVALID"),
])
def test_a_bad_photo_stores_nothing(service, store, serving, content, content_type, code):
    with pytest.raises(InvalidArgument, match=code):
        service.add_completion_photo(MEMBER, order_id=serving, content=content, content_type=content_type)
    assert_nothing_written(store)


def test_photos_are_shown_to_the_orders_people_only(service, store, stored, serving):
    store.order_photo.return_value = {"_id": "pho_1", "order_id": serving, "content": b"\x89PNG...",
                                      "content_type": "image/png", "content_hash": "abc"}
    for caller in (MEMBER, CITIZEN, COMMUNITY_ADMIN):
        answer = service.get_completion_photo(caller, photo_id="pho_1")
        assert answer["filename"] == "pho_1.png" and base64.b64decode(answer["content"]) == b"\x89PNG..."
    for caller in (OTHER_CITIZEN, MEMBER_2, FOREIGN_MEMBER):
        with pytest.raises(NotFound, match="PHOTO_NOT_FOUND"):
            service.get_completion_photo(caller, photo_id="pho_1")
