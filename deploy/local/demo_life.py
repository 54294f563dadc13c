"""The demo city's organisational life in the four demo branches, through the gateway like any client, each branch's
part done by its secretary (``secretaryN``; the city admin when that password was lost):

- 三会一课: a party lesson, a committee meeting and a member assembly planned from today on. The service refuses a
  meeting planned in the past and a record of one not held (held means members signed in on site), so nothing
  can be back-dated: the lesson is instead held now when the seed runs in the daytime (starting 07:00 to 21:00 in
  China), the secretary and the demo member signing in at its venue; whoever tries the demo signs out of it and,
  once its sign-out window has ended, records it as the secretary (it then counts in the ledger);
- 党费: for eight probationary or full members of each branch (the demo logins' first), a standard from three months
  back (by age and the branch's field), the months since paid by a bank statement import, a few owing the last
  two months (never the demo logins) and about half not yet paid this month;
- 发展党员纪实: the entries each step reached calls for (talks, trainings, introducers, political review), dated
  after their step and not after today, for the demo members (``memberN``) in development and for the first
  applicant, activist and development target of the demo branches (never a secretary's own record);
- 民主评议: the year's appraisal created and opened in the first demo branch whose demo member is on its roster, with
  the secretary's self-review.

Run by ``demo_city.seed`` after the content. Each step looks first whether an earlier run did it (meetings by
title, standards, payments by their transaction ids and the months paid, entries by kind, the appraisal by year),
so running it again adds nothing and a run cut off part-way is completed by the next one."""
from __future__ import annotations

import csv
import io
import random
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from servicekit.timestamps import LOCAL_ZONE
from services.identity.domain.dues import month_range, shift

# venues: near the seat of each county (WGS-84); each branch's room a few hundred metres from it
COUNTY_CENTRES = {"汉台区委": (33.0676, 107.0238), "南郑区委": (33.0030, 106.9360), "城固县委": (33.1570, 107.3340),
                  "勉县委": (33.1530, 106.6730)}
CITY_CENTRE = (33.0676, 107.0238)
PARTY_MEMBERS = ("probationary", "full")        # who is on a meeting's roster, pays dues and is appraised
STEPS = ("applicant", "activist", "development_target", "probationary")     # a development record's, in order

LESSON = "专题党课：重温入党誓词，坚定理想信念"
COMMITTEE = "支委会：研究党员发展和党费收缴工作"
ASSEMBLY = "支部党员大会：开展民主评议党员"
# local minutes of the day a live lesson may start at; the phones' earlier positions (up to an hour before the
# sign-in) must fall on the same day, or the sign-ins are flagged NO_MOVEMENT_TODAY
LIVE_FIRST_START, LIVE_LAST_START = 7 * 60, 21 * 60
LESSON_MINUTES, CHECKOUT_WINDOW_MINUTES = 45, 15

DUES_MONTHS_BACK = 3        # the standards start then: fewer than the 6 unpaid months that flag arrears
# members given a standard per branch, the demo logins' first: each is a write of its own in identity (~25 ms), and
# every member-month paid moves the totals of each organisation above it, so a whole branch would cost seconds
DUES_MEMBERS = 8
OWING_SHARE, PAID_NOW_SHARE = 0.1, 0.5

APPRAISAL_DAYS = 21
SELF_REVIEW = ("本年度认真学习党的理论和党章党规，按时参加三会一课和主题党日，按月足额缴纳党费。"
               "不足之处是联系群众还不够经常，今后要主动走访党员群众，带头做好本职工作。")

TALKS = {
    "application": "了解入党动机和对党的认识，鼓励其认真学习党章，以实际行动争取早日入党。",
    "cultivation": "听取思想汇报，肯定其在工作中发挥的带头作用，指出要加强党史学习、密切联系群众。",
    "admission": "讲明党员的权利和义务，了解其对党的认识和入党动机，本人表示坚决拥护党的纲领，愿意接受组织考验。",
    "probation": "了解预备期表现，提醒其按时参加组织生活、按月缴纳党费，在工作中当好表率。",
}
TRAININGS = {"activist": ("入党积极分子培训班", 24), "development_target": ("发展对象集中培训班", 32)}
REVIEW_CONCLUSION = "经函调和个人谈话，本人及主要家庭成员政治历史清楚，现实表现良好，政治审查合格。"


