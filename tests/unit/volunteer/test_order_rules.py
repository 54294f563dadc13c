"""The order's state machine, the claims' table, timeouts, hours, tracking codes and input validation
(services/volunteer/domain/orders.py), transition by transition."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from servicekit.errors import Conflict, InvalidArgument
from servicekit.timestamps import stamp
from services.volunteer.domain import orders as rules
from services.volunteer.domain import settings as setting_rules
from services.volunteer.domain.orders import Actor, OrderState

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=timezone.utc)
CITIZEN = Actor(rules.CITIZEN, "acc_c")
GUEST = Actor(rules.GUEST)
MANAGER = Actor(rules.MANAGER, "acc_m")
MEMBER = Actor(rules.MEMBER, "m_1")
SYSTEM = rules.THE_SYSTEM
SETTINGS = setting_rules.merged(None)
PROFILE = {"_id": "org_c", "lat": 34.26, "lng": 108.94, "categories": []}


def order(status: str, **fields) -> dict:
    return {"_id": "ord_1", "status": status, "wished_start": stamp(NOW + timedelta(hours=2)),
            "placed_at": stamp(NOW), **fields}


# --- the transition table: every legal row ------------------------------------------------------------------
LEGAL = [
    (rules.REVIEW_APPROVE, "placed", MANAGER, "approved"),
    (rules.REVIEW_REJECT, "placed", MANAGER, "rejected"),
    (rules.MERGE, "placed", MANAGER, "merged"),
    (rules.CANCEL, "placed", CITIZEN, "cancelled"),
    (rules.CANCEL, "approved", GUEST, "cancelled"),
    (rules.DISPATCH, "approved", MANAGER, "open"),
    (rules.START, "open", MEMBER, "in_service"),
    (rules.COMPLETE, "in_service", MEMBER, "completed"),
    (rules.COMPLETE, "in_service", SYSTEM, "completed"),
    (rules.CONFIRM, "completed", CITIZEN, "confirmed"),
    (rules.CONFIRM, "completed", GUEST, "confirmed"),
    (rules.DISPUTE, "completed", CITIZEN, "disputed"),
    (rules.RESOLVE, "disputed", MANAGER, "closed"),
]


@pytest.mark.parametrize("rule, source, actor, target", LEGAL, ids=[f"{r.name}-{s}" for r, s, _, _ in LEGAL])
def test_each_legal_transition_reaches_its_state_and_records_who_when_why(rule, source, actor, target):
    step = rules.transition(rule, order(source, pending=0), actor, NOW, "因为")
    assert (step.source.value, step.target.value) == (source, target)
    assert step.entry == {"from": source, "to": target, "action": rule.name, "actor_kind": actor.kind,
                          "actor_id": actor.id, "at": stamp(NOW), "reason": "因为"}


@pytest.mark.parametrize("rule", rules.TRANSITIONS, ids=[r.name for r in rules.TRANSITIONS])
def test_every_other_state_is_refused_with_the_state_conflict_naming_it(rule):
    actor = next(iter(sorted(rule.actors)))
    for state in OrderState:
        if state in rule.sources:
            continue
        with pytest.raises(Conflict) as refused:
            rules.transition(rule, order(state.value), Actor(actor), NOW)
        assert refused.value.code == "ORDER_STATE_CONFLICT"
        assert rules.STATUS_LABELS[state] in refused.value.message


def test_cancelling_after_dispatch_is_refused():
    for state in ("open", "in_service", "completed"):
        with pytest.raises(Conflict, match="ORDER_STATE_CONFLICT"):
            rules.transition(rules.CANCEL, order(state), CITIZEN, NOW)


def test_an_actor_the_row_does_not_name_is_a_programming_error():
    with pytest.raises(ValueError):
        rules.transition(rules.REVIEW_APPROVE, order("placed"), CITIZEN, NOW)
    with pytest.raises(ValueError):
        rules.transition(rules.CONFIRM, order("completed"), MANAGER, NOW)
    with pytest.raises(ValueError):
        rules.transition(rules.AUTO_CONFIRM, order("completed"), CITIZEN, NOW)


def test_completion_waits_for_every_pending_claim():
    with pytest.raises(Conflict) as refused:
        rules.transition(rules.COMPLETE, order("in_service", pending=1), MEMBER, NOW)
    assert refused.value.code == "SERVICE_NOT_FINISHED"
    assert rules.transition(rules.COMPLETE, order("in_service", pending=0), MEMBER, NOW).target == rules.COMPLETED


def test_automatic_confirmation_only_once_due():
    due = order("completed", auto_confirm_at=stamp(NOW + timedelta(minutes=1)))
    with pytest.raises(Conflict) as refused:
        rules.transition(rules.AUTO_CONFIRM, due, SYSTEM, NOW)
    assert refused.value.code == "NOT_DUE"
    assert rules.transition(rules.AUTO_CONFIRM, due, SYSTEM, NOW + timedelta(minutes=1)).target == rules.CONFIRMED
    with pytest.raises(Conflict):
        rules.transition(rules.AUTO_CONFIRM, order("completed"), SYSTEM, NOW)   # no due time: never


def test_final_states_have_no_way_out():
    for state in rules.FINAL:
        assert not any(state in rule.sources for rule in rules.TRANSITIONS)


# --- claims ---------------------------------------------------------------------------------------------------------
def claim(status):
    return {"status": status} if status else None


@pytest.mark.parametrize("action, status, expected", [
    ("claim", None, "claimed"), ("claim", "withdrawn", "claimed"), ("claim", "released", "claimed"),
    ("withdraw", "claimed", "withdrawn"), ("release", "claimed", "released"),
    ("check_in", "claimed", "checked_in"), ("check_out", "checked_in", "checked_out"),
])
def test_legal_claim_moves(action, status, expected):
    assert rules.next_claim_state(action, claim(status)).value == expected


@pytest.mark.parametrize("action, status, code", [
    ("claim", "claimed", "ALREADY_CLAIMED"), ("claim", "checked_in", "ALREADY_CLAIMED"),
    ("claim", "checked_out", "ALREADY_CLAIMED"),
    ("withdraw", None, "CLAIM_NOT_FOUND"), ("withdraw", "withdrawn", "CLAIM_NOT_FOUND"),
    ("withdraw", "checked_in", "ALREADY_CHECKED_IN"), ("withdraw", "checked_out", "ALREADY_CHECKED_IN"),
    ("release", "checked_in", "ALREADY_CHECKED_IN"), ("release", "withdrawn", "CLAIM_NOT_FOUND"),
    ("check_in", None, "CLAIM_NOT_FOUND"), ("check_in", "released", "CLAIM_RELEASED"),
    ("check_in", "checked_in", "ALREADY_CHECKED_IN"),
    ("check_out", "claimed", "NOT_CHECKED_IN"), ("check_out", "checked_out", "ALREADY_CHECKED_OUT"),
    ("check_out", None, "CLAIM_NOT_FOUND"),
])
def test_refused_claim_moves_name_their_code(action, status, code):
    with pytest.raises(Conflict) as refused:
        rules.next_claim_state(action, claim(status))
    assert refused.value.code == code


def test_the_claim_table_covers_every_action_from_every_state():
    for action in ("claim", "withdraw", "release", "check_in", "check_out"):
        for state in [None, *rules.ClaimState]:
            assert (action, state) in rules.CLAIM_TABLE


def test_only_an_open_order_takes_claims():
    rules.may_claim_order(order("open"))
    for state in OrderState:
        if state != rules.OPEN:
            with pytest.raises(Conflict) as refused:
                rules.may_claim_order(order(state.value))
            assert refused.value.code == "ORDER_NOT_OPEN"


# --- timeouts --------------------------------------------------------------------------------------------------------
def test_overdue_after_the_review_hours_while_placed():
    placed = order("placed", placed_at=stamp(NOW))
    assert not rules.is_overdue(placed, SETTINGS, NOW + timedelta(hours=24))
    assert rules.is_overdue(placed, SETTINGS, NOW + timedelta(hours=24, seconds=1))
    assert not rules.is_overdue({**placed, "status": "approved"}, SETTINGS, NOW + timedelta(days=3))
    assert rules.is_overdue(placed, {**SETTINGS, "review_hours": 1}, NOW + timedelta(hours=2))


def test_a_claim_is_released_at_the_wished_start_plus_the_grace_or_its_own_time_plus_the_grace():
    start = NOW + timedelta(hours=2)
    early_claim = rules.release_due(order("open"), NOW, SETTINGS)
    assert early_claim == start + timedelta(minutes=30)
    late = NOW + timedelta(hours=5)
    assert rules.release_due(order("open"), late, SETTINGS) == late + timedelta(minutes=30)


def test_auto_confirmation_due_after_the_configured_hours():
    assert rules.auto_confirm_due(NOW, SETTINGS) == NOW + timedelta(hours=72)


def test_check_in_opens_an_hour_before_the_wished_start():
    wished = order("open")
    assert rules.too_early(wished, NOW + timedelta(minutes=59)).code == "TOO_EARLY"
    assert rules.too_early(wished, NOW + timedelta(hours=1)) is None


# --- hours --------------------------------------------------------------------------------------------------------
def test_hours_are_the_time_between_check_in_and_out_capped():
    served = {"status": "checked_out", "checked_in_at": stamp(NOW),
              "checked_out_at": stamp(NOW + timedelta(minutes=90))}
    assert rules.claim_hours(served, 8) == 1.5
    assert rules.claim_hours(served, 1) == 1.0
    owed = rules.hours_owed([served, {**served, "status": "claimed"}, {**served, "checked_out_at": stamp(NOW)}], 8)
    assert [hours for _, hours in owed] == [1.5]


# --- tracking codes -----------------------------------------------------------------------------------------------
def test_tracking_codes_are_ten_unambiguous_characters_and_only_their_hash_is_kept():
    codes = {rules.new_tracking_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 10 and set(code) <= set(rules.TRACKING_ALPHABET)
        assert not set(code) & set("01IO")
    code = next(iter(codes))
    assert rules.normalized_tracking_code(f" {code[:5].lower()}-{code[5:]} ") == code
    assert rules.tracking_hash(code) != code and len(rules.tracking_hash(code)) == 64
    for bad in ("", "SHORT", "ABCDEFGHI0", None, 12, "A" * 41):
        assert rules.normalized_tracking_code(bad) is None


def test_last4_checks():
    assert rules.phone_last4("029-88886666") == "6666"
    assert rules.last4_matches({"phone_last4": "6666"}, "6666")
    assert not rules.last4_matches({"phone_last4": "6666"}, "6667")
    for bad in ("666", "66a6", 6666, None, "66666"):
        with pytest.raises(InvalidArgument, match="PHONE_LAST4_INVALID"):
            rules.check_last4(bad)
    assert rules.guessing_locked({"guess_locked_until": stamp(NOW + timedelta(minutes=1))}, NOW)
    assert not rules.guessing_locked({"guess_locked_until": stamp(NOW)}, NOW)


# --- validation ---------------------------------------------------------------------------------------------------
def valid(**overrides) -> dict:
    fields = {"settings": SETTINGS, "profile": PROFILE, "category": "health", "description": "帮老人量血压",
              "address": "幸福小区 3 号楼", "lat": 34.2601, "lng": 108.9402,
              "wished_start": "2026-12-06T18:00:00+08:00", "wished_end": "2026-12-06T20:00:00+08:00",
              "contact_name": "王阿姨", "contact_phone_number": "13912345678", "now": NOW}
    fields.update(overrides)
    return fields


def test_a_valid_order():
    fields = rules.order_fields(**valid())
    assert fields["category_label"] == "健康服务"
    assert fields["wished_start"] == "2026-12-06T10:00:00.000Z"
    assert fields["phone_last4"] == "5678"


def test_a_position_left_out_is_the_communitys():
    fields = rules.order_fields(**valid(lat=None, lng=None))
    assert (fields["lat"], fields["lng"]) == (PROFILE["lat"], PROFILE["lng"])


@pytest.mark.parametrize("overrides, code, field", [
    ({"category": "cooking"}, "CATEGORY_UNKNOWN", "category"),
    ({"category": ""}, "REQUIRED", "category"),
    ({"profile": {**PROFILE, "categories": ["skills"]}}, "CATEGORY_UNKNOWN", "category"),
    ({"description": ""}, "REQUIRED", "description"),
    ({"description": "长" * 501}, "TOO_LONG", "description"),
    ({"description": 5}, "INVALID_TYPE", "description"),
    ({"address": " "}, "REQUIRED", "address"),
    ({"lat": 91.0}, "COORDINATES_INVALID", "lat"),
    ({"lat": 34.0, "lng": None}, "COORDINATES_INVALID", "lng"),
    ({"lng": "108.9"}, "INVALID_TYPE", "lng"),
    ({"wished_start": "tomorrow"}, "TIME_INVALID", "wished_start"),
    ({"wished_start": "2026-12-06T18:00:00"}, "TIME_INVALID", "wished_start"),
    ({"wished_end": "2026-12-06T17:00:00+08:00"}, "WISHED_TIME_ORDER", "wished_end"),
    ({"wished_end": "2026-12-20T17:00:00+08:00"}, "WISHED_TIME_TOO_LONG", "wished_end"),
    ({"wished_start": "2026-12-06T15:00:00+08:00"}, "WISHED_TIME_PAST", "wished_start"),
    ({"wished_start": "2027-06-01T15:00:00+08:00", "wished_end": "2027-06-01T16:00:00+08:00"},
     "WISHED_TIME_TOO_FAR", "wished_start"),
    ({"contact_name": ""}, "REQUIRED", "contact_name"),
    ({"contact_phone_number": "12345"}, "PHONE_INVALID", "contact_phone"),
    ({"contact_phone_number": "23912345678"}, "PHONE_INVALID", "contact_phone"),
    ({"contact_phone_number": ""}, "REQUIRED", "contact_phone"),
])
def test_bad_order_input_names_its_field(overrides, code, field):
    with pytest.raises(InvalidArgument) as refused:
        rules.order_fields(**valid(**overrides))
    assert (refused.value.code, refused.value.field) == (code, field)


def test_a_landline_is_a_valid_contact_phone():
    assert rules.order_fields(**valid(contact_phone_number="029-88886666"))["phone_last4"] == "6666"


@pytest.mark.parametrize("value", [0, 6, "5", True, None, 4.5])
def test_ratings_are_whole_stars_from_one_to_five(value):
    with pytest.raises(InvalidArgument, match="RATING_INVALID"):
        rules.rating(value)


def test_ratings_accepted():
    assert [rules.rating(stars) for stars in range(1, 6)] == [1, 2, 3, 4, 5]


def test_review_decisions_and_reasons():
    assert rules.decision("approve") == "approve"
    with pytest.raises(InvalidArgument, match="DECISION_INVALID"):
        rules.decision("maybe")
    with pytest.raises(InvalidArgument, match="REQUIRED"):
        rules.reason(" ", required=True)
    assert rules.reason(None, required=False) == ""
    with pytest.raises(InvalidArgument, match="TOO_LONG"):
        rules.reason("长" * 201, required=False)


def test_dispatch_parameters_and_their_defaults():
    plan = rules.dispatch_fields("claim", "", 3, 0, 0, SETTINGS)
    assert (plan.volunteers_needed, plan.fence_radius_m, plan.hours_cap) == (3, 300, 8.0)
    plan = rules.dispatch_fields("team", "team_1", 2, 500, 2.5, SETTINGS)
    assert (plan.team_id, plan.fence_radius_m, plan.hours_cap) == ("team_1", 500, 2.5)


@pytest.mark.parametrize("args, code, field", [
    (("help", "", 1, 0, 0), "MODE_INVALID", "mode"),
    (("team", "", 1, 0, 0), "REQUIRED", "team_id"),
    (("claim", "team_1", 1, 0, 0), "TEAM_NOT_EXPECTED", "team_id"),
    (("claim", "", 0, 0, 0), "VOLUNTEERS_INVALID", "volunteers_needed"),
    (("claim", "", 51, 0, 0), "VOLUNTEERS_INVALID", "volunteers_needed"),
    (("claim", "", "2", 0, 0), "VOLUNTEERS_INVALID", "volunteers_needed"),
    (("claim", "", 1, 49, 0), "OUT_OF_RANGE", "fence_radius_m"),
    (("claim", "", 1, 2001, 0), "OUT_OF_RANGE", "fence_radius_m"),
    (("claim", "", 1, 0, 25), "OUT_OF_RANGE", "hours_cap"),
    (("claim", "", 1, 0, -1), "OUT_OF_RANGE", "hours_cap"),
    (("claim", "", 1, 0, "8"), "INVALID_TYPE", "hours_cap"),
])
def test_bad_dispatch_parameters(args, code, field):
    with pytest.raises(InvalidArgument) as refused:
        rules.dispatch_fields(*args, SETTINGS)
    assert (refused.value.code, refused.value.field) == (code, field)


# --- settings -----------------------------------------------------------------------------------------------------
def test_settings_defaults_and_partial_updates():
    assert SETTINGS["review_hours"] == 24 and SETTINGS["auto_confirm_hours"] == 72
    assert [c["code"] for c in SETTINGS["categories"]] == ["skills", "services", "health"]
    changed = setting_rules.validate({"review_hours": 12, "categories": [], "fence_radius_m": 0,
                                      "report_deadline": ""}, SETTINGS)
    assert changed["review_hours"] == 12 and changed["categories"] == SETTINGS["categories"]
    assert changed["fence_radius_m"] == 300
    changed = setting_rules.validate({"categories": [{"code": "legal", "label": "法律咨询"}],
                                      "report_deadline": "2026-12-31"}, changed)
    assert changed["categories"] == [{"code": "legal", "label": "法律咨询"}]
    assert setting_rules.validate({"report_deadline": "none"}, changed)["report_deadline"] == ""


@pytest.mark.parametrize("changes, code", [
    ({"review_hours": 721}, "OUT_OF_RANGE"), ({"fence_radius_m": 10}, "OUT_OF_RANGE"),
    ({"default_hours_cap": True}, "OUT_OF_RANGE"), ({"nonsense": 1}, "UNKNOWN_FIELD"),
    ({"categories": [{"code": "Bad Code", "label": "x"}]}, "CATEGORIES_INVALID"),
    ({"categories": [{"code": "a", "label": "x"}, {"code": "a", "label": "y"}]}, "CATEGORIES_INVALID"),
    ({"categories": [{"code": "a", "label": ""}]}, "CATEGORIES_INVALID"),
    ({"report_deadline": "2026-13-01"}, "DATE_INVALID"),
])
def test_bad_settings(changes, code):
    with pytest.raises(InvalidArgument) as refused:
        setting_rules.validate(changes, SETTINGS)
    assert refused.value.code == code
