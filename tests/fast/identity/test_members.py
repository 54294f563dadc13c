"""Members' use cases on a fake store: refusals write nothing, a change is written once with its event, and
"today" is China's date."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from services.identity.domain.idcard import make_id_number
from services.identity.store import ancestor_fields
from tests.fast.identity.fakes import (BRANCH, CITY_ADMIN, COUNTY, FOREIGN_ADMIN, NOW_STAMP, SECRETARY, TENANT, scope,
                                       writes_of)

ID_NUMBER = make_id_number("610702", date(1990, 5, 1), 12, "male")
NEW_MEMBER = dict(branch_id=BRANCH["_id"], name="张三", gender="male", birth_date="1990-05-01", id_number=ID_NUMBER,
                  phone="13800138000", status="applicant", status_dates={"applicant": "2026-01-05"})


def stored_member(**fields) -> dict:
    member = {"_id": "mem_1", "tenant_id": TENANT, "branch_id": BRANCH["_id"], **ancestor_fields(
        ["org_city", "org_county", "org_branch"]), "name": "张三", "gender": "male", "birth_date": "1990-05-01",
        "id_number_masked": "6107**", "phone": "13800138000", "education": "", "status": "applicant",
        "status_dates": {"applicant": "2026-01-05"}, "enrolment": "none", "mobile": False}
    return {**member, **fields}


def test_a_member_with_bad_fields_is_refused_before_anything_is_written(service, store):
    with pytest.raises(InvalidArgument) as refused:
        service.create_member(CITY_ADMIN, **{**NEW_MEMBER, "name": "", "id_number": "12345"})
    assert {detail["field"] for detail in refused.value.details} >= {"name", "id_number"}
    store.existing_id_indexes.assert_not_called()
    store.create_member.assert_not_called()
    assert writes_of(store) == []


def test_status_dates_must_be_an_object(service, store):
    with pytest.raises(InvalidArgument) as refused:
        service.create_member(CITY_ADMIN, **{**NEW_MEMBER, "status_dates": ["2026-01-05"]})
    assert (refused.value.code, refused.value.field) == ("INVALID_TYPE", "status_dates")
    assert writes_of(store) == []


def test_a_member_is_placed_in_a_branch_only(service, store):
    with pytest.raises(InvalidArgument) as refused:
        service.create_member(CITY_ADMIN, **{**NEW_MEMBER, "branch_id": COUNTY["_id"]})
    assert refused.value.code == "NOT_A_BRANCH"
    assert writes_of(store) == []


def test_a_branch_of_another_tenant_is_not_found(service, store):
    with pytest.raises(NotFound) as refused:
        service.create_member(FOREIGN_ADMIN, **NEW_MEMBER)
    assert refused.value.code == "ORG_NOT_FOUND"
    assert writes_of(store) == []


def test_a_registered_id_number_is_refused(service, store):
    store.existing_id_indexes.return_value = {f"idx:{TENANT}:{ID_NUMBER}"}
    with pytest.raises(Conflict) as refused:
        service.create_member(CITY_ADMIN, **NEW_MEMBER)
    assert refused.value.code == "MEMBER_EXISTS"
    store.existing_id_indexes.assert_called_once_with([f"idx:{TENANT}:{ID_NUMBER}"])
    assert writes_of(store) == []


def test_a_new_member_is_written_once_with_its_event_at_the_clocks_time(service, store):
    view = service.create_member(SECRETARY, **NEW_MEMBER)
    (member, events), = [call.args for call in store.create_member.call_args_list]
    assert member["id_number_enc"] == f"enc:{TENANT}:{ID_NUMBER}" and "id_number" not in member
    assert (member["created_at"], member["branch_id"], member["a2"]) == (NOW_STAMP, BRANCH["_id"], BRANCH["_id"])
    assert member["search"]["phone_tail"] == "8000"
    assert [(e["event_type"], e["member_id"], e["occurred_at"]) for e in events] == [
        ("member_joined", member["_id"], NOW_STAMP)]
    assert view["id"] == member["_id"] and view["status_history"] == [{"status": "applicant", "on": "2026-01-05"}]
    assert writes_of(store) == ["create_member"]


def test_a_member_may_read_but_not_change_its_own_record(service, store):
    store.member.return_value = stored_member()
    me = scope("member", BRANCH["_id"], member_id="mem_1")
    with pytest.raises(PermissionDenied) as refused:
        service.update_member(me, member_id="mem_1", name="李四")
    assert refused.value.code == "NOT_MEMBER_MANAGER"
    assert writes_of(store) == []


def test_a_fellow_member_is_not_found_by_a_member(service, store):
    store.member.return_value = stored_member()
    with pytest.raises(NotFound) as refused:
        service.get_member(scope("member", BRANCH["_id"], member_id="mem_2"), member_id="mem_1")
    assert refused.value.code == "MEMBER_NOT_FOUND"


def test_an_update_without_changes_writes_nothing(service, store):
    store.member.return_value = stored_member()
    assert service.update_member(CITY_ADMIN, member_id="mem_1")["name"] == "张三"
    assert writes_of(store) == []


def test_an_update_writes_the_checked_changes_without_the_phone_in_its_event(service, store):
    store.member.return_value = stored_member()
    store.update_member.return_value = {"name": "李四", "phone": "13900139000", "updated_at": NOW_STAMP}
    view = service.update_member(CITY_ADMIN, member_id="mem_1", name=" 李四 ", phone="139-0013-9000")
    member, changes, now, events = store.update_member.call_args.args
    assert (member["_id"], changes, now) == ("mem_1", {"name": "李四", "phone": "13900139000"}, NOW_STAMP)
    assert events[0]["changes"] == {"name": "李四"}
    assert (view["name"], view["phone"]) == ("李四", "13900139000")


def test_a_member_with_a_pending_transfer_is_not_removed(service, store):
    store.member.return_value = stored_member()
    store.pending_transfer_of.return_value = {"_id": "trf_1"}
    with pytest.raises(Conflict) as refused:
        service.remove_member(CITY_ADMIN, member_id="mem_1")
    assert refused.value.code == "TRANSFER_PENDING"
    assert writes_of(store) == []


@pytest.mark.parametrize("utc_hour, accepted", [(15, False), (17, True)])
def test_a_status_step_may_be_dated_today_in_china(service, store, clock, utc_hour, accepted):
    """17:00 UTC on 9 March is already 10 March in China (UTC+8); 15:00 is not."""
    clock.moment = datetime(2027, 3, 9, utc_hour, 0, tzinfo=timezone.utc)
    store.member.return_value = stored_member()
    if not accepted:
        with pytest.raises(InvalidArgument) as refused:
            service.change_member_status(CITY_ADMIN, member_id="mem_1", status="activist", on="2027-03-10")
        assert refused.value.code == "DATE_IN_FUTURE"
        assert writes_of(store) == []
        return
    service.change_member_status(CITY_ADMIN, member_id="mem_1", status="activist", on="2027-03-10")
    member, changes, events = store.change_member_status.call_args.args
    assert changes == {"status": "activist", "status_dates.activist": "2027-03-10",
                       "updated_at": "2027-03-09T17:00:00.000Z",
                       "status_recorded.activist": {"by": "acc_org_admin", "at": "2027-03-09T17:00:00.000Z"}}
    assert (events[0]["old_status"], events[0]["new_status"]) == ("applicant", "activist")


def test_a_status_may_only_advance_one_step(service, store):
    store.member.return_value = stored_member()
    with pytest.raises(Conflict) as refused:
        service.change_member_status(CITY_ADMIN, member_id="mem_1", status="full", on="2026-12-01")
    assert refused.value.code == "STATUS_STEP_INVALID"
    assert writes_of(store) == []


def test_a_branch_peer_sees_names_and_statuses_not_phones(service, store):
    store.members_in.return_value = [stored_member(), stored_member(_id="mem_2", name="李四")]
    me = scope("member", BRANCH["_id"], member_id="mem_1")
    store.member.return_value = stored_member()             # the caller's own record: its branch
    listed = service.list_members(me, org_id=BRANCH["_id"])["members"]
    assert [(m["id"], m["phone"]) for m in listed] == [("mem_1", "13800138000"), ("mem_2", "")]


def test_a_branch_peer_cannot_search_by_phone(service, store):
    store.member.return_value = stored_member()
    me = scope("member", BRANCH["_id"], member_id="mem_1")
    assert service.list_members(me, org_id=BRANCH["_id"], q="8000")["members"] == []
    store.search_members.assert_not_called()


def test_branch_rosters_list_each_branchs_party_members(service, store):
    store.party_members_of.return_value = iter([{"_id": "mem_1", "branch_id": "b1", "name": "张三", "mobile": True}])
    assert service.branch_rosters(tenant_id=TENANT, branch_ids=["b1", "b2"]) == {
        "b1": [{"member_id": "mem_1", "name": "张三", "mobile": True}], "b2": []}
    store.party_members_of.assert_called_once_with(TENANT, ["b1", "b2"])


def test_branch_roster_sizes_count_each_branchs_party_members_once_per_branch(service, store):
    store.party_member_counts.return_value = {"b1": 2, "b2": 0}
    assert service.branch_roster_sizes(tenant_id=TENANT, branch_ids=["b1", "b2", "b1"]) == {"b1": 2, "b2": 0}
    store.party_member_counts.assert_called_once_with(TENANT, ["b1", "b2"])
    store.party_members_of.assert_not_called()        # no member's name is read for a count