@dataclass(frozen=True)
class Slot:
    """A meeting to plan: its type, title, date and local times; ``live``: held now, its sign-in open."""
    meeting_type: str
    title: str
    day: date
    start: str
    end: str
    live: bool = False


def meeting_slots(now: datetime) -> list[Slot]:
    """A branch's meetings, all after ``now`` (local time): the lesson starts a few minutes from now in the daytime
    (its sign-in open already), else on the next weekday; the month's committee meeting on a weekday from the day
    after tomorrow (next month's first week when this month has none left), the assembly a week after it."""
    today = now.date()
    begins = now + timedelta(minutes=3)
    minute = begins.hour * 60 + begins.minute
    minute += -minute % 5
    if begins.date() == today and LIVE_FIRST_START <= minute <= LIVE_LAST_START:
        lesson = Slot("lesson", LESSON, today, _hhmm(minute), _hhmm(minute + LESSON_MINUTES), live=True)
    else:
        lesson = Slot("lesson", LESSON, _weekday_from(today + timedelta(days=1)), "09:00", "10:30")
    committee_day = _weekday_from(today + timedelta(days=2))
    if committee_day.month != today.month:
        committee_day = _weekday_from(_first_of_next_month(today) + timedelta(days=4))
    return [lesson, Slot("committee", COMMITTEE, committee_day, "15:00", "16:30"),
            Slot("assembly", ASSEMBLY, _weekday_from(committee_day + timedelta(days=7)), "09:00", "11:00")]


def dues_standard(member: dict, branch_field: str, today: date, rng: random.Random) -> dict:
    """A plausible standard (SetDuesStandard's category and income) for a member of a branch of this field: farmers
    in villages, students at school, pensions past 60, else a salary by field; incomes in whole hundreds of yuan."""
    age = _age(date.fromisoformat(member["birth_date"]), today) if member.get("birth_date") else 40
    if member.get("enrolment") == "enrolled":
        return {"category": "student"}
    if branch_field == "rural" and (age >= 60 or rng.random() < 0.75):
        return {"category": "farmer"}
    if age >= 60:
        return {"category": "retired", "income_fen": rng.randint(30, 65) * 10_000}
    low, high = {"government": (50, 90), "school": (55, 120), "enterprise": (35, 100), "rural": (25, 45)}.get(
        branch_field, (30, 65))
    return {"category": "employed", "income_fen": rng.randint(low, high) * 10_000}


def paid_months(rng: random.Random, current_month: str, from_month: str, owing: bool) -> list[str]:
    """The months a member paid of those due from ``from_month`` to ``current_month``: every past month (all but the
    last two when ``owing``), and this month for about half."""
    past = month_range(from_month, shift(current_month, -1)) if from_month < current_month else []
    if owing:
        past = past[:-2]
    return past + ([current_month] if rng.random() < PAID_NOW_SHARE else [])


def month_runs(months: list[str]) -> list[list[str]]:
    """Sorted ``YYYY-MM`` months cut into runs of consecutive months: one bank payment each."""
    runs: list[list[str]] = []
    for month in months:
        if runs and shift(runs[-1][-1], 1) == month:
            runs[-1].append(month)
        else:
            runs.append([month])
    return runs


def development_entries(steps: dict[str, date], status: str, today: date, talker: str,
                        introducer_ids: list[str]) -> list[dict]:
    """RecordDevelopmentEntry bodies for each step reached up to ``status`` (``steps``: the date of each), each dated
    some weeks after its step but before the next one and not after ``today`` (the service refuses an entry before
    its step or in the future). The introducers only when there are two."""
    reached = STEPS[:STEPS.index(status) + 1]

    def on(step: str, days: int) -> str:
        following = STEPS.index(step) + 1
        latest = min(today, steps[STEPS[following]] - timedelta(days=1)) if following < len(reached) else today
        return max(steps[step], min(steps[step] + timedelta(days=days), latest)).isoformat()

    def talk(purpose: str, step: str, days: int) -> dict:
        return {"kind": "talk", "on": on(step, days), "purpose": purpose, "talker": talker, "summary": TALKS[purpose]}

    def training(stage: str, days: int) -> dict:
        course, hours = TRAININGS[stage]
        return {"kind": "training", "on": on(stage, days), "stage": stage, "course": course, "hours": hours}

    entries = [talk("application", "applicant", 20)]
    if "activist" in reached:
        entries += [training("activist", 45), talk("cultivation", "activist", 90)]
    if "development_target" in reached:
        if len(introducer_ids) == 2:
            entries.append({"kind": "introducers", "on": on("development_target", 3),
                            "introducer_ids": list(introducer_ids)})
        entries += [{"kind": "political_review", "on": on("development_target", 30), "outcome": "passed",
                     "conclusion": REVIEW_CONCLUSION},
                    training("development_target", 40), talk("admission", "development_target", 50)]
    if "probationary" in reached:
        entries.append(talk("probation", "probationary", 60))
    return entries


