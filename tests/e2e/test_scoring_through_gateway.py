"""After a themed day, a city admin reads rankings and scores, a member its points, over HTTP and gRPC."""
import base64
import io
import os
import uuid

import pytest
from openpyxl import load_workbook

from gateway.client import ApiError, GrpcClient, HttpClient
from tests.support.identity import PASSWORD, member_fields
from tests.support.scoring import AttendancePublisher, ThemedDay, wait_for

pytestmark = pytest.mark.e2e
MONTH = "2026-09"


@pytest.fixture(scope="module")
def publisher(scoring_service, mongo_uri, bus_uri):
    sender = AttendancePublisher(mongo_uri, bus_uri, os.environ["DB_PREFIX"] + "_scratch_e2e_attendance")
    yield sender
    sender.close()


def new_city(url, operator_password, name):
    operator = HttpClient(url)
    operator.login("", "operator", operator_password)
    code = f"sc-{uuid.uuid4().hex[:8]}"
    created = operator.call("CreateTenant", {"code": code, "name": name, "admin_username": "admin",
                                             "admin_password": PASSWORD})
    admin = HttpClient(url)
    admin.login(code, "admin", PASSWORD)
    county = admin.call("CreateOrg", {"parent_id": created["root_org"]["id"], "name": "东区", "kind": "county"})
    branches = [admin.call("CreateOrg", {"parent_id": county["id"], "name": f"第{n}支部", "kind": "branch",
                                         "field": "community"}) for n in (1, 2)]
    return {"code": code, "tenant_id": created["tenant"]["id"], "root": created["root_org"]["id"], "admin": admin,
            "county": county, "branches": branches}


def test_a_city_admin_sees_the_ranking_and_a_member_its_points(gateway_process, operator_password, publisher):
    city = new_city(gateway_process.http_url, operator_password, "积分市")
    admin = city["admin"]
    days = []
    for branch, attending in zip(city["branches"], (3, 1)):
        members = [admin.call("CreateMember", member_fields(branch["id"], f"党员{i}"))["id"] for i in range(3)]
        day = ThemedDay(city["tenant_id"], branch, MONTH, members)
        events = [day.issued(), *day.planned_and_opened()]
        for member in members[:attending]:
            events += [day.scan(member), day.scan(member, "out"), day.reflection(member)]
        events.append(day.closed({m: "present" if i < attending else "absent" for i, m in enumerate(members)}))
        publisher.publish(events)
        days.append(day)

    def ranked():
        try:
            answer = admin.call("GetRanking", {"org_id": city["root"], "period": MONTH})
        except ApiError:
            return None
        # a day not yet known as held is "final" too once its month is over (rank 0): wait for both days held
        done = answer["total"] == 2 and all(row["final"] and row["held"] for row in answer["rows"])
        return answer if done else None
    ranking = wait_for(ranked)
    assert [row["branch_id"] for row in ranking["rows"]] == [b["id"] for b in city["branches"]]
    assert [row["rank"] for row in ranking["rows"]] == [1, 2]
    assert ranking["rows"][0]["breakdown"]["signin"] == 70.0
    assert ranking["chart"]["labels"] == ["第1支部", "第2支部"]
    with GrpcClient(gateway_process.grpc_target) as grpc_client:
        over_grpc = grpc_client.call("GetRanking", {"org_id": city["root"], "period": MONTH}, admin.token)
    assert over_grpc == ranking

    score = admin.call("GetBranchScore", {"activity_id": days[1].activity_id})
    assert score["counts"]["present"] == 1 and score["rating_pending"]
    rated = admin.call("RateActivity", {"activity_id": days[1].activity_id, "rating": 100})
    assert rated["score"] == round(score["score"] + 1, 2)
    with pytest.raises(ApiError) as refused:
        admin.call("RateActivity", {"activity_id": days[1].activity_id, "rating": 120})
    assert refused.value.status == 400 and refused.value.code == "RATING_OUT_OF_RANGE"

    admin.call("CreateAccount", {"username": "member0", "password": PASSWORD, "role": "member",
                                 "member_id": days[0].members[0]})
    member = HttpClient(gateway_process.http_url)
    member.login(city["code"], "member0", PASSWORD)
    ledger = wait_for(lambda: (lambda answer: answer if len(answer["entries"]) == 2 else None)(
        member.call("GetLedger", {"cycle": MONTH[:4]})))
    assert ledger["total"] == 7.0 and {entry["category"] for entry in ledger["entries"]} == {"attendance", "reflection"}
    with pytest.raises(ApiError) as refused:
        member.call("GetRanking", {"org_id": city["root"], "period": MONTH})
    assert refused.value.status == 404

    exported = admin.call("ExportReport", {"org_id": city["root"], "kind": "bulletin", "period": "2026-Q3"})
    sheet = load_workbook(io.BytesIO(base64.b64decode(exported["content"]))).worksheets[0]
    assert sheet.cell(1, 1).value == "排名" and sheet.cell(2, 2).value == "第1支部"


