"""The democratic appraisal of members (民主评议党员) over HTTP and gRPC, through the whole platform: a secretary
creates and opens the year's appraisal; members review themselves and each other and vote, each once (a second
vote, two at once, a vote after closing and a bad ballot are refused and write nothing); the vote closes at its
time; the committee reads tallies, points and flags and decides every grade with a reason (优秀 within its share);
the superior and the member see the result; the store and the events hold no voter beside a choice."""
import os
import threading
from datetime import datetime, timedelta, timezone

import grpc
import pytest
from pymongo import MongoClient

from gateway.client import ApiError, GrpcClient, HttpClient
from tests.e2e.test_scoring_through_gateway import new_city, publisher  # noqa: F401 - publisher: a fixture
from tests.support.identity import PASSWORD, member_fields
from tests.support.scoring import ThemedDay, wait_for

pytestmark = pytest.mark.e2e
MONTH = "2026-09"
YEAR = MONTH[:4]
VOTE_SECONDS = 40            # from opening to the close: six members vote meanwhile


def refusal(call) -> ApiError:
    with pytest.raises(ApiError) as refused:
        call()
    return refused.value


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def scoring_db(mongo_uri):
    return MongoClient(mongo_uri)[f"{os.environ['DB_PREFIX']}_scoring"]


def ballot(voter: str, members: list[str], grades: dict[str, str]) -> dict:
    return {"choices": [{"member_id": m, "grade": grades.get(m, "qualified")} for m in members if m != voter]}


