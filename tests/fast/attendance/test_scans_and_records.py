"""QR codes, scans, uploads and back-fill through the service with a fake store: each refused in the states
the lifecycle does not allow it, and each allowed one written through the store's write for it."""
from __future__ import annotations

import base64

import pytest

from servicekit.errors import Conflict, InvalidArgument, Rejected
from services.attendance.chaining import ChainWriter
from services.attendance.domain import chain, qrtoken
from tests.fast.attendance.fakes import ACTIVITY_ID, MEMBER, SECRETARY, SUPERIOR, activity

KEY = qrtoken.tenant_key(b"fast test secret", "t1")


@pytest.fixture
def chain_writer(store, desk):
    store.chain_head.return_value = None
    desk.chain = ChainWriter(store)
    return desk.chain


@pytest.mark.parametrize("status, frozen", [("planning", False), ("submitted", False), ("closed", True)])
def test_qr_codes_are_issued_only_while_the_plan_holds_and_the_activity_is_not_closed(service, store, desk, status,
                                                                                        frozen):
    store.activity.return_value = activity(status, frozen=frozen)
    with pytest.raises(Conflict) as refused:
        service.get_qr_code(scope=SECRETARY, activity_id=ACTIVITY_ID, direction="in")
    assert refused.value.code == "ACTIVITY_NOT_APPROVED"
    desk.keys.tenant_key.assert_not_called()


@pytest.mark.parametrize("frozen", [False, True])
def test_a_printed_code_carries_the_activity_and_direction(service, store, desk, frozen):
    store.activity.return_value = {**activity("approved", frozen=frozen),
                                   "printed_code": {"allowed": True, "reason": "无法投屏"}}
    desk.keys.tenant_key.return_value = KEY
    desk.public_base_url = "https://dangjian.example.cn"
    answer = service.get_qr_code(scope=SECRETARY, activity_id=ACTIVITY_ID, direction="out", mode="print")
    token = qrtoken.parse(answer["token"])
    assert (token.activity_id, token.direction) == (ACTIVITY_ID, "out")
    assert answer["url"] == f"https://dangjian.example.cn/m/scan#{answer['token']}" and answer["step_seconds"] == 0


def test_a_printed_code_is_refused_unless_the_superior_allowed_it_and_rotating_is_the_default(service, store, desk):
    store.activity.return_value = activity("approved", frozen=True)
    desk.keys.tenant_key.return_value = KEY
    desk.public_base_url = "https://dangjian.example.cn"
    with pytest.raises(Conflict) as refused:
        service.get_qr_code(scope=SECRETARY, activity_id=ACTIVITY_ID, direction="in", mode="print")
    assert (refused.value.code, refused.value.field) == ("PRINTED_CODE_NOT_ALLOWED", "mode")
    assert qrtoken.parse(service.get_qr_code(scope=SECRETARY, activity_id=ACTIVITY_ID, direction="in")["token"]).step


def test_a_single_scan_raises_the_desks_refusal_and_answers_its_result(service, desk):
    desk.scans.record.return_value = [{"error": Rejected("不在签到范围内", code="OUTSIDE_FENCE").to_dict()}]
    with pytest.raises(Rejected) as refused:
        service.record_scan(scope=MEMBER, token="tok", fix={"lat": 1.0})
    assert refused.value.code == "OUTSIDE_FENCE"
    desk.scans.record.assert_called_once_with([{"scope": MEMBER, "token": "tok", "fix": {"lat": 1.0}}])
    desk.scans.record.return_value = [{"result": {"repeat": False}}]
    assert service.record_scan(scope=MEMBER, token="tok") == {"repeat": False}


@pytest.mark.parametrize("status", ["planning", "submitted"])
def test_nothing_is_uploaded_before_the_plan_is_approved(service, store, chain_writer, status):
    store.activity.return_value = activity(status)
    with pytest.raises(Conflict) as refused:
        service.add_text_record(scope=SECRETARY, activity_id=ACTIVITY_ID, text="会议记录")
    assert refused.value.code == "ACTIVITY_NOT_APPROVED"
    store.add_upload.assert_not_called()


def test_a_written_record_is_chained_and_counted_through_the_store(service, store, chain_writer):
    store.activity.return_value = activity("approved", frozen=True)
    answer = service.add_text_record(scope=SECRETARY, activity_id=ACTIVITY_ID, text="会议记录")
    record, events, photo = store.add_upload.call_args.args
    assert record["seq"] == 1 and record["prev_hash"] == chain.GENESIS and record["chain_key"] == f"{ACTIVITY_ID}:1"
    assert record["content"]["backfilled"] is None and photo is None
    assert [e["event_type"] for e in events] == ["upload_added"] and events[0]["kind"] == "text"
    assert answer["kind"] == "text" and answer["backfilled"] is False


