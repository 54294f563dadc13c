"""Conversions between the coordinate systems of maps used in China.

* ``wgs84``: GPS, what a phone's browser reports (Geolocation API); venues are stored in it.
* ``gcj02``: the obfuscated system required of maps published in China (Amap/高德, Tencent Maps/腾讯地图),
  a few hundred metres off WGS-84.
* ``bd09``: Baidu Maps (百度地图), a further offset of GCJ-02.

The forward transforms (WGS-84 -> GCJ-02 -> BD-09) are the widely published ones (the same constants and
formulas as the ``coordtransform`` and ``eviltransform`` projects). They have no closed-form inverse, so
GCJ-02 -> WGS-84 and BD-09 -> GCJ-02 are solved by fixed-point iteration until the forward transform of
the answer lands within ``TOLERANCE_DEGREES`` (about a millimetre) of the input. Outside China (a bounding
box, as every implementation uses) the three systems coincide and points pass unchanged.

Coordinates are (lat, lng) in degrees, as everywhere in this service.
"""
from __future__ import annotations

import math

WGS84 = "wgs84"
GCJ02 = "gcj02"
BD09 = "bd09"
SYSTEMS = (WGS84, GCJ02, BD09)

_A = 6378245.0                   # semi-major axis of the Krasovsky 1940 ellipsoid the GCJ-02 formula uses
_EE = 0.00669342162296594323     # its first eccentricity squared
_X_PI = math.pi * 3000.0 / 180.0
TOLERANCE_DEGREES = 1e-8         # ~1 mm of latitude: far below the 0.01 m the venue needs
_MAX_ROUNDS = 50


def out_of_china(lat: float, lng: float) -> bool:
    """True outside the bounding box in which Chinese maps apply their offsets."""
    return not (72.004 <= lng <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _offset(lat: float, lng: float) -> tuple[float, float]:
    """GCJ-02's offset (degrees of lat, lng) at a WGS-84 point."""
    x, y = lng - 105.0, lat - 35.0
    shared = (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    d_lat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x)) + shared
             + (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
             + (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0)
    d_lng = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x)) + shared
             + (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
             + (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0)
    rad_lat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lng = (d_lng * 180.0) / (_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return d_lat, d_lng


def wgs84_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    if out_of_china(lat, lng):
        return lat, lng
    d_lat, d_lng = _offset(lat, lng)
    return lat + d_lat, lng + d_lng


def gcj02_to_bd09(lat: float, lng: float) -> tuple[float, float]:
    if out_of_china(lat, lng):
        return lat, lng
    z = math.hypot(lng, lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lng) + 0.000003 * math.cos(lng * _X_PI)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


def _invert(forward, lat: float, lng: float, guess: tuple[float, float]) -> tuple[float, float]:
    """The point whose ``forward`` image is (lat, lng), from ``guess``: the transforms move a point by an
    offset that changes slowly with the point, so subtracting the residual converges in a few rounds."""
    g_lat, g_lng = guess
    for _ in range(_MAX_ROUNDS):
        f_lat, f_lng = forward(g_lat, g_lng)
        e_lat, e_lng = f_lat - lat, f_lng - lng
        if abs(e_lat) < TOLERANCE_DEGREES and abs(e_lng) < TOLERANCE_DEGREES:
            break
        g_lat, g_lng = g_lat - e_lat, g_lng - e_lng
    return g_lat, g_lng


def gcj02_to_wgs84(lat: float, lng: float) -> tuple[float, float]:
    if out_of_china(lat, lng):
        return lat, lng
    d_lat, d_lng = _offset(lat, lng)
    return _invert(wgs84_to_gcj02, lat, lng, (lat - d_lat, lng - d_lng))


def bd09_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    if out_of_china(lat, lng):
        return lat, lng
    # the published closed form is only approximate (up to about a metre); it is the starting guess
    x, y = lng - 0.0065, lat - 0.006
    z = math.hypot(x, y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return _invert(gcj02_to_bd09, lat, lng, (z * math.sin(theta), z * math.cos(theta)))


def wgs84_to_bd09(lat: float, lng: float) -> tuple[float, float]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lat, lng))


def bd09_to_wgs84(lat: float, lng: float) -> tuple[float, float]:
    return gcj02_to_wgs84(*bd09_to_gcj02(lat, lng))


_TO_WGS84 = {WGS84: lambda lat, lng: (lat, lng), GCJ02: gcj02_to_wgs84, BD09: bd09_to_wgs84}
_FROM_WGS84 = {WGS84: lambda lat, lng: (lat, lng), GCJ02: wgs84_to_gcj02, BD09: wgs84_to_bd09}


def to_wgs84(lat: float, lng: float, system: str) -> tuple[float, float]:
    """(lat, lng) given in ``system`` (one of ``SYSTEMS``), in WGS-84."""
    return _TO_WGS84[system](lat, lng)


def from_wgs84(lat: float, lng: float, system: str) -> tuple[float, float]:
    """A WGS-84 (lat, lng) in ``system`` (one of ``SYSTEMS``)."""
    return _FROM_WGS84[system](lat, lng)
