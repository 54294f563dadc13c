"""Every entry point hands its arguments, in order and with the caller's scope parsed, to one use case and
answers what it answers."""
from __future__ import annotations

import inspect
from unittest.mock import MagicMock

import pytest
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.testing.services import worker_factory

from servicekit.audit.entries import ENTRY_POINTS as AUDIT_ENTRY_POINTS
from servicekit.errors import PermissionDenied, Unauthenticated
from servicekit.security.scope import CallerScope
from services.attendance import service as service_module
from services.attendance.service import AttendanceService
from tests.fast.attendance.fakes import SECRETARY

SCOPED = "caller"        # stands for the parsed CallerScope in the expected arguments

# rpc name -> (use-case class, method, keyword arguments of the call, the use case's expected arguments)
DELEGATION = {
    "issue_theme": ("Activities", "issue_theme",
                    dict(org_id="o", month="2026-11", title="t", due_from="a", due_to="b", required_actions=["x"],
                         radius_m=100),
                    (SCOPED, "o", "2026-11", "t", "a", "b", ["x"], 100)),
    "list_themes": ("Activities", "list_themes", dict(org_id="o", page_size=5, page_token="p"),
                    (SCOPED, "o", 5, "p")),
    "list_activities": ("Activities", "list_activities",
                        dict(org_id="o", month="m", status="s", theme_id="th", page_size=5, page_token="p"),
                        (SCOPED, "o", "m", "s", "th", 5, "p")),
    "get_activity": ("Activities", "get_activity", dict(activity_id="a"), (SCOPED, "a")),
    "submit_plan": ("Activities", "submit_plan",
                    dict(activity_id="a", date="d", start_time="s", end_time="e", venue_name="v", venue_lat=1.0,
                         venue_lng=2.0, optional_actions=["o"], grace_minutes=5, checkout_window_minutes=30,
                         venue_crs="gcj02"),
                    (SCOPED, "a", "d", "s", "e", "v", 1.0, 2.0, ["o"], 5, 30, "gcj02")),
    "review_plan": ("Activities", "review_plan",
                    dict(activity_id="a", decision="approved", reason="r", radius_m=200, grace_minutes=5),
                    (SCOPED, "a", "approved", "r", 200, 5)),
    "get_qr_code": ("Scans", "get_qr_code", dict(activity_id="a", direction="in", mode="print"),
                    (SCOPED, "a", "in", "print")),
    "set_printed_code": ("Scans", "set_printed_code", dict(activity_id="a", allowed=True, reason="r"),
                         (SCOPED, "a", True, "r")),
    "list_scans": ("Scans", "list_scans", dict(activity_id="a", flagged_only=True, page_size=5, page_token="p"),
                   (SCOPED, "a", True, 5, "p")),
    "request_leave": ("Leaves", "request_leave", dict(activity_id="a", reason="r"), (SCOPED, "a", "r")),
    "decide_leave": ("Leaves", "decide_leave", dict(leave_id="l", decision="approved", note="n"),
                     (SCOPED, "l", "approved", "n")),
    "list_leaves": ("Leaves", "list_leaves", dict(activity_id="a"), (SCOPED, "a")),
    "post_reflection": ("Records", "post_reflection", dict(activity_id="a", text="t"), (SCOPED, "a", "t")),
    "list_reflections": ("Records", "list_reflections", dict(activity_id="a", page_size=5, page_token="p"),
                         (SCOPED, "a", 5, "p")),
    "like_activity": ("Records", "like_activity", dict(activity_id="a"), (SCOPED, "a")),
    "add_photo": ("Records", "add_photo",
                  dict(activity_id="a", content_type="image/png", content="Yg==", backfill_reason="r"),
                  (SCOPED, "a", "image/png", "Yg==", "r")),
    "add_text_record": ("Records", "add_text_record", dict(activity_id="a", text="t", backfill_reason="r"),
                        (SCOPED, "a", "t", "r")),
    "list_uploads": ("Records", "list_uploads", dict(activity_id="a"), (SCOPED, "a")),
    "get_upload_photo": ("Records", "get_upload_photo", dict(activity_id="a", upload_id="u", size="thumb"),
                         (SCOPED, "a", "u", "thumb")),
    "backfill_scan": ("Chains", "backfill_scan", dict(activity_id="a", member_id="m", direction="in", reason="r"),
                      (SCOPED, "a", "m", "in", "r")),
    "verify_chain": ("Chains", "verify_chain", dict(activity_id="a"), (SCOPED, "a")),
    "open_rectification": ("Rectifications", "open_rectification", dict(activity_id="a", title="t", due_on="d"),
                           (SCOPED, "a", "t", "d")),
    "close_rectification": ("Rectifications", "close_rectification", dict(rectification_id="r", note="n"),
                            (SCOPED, "r", "n")),
    "list_rectifications": ("Rectifications", "list_rectifications",
                            dict(org_id="o", state="open", page_size=5, page_token="p"), (SCOPED, "o", "open", 5, "p")),
    "get_statistics": ("Statistics", "get_statistics", dict(org_id="o", month_from="a", month_to="b", by="member"),
                       (SCOPED, "o", "a", "b", "member")),
    "export_statistics": ("Statistics", "export_statistics", dict(org_id="o", month_from="a", month_to="b"),
                          (SCOPED, "o", "a", "b")),
    "activity_facts": ("Statistics", "activity_facts",
                       dict(org_id="o", month_from="a", month_to="b", page_token="p", page_size=50),
                       (SCOPED, "o", "a", "b", "p", 50)),
    "get_meeting_settings": ("Meetings", "get_settings", {}, (SCOPED,)),
    "set_meeting_settings": ("Meetings", "set_settings",
                             dict(frequencies={"lesson": "monthly"}, committee_min_full_members=5,
                                  backfill_after_days=4), (SCOPED, {"lesson": "monthly"}, 5, 4)),
    "plan_meeting": ("Meetings", "plan_meeting",
                     dict(branch_id="b", meeting_type="lesson", title="t", date="d", start_time="s", end_time="e",
                          venue_name="v", venue_lat=1.0, venue_lng=2.0, venue_crs="bd09", grace_minutes=5,
                          checkout_window_minutes=30),
                     (SCOPED, "b", "lesson", "t", "d", "s", "e", "v", 1.0, 2.0, "bd09", 5, 30)),
    "list_meetings": ("Meetings", "list_meetings",
                      dict(org_id="o", meeting_type="lesson", state="held", page_size=5, page_token="p"),
                      (SCOPED, "o", "lesson", "held", 5, "p")),
    "get_meeting": ("Meetings", "get_meeting", dict(meeting_id="m"), (SCOPED, "m")),
    "record_meeting": ("Meetings", "record_meeting",
                       dict(meeting_id="m", host="h", recorder="r", topics=["t"], resolutions=["x"], minutes="n",
                            backfill_reason="b"), (SCOPED, "m", "h", "r", ["t"], ["x"], "n", "b")),
    "reschedule_meeting": ("Meetings", "reschedule_meeting",
                           dict(meeting_id="m", title="t", date="d", start_time="s", end_time="e", venue_name="v",
                                venue_lat=1.0, venue_lng=2.0, venue_crs="gcj02", grace_minutes=5,
                                checkout_window_minutes=30, reason="r"),
                           (SCOPED, "m", "t", "d", "s", "e", "v", 1.0, 2.0, "gcj02", 5, 30, "r")),
    "cancel_meeting": ("Meetings", "cancel_meeting", dict(meeting_id="m", reason="r"), (SCOPED, "m", "r")),
    "get_meeting_ledger": ("Meetings", "get_ledger",
                           dict(org_id="o", month="2026-11", field="rural", state="red", page_size=5, page_token="p"),
                           (SCOPED, "o", "2026-11", "rural", "red", 5, "p")),
}
# entry points whose scope (if any) is the use case's to check, or that take none
UNSCOPED = {
    "record_scan": ("Scans", "record_scan", dict(token="tok", fix={"lat": 1}), (SECRETARY, "tok", {"lat": 1})),
    "record_scans": ("Scans", "record_scans", dict(items=[{"token": "tok"}]), ([{"token": "tok"}],)),
    "run_sweeps": ("Sweeps", "run_sweeps", {}, ()),
    "tick": ("Sweeps", "tick", {}, ()),
}


