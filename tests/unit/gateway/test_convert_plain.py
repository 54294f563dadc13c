"""convert.as_kwargs gives what building the message and reading it back gives (to_kwargs(to_message(...))),
key order included, or fails with the same error; a member's scan and its answer take the fast path."""
from __future__ import annotations

import json
import random

import pytest
from google.protobuf import json_format

from gateway import convert
from gateway.convert import as_kwargs, to_kwargs, to_message
from gateway.operations import BY_RPC, OPERATIONS
from tests.unit.gateway.samples import REQUESTS, RESULTS
from tests.unit.gateway.scoring_samples import SCORING_REQUESTS, SCORING_RESULTS

SCAN = BY_RPC["RecordScan"]
FIX = {"lat": 33.07, "lng": 107.02, "accuracy_m": 10.0, "mock_location": False, "device_id": "d1",
       "taken_at": "2026-12-05T01:50:00Z", "history": [{"lat": 33.1, "lng": 107.0, "taken_at": "2026-12-05T01:10:00Z"}]}
RECORD = {"id": "a1:in:m1", "activity_id": "a1", "member_id": "m1", "direction": "in", "at": "2026-12-05T01:50:01Z",
          "distance_m": 12.5, "flags": ["MOCK_LOCATION"], "seq": 7, "hash": "ab" * 32, "backfilled": False,
          "backfilled_by": "", "backfill_reason": "", "code_kind": "printed"}


def long_way(cls, data, strict: bool):
    """(the dict, None) or (None, the error's type and text)."""
    try:
        return to_kwargs(to_message(cls, data, strict)), None
    except Exception as error:  # noqa: BLE001  whatever it raises, as_kwargs must raise alike
        return None, (type(error), str(error))


def assert_same(cls, data, strict: bool) -> None:
    expected, error = long_way(cls, data, strict)
    if error is not None:
        with pytest.raises(error[0]) as raised:
            as_kwargs(cls, data, strict)
        assert str(raised.value) == error[1]
        return
    got = as_kwargs(cls, data, strict)
    assert json.dumps(got) == json.dumps(expected)          # values, types (0.0 against 0) and key order


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.rpc)
def test_every_operation_s_sample_request_and_answer(op):
    request = {k: v for k, v in {**REQUESTS, **SCORING_REQUESTS}.get(op.rpc, {}).items() if not isinstance(v, bytes)}
    assert_same(op.request, request, strict=True)
    assert_same(op.request, request, strict=False)
    assert_same(op.response, {**RESULTS, **SCORING_RESULTS}.get(op.method), strict=False)


ODD = [
    None, {}, {"token": "t"}, {"token": "t", "fix": None}, {"token": "t", "fix": {}}, {"fix": FIX},
    {"token": "t", "fix": FIX, "extra": 1}, {"token": "t", "fix": {**FIX, "altitude": 3}},
    {"token": "t", "fix": {**FIX, "lat": "33.07"}}, {"token": "t", "fix": {**FIX, "lat": 33}},
    {"token": "t", "fix": {**FIX, "lat": 10 ** 400}}, {"token": "t", "fix": {**FIX, "lat": True}},
    {"token": 5, "fix": FIX}, {"token": "\ud800", "fix": FIX}, {"token": "设备", "fix": {**FIX, "device_id": "设备"}},
    {"token": "t", "fix": {**FIX, "accuracyM": 3.0}}, {"token": "t", "fix": []}, {"token": "t", "fix": "x"},
    {"token": "t", "fix": {**FIX, "mock_location": 1}}, {"[ext]": 1}, {"token": None, "fix": FIX},
    {"token": "t", "fix": {**FIX, "lat": None}}, {"token": "t", "fix": {**FIX, "lng": "107.02"}},
    {"token": "t", "fix": {**FIX, "lat": "NaN"}}, {"token": "t", "fix": {**FIX, "lat": float("inf")}},
    {"token": "t", "fix": {**FIX, "accuracy_m": False}}, {"token": "t", "fix": {**FIX, "accuracyM": "12"}},
    {"token": "t", "fix": {**FIX, "lat": [33.07]}}, {"token": "t", "fix": {**FIX, "mock_location": None}},
    {"token": "t", "fix": {k: v for k, v in FIX.items() if k != "lat"}},
]


@pytest.mark.parametrize("body", ODD, ids=repr)
@pytest.mark.parametrize("strict", [True, False])
def test_odd_scan_bodies(body, strict):
    assert_same(SCAN.request, body, strict)


@pytest.mark.parametrize("answer", [
    None, {}, {"record": None}, {"record": {}}, {"record": RECORD, "repeat": True, "message": "签到成功"},
    {"record": {**RECORD, "seq": True}}, {"record": {**RECORD, "seq": 2.0}}, {"record": {**RECORD, "seq": 2 ** 40}},
    {"record": {**RECORD, "distance_m": 3}}, {"record": {**RECORD, "distance_m": "NaN"}},
    {"record": {**RECORD, "flags": ["A", None]}}, {"record": {**RECORD, "flags": "A"}},
    {"record": {**RECORD, "activityId": "x"}}, {"record": [], "repeat": False}, {"record": RECORD, "unknown": {"x": 1}},
], ids=repr)
def test_odd_scan_answers(answer):
    assert_same(SCAN.response, answer, strict=False)


