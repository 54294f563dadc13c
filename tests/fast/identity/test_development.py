"""Development records on a fake store: who reads and who writes a record, bad input refused before anything is
written, the entry with its recorder and its event, the publicity from the content service (or marked unknown)."""
from __future__ import annotations

import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from services.identity.store import ancestor_fields
from tests.fast.identity.fakes import BRANCH, CITY_ADMIN, COUNTY_ADMIN, NOW_STAMP, OTHER_BRANCH, SECRETARY, TENANT, \
    scope, writes_of

BRANCH_PATH = ["org_city", "org_county", "org_branch"]


def stored(member_id, name, status, dates, branch=BRANCH, **fields) -> dict:
    return {"_id": member_id, "tenant_id": TENANT, "branch_id": branch["_id"],
            **ancestor_fields([*BRANCH_PATH[:-1], branch["_id"]]), "name": name, "status": status,
            "status_dates": dates, **fields}


TARGET = stored("mem_t", "李发展", "development_target",
                {"applicant": "2024-03-01", "activist": "2024-09-01", "development_target": "2025-10-01"},
                status_recorded={"development_target": {"by": "acc_branch_secretary", "at": "2025-10-01T02:00:00Z"}})
INTRODUCER_1 = stored("mem_1", "王正式", "full", {"full": "2010-07-01"})
INTRODUCER_2 = stored("mem_2", "赵正式", "full", {"full": "2012-07-01"})
SECRETARY_ACCOUNT = {"_id": "acc_branch_secretary", "username": "sec", "member_id": "mem_s"}
SECRETARY_MEMBER = stored("mem_s", "周书记", "full", {"full": "2000-07-01"})
MEMBERS = {doc["_id"]: doc for doc in (TARGET, INTRODUCER_1, INTRODUCER_2, SECRETARY_MEMBER)}
OWN = scope("member", BRANCH["_id"], member_id="mem_t")
PEER = scope("member", BRANCH["_id"], member_id="mem_1")
OTHER_SECRETARY = scope("branch_secretary", OTHER_BRANCH["_id"])
TALK = dict(kind="talk", on="2025-10-20", purpose="admission", talker="周书记", summary="入党动机端正")


@pytest.fixture(autouse=True)
def world(store):
    store.member.side_effect = MEMBERS.get
    store.account.side_effect = {"acc_branch_secretary": SECRETARY_ACCOUNT}.get
    store.development_entries.return_value = []
    return store


def test_the_secretary_records_a_talk_with_its_recorder_and_event(service, store):
    view = service.record_development_entry(SECRETARY, member_id="mem_t", **TALK)
    entry, seen, events = store.record_development_entry.call_args.args
    assert (entry["kind"], entry["on"], entry["detail"], entry["recorded_by"], entry["recorded_by_name"]) == \
        ("talk", "2025-10-20", {"purpose": "admission", "talker": "周书记", "summary": "入党动机端正"},
         "acc_branch_secretary", "周书记")
    assert (seen, entry["recorded_at"], entry["corrects"]) == (0, NOW_STAMP, "")
    assert [(e["event_type"], e["member_id"], e["kind"], e["on"]) for e in events] == [
        ("development_entry_recorded", "mem_t", "talk", "2025-10-20")]
    assert (view["id"], view["summary"], view["introducers"], view["superseded_by"]) == (entry["_id"], "入党动机端正",
                                                                                        [], "")


def test_introducers_are_stored_with_their_names(service, store):
    service.record_development_entry(CITY_ADMIN, member_id="mem_t", kind="introducers", on="2025-10-05",
                                     introducer_ids=["mem_1", "mem_2"])
    entry = store.record_development_entry.call_args.args[0]
    assert entry["detail"] == {"introducers": [{"member_id": "mem_1", "name": "王正式"},
                                               {"member_id": "mem_2", "name": "赵正式"}]}


@pytest.mark.parametrize("fields, code, field", [
    ({"kind": "party"}, "UNKNOWN_VALUE", "kind"),
    ({"on": "2025-13-01"}, None, "on"),
    ({"on": "2027-01-01"}, "DATE_IN_FUTURE", "on"),
    ({"on": "2025-09-01"}, "DATE_BEFORE_STEP", "on"),
    ({"purpose": "gossip"}, "UNKNOWN_VALUE", "purpose"),
    ({"talker": ""}, "REQUIRED", "talker"),
    ({"summary": "长" * 2001}, "TOO_LONG", "summary"),
    ({"purpose": "probation"}, "STEP_NOT_REACHED", "kind"),
    ({"kind": "training", "stage": "activist", "course": "党课", "hours": 0}, "OUT_OF_RANGE", "hours"),
    ({"kind": "training", "stage": "activist", "course": "党课", "hours": 501}, "OUT_OF_RANGE", "hours"),
    ({"kind": "training", "stage": "activist", "course": "党课", "hours": "8"}, "INVALID_TYPE", "hours"),
    ({"kind": "political_review", "outcome": "", "conclusion": "合格"}, "REQUIRED", "outcome"),
    ({"kind": "introducers", "introducer_ids": "mem_1,mem_2"}, "INVALID_TYPE", "introducer_ids"),
    ({"kind": "introducers", "introducer_ids": ["mem_1"]}, "INTRODUCERS_COUNT", "introducer_ids"),
    ({"corrects": "dev_x", "note": ""}, "REQUIRED", "note"),
    ({"corrects": "dev_x", "note": "日期有误"}, "ENTRY_NOT_FOUND", "corrects"),
])
def test_bad_input_is_refused_with_its_code_and_nothing_is_written(service, store, fields, code, field):
    with pytest.raises((InvalidArgument, Conflict)) as refused:
        service.record_development_entry(SECRETARY, member_id="mem_t", **{**TALK, **fields})
    assert refused.value.field == field and (code is None or refused.value.code == code)
    store.record_development_entry.assert_not_called()
    assert writes_of(store) == ["development_entries"] or writes_of(store) == []    # a read at most


