"""A venue typed from a Chinese map, and the QR codes that open the member page, through the real service."""
from __future__ import annotations

import base64

import pytest

from servicekit.errors import InvalidArgument, Rejected
from services.attendance.domain import coords, qrtoken
from services.attendance.domain.geo import distance_m
from tests.support.attendance import VENUE, ThemedDay
from tests.support.qr import png_encodes

pytestmark = pytest.mark.integration

BASE_URL = "http://127.0.0.1:8080"      # PUBLIC_BASE_URL's default: the test service runs without it


def test_a_venue_entered_in_gcj02_signs_in_a_phone_at_the_venue(rpc, city, attendance_service):
    """Amap shows the venue (the true WGS-84 point VENUE) at its GCJ-02 numbers; the secretary types those."""
    typed = coords.wgs84_to_gcj02(*VENUE)
    themed = ThemedDay(rpc, city)
    themed.issue()
    submitted = themed.submit(venue_lat=typed[0], venue_lng=typed[1], venue_crs="gcj02")
    venue = submitted["plan"]["venue"]
    assert distance_m(venue["lat"], venue["lng"], *VENUE) < 1.0
    assert submitted["plan"]["venue_entered"] == {"lat": typed[0], "lng": typed[1], "crs": "gcj02"}
    themed.approve()
    themed.at("start_at", -5)
    signed = themed.scan(themed.member_scopes[0], "in", distance_m=20)       # the phone reports WGS-84
    assert signed["record"]["direction"] == "in" and 15 < signed["record"]["distance_m"] < 25
    read = rpc.attendance.get_activity(scope=themed.secretary, activity_id=themed.activity["id"])
    assert read["plan"]["venue"] == venue and read["plan"]["venue_entered"]["crs"] == "gcj02"


def test_the_same_numbers_taken_as_wgs84_put_the_fence_hundreds_of_metres_away(rpc, city, attendance_service):
    typed = coords.wgs84_to_gcj02(*VENUE)
    themed = ThemedDay(rpc, city, county=1)
    themed.issue()
    venue = themed.submit(venue_lat=typed[0], venue_lng=typed[1])["plan"]["venue"]     # no venue_crs: WGS-84
    assert (venue["lat"], venue["lng"]) == typed
    assert 300 < distance_m(*typed, *VENUE) < 600
    themed.approve()
    themed.at("start_at", -5)
    with pytest.raises(Rejected) as far:
        themed.scan(themed.member_scopes[0], "in", distance_m=20)
    assert far.value.code == "OUTSIDE_FENCE"


def test_an_unknown_coordinate_system_is_refused_and_nothing_is_stored(rpc, city, attendance_service):
    themed = ThemedDay(rpc, city)
    themed.issue()
    with pytest.raises(InvalidArgument) as bad:
        themed.submit(venue_crs="baidu")
    assert (bad.value.code, bad.value.field) == ("VENUE_CRS_INVALID", "venue_crs")
    read = rpc.attendance.get_activity(scope=themed.secretary, activity_id=themed.activity["id"])
    assert read["status"] == "planning" and not read["plan"]


@pytest.mark.parametrize("mode", ["print", "rotating"])
def test_the_codes_encode_the_member_page_url_and_a_scan_takes_the_token_or_the_url(rpc, city, attendance_service,
                                                                                     mode):
    themed = ThemedDay(rpc, city, county=0 if mode == "print" else 1).prepared()
    if mode == "print":
        themed.allow_printed_code()
    themed.at("start_at", -5)                       # sign-in open; a rotating code is current from here
    code = rpc.attendance.get_qr_code(scope=themed.secretary, activity_id=themed.activity["id"], direction="in",
                                      mode=mode)
    token = code["token"]
    assert qrtoken.parse(token).activity_id == themed.activity["id"]          # the bare token, as before
    assert code["url"] == f"{BASE_URL}/m/scan#{token}"
    assert png_encodes(base64.b64decode(code["png"]), code["url"])
    assert not png_encodes(base64.b64decode(code["png"]), token)
    assert code["svg"] == qrtoken.render_svg(code["url"])
    by_token = themed.scan(themed.member_scopes[0], "in", token=token)
    by_url = themed.scan(themed.member_scopes[1], "in", token=code["url"])
    assert by_token["repeat"] is False and by_url["repeat"] is False
    assert by_url["record"]["member_id"] == themed.members[1]["id"]
    again = themed.scan(themed.member_scopes[1], "in", token=code["url"])
    assert again["repeat"] is True and again["record"]["id"] == by_url["record"]["id"]
    with pytest.raises(Rejected) as forged:
        themed.scan(themed.member_scopes[2], "in", token=f"{BASE_URL}/m/scan#{token[:-2]}AA")
    assert forged.value.code == "TOKEN_FORGED"
