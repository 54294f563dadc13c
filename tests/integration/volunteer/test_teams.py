"""Teams, team events, 双报到, hours and statistics through the volunteer service as a real process, with identity
answering the callers' reach: the flows a community and its members go through, and the refusal of other subtrees
and tenants (with the not-found code of a missing id) with nothing stored."""
from __future__ import annotations

import base64
import io
from datetime import datetime, timedelta, timezone

import pymongo
import pytest
from openpyxl import load_workbook

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from servicekit.process.config import database_name
from servicekit.timestamps import LOCAL_ZONE, parse_stamp, stamp
from tests.support.identity import PASSWORD, City, login

pytestmark = pytest.mark.integration
VENUE = (33.0676, 107.0238)
NEAR = {"lat": VENUE[0] + 0.001, "lng": VENUE[1], "accuracy_m": 15.0, "mock_location": False}
FAR = {**NEAR, "lat": VENUE[0] + 0.01}


class Town:
    """A City with a community (a branch of the community field, its volunteer profile open) under the first
    county's committee, its admin, a secretary of the first branch, members there and one in the other county."""

    def __init__(self, rpc, operator_scope):
        self.rpc, self.city = rpc, City(rpc, operator_scope)
        city = self.city
        self.county, self.county_admin, self.other_county_admin = city.counties[0], *city.county_admins
        self.branch, self.other_branch = city.branches[0][0], city.branches[1][0]
        self.community = rpc.identity.create_org(scope=city.admin, parent_id=city.committees[0]["id"],
                                                 name="东关社区党支部", kind="branch", field="community")
        rpc.identity.create_account(scope=city.admin, username="community", password=PASSWORD, role="org_admin",
                                    org_id=self.community["id"])
        self.community_admin = login(rpc, city.code, "community")
        rpc.volunteer.set_community_profile(scope=self.community_admin, org_id=self.community["id"],
                                            address="东关街 1 号", lat=VENUE[0], lng=VENUE[1], open=True,
                                            categories=[])
        self.members, self.logins = {}, {}
        for key, branch, name in (("m1", self.branch, "张三"), ("m2", self.branch, "李四"), ("m3", self.branch, "王五"),
                                  ("m4", self.branch, "赵六"), ("far", self.other_branch, "孙七")):
            self.members[key] = city.add_member(branch, name)
            self.logins[key] = city.member_login(self.members[key], f"{key}-{city.code}")
        rpc.identity.create_account(scope=city.admin, username="secretary", password=PASSWORD,
                                    role="branch_secretary", org_id=self.branch["id"])
        self.secretary = login(rpc, city.code, "secretary")

    def refused(self, error_class, code, call, **kwargs):
        with pytest.raises(error_class) as caught:
            call(**kwargs)
        assert caught.value.code == code, caught.value
        return caught.value


@pytest.fixture
def town(rpc, operator_scope, volunteer_service):
    return Town(rpc, operator_scope)


@pytest.fixture
def foreign(rpc, operator_scope, volunteer_service):
    other = City(rpc, operator_scope)
    member = other.add_member(other.branches[0][0], "外人")
    return other, other.member_login(member, f"x-{other.code}")


@pytest.fixture
def volunteer_db(mongo_uri):
    with pymongo.MongoClient(mongo_uri) as client:
        yield client[database_name("volunteer")]


def china(moment: datetime) -> str:
    return moment.astimezone(LOCAL_ZONE).isoformat(timespec="seconds")


