"""The audit log's hash chain and what a call records (servicekit.audit): no broker, no store."""
from __future__ import annotations

import copy
import json
import logging
import sys
from types import SimpleNamespace

from servicekit.audit import chain
from servicekit.audit.recording import STORE_ATTEMPTS, AuditTrail, audit_content, targets
from servicekit.errors import Conflict, NotFound, PermissionDenied

ADMIN = {"account_id": "acc-admin", "tenant_id": "ten-1", "roles": [{"role": "org_admin", "org_id": "org-city"}],
         "member_id": None, "branch_id": None, "session_id": "ses-1"}
MEMBER = {"account_id": "acc-m", "tenant_id": "ten-1", "roles": [{"role": "member", "org_id": "org-b1"}],
          "member_id": "mem-1", "branch_id": "org-b1"}


def entries(count: int) -> list[dict]:
    built, previous = [], chain.GENESIS
    for seq in range(1, count + 1):
        link = chain.link(previous, seq, {"operation": f"op{seq}", "outcome": "ok"})
        built.append({"_id": f"aud_{seq}", **link})
        previous = link["hash"]
    return built


def test_an_untouched_chain_verifies_and_names_its_head():
    links = entries(5)
    result = chain.verify(list(reversed(links)))
    assert result == {"ok": True, "checked": 5, "head": {"seq": 5, "hash": links[-1]["hash"]}, "first_broken": None}


def test_an_edited_entry_is_named_as_the_first_broken_link():
    links = entries(5)
    links[2]["content"]["outcome"] = "NOT_ORG_ADMIN"
    assert chain.verify(links)["first_broken"] == {"seq": 3, "entry_id": "aud_3", "problem": "changed"}


def test_an_entry_rehashed_after_editing_breaks_the_next_link():
    links = entries(5)
    links[1]["content"]["operation"] = "other"
    links[1]["hash"] = chain.link_hash(links[1]["prev_hash"], 2, links[1]["content"])
    assert chain.verify(links)["first_broken"] == {"seq": 3, "entry_id": "aud_3", "problem": "broken_link"}


def test_a_removed_entry_is_missing():
    links = entries(5)
    del links[3]
    assert chain.verify(links)["first_broken"] == {"seq": 4, "entry_id": "", "problem": "missing"}


def test_a_pruned_prefix_verifies_from_its_checkpoint():
    links = entries(6)
    checkpoint = {"seq": 3, "hash": links[2]["hash"]}
    result = chain.verify(links[3:], checkpoint)
    assert result["ok"] and result["checked"] == 3 and result["head"]["seq"] == 6
    assert not chain.verify(links[3:])["ok"]          # without the checkpoint, entry 4 follows nothing
    wrong = {"seq": 3, "hash": "f" * 64}
    assert chain.verify(links[3:], wrong)["first_broken"]["problem"] == "broken_link"


def test_a_fully_pruned_chain_has_its_checkpoint_as_head():
    assert chain.verify([], {"seq": 9, "hash": "a" * 64}) == {"ok": True, "checked": 0,
                                                              "head": {"seq": 9, "hash": "a" * 64},
                                                              "first_broken": None}


def marked(scope: dict, kind: str, operation: str) -> dict:
    return {**scope, "audit": {"kind": kind, "operation": operation, "client_address": "203.0.113.9",
                               "request_id": "req-1"}}


def failure(error: Exception):
    try:
        raise error
    except Exception:
        return sys.exc_info()


def test_a_privileged_write_records_who_what_where_and_the_outcome():
    kwargs = {"scope": marked(ADMIN, "write", "CreateAccount"), "username": "li", "password": "secret-Pw1",
              "role": "branch_secretary", "org_id": "org-b1", "member_id": ""}
    content = audit_content("identity", "create_account", kwargs, {"id": "acc-new", "username": "li"}, None,
                            now="2026-12-06T02:00:00.000Z")
    assert content == {
        "tenant_id": "ten-1", "at": "2026-12-06T02:00:00.000Z", "service": "identity", "method": "create_account",
        "operation": "CreateAccount", "kind": "write",
        "actor": {"account_id": "acc-admin", "member_id": "", "session_id": "ses-1"},
        "roles": [{"role": "org_admin", "org_id": "org-city"}],
        "targets": {"role": "branch_secretary", "org_id": "org-b1", "result_id": "acc-new"},
        "client_address": "203.0.113.9", "request_id": "req-1", "outcome": "ok"}
    assert "secret-Pw1" not in str(content) and "li" not in content["targets"].values()


