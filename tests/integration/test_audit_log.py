"""The audit log on the real broker and store: identity and volunteer as real processes, called as the gateway
calls them (with its audit mark in the scope), read back by the tenant's auditor through identity."""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

import pymongo
import pytest

from servicekit.audit.log import AuditLog
from servicekit.errors import InvalidArgument, NotFound, PermissionDenied
from servicekit.process.config import database_name
from servicekit.timestamps import LOCAL_ZONE, parse_stamp
from tests.support.identity import PASSWORD, City, login

ADDRESS = "203.0.113.9"


def marked(scope: dict, kind: str, operation: str, request_id: str = "req-1") -> dict:
    """``scope`` as the gateway sends it for an audited call (gateway.audit)."""
    return {**scope, "audit": {"kind": kind, "operation": operation, "client_address": ADDRESS,
                               "request_id": request_id}}


@pytest.fixture
def audited_city(rpc, operator_scope, volunteer_service):
    city = City(rpc, operator_scope)
    rpc.identity.create_account(scope=marked(city.admin, "write", "CreateAccount"), username="auditor",
                                password=PASSWORD, role="auditor", org_id=city.root["id"])
    city.auditor = login(rpc, city.code, "auditor")
    return city


def search(rpc, auditor: dict, **filters) -> dict:
    return rpc.identity.search_audit_log(scope=marked(auditor, "read", "SearchAuditLog"), **filters)


@pytest.fixture
def identity_db(mongo_uri):
    with pymongo.MongoClient(mongo_uri) as client:
        yield client[database_name("identity")]


def test_a_privileged_write_and_a_personal_data_read_are_recorded_with_who_what_where_and_outcome(rpc,
                                                                                                 audited_city):
    city = audited_city
    admin = city.admin
    member = rpc.identity.create_member(scope=marked(admin, "write", "CreateMember", "req-2"),
                                        **_member_fields(city))
    rpc.identity.get_member(scope=marked(admin, "read", "GetMember", "req-3"), member_id=member["id"])
    rpc.volunteer.get_member_hours(scope=marked(admin, "read", "GetMemberHours", "req-4"), member_id=member["id"])

    found = search(rpc, city.auditor)
    # the services this test does not start answer nothing (when no other test of the session started them)
    assert set(found["unavailable"]) <= {"attendance", "content", "scoring"} and not found["truncated"]
    by_operation = {entry["operation"]: entry for entry in found["entries"]}
    created = by_operation["CreateMember"]
    assert {key: created[key] for key in ("service", "tenant_id", "account_id", "kind", "client_address",
                                          "request_id", "outcome")} == {
        "service": "identity", "tenant_id": city.tenant_id, "account_id": admin["account_id"], "kind": "write",
        "client_address": ADDRESS, "request_id": "req-2", "outcome": "ok"}
    assert created["roles"] == [f"org_admin:{city.root['id']}"]
    assert created["targets"] == {"branch_id": city.branches[0][0]["id"], "status": "full",
                                  "result_id": member["id"]}
    read = by_operation["GetMember"]
    assert (read["kind"], read["targets"], read["outcome"]) == ("read", {"member_id": member["id"]}, "ok")
    hours = by_operation["GetMemberHours"]
    assert (hours["service"], hours["kind"], hours["targets"]) == ("volunteer", "read", {"member_id": member["id"]})
    account = by_operation["CreateAccount"]
    assert account["targets"]["role"] == "auditor" and account["targets"]["org_id"] == city.root["id"]
    # newest first, and never the personal data itself
    assert [entry["at"] for entry in found["entries"]] == sorted((e["at"] for e in found["entries"]), reverse=True)
    text = json.dumps(found, ensure_ascii=False)
    assert member["name"] not in text and member["phone"] not in text and member["id_number_masked"] not in text

    only_volunteer = search(rpc, city.auditor, service_name="volunteer", target=member["id"])
    assert [entry["operation"] for entry in only_volunteer["entries"]] == ["GetMemberHours"]
    assert only_volunteer["unavailable"] == []