def test_a_team_s_event_from_sign_up_to_hours_credited(rpc, town, foreign, volunteer_db):
    volunteer, m = rpc.volunteer, town.logins
    team = volunteer.create_team(scope=town.county_admin, org_id=town.county["id"], name="青年志愿服务队",
                                 description="周末服务")
    for key in ("m1", "m2", "m3", "m4"):
        assert volunteer.join_team(scope=m[key], team_id=team["team_id"])["joined"] is True
    town.refused(NotFound, "TEAM_NOT_FOUND", volunteer.join_team, scope=m["far"], team_id=team["team_id"])
    town.refused(NotFound, "TEAM_NOT_FOUND", volunteer.get_team, scope=town.other_county_admin,
                 team_id=team["team_id"])
    town.refused(NotFound, "TEAM_NOT_FOUND", volunteer.get_team, scope=foreign[0].admin, team_id=team["team_id"])
    town.refused(NotFound, "TEAM_NOT_FOUND", volunteer.join_team, scope=foreign[1], team_id=team["team_id"])
    now = datetime.now(timezone.utc)
    event_fields = {"title": "清扫河堤", "description": "", "address": "汉江河堤", "lat": VENUE[0], "lng": VENUE[1],
                    "fence_radius_m": 0, "starts_at": china(now + timedelta(minutes=10)),
                    "ends_at": china(now + timedelta(hours=3)), "capacity": 2, "hours_cap": 1.25}
    town.refused(InvalidArgument, "EVENT_TIMES_INVALID", volunteer.create_team_event, scope=town.county_admin,
                 team_id=team["team_id"], **{**event_fields, "ends_at": china(now)})
    town.refused(PermissionDenied, "NOT_ORG_MANAGER", volunteer.create_team_event, scope=m["m1"],
                 team_id=team["team_id"], **event_fields)
    town.refused(NotFound, "TEAM_NOT_FOUND", volunteer.create_team_event, scope=town.other_county_admin,
                 team_id=team["team_id"], **event_fields)
    assert volunteer.list_team_events(scope=town.county_admin, team_id=team["team_id"])["events"] == []
    event = volunteer.create_team_event(scope=town.county_admin, team_id=team["team_id"], **event_fields)

    # four members race for two places: two get them, two are told the event is full
    replies = [volunteer.sign_up_event.call_async(scope=m[key], event_id=event["event_id"])
               for key in ("m1", "m2", "m3", "m4")]
    outcomes = []
    for reply in replies:
        try:
            outcomes.append(reply.result()["status"])
        except Conflict as refused:
            outcomes.append(refused.code)
    assert sorted(outcomes) == ["EVENT_FULL", "EVENT_FULL", "signed_up", "signed_up"]
    seen = volunteer.get_team_event(scope=town.county_admin, event_id=event["event_id"])
    assert (seen["signed_up"], seen["places_left"], len(seen["signups"])) == (2, 0, 2)
    first, second = [signup["member_id"] for signup in seen["signups"]]
    key_of = {town.members[key]["id"]: key for key in town.members}
    first, second = key_of[first], key_of[second]
    town.refused(NotFound, "EVENT_NOT_FOUND", volunteer.get_team_event, scope=town.other_county_admin,
                 event_id=event["event_id"])
    town.refused(NotFound, "EVENT_NOT_FOUND", volunteer.sign_up_event, scope=foreign[1], event_id=event["event_id"])

    # check-in inside the fence only; the hours are capped at the event's 1.25
    error = town.refused(Conflict, "OUTSIDE_FENCE", volunteer.check_in_event, scope=m[first],
                         event_id=event["event_id"], **FAR)
    assert error.details[0]["radius_m"] == 300 and error.details[0]["distance_m"] > 1000
    town.refused(Conflict, "MOCK_LOCATION", volunteer.check_in_event, scope=m[first], event_id=event["event_id"],
                 **{**NEAR, "mock_location": True})
    for key in (first, second):
        assert volunteer.check_in_event(scope=m[key], event_id=event["event_id"], **NEAR)["status"] == "checked_in"
    signup_id = f"{event['event_id']}:{town.members[first]['id']}"
    earlier = stamp(parse_stamp(volunteer_db.event_signups.find_one({"_id": signup_id})["checked_in_at"])
                    - timedelta(minutes=90))
    volunteer_db.event_signups.update_one({"_id": signup_id}, {"$set": {"checked_in_at": earlier}})
    out = volunteer.check_out_event(scope=m[first], event_id=event["event_id"], **NEAR)
    assert (out["status"], out["hours"]) == ("checked_out", 1.25)

    town.refused(PermissionDenied, "NOT_ORG_MANAGER", volunteer.close_team_event, scope=m[first],
                 event_id=event["event_id"])
    town.refused(NotFound, "EVENT_NOT_FOUND", volunteer.close_team_event, scope=foreign[0].admin,
                 event_id=event["event_id"])
    closed = volunteer.close_team_event(scope=town.county_admin, event_id=event["event_id"])
    assert closed["status"] == "closed"
    town.refused(Conflict, "EVENT_CLOSED", volunteer.close_team_event, scope=town.county_admin,
                 event_id=event["event_id"])
    town.refused(Conflict, "EVENT_CLOSED", volunteer.check_out_event, scope=m[second], event_id=event["event_id"],
                 **NEAR)
    mine = volunteer.get_my_hours(scope=m[first], page_size=0, page_token="")
    assert mine["total_hours"] == 1.25
    assert [(e["entry_id"], e["source_kind"], e["title"]) for e in mine["entries"]] == \
        [(f"event:{event['event_id']}:{town.members[first]['id']}", "event", "清扫河堤")]
    assert volunteer.get_my_hours(scope=m[second], page_size=0, page_token="")["total_hours"] == 0.0
    assert [entry["_id"] for entry in volunteer_db.hours.find({"source_id": event["event_id"]})] == \
        [mine["entries"][0]["entry_id"]]
    [credited] = [entry["payload"] for entry in volunteer_db.outbox.find({"routing_key": "hours_credited"})
                  if entry["payload"]["source_id"] == event["event_id"]]
    assert (credited["entry_id"], credited["member_id"], credited["hours"], credited["source_kind"]) == \
        (mine["entries"][0]["entry_id"], town.members[first]["id"], 1.25, "event")

    # the member's hours for its branch's managers; the county's statistics and rankings show them
    assert volunteer.get_member_hours(scope=town.secretary, member_id=town.members[first]["id"])["total_hours"] == 1.25
    town.refused(NotFound, "MEMBER_NOT_FOUND", volunteer.get_member_hours, scope=town.other_county_admin,
                 member_id=town.members[first]["id"])
    town.refused(NotFound, "MEMBER_NOT_FOUND", volunteer.get_member_hours, scope=m[second],
                 member_id=town.members[first]["id"])
    stats = volunteer.get_volunteer_statistics(scope=town.county_admin, org_id=town.county["id"], since="", until="")
    assert stats["hours_total"] == 1.25
    ranking = volunteer.list_hours_ranking(scope=town.county_admin, org_id=town.county["id"], by="member", since="",
                                           until="", limit=0)
    assert [(row["rank"], row["name"], row["hours"]) for row in ranking["rows"]] == \
        [(1, town.members[first]["name"], 1.25)]
    branches = volunteer.list_hours_ranking(scope=town.city.admin, org_id=town.city.root["id"], by="branch")
    assert [(row["id"], row["name"]) for row in branches["rows"]] == [(town.branch["id"], town.branch["name"])]
    assert volunteer.list_hours_ranking(scope=town.other_county_admin, org_id=town.city.counties[1]["id"],
                                        by="member")["rows"] == []