def appraisal_year(today: date) -> str:
    """The year appraised: the previous one in its first quarter (appraisals follow the year), else this one."""
    return str(today.year - 1 if today.month <= 3 else today.year)


def seed_life(city, api, tenant_code: str, chosen, demo_branches: list[dict], seed: int = 2026) -> None:
    """``city``: the logged-in ``demo_city._Api`` of the city admin; ``api``: a factory of new ``_Api``; ``chosen``:
    the demo passwords (``demo_city._Passwords``); ``demo_branches``: per demo branch ``{number, branch, secretary,
    member}`` (the branch, and the members of the ``secretaryN`` and ``memberN`` accounts as ListMembers answers
    them)."""
    now = datetime.now(LOCAL_ZONE)
    branches = []
    for entry in demo_branches:
        secretary = _logged_in(api, tenant_code, chosen, f"secretary{entry['number']}")
        branches.append(_DemoBranch(entry, secretary or city, secretary is not None))
    live = []
    for branch in branches:     # first: the live lessons' rosters are frozen meanwhile, before members sign in
        live += _meetings(branch, now)
    for branch in branches:
        _dues(branch, now.date(), random.Random(f"{seed}:dues:{branch.number}"))
    _development(branches, now.date())
    _appraisal(branches, now)
    for branch, lesson in live:
        people = [(branch.office, branch.secretary)] if branch.as_secretary else []
        member = _logged_in(api, tenant_code, chosen, f"member{branch.number}")
        people += [(member, branch.member)] if member else []
        _sign_in(branch, lesson, [(session, m) for session, m in people if m["status"] in PARTY_MEMBERS],
                 random.Random(f"{seed}:scan:{branch.number}"))


class _DemoBranch:
    def __init__(self, entry: dict, office, as_secretary: bool):
        self.number, self.org = entry["number"], entry["branch"]
        self.secretary, self.member = entry["secretary"], entry["member"]
        self.office, self.as_secretary = office, as_secretary    # the secretary's session, or the city admin's
        self._members: list[dict] | None = None
        rng = random.Random(self.org["name"])
        lat, lng = COUNTY_CENTRES.get((self.org.get("path_names") or ["", ""])[1], CITY_CENTRE)
        self.venue = (round(lat + rng.uniform(-0.01, 0.01), 6), round(lng + rng.uniform(-0.01, 0.01), 6))
        self.venue_name = f"{self.org['name'].removesuffix('党支部')}党员活动室"

    @property
    def id(self) -> str:
        return self.org["id"]

    def members(self) -> list[dict]:
        """The branch's members in a fixed order (their ids are random): by name, birth date and masked ID number."""
        if self._members is None:
            found = self.office.pages(f"/v1/orgs/{self.id}/members", "members")
            self._members = sorted(found, key=lambda m: (m["name"], m["birth_date"], m["id_number_masked"]))
        return self._members


def _logged_in(api, tenant_code: str, chosen, username: str):
    """A session of a demo account, or None when its password was lost with an earlier run's state."""
    password = chosen.remembered(username)
    session = api()
    return session if password and session.logs_in(tenant_code, username, password) else None


# --- 三会一课 ---------------------------------------------------------------------------------------------------
def _meetings(branch: _DemoBranch, now: datetime) -> list[tuple[_DemoBranch, dict]]:
    """Plan the slots not planned before (by title); answer the lesson, planned now or before, while its sign-in is
    open."""
    from deploy.local.demo_city import SeedError

    existing = {m["title"]: m for m in branch.office.pages(f"/v1/orgs/{branch.id}/meetings", "meetings")}
    for slot in meeting_slots(now):
        if slot.title in existing:
            continue
        try:
            existing[slot.title] = branch.office.call("POST", f"/v1/branches/{branch.id}/meetings", {
                "meeting_type": slot.meeting_type, "title": slot.title, "date": slot.day.isoformat(),
                "start_time": slot.start, "end_time": slot.end, "venue_name": branch.venue_name,
                "venue_lat": branch.venue[0], "venue_lng": branch.venue[1],
                "checkout_window_minutes": CHECKOUT_WINDOW_MINUTES})
        except SeedError as error:
            if error.code != "NO_BRANCH_COMMITTEE":     # fewer than 7 full members: the branch owes no committee
                raise
    lesson = existing.get(LESSON)
    if lesson and lesson["state"] == "planned" and \
            _moment(lesson["checkin_opens_at"]) <= now < _moment(lesson["checkin_closes_at"]):
        return [(branch, lesson)]
    return []