def test_a_branch_appraisal_runs_from_draft_to_decided_grades(gateway_process, operator_password, mongo_uri,
                                                              publisher):  # noqa: F811
    url = gateway_process.http_url
    city = new_city(url, operator_password, "评议市")
    admin, branch, county = city["admin"], city["branches"][0], city["county"]
    names = ["赵一", "钱二", "孙三", "李四", "周五", "吴六"]
    members = [admin.call("CreateMember", member_fields(branch["id"], name))["id"] for name in names]
    top, praised = members[0], members[1]
    # the year's points: the first member attended and reflected, the others were absent (-5 each)
    day = ThemedDay(city["tenant_id"], branch, MONTH, members)
    publisher.publish([day.issued(), *day.planned_and_opened(), day.scan(top), day.scan(top, "out"),
                       day.reflection(top), day.closed({m: "present" if m == top else "absent" for m in members})])
    clients = {}
    for number, member in enumerate(members):
        admin.call("CreateAccount", {"username": f"m{number}", "password": PASSWORD, "role": "member",
                                     "member_id": member})
        clients[member] = HttpClient(url)
        clients[member].login(city["code"], f"m{number}", PASSWORD)
    admin.call("CreateAccount", {"username": "sec", "password": PASSWORD, "role": "branch_secretary",
                                 "org_id": branch["id"]})
    secretary = HttpClient(url)
    secretary.login(city["code"], "sec", PASSWORD)

    # bad input and the wrong organisation: refused with their codes, nothing created
    soon = iso(datetime.now(timezone.utc) + timedelta(seconds=VOTE_SECONDS))
    for body, status, code in (({"year": "26", "closes_at": soon}, 400, "YEAR_INVALID"),
                               ({"year": YEAR, "closes_at": "2020-01-01T00:00:00Z"}, 400, "CLOSES_AT_PASSED"),
                               ({"year": YEAR, "closes_at": "明天"}, 400, "TIME_INVALID"),
                               ({"year": YEAR, "closes_at": soon, "mood": 1}, 400, "UNKNOWN_FIELD")):
        error = refusal(lambda: secretary.request("POST", f"/v1/orgs/{branch['id']}/appraisals", body=body))
        assert (error.status, error.code) == (status, code), body
    error = refusal(lambda: admin.call("CreateAppraisal", {"org_id": county["id"], "year": YEAR, "closes_at": soon}))
    assert (error.status, error.code) == (400, "NOT_A_BRANCH")
    assert secretary.call("ListAppraisals", {"org_id": branch["id"]})["total"] == 0

    draft = secretary.request("POST", f"/v1/orgs/{branch['id']}/appraisals", body={"year": YEAR, "closes_at": soon})
    assert (draft["state"], draft["member_count"], draft["excellent_limit"], draft["manager"]) == ("draft", 6, 2, True)
    again = refusal(lambda: secretary.call("CreateAppraisal", {"org_id": branch["id"], "year": YEAR,
                                                               "closes_at": soon}))
    assert (again.status, again.code) == (409, "APPRAISAL_EXISTS")
    early = refusal(lambda: clients[top].call("CastVote", {"appraisal_id": draft["id"],
                                                           **ballot(top, members, {})}))
    assert (early.status, early.code) == (409, "APPRAISAL_NOT_OPEN")
    by_member = refusal(lambda: clients[top].call("OpenAppraisal", {"appraisal_id": draft["id"]}))
    assert (by_member.status, by_member.code) == (403, "NOT_APPRAISAL_MANAGER")
    opened = secretary.request("POST", f"/v1/appraisals/{draft['id']}:open", body={})
    appraisal = opened["id"]
    assert opened["state"] == "open" and opened["voter_count"] == 0

    # reviews: one's own and of another member, the later replacing the earlier
    review = clients[top].request("POST", f"/v1/appraisals/{appraisal}/reviews",
                                  body={"member_id": "", "text": "认真学习党的理论，按时参加组织生活。"})
    assert (review["kind"], review["member_id"]) == ("self", top)
    clients[praised].call("SubmitReview", {"appraisal_id": appraisal, "member_id": top, "text": "工作积极"})
    clients[praised].call("SubmitReview", {"appraisal_id": appraisal, "member_id": top, "text": "工作积极，乐于助人"})
    bad = refusal(lambda: clients[top].call("SubmitReview", {"appraisal_id": appraisal, "text": " "}))
    assert (bad.status, bad.code) == (400, "REQUIRED")

    # a bad ballot: refused, nothing counted
    incomplete = ballot(top, members, {})
    incomplete["choices"].pop()
    bad = refusal(lambda: clients[top].call("CastVote", {"appraisal_id": appraisal, **incomplete}))
    assert (bad.status, bad.code, bad.field) == (400, "BALLOT_INCOMPLETE", "choices")
    bad = refusal(lambda: clients[top].call("CastVote", {"appraisal_id": appraisal, "choices": [
        {"member_id": top, "grade": "excellent"}, *ballot(top, members, {})["choices"]]}))
    assert (bad.status, bad.code) == (400, "NOT_IN_APPRAISAL")
    assert secretary.call("GetAppraisal", {"appraisal_id": appraisal})["voter_count"] == 0

    # every member votes the first member down and the second up; the first member's vote twice at once: one counted
    grades = {top: "unqualified", praised: "excellent"}
    outcomes = []

    def vote_top():
        try:
            outcomes.append(clients[top].call("CastVote", {"appraisal_id": appraisal, **ballot(top, members, grades)}))
        except ApiError as refused:
            outcomes.append(refused.code)
    racers = [threading.Thread(target=vote_top) for _ in range(2)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert sorted(outcomes, key=str) == sorted([{"appraisal_id": appraisal, "voted": True}, "VOTE_EXISTS"], key=str)
    for member in members[1:-1]:
        assert clients[member].call("CastVote", {"appraisal_id": appraisal, **ballot(member, members, grades)})["voted"]
    last = members[-1]
    with GrpcClient(gateway_process.grpc_target) as rpc:
        assert rpc.call("CastVote", {"appraisal_id": appraisal, **ballot(last, members, grades)},
                        clients[last].token)["voted"] is True
        twice = refusal(lambda: rpc.call("CastVote", {"appraisal_id": appraisal, **ballot(last, members, grades)},
                                         clients[last].token))
        assert (twice.status, twice.code) == (grpc.StatusCode.ALREADY_EXISTS, "VOTE_EXISTS")
    twice = refusal(lambda: clients[praised].call("CastVote", {"appraisal_id": appraisal,
                                                               **ballot(praised, members, {})}))
    assert (twice.status, twice.code) == (409, "VOTE_EXISTS")

    # while open: progress, and no tally for anyone
    progress = secretary.call("GetAppraisal", {"appraisal_id": appraisal})
    assert (progress["state"], progress["voter_count"], progress["self_review_count"]) == ("open", 6, 1)
    assert not any(row["tally_shown"] for row in progress["members"])
    premature = refusal(lambda: secretary.call("DecideAppraisal", {"appraisal_id": appraisal,
                                                                   "decided_by": "committee", "grades": []}))
    assert (premature.status, premature.code) == (409, "APPRAISAL_NOT_CLOSED")

    # the points learned meanwhile; the vote closes at its time
    wait_for(lambda: admin.call("GetLedger", {"member_id": top, "cycle": YEAR})["total"] > 0)
    wait_for(lambda: secretary.call("GetAppraisal", {"appraisal_id": appraisal})["state"] == "closed",
             timeout=VOTE_SECONDS + 60)
    late = refusal(lambda: clients[praised].call("SubmitReview", {"appraisal_id": appraisal, "text": "补交"}))
    assert (late.status, late.code) == (409, "APPRAISAL_NOT_OPEN")

    closed = secretary.call("GetAppraisal", {"appraisal_id": appraisal})
    rows = {row["member_id"]: row for row in closed["members"]}
    assert rows[top]["tally"] == {"excellent": 0, "qualified": 0, "basically_qualified": 0, "unqualified": 5}
    assert rows[praised]["tally"]["excellent"] == 5 and all(row["tally_shown"] for row in rows.values())
    assert rows[top]["flags"] == ["votes_against", "negative_votes_top_points"]       # never a grade by itself
    assert rows[praised]["flags"] == ["excellent_votes_low_points"]
    assert rows[members[2]]["flags"] == []
    assert rows[top]["points"] > rows[praised]["points"]
    assert rows[top]["self_review"] == "认真学习党的理论，按时参加组织生活。"
    assert rows[top]["mutual_reviews"] == ["工作积极，乐于助人"]
    # a member sees names to vote on and its own tally, nothing of anyone else's
    as_member = clients[praised].call("GetAppraisal", {"appraisal_id": appraisal})
    assert as_member["manager"] is False
    assert {row["member_id"] for row in as_member["members"]} == set(members)
    assert not any(row.get("tally_shown") or any((row.get("tally") or {}).values()) or row.get("mutual_reviews")
                   or row.get("self_review") or row.get("flags") for row in as_member["members"])
    assert as_member["me"]["tally"]["excellent"] == 5 and as_member["me"]["voted"] is True

    # the committee decides: 优秀 at most 2 of 6, every grade with a reason; the voted-down member is its to grade
    decided_grades = [{"member_id": m, "grade": "qualified", "reason": "履行党员义务"} for m in members]
    over = [{**row, "grade": "excellent"} if i < 3 else row for i, row in enumerate(decided_grades)]
    error = refusal(lambda: secretary.call("DecideAppraisal", {"appraisal_id": appraisal, "decided_by": "committee",
                                                               "grades": over}))
    assert (error.status, error.code) == (400, "EXCELLENT_OVER_LIMIT")
    error = refusal(lambda: secretary.call("DecideAppraisal", {"appraisal_id": appraisal, "decided_by": "committee",
                                                               "grades": [{**decided_grades[0], "reason": ""},
                                                                          *decided_grades[1:]]}))
    assert (error.status, error.code) == (400, "REQUIRED")
    error = refusal(lambda: secretary.call("DecideAppraisal", {"appraisal_id": appraisal, "decided_by": "vote",
                                                               "grades": decided_grades}))
    assert (error.status, error.code) == (400, "UNKNOWN_VALUE")
    final = [{**row, "grade": "excellent", "reason": "带头服务群众"} if row["member_id"] == praised else row
             for row in decided_grades]
    final[0] = {**final[0], "grade": "basically_qualified", "reason": "经支委会研究，参加组织生活不够经常"}
    decided = secretary.request("POST", f"/v1/appraisals/{appraisal}:decide",
                                body={"decided_by": "committee", "grades": final})
    assert decided["state"] == "decided" and decided["decided_by"] == "committee"
    assert decided["decided_counts"] == {"excellent": 1, "qualified": 4, "basically_qualified": 1, "unqualified": 0}
    again = refusal(lambda: secretary.call("DecideAppraisal", {"appraisal_id": appraisal, "decided_by": "committee",
                                                               "grades": final}))
    assert (again.status, again.code) == (409, "APPRAISAL_NOT_CLOSED")

    # results: the superior's list and the member's own
    county_admin_list = admin.call("ListAppraisals", {"org_id": county["id"], "year": YEAR})
    assert [(a["id"], a["state"], a["decided_counts"]["excellent"]) for a in county_admin_list["appraisals"]] == [
        (appraisal, "decided", 1)]
    mine = clients[top].call("ListMyAppraisals", {})["appraisals"]
    assert [(a["id"], a["me"]["grade"], a["me"]["reason"]) for a in mine] == [
        (appraisal, "basically_qualified", "经支委会研究，参加组织生活不够经常")]
    stranger = new_city(url, operator_password, "他市")["admin"]
    error = refusal(lambda: stranger.call("GetAppraisal", {"appraisal_id": appraisal}))
    assert (error.status, error.code) == (404, "APPRAISAL_NOT_FOUND")
    late = refusal(lambda: clients[praised].call("CastVote", {"appraisal_id": appraisal,
                                                              **ballot(praised, members, {})}))
    assert (late.status, late.code) == (409, "APPRAISAL_NOT_OPEN")

    # the store: voters apart from tallies, no ballot, no voter beside a choice; the events published, no choice
    db = scoring_db(mongo_uri)
    voters = list(db.appraisal_voters.find({"appraisal_id": appraisal}))
    assert len(voters) == 6 and all(set(doc) == {"_id", "appraisal_id"} for doc in voters)
    tallies = list(db.appraisal_tallies.find({"appraisal_id": appraisal}))
    assert len(tallies) == 6 and all(set(doc) <= {"_id", "appraisal_id", "member_id", "excellent", "qualified",
                                                  "basically_qualified", "unqualified"} for doc in tallies)

    def published():
        entries = list(db.outbox.find({"payload.appraisal_id": appraisal}))
        return entries if len(entries) == 8 and all(e["status"] == "sent" for e in entries) else None
    entries = wait_for(published)
    assert sorted(e["routing_key"] for e in entries) == ["appraisal_decided", "appraisal_opened", *["vote_cast"] * 6]
    for entry in entries:
        if entry["routing_key"] == "vote_cast":
            assert set(entry["payload"]) - {"event_id", "event_type", "occurred_at", "schema_version",
                                            "tenant_id"} == {"appraisal_id", "branch_id", "member_id"}