VALUES = [None, 0, 1, -1, 2 ** 31, 2 ** 53 + 1, 1.5, -0.0, "", "x", "设备", True, False, [], ["a"], [1], {}, {"a": 1}]


def mutated(rng: random.Random, data: dict) -> dict:
    data = json.loads(json.dumps(data))
    for _ in range(rng.randint(1, 3)):
        target = data["fix"] if isinstance(data.get("fix"), dict) and rng.random() < 0.6 else data
        key = rng.choice([*target, "extra", "accuracyM"]) if target else "extra"
        if rng.random() < 0.15:
            target.pop(key, None)
        else:
            target[key] = rng.choice(VALUES)
    return data


def test_random_variations_of_a_scan_and_its_answer():
    rng = random.Random(20261124)
    for _ in range(1500):
        body = mutated(rng, {"token": "v1.a.in.p.s", "fix": FIX})
        assert_same(SCAN.request, body, strict=True)
        assert_same(SCAN.request, body, strict=False)
        answer = mutated(rng, {"record": RECORD, "repeat": False, "message": "签到成功", "fix": {}})
        answer.pop("fix", None) if rng.random() < 0.5 else None
        assert_same(SCAN.response, answer, strict=False)


def test_a_scan_and_its_answer_never_build_a_message(monkeypatch):
    def no_message(*args, **kwargs):
        raise AssertionError("took the long way")
    monkeypatch.setattr(convert, "to_message", no_message)
    monkeypatch.setattr(convert, "to_kwargs", no_message)
    assert as_kwargs(SCAN.request, {"token": "t", "fix": FIX}, strict=True) == {"token": "t", "fix": FIX}
    answer = {"record": RECORD, "repeat": True, "message": "已记录，无需重复扫码"}
    assert as_kwargs(SCAN.response, answer) == answer


def test_a_refused_body_is_refused_by_json_format_s_words():
    with pytest.raises(json_format.ParseError, match="no field named \"extra\""):
        as_kwargs(SCAN.request, {"token": "t", "fix": FIX, "extra": 1}, strict=True)


def test_an_integer_beyond_any_double_is_a_caller_s_error_naming_its_field():
    """JSON allows a 400-digit number; json_format lets float() overflow (which answered 500 before)."""
    from gateway.http.app import parse_error
    for convert_it in (to_message, as_kwargs):
        with pytest.raises(json_format.ParseError) as refused:
            convert_it(SCAN.request, {"token": "t", "fix": {**FIX, "lng": 10 ** 400}}, strict=True)
        error = parse_error(refused.value)
        assert (error.code, error.field) == ("INVALID_TYPE", "fix.lng")


@pytest.mark.parametrize("fix, field", [
    ({**FIX, "lat": "33.146"}, "fix.lat"), ({**FIX, "lat": True}, "fix.lat"),
    ({**FIX, "lng": "107"}, "fix.lng"), ({**FIX, "accuracyM": "12"}, "fix.accuracy_m"),
])
def test_a_scan_s_number_that_is_not_a_json_number_is_refused_naming_its_field(fix, field):
    """json_format reads "33.146" and true as numbers and null as 0: the scan's fast path, like every strict body,
    refuses them (a string latitude signed the member in; null and true were judged as positions)."""
    from gateway.http.app import parse_error
    with pytest.raises(json_format.ParseError) as refused:
        as_kwargs(SCAN.request, {"token": "t", "fix": fix}, strict=True)
    error = parse_error(refused.value)
    assert (error.code, error.field) == ("INVALID_TYPE", field)


@pytest.mark.parametrize("key", ["lat", "lng", "accuracy_m"])
def test_a_scan_s_missing_or_null_coordinate_stays_missing_for_the_service_to_refuse_not_zero(key):
    """Latitude 0 is a real place (and judged OUTSIDE_FENCE); a position left out is FIX_MISSING_FIELD."""
    for fix in ({**FIX, key: None}, {k: v for k, v in FIX.items() if k != key}):
        for convert_it in (as_kwargs, lambda cls, data, strict: to_kwargs(to_message(cls, data, strict))):
            assert key not in convert_it(SCAN.request, {"token": "t", "fix": fix}, strict=True)["fix"]


def test_a_services_bool_read_back_as_1_or_0_answers_as_a_bool_but_a_callers_body_stays_strict():
    from protos.partybuilding.v1 import learning_pb2
    cls = learning_pb2.StudyRanking
    assert to_message(cls, {"public": 1}).public is True
    assert to_message(cls, {"public": 0}).public is False
    assert as_kwargs(cls, {"public": 1})["public"] is True
    with pytest.raises(json_format.ParseError):
        to_message(cls, {"public": 1}, strict=True)
    with pytest.raises(json_format.ParseError):
        to_message(cls, {"public": 2})
