"""gateway.convert gives exactly what json_format gives, for every operation's request and answer."""
from __future__ import annotations

import json
import math

import pytest
from google.protobuf import json_format

from gateway.convert import is_plain, to_kwargs, to_message
from gateway.operations import OPERATIONS, BY_RPC
from tests.unit.gateway.samples import REQUESTS, RESULTS
from tests.unit.gateway.scoring_samples import SCORING_REQUESTS, SCORING_RESULTS

ALL_REQUESTS = {**REQUESTS, **SCORING_REQUESTS}
ALL_RESULTS = {**RESULTS, **SCORING_RESULTS}


def parsed(cls, data):
    return json_format.ParseDict(data or {}, cls(), ignore_unknown_fields=True)


def as_dict(message):
    return json_format.MessageToDict(message, preserving_proto_field_name=True,
                                     always_print_fields_with_no_presence=True)


def same(left, right) -> bool:
    return left.SerializeToString(deterministic=True) == right.SerializeToString(deterministic=True)


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.rpc)
def test_answers_and_requests_convert_as_json_format_does(op):
    result = ALL_RESULTS.get(op.method)
    assert same(to_message(op.response, result), parsed(op.response, result))
    response = parsed(op.response, result)
    assert to_kwargs(response) == as_dict(response)
    request = {k: v for k, v in ALL_REQUESTS.get(op.rpc, {}).items() if not isinstance(v, bytes)}
    message = parsed(op.request, request)
    assert to_kwargs(message) == as_dict(message)
    assert to_kwargs(op.request()) == as_dict(op.request())


def test_the_scan_request_and_answer_take_the_fast_path():
    op = BY_RPC["RecordScan"]
    assert is_plain(op.request.DESCRIPTOR) and is_plain(op.response.DESCRIPTOR)


SCAN = BY_RPC["RecordScan"]
ODD_ANSWERS = [
    None, {}, {"record": None}, {"record": {}}, {"repeat": True, "unknown": 1}, {"message": 5},
    {"record": {"seq": True}}, {"record": {"seq": 2.0}}, {"record": {"seq": "7"}}, {"record": {"seq": 2**40}},
    {"record": {"distance_m": 3}}, {"record": {"distance_m": "NaN"}}, {"record": {"distance_m": True}},
    {"record": {"flags": ["A", None]}}, {"record": {"flags": "A"}}, {"record": {"activityId": "x"}},
    {"record": []}, {"record": {"flags": ["A", "B"], "hash": "h", "backfilled": 1}},
]


@pytest.mark.parametrize("answer", ODD_ANSWERS, ids=repr)
def test_odd_answers_convert_or_fail_as_json_format_does(answer):
    record = answer.get("record") if isinstance(answer, dict) else None
    if isinstance(record, dict) and record.get("backfilled") == 1:
        # one difference on purpose: a service's 1/0 in a bool field is read as a bool (the embedded store's $set)
        assert to_message(SCAN.response, answer).record.backfilled is True
        return
    try:
        expected = parsed(SCAN.response, answer)
    except json_format.ParseError as error:
        with pytest.raises(json_format.ParseError, match=str(error).split(":")[0]):
            to_message(SCAN.response, answer)
    else:
        assert same(to_message(SCAN.response, answer), expected)


@pytest.mark.parametrize("lat", [0.0, -0.0, 1e300, math.inf, -math.inf, math.nan])
def test_odd_doubles_in_a_request_convert_as_json_format_does(lat):
    message = SCAN.request(token="t", fix={"lat": lat, "device_id": "设备"})
    assert json.dumps(to_kwargs(message), sort_keys=True) == json.dumps(as_dict(message), sort_keys=True)
