"""Only a day that was held has a score: a partly-held month's ranking, bulletin, assessment and supervision list,
and comparing organisations with or without themed days (names from identity)."""
import base64
import io

import pytest
from openpyxl import load_workbook

from servicekit.errors import NotFound, PermissionDenied, Rejected
from tests.support.scoring import ThemedDay, wait_for

pytestmark = pytest.mark.integration
MONTH = "2026-06"          # over: a day not held there counts 0


def held_low(city, publisher, branch):
    """Four members, one of whom came: a real, low score (under 60), closed."""
    members = [city.add_member(branch, f"员{index}")["id"] for index in range(4)]
    day = ThemedDay(city.tenant_id, branch, MONTH, members)
    publisher.publish([day.issued(), *day.planned_and_opened(), day.scan(members[0]), day.scan(members[0], "out"),
                       day.closed({member: "present" if index == 0 else "absent"
                                   for index, member in enumerate(members)})])
    return day


def only_issued(city, publisher, branch, planned=False):
    day = ThemedDay(city.tenant_id, branch, MONTH, [])
    publisher.publish([day.issued(), *(day.planned_and_opened()[:2] if planned else [])])
    return day


def partly_held(rpc, city, publisher):
    """Branch 1 of county 1 held its day; the three others were only issued (one also planned and approved)."""
    held = held_low(city, publisher, city.branches[0][0])
    others = [only_issued(city, publisher, city.branches[0][1], planned=True),
              only_issued(city, publisher, city.branches[1][0]), only_issued(city, publisher, city.branches[1][1])]

    def ranked():
        try:
            answer = rpc.scoring.get_ranking(scope=city.admin, org_id=city.root["id"], period=MONTH)
            planned = rpc.scoring.get_branch_score(scope=city.admin, activity_id=others[0].activity_id)
        except NotFound:
            return None
        if not answer["rows"]:
            return None                  # the events not applied yet
        first = answer["rows"][0]
        return answer if answer["total"] == 4 and first["held"] and first["final"] and \
            planned["stage"] == "approved" else None
    return held, others, wait_for(ranked)


def test_a_partly_held_month_ranks_the_real_score_first_and_the_others_as_not_held(rpc, city, publisher):
    held, others, ranking = partly_held(rpc, city, publisher)
    first, *rest = ranking["rows"]
    assert first["branch_id"] == held.branch["id"] and first["rank"] == 1 and first["held"]
    assert first["score"] < 60 and first["breakdown"]["signin"] == 17.5
    assert {row["branch_id"] for row in rest} == {day.branch["id"] for day in others}
    assert all(row["rank"] == 0 and not row["held"] and row["score"] == 0.0 and row["final"] for row in rest)
    assert ranking["chart"] == {"labels": [held.branch["name"]], "values": [first["score"]]}

    not_held = rpc.scoring.get_branch_score(scope=city.admin, activity_id=others[0].activity_id)
    assert not not_held["held"] and not_held["score"] == 0.0 and not_held["breakdown"] == {}
    assert not_held["stage"] == "approved"
    with pytest.raises(Rejected) as refused:
        rpc.scoring.rate_activity(scope=city.admin, activity_id=others[0].activity_id, rating=90)
    assert refused.value.code == "ACTIVITY_NOT_HELD"

    listed = rpc.scoring.supervision_list(scope=city.admin, org_id=city.root["id"], month=MONTH, today="2026-07-02")
    reasons = {item["branch_id"]: item["reasons"] for item in listed["items"]}
    assert reasons[held.branch["id"]] == ["LOW_SCORE"]
    assert all(reasons[day.branch["id"]] == ["NOT_HELD"] for day in others)
    assert all(item["score"] == 0.0 and not item["held"] for item in listed["items"]
               if item["branch_id"] != held.branch["id"])

    bulletin = rpc.scoring.quarterly_bulletin(scope=city.admin, org_id=city.root["id"], quarter="2026-Q2")
    assert [row["branch_id"] for row in bulletin["best"]] == [held.branch["id"]] and bulletin["weakest"] == []
    assert bulletin["branches"] == 1 and bulletin["not_held"] == 3 and bulletin["average"] == first["score"]
    assessment = rpc.scoring.annual_assessment(scope=city.admin, org_id=city.root["id"], year="2026")
    grades = {row["branch_id"]: (row["rank"], row["grade"], row["held"]) for row in assessment["rows"]}
    assert grades.pop(held.branch["id"]) == (1, "不合格", True)
    assert set(grades.values()) == {(0, "", False)} and assessment["total"] == 4

    exported = rpc.scoring.export_report(scope=city.admin, org_id=city.root["id"], kind="bulletin", period="2026-Q2")
    book = load_workbook(io.BytesIO(base64.b64decode(exported["content"])))
    ranking_sheet, best, weakest = book.worksheets[0], book["先进支部"], book["后进支部"]
    assert [row[1] for row in best.iter_rows(min_row=2, values_only=True)] == [held.branch["name"]]
    assert weakest.max_row == 1                                                  # the header only
    lines = list(ranking_sheet.iter_rows(min_row=2, values_only=True))
    assert lines[0][1] == held.branch["name"] and lines[0][0] == 1
    assert [line[6] for line in lines[1:]] == ["未开展"] * 3 and all(line[0] in ("", None) for line in lines[1:])