def test_a_refused_write_records_its_code():
    kwargs = {"scope": marked(ADMIN, "write", "CreateOrg"), "parent_id": "org-x", "name": "某支部"}
    content = audit_content("identity", "create_org", kwargs, None,
                            failure(PermissionDenied("no", code="NOT_ORG_ADMIN")))
    assert content["outcome"] == "NOT_ORG_ADMIN" and content["targets"] == {"parent_id": "org-x"}


def test_a_members_own_write_is_recorded_only_when_refused():
    kwargs = {"scope": marked(MEMBER, "write", "CreateOrg"), "parent_id": "org-x"}
    assert audit_content("identity", "create_org", kwargs, {"id": "org-new"}, None) is None
    assert audit_content("identity", "create_org", kwargs, None, failure(Conflict("x", code="DUP"))) is None
    refused = audit_content("identity", "create_org", kwargs, None, failure(NotFound("x", code="ORG_NOT_FOUND")))
    assert refused["outcome"] == "ORG_NOT_FOUND" and refused["actor"]["member_id"] == "mem-1"


def test_an_unmarked_call_records_nothing():
    assert audit_content("identity", "create_org", {"scope": copy.deepcopy(ADMIN)}, {"id": "org-1"}, None) is None
    assert audit_content("identity", "branch_rosters", {"tenant_id": "ten-1"}, [], None) is None
    odd = {"scope": {**ADMIN, "audit": {"kind": "everything"}}}
    assert audit_content("identity", "create_org", odd, {}, None) is None


def test_an_unexpected_error_is_recorded_as_internal():
    kwargs = {"scope": marked(ADMIN, "read", "GetMember"), "member_id": "mem-1"}
    assert audit_content("identity", "get_member", kwargs, None, failure(RuntimeError("boom")))["outcome"] == "INTERNAL"


def test_targets_keep_ids_and_selectors_and_never_personal_fields():
    found = targets({"scope": ADMIN, "member_id": "mem-1", "branch_ids": ["b1", "b2"], "name": "张三",
                     "phone": "13800138000", "id_number": "610702199005171234", "content": "base64...",
                     "period": "2026-12", "client_address": "1.2.3.4"}, {"member": {"id": "mem-1"}})
    assert found == {"member_id": "mem-1", "branch_ids": ["b1", "b2"], "period": "2026-12"}


class StoredLog:
    def __init__(self, failures: int = 0):
        self.failures, self.entries = failures, []

    def append(self, content: dict) -> dict:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("store away")
        self.entries.append(content)
        return content


def trail_with(log) -> AuditTrail:
    trail = AuditTrail()
    trail.service, trail._log = "identity", log
    return trail


def worker(method: str, **kwargs) -> SimpleNamespace:
    return SimpleNamespace(entrypoint=SimpleNamespace(method_name=method), kwargs=kwargs)


def test_only_calls_the_gateway_proved_are_recorded():
    log = StoredLog()
    call = worker("create_org", scope=marked(ADMIN, "write", "CreateOrg"), parent_id="org-x")
    trail_with(log).record("content", call, {"id": "org-1"}, None)       # a peer passing a person's scope on
    assert log.entries == []
    trail_with(log).record("gateway", call, {"id": "org-1"}, None)
    assert [entry["targets"] for entry in log.entries] == [{"parent_id": "org-x", "result_id": "org-1"}]


def test_an_entry_the_store_refuses_is_retried_then_logged_whole(caplog):
    log = StoredLog(failures=1)
    trail_with(log).record("gateway", worker("get_member", scope=marked(ADMIN, "read", "GetMember"),
                                             member_id="mem-1"), {}, None)
    assert [entry["operation"] for entry in log.entries] == ["GetMember"]       # the second try stored it
    lost = StoredLog(failures=STORE_ATTEMPTS)
    with caplog.at_level(logging.ERROR, logger="servicekit.audit.recording"):
        trail_with(lost).record("gateway", worker("get_member", scope=marked(ADMIN, "read", "GetMember"),
                                                  member_id="mem-2"), {}, None)
    [line] = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert line.startswith("AUDIT_NOT_STORED ")
    assert json.loads(line.split(" ", 1)[1])["targets"] == {"member_id": "mem-2"}
