"""The organisation tree's use cases on a fake store: only admins change it, never their own root, never into an
impossible shape; a change is written once with its event at the clock's time."""
from __future__ import annotations

import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from tests.fast.identity.fakes import (BRANCH, CITY_ADMIN, COUNTY, COUNTY2, COUNTY_ADMIN, FOREIGN_ADMIN, NOW_STAMP,
                                       SECRETARY, writes_of)


def test_a_new_organisation_is_written_below_its_parent_with_its_event(service, store):
    view = service.create_org(CITY_ADMIN, parent_id=COUNTY["_id"], name="城关镇党委", kind="committee",
                              category="township")
    org, events = store.create_org.call_args.args
    assert (org["parent_id"], org["level"], org["a1"], org["a2"]) == (COUNTY["_id"], 2, COUNTY["_id"], org["_id"])
    assert (org["created_at"], events[0]["occurred_at"]) == (NOW_STAMP, NOW_STAMP)
    assert events[0]["path_ids"] == ["org_city", "org_county", org["_id"]]
    assert view["path_names"] == ["org_city", "org_county", "城关镇党委"]


def test_a_secretary_may_not_change_the_tree(service, store):
    with pytest.raises(PermissionDenied) as refused:
        service.create_org(SECRETARY, parent_id=BRANCH["_id"], name="第一党小组", kind="group")
    assert refused.value.code == "NOT_ORG_ADMIN"
    assert writes_of(store) == []


def test_a_county_is_not_created_below_a_branch(service, store):
    with pytest.raises(InvalidArgument):
        service.create_org(CITY_ADMIN, parent_id=BRANCH["_id"], name="某县委", kind="county")
    assert writes_of(store) == []


def test_another_tenants_organisation_is_not_found(service, store):
    with pytest.raises(NotFound):
        service.update_org(FOREIGN_ADMIN, org_id=COUNTY["_id"], name="改名")
    assert writes_of(store) == []


def test_an_admin_may_not_move_its_own_root(service, store):
    with pytest.raises(PermissionDenied) as refused:
        service.move_org(COUNTY_ADMIN, org_id=COUNTY["_id"], new_parent_id="org_city")
    assert refused.value.code == "OWN_ROOT_IMMUTABLE"
    assert writes_of(store) == []


def test_an_organisation_with_children_is_not_dissolved(service, store):
    store.children.return_value = [BRANCH]
    with pytest.raises(Conflict) as refused:
        service.dissolve_org(CITY_ADMIN, org_id=COUNTY["_id"])
    assert refused.value.code == "ORG_HAS_CHILDREN"
    assert writes_of(store) == []


def test_an_update_keeps_what_is_not_given(service, store):
    service.update_org(CITY_ADMIN, org_id=COUNTY["_id"], name="新县委")
    org_id, changes, events = store.update_org.call_args.args
    assert (org_id, changes) == (COUNTY["_id"], {"name": "新县委", "category": "", "field": "",
                                                  "updated_at": NOW_STAMP})
    assert events[0]["event_type"] == "organisation_updated"


def test_a_move_is_written_with_the_new_path_and_the_clocks_time(service, store):
    store.subtree_height.return_value = 0
    service.move_org(CITY_ADMIN, org_id=BRANCH["_id"], new_parent_id=COUNTY2["_id"])
    org, new_path, now, events = store.move_org.call_args.args
    assert (org["_id"], new_path, now) == (BRANCH["_id"], ["org_city", COUNTY2["_id"], BRANCH["_id"]], NOW_STAMP)
    assert (events[0]["old_parent_id"], events[0]["new_parent_id"]) == (COUNTY["_id"], COUNTY2["_id"])


def test_a_branch_is_not_moved_directly_below_the_city(service, store):
    with pytest.raises(InvalidArgument) as refused:
        service.move_org(CITY_ADMIN, org_id=BRANCH["_id"], new_parent_id="org_city")
    assert refused.value.code == "KIND_NOT_ALLOWED_HERE"
    assert writes_of(store) == []
