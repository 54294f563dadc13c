"""Distances on the Earth's surface and validation of coordinates: the geofence maths attendance's scans and
volunteer's check-ins share (nx-27017 has no ``$near``, so fences are checked in Python).

Coordinates are WGS-84 degrees as the phone reports them. The distance is the
great-circle (haversine) distance on a sphere of the mean Earth radius, which is
accurate to well under a metre at the few hundred metres a geofence spans.
"""
from __future__ import annotations

import math
from numbers import Real

from servicekit.errors import InvalidArgument

EARTH_RADIUS_M = 6371008.8


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres between two points given in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lng2 - lng1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


def finite_number(value: object) -> float | None:
    """``value`` as a float when it is a real, finite number (not a bool, not text, not an integer too large for a
    float), else None. A float, what JSON and protobuf give, is taken as it is, without asking the ``Real`` ABC."""
    if type(value) is not float:
        if isinstance(value, bool) or not isinstance(value, Real):
            return None
        try:
            value = float(value)
        except OverflowError:
            return None
    return value if math.isfinite(value) else None


def require_number(value: object, field: str, label: str) -> None:
    """INVALID_TYPE, naming ``field``, for a value given that is not a number at all (text such as "33.146", a bool,
    a list): a type error, as the gateway words one, not a position or a quantity out of range. None passes (the
    caller says what a missing value means)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, Real)):
        raise InvalidArgument(f"{label}应为数字", code="INVALID_TYPE", field=field)


def check_coordinates(lat: object, lng: object, field_prefix: str = "") -> tuple[float, float]:
    """Raise InvalidArgument(COORDINATES_INVALID) unless lat is in [-90, 90] and lng in [-180, 180], or
    INVALID_TYPE when one is not a number at all.

    Returns the coordinates as floats. ``field_prefix`` names the fields, e.g. ``"venue_"``
    gives ``venue_lat`` / ``venue_lng``.
    """
    checked = []
    for name, value, limit in (("lat", lat, 90.0), ("lng", lng, 180.0)):
        number = finite_number(value)
        label = "纬度" if name == "lat" else "经度"
        if number is None:
            require_number(value, f"{field_prefix}{name}", label)
        if number is None or not -limit <= number <= limit:
            raise InvalidArgument(f"{label}无效：应为 -{limit:g} 到 {limit:g} 之间的数字",
                                  code="COORDINATES_INVALID", field=f"{field_prefix}{name}")
        checked.append(number)
    return checked[0], checked[1]
