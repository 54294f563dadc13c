import math

import pytest

from servicekit.errors import InvalidArgument
from services.attendance.domain.geo import check_coordinates, distance_m

VENUE = (34.341575, 108.93977)  # Xi'an Bell Tower


def test_distance_between_the_same_point_is_zero():
    assert distance_m(*VENUE, *VENUE) == 0


def test_one_degree_of_latitude_is_about_111_km():
    assert distance_m(0, 0, 1, 0) == pytest.approx(2 * math.pi * 6371008.8 / 360, rel=1e-9)


def test_a_known_city_distance():
    # Bell Tower of Xi'an to Tian'anmen, Beijing: about 914 km on the great circle.
    assert distance_m(*VENUE, 39.908722, 116.397499) == pytest.approx(914_000, rel=0.01)


def test_distance_is_symmetric_and_handles_the_antimeridian():
    assert distance_m(10, 20, 11, 21) == pytest.approx(distance_m(11, 21, 10, 20))
    assert distance_m(0, 179.999, 0, -179.999) == pytest.approx(222.4, abs=0.5)


def test_small_offsets_in_metres():
    north_300 = VENUE[0] + 300 / 111_195.08
    assert distance_m(*VENUE, north_300, VENUE[1]) == pytest.approx(300, abs=0.5)


@pytest.mark.parametrize("lat, lng", [(0, 0), (-90, -180), (90, 180), (34.3, 108.9), (12, 45.5)])
def test_valid_coordinates_are_returned_as_floats(lat, lng):
    assert check_coordinates(lat, lng) == (float(lat), float(lng))


@pytest.mark.parametrize("lat, lng, field", [
    (90.0001, 0, "lat"), (-91, 0, "lat"), (0, 180.5, "lng"), (0, -181, "lng"),
    (math.nan, 0, "lat"), (0, math.inf, "lng"), (None, 108.9, "lat"), (34.3, None, "lng"),
    (10 ** 400, 0, "lat"), (0, -10 ** 400, "lng"),              # integers too large for a float
])
def test_invalid_coordinates_are_rejected_with_the_field(lat, lng, field):
    with pytest.raises(InvalidArgument) as caught:
        check_coordinates(lat, lng, field_prefix="venue_")
    assert caught.value.code == "COORDINATES_INVALID"
    assert caught.value.field == "venue_" + field


@pytest.mark.parametrize("lat, lng, field", [
    (True, 0, "lat"), (0, False, "lng"), ("34.3", 108.9, "lat"), (34.3, "108.9", "lng"), ([1], 2, "lat"),
])
def test_coordinates_that_are_not_numbers_are_a_type_error(lat, lng, field):
    with pytest.raises(InvalidArgument) as caught:
        check_coordinates(lat, lng, field_prefix="venue_")
    assert (caught.value.code, caught.value.field) == ("INVALID_TYPE", "venue_" + field)