def _sign_in(branch: _DemoBranch, lesson: dict, people: list[tuple], rng: random.Random) -> None:
    """Each of ``people`` (session, member) signs in to the live lesson with a phone at its venue. The service's
    sweep freezes the roster a second or so after the planning: until then a scan is refused ACTIVITY_NOT_OPEN and
    tried again. Another refusal (the sign-in closed meanwhile) leaves that member out."""
    from deploy.local.demo_city import SeedError

    deadline = time.monotonic() + 20
    token = ""
    for number, (session, member) in enumerate(people):
        while True:
            # a rotating code is good for its 30-second step and the next: one serves both members
            token = token or branch.office.call("GET", f"/v1/activities/{lesson['id']}/qr/in?mode=rotating")["token"]
            try:
                session.call("POST", "/v1/scans", {"token": token, "fix": _fix(branch, member, number, rng)})
                break
            except SeedError as error:
                token = ""
                if error.code == "ACTIVITY_NOT_OPEN" and time.monotonic() < deadline:
                    time.sleep(0.5)
                    continue
                if error.status != 422:
                    raise
                print(f"演示党课签到未成功 (demo sign-in refused): {error}", file=sys.stderr)
                break


def _fix(branch: _DemoBranch, member: dict, number: int, rng: random.Random) -> dict:
    """A phone's fix some 20-60 m from the venue, with a position its member page kept from earlier that day (about
    a kilometre away)."""
    now = datetime.now(timezone.utc)
    lat, lng = branch.venue
    return {"lat": round(lat + rng.uniform(20, 60) / 111_320, 6), "lng": lng,
            "accuracy_m": round(rng.uniform(8, 25), 1), "mock_location": False,
            "device_id": f"demo-phone-{member['id'][-8:]}", "taken_at": _stamp(now),
            "history": [{"lat": round(lat + 0.008 + number * 0.002, 6), "lng": round(lng - 0.006, 6),
                         "taken_at": _stamp(now - timedelta(minutes=40 + number * 5))}]}