def test_double_reporting_and_who_has_not_reported(rpc, town, foreign, volunteer_db):
    volunteer, m = rpc.volunteer, town.logins
    community_id = town.community["id"]
    town.refused(NotFound, "ORG_NOT_FOUND", volunteer.report_to_community, scope=m["m1"],
                 community_id=town.county["id"], reported_on="")           # no volunteer profile
    town.refused(NotFound, "ORG_NOT_FOUND", volunteer.report_to_community, scope=foreign[1],
                 community_id=community_id, reported_on="")                # another tenant's
    town.refused(InvalidArgument, "REPORTED_ON_IN_FUTURE", volunteer.report_to_community, scope=m["m1"],
                 community_id=community_id, reported_on="2999-01-01")
    assert volunteer_db.community_reports.count_documents({"member_id": m["m1"]["member_id"]}) == 0
    assert volunteer.get_my_community_report(scope=m["m1"]) == {}
    report = volunteer.report_to_community(scope=m["m1"], community_id=community_id, reported_on="")
    assert (report["status"], report["community_name"], report["member_name"]) == ("current", "东关社区党支部", "张三")
    again = volunteer.report_to_community(scope=m["m1"], community_id=community_id, reported_on="")
    assert volunteer.get_my_community_report(scope=m["m1"])["report_id"] == again["report_id"] != report["report_id"]
    assert volunteer_db.community_reports.count_documents({"member_id": town.members["m1"]["id"],
                                                           "status": "current"}) == 1
    volunteer.report_to_community(scope=m["far"], community_id=community_id, reported_on="")
    reported = [entry["payload"] for entry in volunteer_db.outbox.find({"routing_key": "member_reported"})
                if entry["payload"]["community_id"] == community_id]
    assert sorted((event["member_id"], event["report_id"]) for event in reported) == sorted(
        [(town.members["m1"]["id"], report["report_id"]), (town.members["m1"]["id"], again["report_id"]),
         (town.members["far"]["id"], f"{town.members['far']['id']}:1")])

    # the community sees both (one of another county: it lives here), with the hours served there
    listed = volunteer.list_reported_members(scope=town.community_admin, org_id=community_id, page_size=0,
                                             page_token="")
    assert sorted(row["name"] for row in listed["members"]) == ["孙七", "张三"]
    assert all(row["hours"] == 0.0 for row in listed["members"])
    for caller in (town.other_county_admin, town.secretary, m["m1"], foreign[0].admin):
        town.refused(NotFound, "ORG_NOT_FOUND", volunteer.list_reported_members, scope=caller,
                     org_id=community_id, page_size=0, page_token="")

    # the branch sees its members who have not reported, late once the city's deadline has passed
    unreported = volunteer.list_unreported_members(scope=town.secretary, org_id=town.branch["id"])
    assert unreported["deadline"] == ""
    assert sorted(row["name"] for row in unreported["members"]) == ["李四", "王五", "赵六"]
    volunteer.update_volunteer_settings(scope=town.city.admin, report_deadline="2026-01-01")
    late = volunteer.list_unreported_members(scope=town.county_admin, org_id=town.county["id"])
    assert late["deadline"] == "2026-01-01" and all(row["overdue"] for row in late["members"])
    assert "张三" not in [row["name"] for row in late["members"]]
    town.refused(PermissionDenied, "NOT_ORG_MANAGER", volunteer.list_unreported_members, scope=m["m2"],
                 org_id=town.branch["id"])
    town.refused(NotFound, "ORG_NOT_FOUND", volunteer.list_unreported_members, scope=town.other_county_admin,
                 org_id=town.branch["id"])
    town.refused(NotFound, "ORG_NOT_FOUND", volunteer.list_unreported_members, scope=foreign[0].admin,
                 org_id=town.branch["id"])

    # a member who reported may join its community's team
    team = volunteer.create_team(scope=town.community_admin, org_id=community_id, name="社区服务队", description="")
    assert volunteer.join_team(scope=m["m1"], team_id=team["team_id"])["joined"] is True
    town.refused(NotFound, "TEAM_NOT_FOUND", volunteer.join_team, scope=m["m2"], team_id=team["team_id"])
    assert [t["team_id"] for t in volunteer.list_teams(scope=m["m1"], org_id=town.branch["id"])["teams"]] == \
        [team["team_id"]]


