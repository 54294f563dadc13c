import base64
import io

import pymongo
import pytest
from openpyxl import load_workbook

from servicekit.process.config import database_name
from servicekit.errors import InvalidArgument, NotFound, PermissionDenied
from tests.support.attendance import ThemedDay as AttendanceDay
from tests.support.scoring import ThemedDay, wait_for

pytestmark = pytest.mark.integration
MONTH = "2026-06"


def held(city, publisher, branch, attending: int, month=MONTH, close=True):
    """A branch of 4 members of whom ``attending`` sign in and out; the rest are absent."""
    members = [city.add_member(branch, f"员{index}")["id"] for index in range(4)]
    day = ThemedDay(city.tenant_id, branch, month, members)
    events = [day.issued(), *day.planned_and_opened()]
    for member in members[:attending]:
        events += [day.scan(member), day.scan(member, "out"), day.reflection(member)]
    events += [day.upload(), day.upload("text", 300)]
    if close:
        events.append(day.closed({member: "present" if index < attending else "absent"
                                  for index, member in enumerate(members)}))
    publisher.publish(events)
    return day


def ranking_when(rpc, scope, org_id, period, count):
    def check():
        try:
            answer = rpc.scoring.get_ranking(scope=scope, org_id=org_id, period=period)
        except NotFound:
            return None
        held = [row for row in answer["rows"] if row["held"]]       # a branch not yet held is listed too (未开展)
        return answer if len(held) == count == answer["total"] and all(row["final"] for row in held) else None
    return wait_for(check)


def test_city_and_county_rankings_with_ties_and_chart_data(rpc, city, publisher):
    days = [held(city, publisher, city.branches[0][0], 4), held(city, publisher, city.branches[0][1], 2),
            held(city, publisher, city.branches[1][0], 2), held(city, publisher, city.branches[1][1], 1)]
    ranking = ranking_when(rpc, city.admin, city.root["id"], MONTH, 4)
    assert [row["rank"] for row in ranking["rows"]] == [1, 2, 2, 4]
    assert ranking["rows"][0]["branch_id"] == city.branches[0][0]["id"]
    assert ranking["rows"][0]["breakdown"]["signin"] == 70.0
    assert ranking["chart"]["labels"][0] == city.branches[0][0]["name"]
    assert ranking["chart"]["values"] == [row["score"] for row in ranking["rows"]]
    county = rpc.scoring.get_ranking(scope=city.county_admins[1], org_id=city.counties[1]["id"], period=MONTH)
    assert [row["branch_id"] for row in county["rows"]] == [b["id"] for b in city.branches[1]]
    quarter = ranking_when(rpc, city.admin, city.root["id"], "2026-Q2", 4)
    assert quarter["rows"][0]["score"] == ranking["rows"][0]["score"] and quarter["previous_period"] == "2026-Q1"
    progress = rpc.scoring.get_progress(scope=city.admin, org_id=city.root["id"], period=MONTH, group_by="field")
    [rural] = progress["groups"]
    assert rural["group"] == "rural" and rural["branches"] == 4
    assert {item["stage"]: item["share"] for item in rural["stages"]}["closed"] == 1.0
    trend = rpc.scoring.get_trend(scope=city.admin, branch_id=city.branches[0][0]["id"], month_from="2026-05",
                                  month_to="2026-07")
    assert trend["chart"]["labels"] == ["2026-05", "2026-06", "2026-07"]
    assert trend["points"][1]["held"] and not trend["points"][2]["held"]
    compared = rpc.scoring.compare_orgs(scope=city.admin, org_ids=[c["id"] for c in city.counties], period=MONTH)
    assert [item["branches"] for item in compared["items"]] == [2, 2]
    sample = rpc.scoring.spot_check(scope=city.admin, org_id=city.root["id"], month=MONTH, sample_size=2, seed=7)
    assert sample["population"] == 4 and len(sample["items"]) == 2 and sample["items"][0]["photos"] == 1
    supervision = rpc.scoring.supervision_list(scope=city.admin, org_id=city.root["id"], month=MONTH,
                                               today="2026-07-02")
    assert {item["branch_id"] for item in supervision["items"]} == \
        {city.branches[0][1]["id"], city.branches[1][0]["id"], city.branches[1][1]["id"]}
    assert supervision["items"][0]["branch_id"] == city.branches[1][1]["id"]
    assert supervision["items"][0]["reasons"] == ["LOW_SCORE"]
    exported = rpc.scoring.export_report(scope=city.admin, org_id=city.root["id"], kind="bulletin", period="2026-Q2")
    book = load_workbook(io.BytesIO(base64.b64decode(exported["content"])))
    sheet = book.worksheets[0]
    assert [cell.value for cell in sheet[1]][:4] == ["排名", "支部名称", "领域", "得分"]
    assert sheet.cell(2, 2).value == city.branches[0][0]["name"] and sheet.cell(2, 4).value == quarter["rows"][0]["score"]
    assert days


def test_bad_periods_and_report_kinds_are_refused(rpc, city, publisher):
    held(city, publisher, city.branches[0][0], 4)
    ranking_when(rpc, city.admin, city.root["id"], MONTH, 1)
    for period, code in (("2026-13", "PERIOD_INVALID"), ("26-01", "PERIOD_INVALID"), ("2026-Q5", "PERIOD_INVALID")):
        with pytest.raises(InvalidArgument) as refused:
            rpc.scoring.get_ranking(scope=city.admin, org_id=city.root["id"], period=period)
        assert refused.value.code == code
    with pytest.raises(InvalidArgument) as refused:
        rpc.scoring.export_report(scope=city.admin, org_id=city.root["id"], kind="bulletin", period="2026")
    assert refused.value.code == "PERIOD_KIND_MISMATCH"