def test_a_refused_write_is_recorded_with_its_code_and_an_unmarked_call_is_not(rpc, audited_city):
    city = audited_city
    county_two = city.county_admins[1]
    with pytest.raises(NotFound):
        rpc.identity.create_org(scope=marked(county_two, "write", "CreateOrg"), parent_id=city.committees[0]["id"],
                                name="越权支部", kind="branch")
    rpc.identity.create_org(scope=city.admin, parent_id=city.committees[0]["id"], name="未标记支部", kind="branch")

    refused = search(rpc, city.auditor, operation="CreateOrg")["entries"]
    assert len(refused) == 1
    assert (refused[0]["account_id"], refused[0]["outcome"], refused[0]["targets"]["parent_id"]) == (
        county_two["account_id"], "ORG_NOT_FOUND", city.committees[0]["id"])
    assert search(rpc, city.auditor, outcome="ORG_NOT_FOUND")["entries"] == refused
    today = datetime.now(LOCAL_ZONE).date()
    yesterday, tomorrow = (today - timedelta(days=1)).isoformat(), (today + timedelta(days=1)).isoformat()
    assert search(rpc, city.auditor, operation="CreateOrg", since=today.isoformat(),
                  until=today.isoformat())["entries"] == refused
    assert search(rpc, city.auditor, operation="CreateOrg", until=yesterday)["entries"] == []
    assert search(rpc, city.auditor, operation="CreateOrg", since=tomorrow)["entries"] == []
    assert search(rpc, city.auditor, operation="CreateOrg", until=refused[0]["at"])["entries"] == []   # excluded
    with pytest.raises(InvalidArgument) as bad_time:
        search(rpc, city.auditor, since="last week")
    assert (bad_time.value.code, bad_time.value.field) == ("INVALID_TIME", "since")


def test_only_the_tenants_auditors_read_it_and_never_another_tenants(rpc, audited_city, operator_scope):
    city = audited_city
    for caller in (city.admin, city.county_admins[0], operator_scope):
        for call in (rpc.identity.search_audit_log, rpc.identity.verify_audit_log, rpc.identity.export_audit_log):
            with pytest.raises(PermissionDenied) as refused:
                call(scope=marked(caller, "read", "SearchAuditLog"))
            assert refused.value.code == "AUDITOR_ONLY"

    other = City(rpc, operator_scope)
    rpc.identity.create_account(scope=other.admin, username="auditor", password=PASSWORD, role="auditor",
                                org_id=other.root["id"])
    other_auditor = login(rpc, other.code, "auditor")
    theirs = search(rpc, other_auditor)["entries"]
    assert all(entry["tenant_id"] == other.tenant_id for entry in theirs)
    assert search(rpc, other_auditor, actor=city.admin["account_id"])["entries"] == []
    assert search(rpc, city.auditor, actor=city.admin["account_id"])["entries"]       # the city's own do exist


def test_an_auditor_is_granted_at_the_root_by_an_admin_and_is_no_member(rpc, audited_city):
    city = audited_city
    with pytest.raises(InvalidArgument) as at_county:
        rpc.identity.create_account(scope=city.admin, username="auditor2", password=PASSWORD, role="auditor",
                                    org_id=city.counties[0]["id"])
    assert at_county.value.code == "AUDITOR_AT_ROOT"
    with pytest.raises(NotFound) as by_county:
        rpc.identity.create_account(scope=city.county_admins[0], username="auditor3", password=PASSWORD,
                                    role="auditor", org_id=city.root["id"])
    assert by_county.value.code == "ORG_NOT_FOUND"
    # an auditor manages nothing
    with pytest.raises(NotFound):
        rpc.identity.list_members(scope=city.auditor, org_id=city.root["id"])


def test_an_edited_entry_is_named_by_verification(rpc, audited_city, identity_db):
    city = audited_city
    for number in range(3):
        rpc.identity.update_org(scope=marked(city.admin, "write", "UpdateOrg"), org_id=city.branches[0][0]["id"],
                                name=f"更名支部{number}")
    verdict = rpc.identity.verify_audit_log(scope=marked(city.auditor, "read", "VerifyAuditLog"))
    [identity_chain] = [chain for chain in verdict["chains"] if chain["service"] == "identity"]
    assert identity_chain["ok"] and identity_chain["broken_seq"] == 0 and identity_chain["checked"] >= 4
    assert "volunteer" not in verdict["unavailable"] and verdict["ok"] == (not verdict["unavailable"])

    victim = identity_db.audit_log.find_one({"tenant_id": city.tenant_id, "content.operation": "UpdateOrg"},
                                            sort=[("seq", -1)])
    identity_db.audit_log.update_one({"_id": victim["_id"]}, {"$set": {"content.outcome": "NOT_ORG_ADMIN"}})
    verdict = rpc.identity.verify_audit_log(scope=marked(city.auditor, "read", "VerifyAuditLog"))
    [identity_chain] = [chain for chain in verdict["chains"] if chain["service"] == "identity"]
    assert (identity_chain["ok"], identity_chain["broken_seq"], identity_chain["broken_entry_id"],
            identity_chain["broken_problem"]) == (False, victim["seq"], victim["_id"], "changed")
    [volunteer_chain] = [chain for chain in verdict["chains"] if chain["service"] == "volunteer"]
    assert volunteer_chain["ok"]