def test_another_citys_admin_gets_404_for_rankings_and_ledgers(gateway_process, operator_password, publisher):
    city = new_city(gateway_process.http_url, operator_password, "甲市")
    stranger = new_city(gateway_process.http_url, operator_password, "乙市")["admin"]
    branch = city["branches"][0]
    member_id = city["admin"].call("CreateMember", member_fields(branch["id"], "党员"))["id"]
    day = ThemedDay(city["tenant_id"], branch, MONTH, [member_id])
    publisher.publish([day.issued(), *day.planned_and_opened(), day.scan(member_id), day.scan(member_id, "out")])
    wait_for(lambda: city["admin"].call("GetRanking", {"org_id": city["root"], "period": MONTH})["total"] == 1
             if _ok(city["admin"], city["root"]) else None)
    for rpc, request in (("GetRanking", {"org_id": city["root"], "period": MONTH}),
                         ("GetLedger", {"member_id": member_id, "cycle": "2026"}),
                         ("GetBranchScore", {"activity_id": day.activity_id})):
        with pytest.raises(ApiError) as refused:
            stranger.call(rpc, request)
        assert refused.value.status == 404, rpc


def _ok(client, org_id) -> bool:
    try:
        client.call("GetRanking", {"org_id": org_id, "period": MONTH})
        return True
    except ApiError:
        return False


def held_day(admin, publisher, city, branch, attending: int, month: str = MONTH) -> ThemedDay:
    """Three members of whom ``attending`` come, sign out and reflect; closed."""
    members = [admin.call("CreateMember", member_fields(branch["id"], f"党员{i}"))["id"] for i in range(3)]
    day = ThemedDay(city["tenant_id"], branch, month, members)
    events = [day.issued(), *day.planned_and_opened()]
    for member in members[:attending]:
        events += [day.scan(member), day.scan(member, "out"), day.reflection(member)]
    events.append(day.closed({m: "present" if i < attending else "absent" for i, m in enumerate(members)}))
    publisher.publish(events)
    return day


def test_a_partly_held_month_ranks_the_held_days_first_and_the_others_as_not_held(gateway_process, operator_password,
                                                                                   publisher):
    city = new_city(gateway_process.http_url, operator_password, "开展市")
    admin = city["admin"]
    unheld = [admin.call("CreateOrg", {"parent_id": city["county"]["id"], "name": f"第{n}支部", "kind": "branch",
                                       "field": "community"}) for n in (3, 4)]
    held_day(admin, publisher, city, city["branches"][1], 3)
    held_day(admin, publisher, city, city["branches"][0], 1)
    for branch in unheld:                                   # issued, never held: the month (2026-09) is over
        publisher.publish([ThemedDay(city["tenant_id"], branch, MONTH, []).issued()])

    def ranked():
        try:
            answer = admin.call("GetRanking", {"org_id": city["root"], "period": MONTH})
        except ApiError:
            return None
        held = [row for row in answer["rows"] if row["held"]]
        return answer if answer["total"] == 4 and len(held) == 2 and all(row["final"] for row in held) else None
    ranking = wait_for(ranked)
    assert [(row["branch_id"], row["rank"], row["held"]) for row in ranking["rows"]] == [
        (city["branches"][1]["id"], 1, True), (city["branches"][0]["id"], 2, True),
        (unheld[0]["id"], 0, False), (unheld[1]["id"], 0, False)]
    first, second, *rest = ranking["rows"]
    assert first["score"] > second["score"] > 0 and first["breakdown"]["signin"] == 70.0
    assert all(row["score"] == 0.0 and row["final"] and row["breakdown"]["signin"] == 0.0 for row in rest)
    assert ranking["chart"] == {"labels": ["第2支部", "第1支部"], "values": [first["score"], second["score"]]}
    with GrpcClient(gateway_process.grpc_target) as grpc_client:
        assert grpc_client.call("GetRanking", {"org_id": city["root"], "period": MONTH}, admin.token) == ranking
    bulletin = admin.call("QuarterlyBulletin", {"org_id": city["root"], "quarter": "2026-Q3"})
    assert [row["branch_id"] for row in bulletin["best"]] == [city["branches"][1]["id"], city["branches"][0]["id"]]
    assert bulletin["branches"] == 2 and bulletin["not_held"] == 2 and bulletin["weakest"] == []


def test_compare_orgs_on_a_county_with_no_themed_day(gateway_process, operator_password, publisher):
    city = new_city(gateway_process.http_url, operator_password, "对比市")
    admin = city["admin"]
    quiet = admin.call("CreateOrg", {"parent_id": city["root"], "name": "西区", "kind": "county"})
    admin.call("CreateAccount", {"username": "xiqu", "password": PASSWORD, "role": "org_admin", "org_id": quiet["id"]})
    county_admin = HttpClient(gateway_process.http_url)
    county_admin.login(city["code"], "xiqu", PASSWORD)
    own = county_admin.call("CompareOrgs", {"org_ids": [quiet["id"]], "period": MONTH})      # no themed day at all
    assert own["items"] == [{"org_id": quiet["id"], "name": "西区", "branches": 0, "not_held": 0, "no_data": True,
                             "average": 0.0, "best": 0.0, "worst": 0.0}]
    assert own["chart"] == {"labels": [], "values": []}

    held_day(admin, publisher, city, city["branches"][0], 2)

    def compared():
        answer = admin.call("CompareOrgs", {"org_ids": [city["county"]["id"], quiet["id"]], "period": MONTH})
        return answer if answer["items"][0]["branches"] == 1 else None
    answer = wait_for(compared)
    assert [(item["name"], item["no_data"]) for item in answer["items"]] == [("东区", False), ("西区", True)]
    assert answer["chart"] == {"labels": ["东区"], "values": [answer["items"][0]["average"]]}
    with pytest.raises(ApiError) as refused:
        county_admin.call("CompareOrgs", {"org_ids": [city["county"]["id"]], "period": MONTH})
    assert refused.value.status == 404 and refused.value.code == "ORG_NOT_FOUND"