def test_member_points_ledger_caps_deductions_and_corrections(rpc, city, publisher):
    branch = city.branches[0][0]
    day = held(city, publisher, branch, 3)
    present, absent = day.members[0], day.members[3]

    def ledger_of(member, entries):
        try:
            answer = rpc.scoring.get_ledger(scope=city.admin, member_id=member, cycle="2026")
        except NotFound:
            return None
        return answer if len(answer["entries"]) == entries else None
    assert wait_for(lambda: ledger_of(present, 2))["total"] == 7
    assert wait_for(lambda: ledger_of(absent, 1))["total"] == -5
    secretary_scope = city.county_admins[0]
    deducted = rpc.scoring.add_deduction(scope=secretary_scope, member_id=present, code="LATE_DUES",
                                         reason="三个月未交", request_id="req-1")
    assert deducted["points"] == -5 and deducted["source_account_id"] == secretary_scope["account_id"]
    corrected = rpc.scoring.correct_entry(scope=city.admin, entry_id=deducted["id"], reason="已补交")
    assert corrected["points"] == 5 and corrected["corrects"] == deducted["id"]
    assert rpc.scoring.get_ledger(scope=city.admin, member_id=present, cycle="2026")["total"] == 7
    member_scope = city.member_login({"id": present}, "pts-member")
    mine = rpc.scoring.get_ledger(scope=member_scope, cycle="2026")
    assert mine["member_id"] == present and len(mine["entries"]) == 4
    with pytest.raises(NotFound):
        rpc.scoring.get_ledger(scope=member_scope, member_id=absent, cycle="2026")
    with pytest.raises(NotFound):
        rpc.scoring.add_deduction(scope=city.county_admins[1], member_id=present, code="LATE_DUES", reason="x")
    with pytest.raises(InvalidArgument) as refused:
        rpc.scoring.add_deduction(scope=city.admin, member_id=present, code="NOPE", reason="x")
    assert refused.value.code == "NEGATIVE_ITEM_UNKNOWN"
    talks = rpc.scoring.list_talk_candidates(scope=city.admin, org_id=branch["id"], cycle="2026")
    assert absent in {row["member_id"] for row in talks["members"]}


def test_points_rules_are_validated_and_only_the_city_admin_edits_them(rpc, city, publisher):
    held(city, publisher, city.branches[0][0], 1)
    rules = rpc.scoring.get_points_rules(scope=city.admin)
    ranking_when(rpc, city.admin, city.root["id"], MONTH, 1)
    rules["threshold"] = 20
    assert rpc.scoring.set_points_rules(scope=city.admin, rules=rules)["threshold"] == 20
    with pytest.raises(PermissionDenied):
        rpc.scoring.set_points_rules(scope=city.county_admins[0], rules=rules)
    broken = {**rules, "rules": [{"category": "dancing", "points": 1000}]}
    with pytest.raises(InvalidArgument) as refused:
        rpc.scoring.set_points_rules(scope=city.admin, rules=broken)
    assert refused.value.code == "RULES_INVALID" and len(refused.value.details) >= 2


def test_reconcile_reports_no_difference_then_the_one_it_finds(rpc, city, attendance_service, mongo_uri):
    """A themed day run by the real attendance service: its outbox relay brings the events to scoring, and
    reconcile recomputes from attendance's own records (activity_facts) and agrees; a score changed behind
    scoring's back is the one difference reported."""
    day = AttendanceDay(rpc, city).prepared()                   # issued to county 0: its two branches
    try:
        present, incomplete = day.member_scopes[0], day.member_scopes[1]
        day.at("start_at", -5)
        day.scan(present, "in")
        day.scan(incomplete, "in")
        day.at("end_at", 1)
        day.scan(present, "out")
        day.at("checkout_closes_at", 1)                         # closes the day
    finally:
        rpc.attendance.set_clock_offset(seconds=0)
    held_id = day.activity["id"]
    closed = rpc.attendance.get_activity(scope=day.secretary, activity_id=held_id)
    assert closed["status"] == "closed"

    def scored():
        try:
            held = rpc.scoring.get_branch_score(scope=city.admin, activity_id=held_id)
            rpc.scoring.get_branch_score(scope=city.admin, branch_id=city.branches[0][1]["id"], month=day.month)
        except NotFound:
            return None
        return held if held["final"] and held["counts"].get("present") == 1 else None
    final = wait_for(scored)
    answer = rpc.scoring.reconcile(scope=city.admin, org_id=city.root["id"], period=day.month)
    assert answer["checked"] == 2 and answer["differences"] == []

    with pymongo.MongoClient(mongo_uri) as client:
        changed = round(final["score"] + 12.5, 2)
        client[database_name("scoring")].activities.update_one({"_id": held_id}, {"$set": {"score": changed}})
    answer = rpc.scoring.reconcile(scope=city.admin, org_id=city.root["id"], period=day.month)
    assert answer["checked"] == 2
    assert answer["differences"] == [{"activity_id": held_id, "branch_id": day.branch["id"], "field": "score",
                                      "live": str(changed), "recomputed": str(final["score"])}]
