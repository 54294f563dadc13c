"""Proofs of calls and events (servicekit.security.proofs) and the entry point that checks them."""
from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest

from servicekit.errors import PermissionDenied, Unauthenticated
from servicekit.messaging.rpc import OnceEncodedRpc
from servicekit.security import proofs
from servicekit.security.proofs import (KEYS_DIR_VARIABLE, call_headers, current_principal, ensure_call_keys,
                                        event_headers, forget_keys, use_principal, verify_call, verify_event)

BODY = json.dumps({"args": [], "kwargs": {"scope": {"account_id": "a1"}, "org_id": "o1"}}).encode()


@pytest.fixture(autouse=True)
def keys(tmp_path, monkeypatch):
    monkeypatch.setenv(KEYS_DIR_VARIABLE, str(ensure_call_keys(tmp_path / "calls")))
    previous = current_principal()
    use_principal("gateway")
    yield tmp_path / "calls"
    forget_keys()
    if previous:
        use_principal(previous)


def test_a_call_proves_its_principal_for_exactly_that_body_and_routing_key():
    headers = call_headers("identity.get_org", BODY)
    assert verify_call("identity.get_org", BODY, headers) == "gateway"
    assert verify_call("identity.get_org", BODY.decode(), headers) == "gateway"     # handed over decoded
    for routing_key, body in (("identity.update_member", BODY), ("identity.get_org", BODY.replace(b"o1", b"o2"))):
        with pytest.raises(Unauthenticated) as refused:
            verify_call(routing_key, body, headers)
        assert refused.value.code == "CALL_PROOF_INVALID"


def test_a_call_without_a_proof_or_with_a_broken_one_is_refused_with_its_code():
    headers = call_headers("identity.get_org", BODY)
    cases = [({}, "CALL_UNSIGNED"),
             ({**headers, "pb-signature": "not base64!"}, "CALL_PROOF_INVALID"),
             ({**headers, "pb-expires": "soon"}, "CALL_PROOF_INVALID"),
             ({**headers, "pb-principal": "identity"}, "CALL_PROOF_INVALID"),   # another principal's name
             ({**headers, "pb-principal": "mallory"}, "CALL_PROOF_INVALID"),
             ({**headers, "pb-expires": headers["pb-expires"] + 3600}, "CALL_PROOF_INVALID")]
    for bad, code in cases:
        with pytest.raises(Unauthenticated) as refused:
            verify_call("identity.get_org", BODY, bad)
        assert refused.value.code == code, bad


def test_a_call_expires_and_an_expiry_too_far_ahead_is_refused():
    stale = call_headers("identity.get_org", BODY, now=time.time() - proofs.CALL_LIFETIME_SECONDS - 1)
    with pytest.raises(Unauthenticated) as refused:
        verify_call("identity.get_org", BODY, stale)
    assert refused.value.code == "CALL_PROOF_EXPIRED"
    ahead = call_headers("identity.get_org", BODY, now=time.time() + 3600)
    with pytest.raises(Unauthenticated) as refused:
        verify_call("identity.get_org", BODY, ahead)
    assert refused.value.code == "CALL_PROOF_EXPIRED"


def test_an_event_must_be_signed_by_the_service_that_owns_its_exchange():
    use_principal("attendance")
    headers = event_headers("attendance.events", BODY)
    assert verify_event("attendance.events", BODY, headers) == "attendance"
    with pytest.raises(PermissionDenied) as refused:            # attendance may not speak for identity
        verify_event("identity.events", BODY, event_headers("identity.events", BODY))
    assert refused.value.code == "EVENT_PUBLISHER_WRONG"
    with pytest.raises(Unauthenticated) as refused:
        verify_event("attendance.events", BODY + b" ", headers)
    assert refused.value.code == "EVENT_PROOF_INVALID"
    with pytest.raises(Unauthenticated) as refused:
        verify_event("attendance.events", BODY, {})
    assert refused.value.code == "CALL_UNSIGNED"


def test_a_process_without_its_private_key_cannot_sign(keys):
    (keys / "content.key").unlink()
    with pytest.raises(RuntimeError, match="content.key"):
        use_principal("content", load=True)
    with pytest.raises(ValueError):
        use_principal("mallory")


class Delivered:
    def __init__(self, routing_key, body, headers):
        self.delivery_info, self.body, self.headers = {"routing_key": routing_key}, body, headers


def entry_point(callers=()):
    entry = OnceEncodedRpc(callers=callers)
    entry.spawned = []
    entry.container = SimpleNamespace(spawn_worker=lambda *args, **kwargs: entry.spawned.append(args))
    entry.method_name = "branch_rosters"
    entry.check_signature = lambda args, kwargs: None
    return entry


def test_the_entry_point_runs_a_proven_call_and_refuses_others_before_any_worker():
    body = json.loads(BODY)
    entry = entry_point()
    entry.handle_message(body, Delivered("identity.branch_rosters", BODY, call_headers("identity.branch_rosters", BODY)))
    assert len(entry.spawned) == 1
    with pytest.raises(Unauthenticated):
        entry.handle_message(body, Delivered("identity.branch_rosters", BODY, {}))
    assert len(entry.spawned) == 1


def test_an_operation_for_named_peers_refuses_every_other_principal():
    body = json.loads(BODY)
    entry = entry_point(callers=("attendance", "content"))
    with pytest.raises(PermissionDenied) as refused:
        entry.handle_message(body, Delivered("identity.branch_rosters", BODY,
                                             call_headers("identity.branch_rosters", BODY)))
    assert refused.value.code == "CALLER_NOT_ALLOWED" and not entry.spawned
    use_principal("content")
    entry.handle_message(body, Delivered("identity.branch_rosters", BODY, call_headers("identity.branch_rosters", BODY)))
    assert len(entry.spawned) == 1
