"""The demo seed's organisational life (deploy/local/demo_life.py): what its pure helpers make is what the services'
own rules accept, whatever the day and the hour it runs at."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

import pytest

from deploy.local import demo_city, demo_life
from servicekit.timestamps import LOCAL_ZONE
from services.attendance.domain import plans
from services.identity.domain import development as rules
from services.identity.domain import dues

# two years from 1 January of the year before a leap year: every month's last days, 29 February, weekends
DAYS = [date(2027, 1, 1) + timedelta(days=n) for n in range(2 * 365 + 1)]
HOURS = ((0, 0), (6, 50), (6, 56), (12, 34), (20, 57), (20, 58), (22, 59), (23, 57))
FROM_STEP = {"applicant": "applied_on", "activist": "activist_on", "development_target": "development_target_on",
             "probationary": "probationary_on"}


def local(day: date, hour: int, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL_ZONE)


def test_every_meeting_is_planned_after_now_as_the_service_accepts_it():
    for day in DAYS:
        for hour, minute in HOURS:
            now = local(day, hour, minute)
            slots = demo_life.meeting_slots(now)
            assert [slot.meeting_type for slot in slots] == ["lesson", "committee", "assembly"]
            assert len({slot.title for slot in slots}) == 3          # the titles tell a run what is planned
            for slot in slots:
                fields = {"date": slot.day.isoformat(), "start_time": slot.start, "end_time": slot.end,
                          "venue_name": "党员活动室", "venue_lat": 33.07, "venue_lng": 107.02}
                plan = plans.validate_plan(fields, {}, now.astimezone(timezone.utc))     # PLAN_IN_PAST otherwise
                assert slot.live or slot.day.weekday() < 5, slot
                assert plan["start_at"] > now
            lesson, committee, assembly = slots
            assert day + timedelta(days=2) <= committee.day < assembly.day
            no_weekday_left = all((day + timedelta(days=n)).weekday() >= 5 or (day + timedelta(days=n)).month !=
                                  day.month for n in range(2, 5))
            assert (committee.day.month == day.month) != no_weekday_left, (now, committee)


@pytest.mark.parametrize("hour, minute, live, start", [
    (6, 50, False, None), (6, 56, True, "07:00"), (12, 34, True, "12:40"), (20, 57, True, "21:00"),
    (20, 58, False, None), (23, 57, False, None)])
def test_the_lesson_is_held_now_only_in_the_daytime(hour, minute, live, start):
    now = local(date(2027, 3, 6), hour, minute)       # a Saturday: a live lesson may be held on any day
    lesson = demo_life.meeting_slots(now)[0]
    assert lesson.live is live
    if live:
        assert (lesson.day, lesson.start) == (now.date(), start)
        begins = local(now.date(), *map(int, start.split(":")))
        assert timedelta(minutes=3) <= begins - now < timedelta(minutes=8)   # its sign-in opened 30 minutes before
    else:
        assert lesson.day > now.date() and lesson.day.weekday() < 5 and lesson.start == "09:00"


def test_months_paid_leave_the_owing_members_two_months_and_about_half_this_month():
    rng = random.Random(1)
    assert demo_life.paid_months(rng, "2027-02", "2026-11", owing=False)[:3] == ["2026-11", "2026-12", "2027-01"]
    assert demo_life.paid_months(rng, "2027-02", "2026-11", owing=True)[:1] == ["2026-11"]
    assert demo_life.paid_months(rng, "2027-02", "2027-02", owing=True) in ([], ["2027-02"])
    now_paid = [demo_life.paid_months(rng, "2027-02", "2026-11", owing=False)[-1] == "2027-02" for _ in range(400)]
    assert 150 < sum(now_paid) < 250


def test_consecutive_months_make_one_payment():
    assert demo_life.month_runs([]) == []
    assert demo_life.month_runs(["2026-11", "2026-12", "2027-01", "2027-03"]) == [
        ["2026-11", "2026-12", "2027-01"], ["2027-03"]]


def test_standards_are_ones_the_default_rules_price():
    rng = random.Random(7)
    today = date(2027, 5, 1)
    seen = set()
    for field in ("rural", "community", "school", "enterprise", "government", "social", ""):
        for enrolment in ("none", "enrolled", "graduated"):
            for age in range(18, 90, 3):
                member = {"birth_date": date(today.year - age, 3, 1).isoformat(), "enrolment": enrolment}
                standard = demo_life.dues_standard(member, field, today, rng)
                amount, problems = dues.standard_amount(dues.DEFAULT_RULES, standard["category"],
                                                        standard.get("income_fen", 0), 0)
                assert problems == [] and amount > 0, (field, age, standard)
                seen.add(standard["category"])
    assert seen == {"farmer", "student", "retired", "employed"}


@pytest.mark.parametrize("status", demo_life.STEPS)
def test_development_entries_pass_the_records_rules(status):
    rng = random.Random(status)
    for today in DAYS[::7]:
        birth = demo_city._birth(rng.randint, status, (18, 60), today)
        steps = {step: day for step, day in ((s, demo_city._steps(rng.randint, status, birth, today)[FROM_STEP[s]])
                                             for s in demo_life.STEPS) if day}
        entries = demo_life.development_entries(steps, status, today, "王书记", ["mem_a", "mem_b"])
        kept = []
        for number, entry in enumerate(entries):
            kind = rules.entry_kind(entry["kind"])
            on = date.fromisoformat(entry["on"])
            rules.check_entry(kind, status, steps, kept, on, today)
            rules.check_step(kind, rules.required_step(kind, entry), status, steps, on)
            rules.check_single(kind, kept)
            kept.append({**entry, "_id": f"dev{number}", "detail": {"outcome": entry.get("outcome", "")}})
        kinds = [(entry["kind"], entry.get("purpose") or entry.get("stage") or "") for entry in entries]
        assert len(set(kinds)) == len(kinds)            # the seed tells what is recorded by kind and purpose
        if status == "development_target":
            assert rules.outstanding(status, kept) == []        # ready for admission, as the record shows it
    no_introducers = demo_life.development_entries({"applicant": date(2020, 1, 1), "activist": date(2020, 6, 1),
                                                    "development_target": date(2021, 7, 1)},
                                                   "development_target", date(2022, 1, 1), "王书记", ["mem_a"])
    assert "introducers" not in [entry["kind"] for entry in no_introducers]


def test_the_appraisal_is_of_the_year_just_ended_in_the_first_quarter():
    assert [demo_life.appraisal_year(date(2027, month, 1)) for month in (1, 3, 4, 12)] == [
        "2026", "2026", "2027", "2027"]
