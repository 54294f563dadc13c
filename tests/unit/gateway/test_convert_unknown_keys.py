"""Keys no field has are dropped by the fast conversion, as json_format drops them, without falling back."""
from __future__ import annotations

import pytest
from google.protobuf import json_format

from gateway import convert
from gateway.operations import BY_RPC
from tests.unit.gateway.scoring_samples import CHART, COUNTS, ROW

RANKING = BY_RPC["GetRanking"]


def parsed(cls, data):
    return json_format.ParseDict(data, cls(), ignore_unknown_fields=True)


def ranking_answer(rows: int) -> dict:
    """As scoring's get_ranking answers: each row's counts carry the rating (None until given), which Counts has not."""
    row = {**ROW, "counts": {**COUNTS, "rating": None}, "unknown": {"x": 1}}
    return {"period": "2026-12", "previous_period": "2026-11", "total": 9000, "rows": [row] * rows, "chart": CHART,
            "next_page_token": "bzo1MA=="}


def test_a_ranking_page_with_extra_keys_takes_the_fast_path(monkeypatch):
    answer = ranking_answer(50)
    expected = parsed(RANKING.response, answer)

    def no_json_format(*args, **kwargs):
        raise AssertionError("fell back to json_format")
    monkeypatch.setattr(convert.json_format, "ParseDict", no_json_format)
    assert convert.to_message(RANKING.response, answer).SerializeToString(deterministic=True) == \
        expected.SerializeToString(deterministic=True)


@pytest.mark.parametrize("answer", [{"rows": [{"branchId": "b1", "rank": 2}]}, {"rows": [{"[ext.name]": 1}]},
                                    {"rows": [{"counts": {"mobileLiked": 3, "rating": 90}}]}])
def test_camel_case_names_and_extensions_still_go_through_json_format(answer):
    try:
        expected = parsed(RANKING.response, answer)
    except json_format.ParseError:
        with pytest.raises(json_format.ParseError):
            convert.to_message(RANKING.response, answer)
    else:
        assert convert.to_message(RANKING.response, answer) == expected


SCAN = BY_RPC["RecordScan"]
FIX = {"lat": 33.07, "lng": 107.02, "accuracy_m": 10.0, "mock_location": False, "device_id": "d1",
       "taken_at": "2026-12-05T01:50:00Z"}


@pytest.mark.parametrize("body", [
    {"token": "v1.a.in.p.s", "fix": FIX},
    {"token": "v1.a.in.p.s", "fix": FIX, "extra": 1},                 # refused: a key no field has
    {"token": "v1.a.in.p.s", "fix": {**FIX, "altitude": 3}},          # refused, one level down
    {"token": 5, "fix": FIX},                                         # wrong type
    {"token": "v1.a.in.p.s", "fix": {**FIX, "accuracyM": 3.0}},       # camelCase: json_format accepts it
])
def test_a_strict_body_converts_or_is_refused_as_json_format_does(body):
    """The HTTP side's strict parsing (``strict=True``) equals ParseDict with ignore_unknown_fields=False, but for
    numbers (below)."""
    try:
        expected = json_format.ParseDict(body, SCAN.request(), ignore_unknown_fields=False)
    except json_format.ParseError as error:
        with pytest.raises(json_format.ParseError) as refused:
            convert.to_message(SCAN.request, body, strict=True)
        assert str(refused.value) == str(error)
    else:
        assert convert.to_message(SCAN.request, body, strict=True) == expected


@pytest.mark.parametrize("lat, got", [("33.07", "str"), (True, "bool"),
                                      (float("inf"), "a non-finite number"), ([33.07], "list")])
def test_a_strict_body_s_number_is_a_json_number(lat, got):
    """json_format reads "33.07" and true as numbers: a caller's body gives a number or is refused (a null
    latitude is a missing one: the field is optional, and attendance answers FIX_MISSING_FIELD)."""
    body = {"token": "v1.a.in.p.s", "fix": {**FIX, "lat": lat}}
    with pytest.raises(json_format.ParseError) as refused:
        convert.to_message(SCAN.request, body, strict=True)
    assert str(refused.value) == (f"Failed to parse lat field: expected a JSON number, got {got} "
                                  f"at RecordScanRequest.fix.lat.")
    if type(lat) in (str, bool):
        assert convert.to_message(SCAN.request, body).fix.lat == float(lat)     # answers: json_format's reading