@pytest.mark.parametrize("caller, error, code", [
    (OWN, PermissionDenied, "NOT_MEMBER_MANAGER"),      # the member reads its own record, it does not write it
    (PEER, NotFound, "MEMBER_NOT_FOUND"),
    (OTHER_SECRETARY, NotFound, "MEMBER_NOT_FOUND"),
    (scope("org_admin", "org_county2"), NotFound, "MEMBER_NOT_FOUND"),
])
def test_only_the_branch_and_its_superiors_write(service, store, caller, error, code):
    with pytest.raises(error) as refused:
        service.record_development_entry(caller, member_id="mem_t", **TALK)
    assert refused.value.code == code
    store.record_development_entry.assert_not_called()


def test_the_record_shows_steps_entries_corrections_and_publicity(service, store):
    entries = [
        {"_id": "dev_1", "kind": "political_review", "on": "2025-10-10", "detail": {"outcome": "failed",
         "conclusion": "材料不全"}, "note": "", "corrects": "", "recorded_at": "2025-10-10T01:00:00Z",
         "recorded_by": "acc_branch_secretary", "recorded_by_name": "周书记"},
        {"_id": "dev_2", "kind": "political_review", "on": "2025-10-10", "detail": {"outcome": "passed",
         "conclusion": "政治合格"}, "note": "结论录入有误", "corrects": "dev_1", "recorded_at": "2025-10-11T01:00:00Z",
         "recorded_by": "acc_branch_secretary", "recorded_by_name": "周书记"}]
    store.development_entries.return_value = entries
    service.content.member_publicities.return_value = {"publicities": [
        {"id": "pub_1", "step": "development_target", "state": "closed", "opens_on": "2025-10-02",
         "closes_on": "2025-10-09", "objections": 1, "pending_objections": 0}]}
    # the objections' numbers only for the admins of the branch's superior or above, as the publicity shows them
    for caller, objections in ((SECRETARY, 0), (COUNTY_ADMIN, 1), (OWN, 0)):
        record = service.get_development_record(caller, member_id="mem_t")
        assert [(s["status"], s["recorded_by_name"]) for s in record["steps"]] == [
            ("applicant", ""), ("activist", ""), ("development_target", "周书记")]
        assert [(e["id"], e["superseded_by"], e["outcome"]) for e in record["entries"]] == [
            ("dev_1", "dev_2", "failed"), ("dev_2", "", "passed")]
        assert [(p["step"], p["state"], p["objections"], p["objections_visible"]) for p in record["publicity"]] == [
            ("development_target", "closed", objections, bool(objections))]
        assert [o["kind"] for o in record["outstanding"]] == ["introducers", "training"]
    service.content.member_publicities.assert_called_with(tenant_id=TENANT, member_id="mem_t")
    assert service.get_my_development_record(OWN)["member_id"] == "mem_t"


def test_without_the_content_service_the_record_stands_with_its_publicity_unknown(service, store):
    service.content.member_publicities.side_effect = RuntimeError("content is down")
    record = service.get_development_record(SECRETARY, member_id="mem_t")
    assert [(p["step"], p["state"]) for p in record["publicity"]] == [("development_target", "unknown")]


@pytest.mark.parametrize("caller", [PEER, OTHER_SECRETARY, scope("org_admin", "org_county2"),
                                    scope("org_admin", "org_elsewhere", tenant_id="ten_2")])
def test_no_one_else_reads_a_record(service, caller):
    with pytest.raises(NotFound) as refused:
        service.get_development_record(caller, member_id="mem_t")
    assert refused.value.code == "MEMBER_NOT_FOUND"


def test_an_account_without_a_member_has_no_own_record(service):
    with pytest.raises(NotFound) as refused:
        service.get_my_development_record(SECRETARY)
    assert refused.value.code == "MEMBER_NOT_FOUND"


def test_the_applicant_list_is_the_branchs_managers(service, store):
    store.members_in.return_value = [TARGET]
    store.development_entry_counts.return_value = {"mem_t": 3}
    answer = service.list_development_records(SECRETARY, org_id=BRANCH["_id"])
    org, query, skip, limit = store.members_in.call_args.args
    assert query == {"status": {"$in": ["applicant", "activist", "development_target", "probationary"]}}
    assert answer["applicants"] == [{"member_id": "mem_t", "name": "李发展", "branch_id": BRANCH["_id"],
                                     "branch_name": BRANCH["name"], "status": "development_target",
                                     "status_on": "2025-10-01", "entries": 3}]
    with pytest.raises(PermissionDenied) as refused:
        service.list_development_records(OWN, org_id=BRANCH["_id"])
    assert refused.value.code == "NOT_ORG_MANAGER"