def test_retention_removes_an_old_prefix_and_verification_still_holds(rpc, audited_city, identity_db):
    city = audited_city
    for number in range(4):
        rpc.identity.update_org(scope=marked(city.admin, "write", "UpdateOrg"), org_id=city.branches[1][0]["id"],
                                name=f"留存支部{number}")
        time.sleep(0.01)        # distinct stamps
    stored = sorted(identity_db.audit_log.find({"tenant_id": city.tenant_id}), key=lambda entry: entry["seq"])
    keep_from = stored[-2]              # the last two stay
    now = parse_stamp(keep_from["at"]) + timedelta(days=30)
    removed = AuditLog(identity_db, "identity").prune(30, now=now)
    assert removed[city.tenant_id] == len(stored) - 2
    assert [entry["seq"] for entry in identity_db.audit_log.find({"tenant_id": city.tenant_id})] == \
        [entry["seq"] for entry in stored[-2:]]

    rpc.identity.update_org(scope=marked(city.admin, "write", "UpdateOrg"), org_id=city.branches[1][0]["id"],
                            name="留存之后")
    verdict = rpc.identity.verify_audit_log(scope=marked(city.auditor, "read", "VerifyAuditLog"))
    [identity_chain] = [chain for chain in verdict["chains"] if chain["service"] == "identity"]
    assert identity_chain["ok"], identity_chain
    assert (identity_chain["checkpoint_seq"], identity_chain["checkpoint_hash"]) == (stored[-3]["seq"],
                                                                                      stored[-3]["hash"])
    assert identity_chain["head_seq"] == stored[-1]["seq"] + 1       # the write since (this read is recorded after)
    # nothing younger than the retention is removed
    assert AuditLog(identity_db, "identity").prune(30, now=now).get(city.tenant_id, 0) == 0


def test_retention_never_removes_a_broken_link(rpc, audited_city, identity_db):
    city = audited_city
    for number in range(3):
        rpc.identity.update_org(scope=marked(city.admin, "write", "UpdateOrg"), org_id=city.branches[1][1]["id"],
                                name=f"证据支部{number}")
    stored = sorted(identity_db.audit_log.find({"tenant_id": city.tenant_id}), key=lambda entry: entry["seq"])
    identity_db.audit_log.update_one({"_id": stored[2]["_id"]}, {"$set": {"content.request_id": "forged"}})
    now = parse_stamp(stored[-1]["at"]) + timedelta(days=31)
    assert AuditLog(identity_db, "identity").prune(30, now=now)[city.tenant_id] == 2
    verdict = rpc.identity.verify_audit_log(scope=marked(city.auditor, "read", "VerifyAuditLog"))
    [identity_chain] = [chain for chain in verdict["chains"] if chain["service"] == "identity"]
    assert (identity_chain["broken_seq"], identity_chain["broken_problem"]) == (stored[2]["seq"], "changed")


def test_the_export_is_a_workbook_of_the_entries(rpc, audited_city):
    import base64
    import io

    from openpyxl import load_workbook

    city = audited_city
    answer = rpc.identity.export_audit_log(scope=marked(city.auditor, "read", "ExportAuditLog"),
                                           operation="CreateAccount")
    sheet = load_workbook(io.BytesIO(base64.b64decode(answer["content"])))["审计日志"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("时间", "服务", "操作") and len(rows) == 2
    assert rows[1][1:3] == ("identity", "CreateAccount") and rows[1][4] == city.admin["account_id"]
    assert rows[1][8] == ADDRESS and rows[1][10] == "成功"


def _member_fields(city: City) -> dict:
    from tests.support.identity import member_fields
    return member_fields(city.branches[0][0]["id"], "李四")