def entry_points() -> set[str]:
    return {name for name, member in inspect.getmembers(AttendanceService)
            if getattr(member, ENTRYPOINT_EXTENSIONS_ATTR, None)}


def test_every_entry_point_is_covered_here():
    # the audit log's entry points come from servicekit.audit.entries (tests/integration/test_audit_log.py)
    assert entry_points() - AUDIT_ENTRY_POINTS == set(DELEGATION) | set(UNSCOPED)


@pytest.fixture
def use_cases(monkeypatch) -> dict[str, MagicMock]:
    classes = {}
    for name in {case for case, *_ in [*DELEGATION.values(), *UNSCOPED.values()]}:
        classes[name] = MagicMock(name=name)
        monkeypatch.setattr(service_module, name, classes[name])
    return classes


@pytest.mark.parametrize("rpc_name", sorted(DELEGATION))
def test_an_entry_point_parses_the_scope_and_delegates(rpc_name, use_cases):
    case, method, kwargs, expected = DELEGATION[rpc_name]
    service = worker_factory(AttendanceService)
    answer = getattr(service, rpc_name)(scope=SECRETARY, **kwargs)
    call = getattr(use_cases[case].return_value, method)
    caller = CallerScope.from_dict(SECRETARY)
    call.assert_called_once_with(*[caller if arg == SCOPED else arg for arg in expected])
    assert answer is call.return_value


