"""The content service as a real process: settings stored per tenant, the city admin's only."""
from __future__ import annotations

import pytest

from servicekit.errors import PermissionDenied


def test_settings_are_kept_per_tenant(rpc, city, other_city):
    assert rpc.content.get_settings(scope=city.admin)["publicity_days"] == 5
    rpc.content.set_settings(scope=city.admin, settings={"publicity_days": 9})
    assert rpc.content.get_settings(scope=city.admin)["publicity_days"] == 9
    assert rpc.content.get_settings(scope=other_city.admin)["publicity_days"] == 5
    with pytest.raises(PermissionDenied):
        rpc.content.set_settings(scope=city.county_admins[0], settings={"publicity_days": 3})
    assert rpc.content.get_settings(scope=city.county_admins[0])["publicity_days"] == 9