def test_statistics_of_orders_and_their_export(rpc, town):
    volunteer = rpc.volunteer
    start = datetime.now(timezone.utc) + timedelta(days=1)
    placed = volunteer.place_guest_order(
        tenant_code=town.city.code, community_id=town.community["id"], category="health", description="陪同就医",
        address="东关街 3 号", lat=None, lng=None, wished_start=china(start), wished_end=china(start + timedelta(hours=2)),
        contact_name="刘阿姨", contact_phone="13900001111", client_address="127.0.0.1")
    volunteer.review_order(scope=town.community_admin, order_id=placed["order"]["order_id"], decision="approve",
                           reason="")
    stats = volunteer.get_volunteer_statistics(scope=town.county_admin, org_id=town.county["id"], since="",
                                               until="")
    assert (stats["orders_by_status"]["approved"], sum(stats["orders_by_status"].values())) == (1, 1)
    assert stats["orders_by_category"]["health"] == 1 and stats["overdue"] == 0
    assert stats["ratings"]["count"] == 0 and stats["minutes_to_dispatch"]["count"] == 0
    assert sum(volunteer.get_volunteer_statistics(scope=town.other_county_admin, org_id=town.city.counties[1]["id"])
               ["orders_by_status"].values()) == 0
    town.refused(NotFound, "ORG_NOT_FOUND", volunteer.get_volunteer_statistics, scope=town.other_county_admin,
                 org_id=town.county["id"])
    town.refused(InvalidArgument, "PERIOD_INVALID", volunteer.get_volunteer_statistics, scope=town.county_admin,
                 org_id=town.county["id"], since="2026-12-02", until="2026-12-01")
    exported = volunteer.export_volunteer_statistics(scope=town.community_admin, org_id=town.community["id"])
    book = load_workbook(io.BytesIO(base64.b64decode(exported["content"])))
    overview = {row[0]: row[1] for row in book["概况"].iter_rows(min_row=2, values_only=True)}
    assert overview["组织"] == "东关社区党支部" and overview["订单总数"] == 1
    assert ("健康服务", 1) in list(book["服务类别"].iter_rows(values_only=True))
    town.refused(NotFound, "ORG_NOT_FOUND", volunteer.export_volunteer_statistics, scope=town.other_county_admin,
                 org_id=town.community["id"])