def test_a_quarter_counts_a_month_over_without_its_day_as_0(rpc, city, publisher):
    branch = city.branches[0][0]
    members = [city.add_member(branch, f"员{index}")["id"] for index in range(2)]
    april = ThemedDay(city.tenant_id, branch, "2026-04", members)
    publisher.publish([april.issued(), *april.planned_and_opened(),
                       *(scan for member in members for scan in (april.scan(member), april.scan(member, "out"))),
                       april.closed({member: "present" for member in members})])
    may = ThemedDay(city.tenant_id, branch, "2026-05", members)
    publisher.publish([may.issued()])

    def quarter():
        try:
            answer = rpc.scoring.get_ranking(scope=city.admin, org_id=city.root["id"], period="2026-Q2")
        except NotFound:                   # no themed day learned yet
            return None
        return answer if answer["rows"] and answer["rows"][0]["months"] == 2 else None
    [row] = wait_for(quarter)["rows"]
    april_score = rpc.scoring.get_branch_score(scope=city.admin, activity_id=april.activity_id)["score"]
    assert row["held"] and row["score"] == round(april_score / 2, 2)


def test_compare_orgs_names_every_organisation_in_scope_and_says_where_there_is_no_data(rpc, city, publisher):
    held_low(city, publisher, city.branches[0][0])
    only_issued(city, publisher, city.branches[0][1])

    def compared():
        answer = rpc.scoring.compare_orgs(scope=city.admin, org_ids=[c["id"] for c in city.counties], period=MONTH)
        return answer if answer["items"][0]["branches"] == 1 and answer["items"][0]["not_held"] == 1 else None
    answer = wait_for(compared)
    first, second = answer["items"]
    assert first["name"] == city.counties[0]["name"] and not first["no_data"] and first["average"] < 60
    assert second == {"org_id": city.counties[1]["id"], "name": city.counties[1]["name"], "branches": 0,
                      "not_held": 0, "no_data": True, "average": 0.0, "best": 0.0, "worst": 0.0}
    assert answer["chart"] == {"labels": [city.counties[0]["name"]], "values": [first["average"]]}

    # the admin of the county with no themed day compares its own county and a committee below it
    own = rpc.scoring.compare_orgs(scope=city.county_admins[1], period="2026-Q2",
                                   org_ids=[city.counties[1]["id"], city.committees[1]["id"]])
    assert [(item["name"], item["no_data"]) for item in own["items"]] == \
        [(city.counties[1]["name"], True), (city.committees[1]["name"], True)]
    assert own["chart"] == {"labels": [], "values": []}
    with pytest.raises(NotFound) as refused:
        rpc.scoring.compare_orgs(scope=city.county_admins[1], org_ids=[city.counties[0]["id"]], period=MONTH)
    assert refused.value.code == "ORG_NOT_FOUND"


def test_compare_orgs_refuses_other_tenants_and_members(rpc, city, other_city, publisher):
    with pytest.raises(NotFound):
        rpc.scoring.compare_orgs(scope=other_city.admin, org_ids=[city.root["id"]], period=MONTH)
    member = city.add_member(city.branches[0][0], "党员甲")
    scope = city.member_login(member, "cmp-member")
    with pytest.raises(PermissionDenied) as refused:
        rpc.scoring.compare_orgs(scope=scope, org_ids=[city.branches[0][0]["id"]], period=MONTH)
    assert refused.value.code == "NOT_ORG_MANAGER"


def test_an_organisation_in_scope_with_no_themed_day_yet_answers_empty_not_missing(rpc, city):
    county = city.counties[1]["id"]
    admin = city.county_admins[1]
    ranking = rpc.scoring.get_ranking(scope=admin, org_id=county, period=MONTH)
    assert (ranking["total"], ranking["rows"], ranking["chart"]["labels"]) == (0, [], [])
    progress = rpc.scoring.get_progress(scope=admin, org_id=county, period=MONTH)
    assert all(group["branches"] == 0 for group in progress["groups"])
    assert rpc.scoring.spot_check(scope=admin, org_id=county, month=MONTH)["items"] == []
    assert rpc.scoring.supervision_list(scope=admin, org_id=county, month=MONTH)["items"] == []
    # still refused outside the caller's subtree and tenant, with the same answer as an id that exists nowhere
    for scope, org_id in ((admin, city.counties[0]["id"]), (admin, "org-nowhere"), (city.county_admins[0], county)):
        with pytest.raises(NotFound) as refused:
            rpc.scoring.get_ranking(scope=scope, org_id=org_id, period=MONTH)
        assert refused.value.code == "ORG_NOT_FOUND"