@pytest.mark.parametrize("rpc_name", sorted(UNSCOPED))
def test_the_scans_and_the_clock_delegate_as_they_are_called(rpc_name, use_cases):
    case, method, kwargs, expected = UNSCOPED[rpc_name]
    service = worker_factory(AttendanceService)
    arguments = {"scope": SECRETARY, **kwargs} if rpc_name == "record_scan" else kwargs
    answer = getattr(service, rpc_name)(**arguments)
    call = getattr(use_cases[case].return_value, method)
    call.assert_called_once_with(*expected)
    if rpc_name != "tick":
        assert answer is call.return_value


@pytest.mark.parametrize("rpc_name", sorted(DELEGATION))
def test_a_caller_without_a_tenant_or_a_scope_reaches_no_use_case(rpc_name, use_cases):
    case, method, kwargs, _ = DELEGATION[rpc_name]
    service = worker_factory(AttendanceService)
    with pytest.raises(PermissionDenied) as refused:
        getattr(service, rpc_name)(scope={**SECRETARY, "tenant_id": None}, **kwargs)
    assert refused.value.code == "TENANT_REQUIRED"
    with pytest.raises(Unauthenticated):
        getattr(service, rpc_name)(scope=None, **kwargs)
    getattr(use_cases[case].return_value, method).assert_not_called()


def test_the_use_cases_get_the_service_dependencies(store, clock, identity, desk):
    service = worker_factory(AttendanceService, store=store, clock=clock, identity=identity, desk=desk)
    assert (service.activities.store, service.activities.clock, service.activities.identity) == (store, clock, identity)
    assert (service.leaves.store, service.leaves.clock) == (store, clock)
    assert service.records.chain is desk.chain and service.chains.chain is desk.chain
    assert service.scans.desk is desk and service.sweeps.desk is desk and service.sweeps.identity is identity
    assert service.statistics.identity is identity and service.rectifications.clock is clock