# --- 党费 --------------------------------------------------------------------------------------------------------
def _dues(branch: _DemoBranch, today: date, rng: random.Random) -> None:
    """Standards for the party members without one, then one bank statement of the months planned and still unpaid
    (transaction ids fixed per member and month). A standard not from the demo's month is left alone."""
    current = today.strftime("%Y-%m")
    start = shift(current, -DUES_MONTHS_BACK)
    demo_ids = {branch.secretary["id"], branch.member["id"]}
    accounts = _branch_dues(branch)
    plans = []
    members = [m for m in branch.members() if m["status"] in PARTY_MEMBERS and m["id"] in accounts]
    chosen = sorted(members, key=lambda m: m["id"] not in demo_ids)[:DUES_MEMBERS]
    for number, member in enumerate(chosen):
        # drawn on every run, so each member's draws are the same whatever an earlier run did already
        standard = dues_standard(member, branch.org.get("field", ""), today, rng)
        owing = member["id"] not in demo_ids and (number == len(chosen) - 1 or rng.random() < OWING_SHARE)
        plans.append((member, standard, paid_months(rng, current, start, owing)))
    missing = [(member, standard) for member, standard, _ in plans if not accounts[member["id"]]["has_standard"]]
    for member, standard in missing:
        branch.office.call("PUT", f"/v1/members/{member['id']}/dues-standard", {**standard, "from_month": start})
    if missing:
        accounts = _branch_dues(branch)
    rows = []
    for member, _, months in plans:
        account = accounts[member["id"]]
        if account["from_month"] != start:
            continue
        unpaid = set(account["owed_months"]) | (set() if account["current_paid"] else {current})
        amount = account["amount_fen"]
        due = [month for month in months if month in unpaid]
        for run in month_runs([month for month in due if month != current]) + [[m] for m in due if m == current]:
            paid_on = min(date.fromisoformat(f"{run[-1]}-01") + timedelta(days=rng.randint(4, 24)), today)
            fen = amount * len(run)
            rows.append({"txn_id": f"HZ{run[0]}{run[-1]}{member['id'][-10:]}".replace("-", ""),
                         "member_id": member["id"], "name": member["name"],
                         "months": run[0] if len(run) == 1 else f"{run[0]}至{run[-1]}",
                         "amount": f"{fen // 100}.{fen % 100:02d}", "paid_on": paid_on.isoformat()})
    if rows:
        out = io.StringIO(newline="")
        writer = csv.DictWriter(out, fieldnames=("txn_id", "member_id", "name", "months", "amount", "paid_on"),
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        branch.office.call("POST", f"/v1/orgs/{branch.id}/dues-imports", out.getvalue().encode("utf-8"),
                           content_type="text/csv")


def _branch_dues(branch: _DemoBranch) -> dict[str, dict]:
    return {row["member_id"]: row for row in branch.office.call("GET", f"/v1/orgs/{branch.id}/dues")["members"]}


# --- 发展党员纪实 ------------------------------------------------------------------------------------------------
def _development(branches: list[_DemoBranch], today: date) -> None:
    """The records of the demo members (``memberN``) in development and of the first applicant, activist and
    development target (by branch, then name) of the demo branches; never the secretary's own (the service lets
    no one add to its own record)."""
    secretaries = {branch.secretary["id"] for branch in branches}
    picked = {branch.member["id"]: (branch, branch.member) for branch in branches if branch.member["status"] != "full"}
    for status in STEPS[:3]:
        found = next(((branch, member) for branch in branches for member in branch.members()
                      if member["status"] == status and member["id"] not in secretaries), None)
        if found:
            picked.setdefault(found[1]["id"], found)
    for branch, member in picked.values():
        record = branch.office.call("GET", f"/v1/members/{member['id']}/development-record")
        steps = {step["status"]: date.fromisoformat(step["on"]) for step in record["steps"] if step["on"]}
        if record["status"] not in STEPS or any(s not in steps for s in STEPS[:STEPS.index(record["status"]) + 1]):
            continue        # a full member's record is closed; a step without its date dates nothing
        introducers = [m["id"] for m in branch.members() if m["status"] == "full" and m["id"] != member["id"]][:2]
        done = {_entry_key(entry) for entry in record["entries"]}
        for entry in development_entries(steps, record["status"], today, branch.secretary["name"], introducers):
            if _entry_key(entry) not in done:
                branch.office.call("POST", f"/v1/members/{member['id']}/development-record/entries", entry)


def _entry_key(entry: dict) -> tuple[str, str]:
    return entry["kind"], entry.get("purpose") or entry.get("stage") or ""


# --- 民主评议 ----------------------------------------------------------------------------------------------------
def _appraisal(branches: list[_DemoBranch], now: datetime) -> None:
    """The year's appraisal of the first demo branch whose demo member is on its roster: created, opened, and the
    secretary's self-review when it is on the roster too."""
    branch = next((b for b in branches if b.member["status"] in PARTY_MEMBERS), branches[0] if branches else None)
    if branch is None:
        return
    year = appraisal_year(now.date())
    found = branch.office.call("GET", f"/v1/orgs/{branch.id}/appraisals?year={year}")["appraisals"]
    closes = datetime.combine(now.date() + timedelta(days=APPRAISAL_DAYS), datetime.min.time(), LOCAL_ZONE)
    appraisal = found[0] if found else branch.office.call("POST", f"/v1/orgs/{branch.id}/appraisals", {
        "year": year, "closes_at": _stamp(closes.replace(hour=18))})
    if appraisal["state"] == "draft":
        appraisal = branch.office.call("POST", f"/v1/appraisals/{appraisal['id']}:open", {})
    if appraisal["state"] != "open" or not branch.as_secretary:
        return
    mine = branch.office.call("GET", f"/v1/appraisals/{appraisal['id']}").get("me") or {}
    if mine.get("on_roster") and not mine.get("self_review"):
        branch.office.call("POST", f"/v1/appraisals/{appraisal['id']}/reviews", {"member_id": "", "text": SELF_REVIEW})


# --- helpers ----------------------------------------------------------------------------------------------------
def _weekday_from(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _first_of_next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _age(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
