"""WGS-84 <-> GCJ-02 <-> BD-09 against published reference points.

Reference vectors, from the two projects most implementations copy:

* wandergis/coordtransform, ``test/app.js`` (the input (lng 116.404, lat 39.915), Tiananmen, Beijing):
  bd09togcj02 -> [116.39762729119315, 39.90865673957631], gcj02tobd09 -> [116.41036949371029, 39.92133699351021],
  wgs84togcj02 -> [116.41024449916938, 39.91640428150164], gcj02towgs84 -> [116.39775550083061, 39.91359571849836]
  ([lng, lat]). Its gcj02towgs84 and bd09togcj02 are the one-step approximations (~0.1 m off); ours iterate,
  so those two are compared within half a metre and checked exactly by the forward transform.
* googollee/eviltransform, ``python/test.py`` TESTS (wgsLat, wgsLng, gcjLat, gcjLng): Shanghai, Shenzhen, Beijing;
  its own test compares wgs2gcj to 6 decimals and gcj2wgs_exact within 0.5 m.
"""
from __future__ import annotations

import pytest

from services.attendance.domain import coords
from services.attendance.domain.geo import distance_m

TIANANMEN = (39.915, 116.404)
COORDTRANSFORM = {
    "bd09_to_gcj02": (39.90865673957631, 116.39762729119315),
    "gcj02_to_bd09": (39.92133699351021, 116.41036949371029),
    "wgs84_to_gcj02": (39.91640428150164, 116.41024449916938),
    "gcj02_to_wgs84": (39.91359571849836, 116.39775550083061),
}
EVILTRANSFORM = [
    # wgsLat, wgsLng, gcjLat, gcjLng
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),      # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),      # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),      # Beijing
]
HANZHONG = (33.0676, 107.0238)      # the tests' venue


def test_forward_transforms_match_coordtransform_to_the_last_digits():
    assert coords.wgs84_to_gcj02(*TIANANMEN) == pytest.approx(COORDTRANSFORM["wgs84_to_gcj02"], abs=1e-12)
    assert coords.gcj02_to_bd09(*TIANANMEN) == pytest.approx(COORDTRANSFORM["gcj02_to_bd09"], abs=1e-12)


def test_inverse_transforms_agree_with_coordtransforms_approximations_and_are_exact():
    wgs = coords.gcj02_to_wgs84(*TIANANMEN)
    assert distance_m(*wgs, *COORDTRANSFORM["gcj02_to_wgs84"]) < 0.5
    assert distance_m(*coords.wgs84_to_gcj02(*wgs), *TIANANMEN) < 0.01
    gcj = coords.bd09_to_gcj02(*TIANANMEN)
    assert distance_m(*gcj, *COORDTRANSFORM["bd09_to_gcj02"]) < 0.5
    assert distance_m(*coords.gcj02_to_bd09(*gcj), *TIANANMEN) < 0.01


@pytest.mark.parametrize("wgs_lat, wgs_lng, gcj_lat, gcj_lng", EVILTRANSFORM)
def test_eviltransform_points(wgs_lat, wgs_lng, gcj_lat, gcj_lng):
    assert coords.wgs84_to_gcj02(wgs_lat, wgs_lng) == pytest.approx((gcj_lat, gcj_lng), abs=1e-6)
    assert distance_m(*coords.gcj02_to_wgs84(gcj_lat, gcj_lng), wgs_lat, wgs_lng) < 0.01
    assert distance_m(*coords.to_wgs84(gcj_lat, gcj_lng, coords.GCJ02), wgs_lat, wgs_lng) < 0.01


@pytest.mark.parametrize("point", [TIANANMEN, HANZHONG, (22.543847, 113.912316), (45.75, 126.65), (29.65, 91.13),
                                   (18.25, 109.5), (53.4, 122.3)])
@pytest.mark.parametrize("system", coords.SYSTEMS)
def test_round_trips_come_back_within_a_centimetre(point, system):
    there = coords.from_wgs84(*point, system)
    assert distance_m(*coords.to_wgs84(*there, system), *point) < 0.01


@pytest.mark.parametrize("point", [TIANANMEN, HANZHONG, (31.1774276, 121.5272106)])
def test_the_offsets_are_the_few_hundred_metres_that_break_a_fence(point):
    assert 100 < distance_m(*coords.wgs84_to_gcj02(*point), *point) < 700
    assert 300 < distance_m(*coords.wgs84_to_bd09(*point), *point) < 1500


def test_wgs84_is_unchanged_and_bd09_is_gcj02_plus_baidus_offset():
    assert coords.to_wgs84(*HANZHONG, coords.WGS84) == HANZHONG
    assert coords.from_wgs84(*HANZHONG, coords.WGS84) == HANZHONG
    assert coords.wgs84_to_bd09(*HANZHONG) == coords.gcj02_to_bd09(*coords.wgs84_to_gcj02(*HANZHONG))


@pytest.mark.parametrize("point", [(51.5007, -0.1246), (40.6892, -74.0445), (-33.8568, 151.2153), (35.6586, 139.7454)])
def test_points_outside_china_pass_unchanged(point):
    assert coords.out_of_china(*point)
    for system in coords.SYSTEMS:
        assert coords.to_wgs84(*point, system) == point
        assert coords.from_wgs84(*point, system) == point