def test_after_closing_an_upload_is_a_back_fill_that_needs_a_reason(service, store, chain_writer):
    store.activity.return_value = activity("closed", frozen=True)
    with pytest.raises(InvalidArgument):
        service.add_text_record(scope=SECRETARY, activity_id=ACTIVITY_ID, text="会议记录")
    answer = service.add_text_record(scope=SECRETARY, activity_id=ACTIVITY_ID, text="会议记录", backfill_reason="补传")
    assert store.add_upload.call_args.args[0]["content"]["backfilled"]["reason"] == "补传"
    assert answer["backfilled"] is True and answer["backfill_reason"] == "补传"


def test_a_photo_that_is_not_base64_is_refused_before_decoding(service, store, chain_writer):
    store.activity.return_value = activity("approved", frozen=True)
    with pytest.raises(InvalidArgument) as refused:
        service.add_photo(scope=SECRETARY, activity_id=ACTIVITY_ID, content_type="image/png", content="%%%")
    assert refused.value.code == "UPLOAD_INVALID"
    store.add_upload.assert_not_called()


def test_a_failed_write_leaves_the_chain_head_where_it_was(service, store, chain_writer):
    store.activity.return_value = activity("approved", frozen=True)
    store.add_upload.side_effect = Conflict("重复上传", code="UPLOAD_EXISTS")
    with pytest.raises(Conflict):
        service.add_text_record(scope=SECRETARY, activity_id=ACTIVITY_ID, text="会议记录")
    store.add_upload.side_effect = None
    service.add_text_record(scope=SECRETARY, activity_id=ACTIVITY_ID, text="会议记录")
    assert store.add_upload.call_args.args[0]["seq"] == 1


@pytest.mark.parametrize("status, frozen", [("planning", False), ("submitted", False), ("approved", False),
                                            ("approved", True)])
def test_scans_are_back_filled_only_after_closing(service, store, chain_writer, status, frozen):
    store.activity.return_value = activity(status, frozen=frozen)
    with pytest.raises(Conflict) as refused:
        service.backfill_scan(scope=SUPERIOR, activity_id=ACTIVITY_ID, member_id="m1", direction="in", reason="漏签")
    assert refused.value.code == "BACKFILL_ONLY_AFTER_CLOSING"
    store.backfill_scan.assert_not_called()


def test_a_back_filled_sign_in_recomputes_the_results_and_seals_the_new_head(service, store, chain_writer):
    store.activity.return_value = activity("closed", frozen=True)
    answer = service.backfill_scan(scope=SUPERIOR, activity_id=ACTIVITY_ID, member_id="m1", direction="in",
                                   reason="漏签")
    record, events, statuses, totals, _ = store.backfill_scan.call_args.args
    assert statuses == {"m1": "incomplete", "m2": "mobile"} and totals["incomplete"] == 1
    assert events[0]["event_type"] == "checkin_recorded" and events[0]["backfilled"] is True
    assert events[0]["seq"] == record["seq"] == 1 and answer["backfilled"] and answer["backfill_reason"] == "漏签"


def test_a_like_is_chained_once(service, store, chain_writer):
    store.activity.return_value = activity("approved", frozen=True)
    answer = service.like_activity(scope=MEMBER, activity_id=ACTIVITY_ID)
    record, events, mobile = store.like_activity.call_args.args
    assert record["_id"] == f"{ACTIVITY_ID}:like:m1" and mobile is False and answer == {
        "activity_id": ACTIVITY_ID, "likes": 1, "repeat": False}
    store.activity.return_value = activity("approved", frozen=True, liked={"m1": False})
    assert service.like_activity(scope=MEMBER, activity_id=ACTIVITY_ID)["repeat"] is True
    assert store.like_activity.call_count == 1


def test_the_photo_of_a_written_record_is_refused(service, store):
    store.activity.return_value = activity("approved", frozen=True)
    store.records_by_ids.return_value = {f"{ACTIVITY_ID}:upload:upl_1": {"kind": "text"}}
    with pytest.raises(InvalidArgument) as refused:
        service.get_upload_photo(scope=MEMBER, activity_id=ACTIVITY_ID, upload_id="upl_1")
    assert refused.value.code == "UPLOAD_NOT_A_PHOTO"
    store.records_by_ids.return_value = {f"{ACTIVITY_ID}:upload:upl_2": {"kind": "photo"}}
    store.photo.return_value = {"activity_id": ACTIVITY_ID, "content": b"\x89PNG", "content_type": "image/png",
                                "content_hash": "h"}
    answer = service.get_upload_photo(scope=MEMBER, activity_id=ACTIVITY_ID, upload_id="upl_2")
    assert base64.b64decode(answer["content"]) == b"\x89PNG" and answer["filename"] == "upl_2.png"
