"""A tenant's content settings: defaults, partial changes, city admin only, bad values refused."""
from __future__ import annotations

import pytest

from servicekit.errors import InvalidArgument, PermissionDenied
from services.content.domain import settings as rules
from tests.fast.content.fakes import CITY_ADMIN, COUNTY_ADMIN, MEMBER, SECRETARY


def test_defaults_until_changed(service):
    assert service.get_settings(MEMBER) == rules.DEFAULTS
    assert service.get_settings(MEMBER)["study_points_public"] is False


def test_city_admin_changes_only_what_it_gives(service, store):
    changed = service.set_settings(CITY_ADMIN, {"publicity_days": 7, "study_points_public": None})
    assert changed == {**rules.DEFAULTS, "publicity_days": 7}
    tenant_id, saved, by, _at = store.save_settings.call_args.args
    assert (tenant_id, saved, by) == ("ten_1", changed, CITY_ADMIN["account_id"])


def test_no_settings_given_changes_nothing(service, store):
    assert service.set_settings(CITY_ADMIN, None) == rules.DEFAULTS
    with pytest.raises(InvalidArgument) as refused:
        service.set_settings(CITY_ADMIN, ["publicity_days"])
    assert (refused.value.code, refused.value.field) == ("INVALID_TYPE", "settings")


@pytest.mark.parametrize("caller", [COUNTY_ADMIN, MEMBER, SECRETARY])
def test_only_the_city_admin_changes_them(service, store, caller):
    with pytest.raises(PermissionDenied):
        service.set_settings(caller, {"publicity_days": 7})
    store.save_settings.assert_not_called()


@pytest.mark.parametrize("changes, field", [
    ({"publicity_days": 0}, "publicity_days"), ({"publicity_days": "5"}, "publicity_days"),
    ({"study_points_public": 1}, "study_points_public"), ({"colour": 1}, "colour"),
    ({"pass_percent": 95}, "pass_percent"),
])
def test_bad_values_are_refused_and_nothing_is_stored(service, store, changes, field):
    with pytest.raises(InvalidArgument) as refused:
        service.set_settings(CITY_ADMIN, changes)
    assert refused.value.field == field
    store.save_settings.assert_not_called()


def test_a_bool_the_store_gives_back_as_a_number_is_read_as_a_bool():
    assert rules.merged({"study_points_public": 1, "publicity_days": 9})["study_points_public"] is True
    assert rules.merged({"study_points_public": 0})["study_points_public"] is False


def test_score_bands():
    settings = rules.merged(None)
    assert [rules.band(s, 10, settings) for s in (10, 9, 8.9, 6, 5.9, 0)] == \
        ["excellent", "excellent", "pass", "pass", "fail", "fail"]
    assert rules.band(0, 0, settings) == "fail"
