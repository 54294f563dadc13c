"""Volunteer settings, community profiles and the timeout sweep through the service (fake store and identity)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from servicekit.errors import InvalidArgument, NotFound, PermissionDenied
from servicekit.timestamps import stamp
from services.volunteer.domain import settings as setting_rules
from services.volunteer.usecases.sweep import Sweep
from tests.fast.volunteer.order_fakes import *  # noqa: F401,F403  the fixtures
from tests.fast.volunteer.order_fakes import (
    CITIZEN, CITY_ADMIN, COMMUNITY, COMMUNITY_ADMIN, COUNTY_ADMIN, FOREIGN_ADMIN, MEMBER, NOW, OTHER_COUNTY_ADMIN,
    OTHER_CODE, TENANT, TENANT_CODE, assert_nothing_written, stored_claim, stored_order)


# --- settings ------------------------------------------------------------------------------------------------------
def test_everyone_of_the_tenant_reads_the_settings(service):
    for caller in (MEMBER, CITIZEN, COUNTY_ADMIN):
        assert service.get_volunteer_settings(caller) == setting_rules.merged(None)


def test_the_city_admin_changes_what_it_gives(service, store):
    changed = service.update_volunteer_settings(CITY_ADMIN, review_hours=12, categories=[], fence_radius_m=0)
    assert changed["review_hours"] == 12 and changed["fence_radius_m"] == 300 and len(changed["categories"]) == 3
    tenant_id, saved, by, _at = store.save_settings.call_args.args
    assert (tenant_id, saved, by) == (TENANT, changed, CITY_ADMIN["account_id"])


@pytest.mark.parametrize("caller", [COUNTY_ADMIN, COMMUNITY_ADMIN, MEMBER, CITIZEN])
def test_only_the_city_admin_changes_them(service, store, caller):
    with pytest.raises(PermissionDenied, match="NOT_CITY_ADMIN"):
        service.update_volunteer_settings(caller, review_hours=12)
    assert_nothing_written(store)


def test_bad_settings_store_nothing(service, store):
    with pytest.raises(InvalidArgument) as refused:
        service.update_volunteer_settings(CITY_ADMIN, review_hours=12, auto_confirm_hours=10_000)
    assert refused.value.field == "auto_confirm_hours"
    assert_nothing_written(store)


# --- community profiles -----------------------------------------------------------------------------------------------
def test_a_community_manager_opens_its_community(service, store):
    view = service.set_community_profile(COMMUNITY_ADMIN, org_id=COMMUNITY, address="幸福路 1 号", lat=34.26,
                                         lng=108.94, open=True, categories=["health"])
    saved = store.save_profile.call_args.args[0]
    assert saved["path_ids"] == ["org_city", "org_county", COMMUNITY] and saved["a2"] == COMMUNITY
    assert saved["tenant_id"] == TENANT and saved["name"] == "幸福社区"
    assert view["open"] is True and view["categories_offered"] == [{"code": "health", "label": "健康服务"}]


@pytest.mark.parametrize("caller", [OTHER_COUNTY_ADMIN, FOREIGN_ADMIN, MEMBER, CITIZEN])
def test_others_cannot_set_a_profile(service, store, caller):
    with pytest.raises(NotFound, match="ORG_NOT_FOUND"):
        service.set_community_profile(caller, org_id=COMMUNITY, address="x", lat=34.26, lng=108.94, open=True)
    assert_nothing_written(store)


@pytest.mark.parametrize("change, field", [({"address": ""}, "address"), ({"lat": 95}, "lat"),
                                           ({"categories": ["cooking"]}, "categories"), ({"open": "yes"}, "open")])
def test_bad_profiles_store_nothing(service, store, change, field):
    fields = {"org_id": COMMUNITY, "address": "幸福路 1 号", "lat": 34.26, "lng": 108.94, "open": True,
              **change}
    with pytest.raises(InvalidArgument) as refused:
        service.set_community_profile(COMMUNITY_ADMIN, **fields)
    assert refused.value.field == field
    assert_nothing_written(store)


def test_citizens_list_the_open_communities_of_their_tenant(service, stored):
    stored.profiles["org_comm_b"]["open"] = False
    answer = service.list_open_communities(tenant_code=TENANT_CODE, q="", client_address="")
    assert [row["org_id"] for row in answer["communities"]] == [COMMUNITY]
    assert [c["code"] for c in answer["communities"][0]["categories"]] == ["skills", "services", "health"]
    assert service.list_open_communities(tenant_code=TENANT_CODE, q="和平")["communities"] == []
    assert [row["org_id"] for row in service.list_open_communities(tenant_code=OTHER_CODE)["communities"]] == [
        "org_comm_x"]
    with pytest.raises(NotFound, match="TENANT_NOT_FOUND"):
        service.list_open_communities(tenant_code="nowhere")


def test_a_profile_is_read_by_its_managers_and_when_open_by_the_tenant(service, stored):
    assert service.get_community_profile(MEMBER, org_id=COMMUNITY)["open"] is True
    stored.profiles[COMMUNITY]["open"] = False
    assert service.get_community_profile(COUNTY_ADMIN, org_id=COMMUNITY)["open"] is False
    with pytest.raises(NotFound, match="ORG_NOT_FOUND"):
        service.get_community_profile(MEMBER, org_id=COMMUNITY)
    with pytest.raises(NotFound, match="ORG_NOT_FOUND"):
        service.get_community_profile(FOREIGN_ADMIN, org_id=COMMUNITY)


# --- the sweep ----------------------------------------------------------------------------------------------------
def test_the_sweep_marks_overdue_releases_and_confirms_what_is_due(store, stored, clock):
    stored.put(stored_order("completed", _id="ord_done", auto_confirm_at=stamp(NOW - timedelta(minutes=1)),
                            completed_at=stamp(NOW - timedelta(hours=72))),
               stored_claim("checked_out", order_id="ord_done", checked_in_at=stamp(NOW - timedelta(hours=74)),
                            checked_out_at=stamp(NOW - timedelta(hours=72))),
               stored_order("open", _id="ord_open", places_left=1, claimed=1, pending=1),
               stored_claim("claimed", "m_2", order_id="ord_open", release_at=stamp(NOW - timedelta(seconds=1))))
    store.reviews_due.return_value = [{"_id": "ord_late", "review_due_at": "2026-12-06T07:00:00.000Z"}]
    store.mark_overdue.return_value = True
    store.releases_due.return_value = [stored.claims["ord_open:m_2"]]
    store.confirmations_due.return_value = [stored.orders["ord_done"]]
    done = Sweep(store, clock).run()
    assert done == {"overdue": 1, "released": 1, "confirmed": 1}
    assert store.mark_overdue.call_args.args == ("ord_late", "2026-12-06T07:00:00.000Z", stamp(NOW))
    assert stored.claims["ord_open:m_2"]["status"] == "released" and stored.orders["ord_open"]["places_left"] == 2
    assert stored.orders["ord_done"]["status"] == "confirmed"
    assert stored.orders["ord_done"]["history"][-1]["actor_kind"] == "system"
    assert [entry["_id"] for entry in stored.credited] == ["order:ord_done:m_1"]
    kinds = [event["event_type"] for event in stored.events]
    assert kinds == ["claim_withdrawn", "order_confirmed"] and stored.events[0]["reason"] == "timeout"


def test_releasing_the_last_pending_claim_of_an_order_in_service_completes_it(store, stored, clock):
    stored.put(stored_order("in_service", places_left=0, claimed=2, pending=1),
               stored_claim("checked_out", "m_1", checked_in_at=stamp(NOW - timedelta(hours=1)),
                            checked_out_at=stamp(NOW)),
               stored_claim("claimed", "m_2", release_at=stamp(NOW)))
    store.reviews_due.return_value, store.confirmations_due.return_value = [], []
    store.releases_due.return_value = [stored.claims["ord_1:m_2"]]
    Sweep(store, clock).run()
    assert stored.orders["ord_1"]["status"] == "completed"
    assert stored.orders["ord_1"]["history"][-1]["actor_kind"] == "system"


def test_an_item_that_moved_meanwhile_is_skipped(store, stored, clock):
    from servicekit.errors import Conflict
    store.reviews_due.return_value = []
    store.releases_due.return_value = [stored_claim("claimed", release_at=stamp(NOW))]
    store.change_claim.side_effect = Conflict("checked in meanwhile", code="ALREADY_CHECKED_IN")
    stored.put(stored_order("disputed", _id="ord_d", auto_confirm_at=stamp(NOW)))
    store.confirmations_due.return_value = [stored.orders["ord_d"]]
    assert Sweep(store, clock).run() == {"overdue": 0, "released": 0, "confirmed": 0}
    store.step_order.assert_not_called()
