"""bin/run's demo seed (deploy.local.up.seed_demo) through a real gateway and the services: a seed that failed
part-way is completed by the next run, what it made is there for the demo logins, running it again adds nothing,
and a finished one is never repeated."""
import uuid
from datetime import date, datetime, timezone

import pytest

from deploy.local import demo_city, demo_life, demo_volunteer, up
from gateway.client import HttpClient
from servicekit.timestamps import LOCAL_ZONE, parse_stamp
from services.identity.domain.dues import shift
from tests.support.proofs import acting_as

pytestmark = pytest.mark.e2e


class Platform:
    """What seed_demo asks of the running platform."""

    def running(self, name: str) -> bool:
        return True


def test_a_seed_that_failed_part_way_is_completed_by_the_next_run_and_then_never_repeated(
        gateway_process, content_service, volunteer_service, attendance_service, scoring_service, rpc,
        operator_password, tmp_path, monkeypatch):
    code = f"demo-{uuid.uuid4().hex[:8]}"
    rpc.attendance.set_clock_offset(seconds=0)     # the seed plans by the real clock; a themed day's test shifts it
    # the seed holds its lesson at seeding time in the daytime only; here at any hour that leaves room for it and
    # for the phones' earlier positions (up to an hour before the sign-in) on the same local day, or the sign-ins are
    # flagged NO_MOVEMENT_TODAY (a run before 02:00 or after 23:00 plans it for a later day, which the checks allow)
    monkeypatch.setattr(demo_life, "LIVE_FIRST_START", 2 * 60)
    monkeypatch.setattr(demo_life, "LIVE_LAST_START", 23 * 60)
    logins_file, flag, state = tmp_path / "demo-logins.txt", tmp_path / "demo-seeded", tmp_path / "demo-seed.json"

    def run(gateway=gateway_process.http_url):
        return up.seed_demo(Platform(), operator_password, gateway, var=tmp_path, tenant_code=code)

    # 1: the tenant and the organisations are made, then the member import is refused (as on the days the
    # generator and the importer disagreed about 29 February); the state with the admin password is lost
    # too, as after a bin/run that kept none
    city = demo_city.generate_demo_city

    def city_with_a_bad_member(*args, **kwargs):
        orgs, members = city(*args, **kwargs)
        return orgs, members + "不存在的支部,坏行,男,1990-01-01,123,1,本科,full,,,,,,none,false\n".encode()
    with monkeypatch.context() as patch:
        patch.setattr(demo_city, "generate_demo_city", city_with_a_bad_member)
        assert run() is False
    assert not logins_file.exists() and not flag.exists()
    state.unlink()

    # 2: the members are imported, then the run dies after two accounts
    account, made = demo_city._account, []

    def dying_after_two_accounts(api, tenant_code, username, *args):
        if len(made) == 2:
            raise demo_city.SeedError("the gateway went away")
        made.append(username)
        return account(api, tenant_code, username, *args)
    with monkeypatch.context() as patch:
        patch.setattr(demo_city, "_account", dying_after_two_accounts)
        assert run() is False
    assert not logins_file.exists() and not flag.exists()

    # 3: completed, every login printed works, the two accounts made before included
    assert run() is True
    rows = [line.split("\t") for line in logins_file.read_text(encoding="utf-8").splitlines()[1:]]
    assert [row[1] for row in rows[:-1]] == [f"{code}_admin", "hantai_admin", "nanzheng_admin", "chenggu_admin",
                                             "mianxian_admin", "secretary1", "member1", "secretary2", "member2",
                                             "secretary3", "member3", "secretary4", "member4",
                                             demo_volunteer.CITIZEN["phone"]]
    assert made == ["hantai_admin", "nanzheng_admin"]
    *accounts, (_, tracking_code, phone_last4, guest_role, _) = rows
    for tenant, username, password, role, _ in accounts:
        assert HttpClient(gateway_process.http_url).login(tenant, username, password)["account"]["roles"][-1][
            "role"] == role
    admin = HttpClient(gateway_process.http_url)
    admin.login(code, f"{code}_admin", rows[0][2])
    root = next(org for org in admin.call("GetMe")["orgs"] if org["kind"] == "city")
    assert len(admin.call("ListSubtree", {"org_id": root["id"], "max_depth": 1})["orgs"]) == 5
    # the content a new user finds: the pinned notice first in a member's feed, the county's article reviewed and
    # published, this month's package and quiz
    member = HttpClient(gateway_process.http_url)
    member.login(code, "member1", rows[6][2])
    feed = member.call("GetFeed", {"page_size": 20})["items"]
    assert feed[0]["kind"] == "notice" and feed[0]["pinned"] and feed[0]["pushed"]
    published = admin.call("ListItems", {"org_id": root["id"], "status": "published", "kind": "article"})["items"]
    assert "基层党建：党支部标准化规范化建设要点" in [item["title"] for item in published]
    assert [p["title"] for p in member.call("ListMyPackages")["packages"]] == [f"{date.today().month}月学习套餐"]
    assert any(q["kind"] == "quiz" for q in member.call("ListMyQuizzes")["quizzes"])
    # volunteer ordering: two communities open, the citizen's orders in their states, the guest's order found by
    # the tracking code listed with the logins, the members reported with one of them on an order
    public = HttpClient(gateway_process.http_url)
    assert len(public.call("ListOpenCommunities", {"tenant_code": code})["communities"]) == 2
    citizen = HttpClient(gateway_process.http_url)
    citizen.login(code, demo_volunteer.CITIZEN["phone"], rows[-2][2])
    assert sorted(order["status"] for order in citizen.call("ListMyOrders")["orders"]) == \
        ["in_service", "open", "placed", "rejected"]
    assert guest_role == "guest" and public.call("GetTrackedOrder", {
        "tenant_code": code, "tracking_code": tracking_code, "phone_last4": phone_last4})["status"] == "placed"
    home = member.call("GetMyCommunityReport")["community_id"]
    assert [claim["status"] for claim in member.call("ListMyClaims")["claims"]] == ["claimed"]
    reported = admin.call("ListReportedMembers", {"org_id": home})["members"]
    assert len(reported) == 2
    serving = HttpClient(gateway_process.http_url)
    serving.login(code, "member2", rows[8][2])
    assert [claim["status"] for claim in serving.call("ListMyClaims")["claims"]] == ["checked_in"]
    team_events = member.call("ListMyEvents")["events"]
    assert [event["title"] for event in team_events] == [demo_volunteer.EVENT["title"]]
    assert team_events[0]["my_signup"]["status"] == "signed_up"
    # the volunteer part run again (as after a failure within it) adds nothing and lists the same two logins
    again = demo_city._Api(gateway_process.http_url)
    again.login(code, f"{code}_admin", rows[0][2])
    orgs = list(again.pages(f"/v1/orgs/{root['id']}/subtree", "orgs"))
    members = [{"username": row[1], "password": row[2]} for row in rows if row[3] == "member"]
    added = demo_volunteer.seed_volunteer(again, lambda: demo_city._Api(gateway_process.http_url), code, orgs,
                                          demo_city._Passwords(state, code), members)
    assert [(login["username"], login["password"]) for login in added] == [(row[1], row[2]) for row in rows[-2:]]
    assert len(citizen.call("ListMyOrders")["orders"]) == 4 and len(member.call("ListMyEvents")["events"]) == 1
    assert flag.exists() and logins_file.stat().st_mode & 0o777 == 0o600 and state.stat().st_mode & 0o777 == 0o600

    # organisational life, as the demo secretaries, members and the city admin find it
    people = {row[1]: logged_in(gateway_process.http_url, code, row[1], row[2]) for row in rows
              if row[3] in ("branch_secretary", "member")}
    organisational_life(people, admin, root, rpc)
    # the whole seed run again (as after a failure at its very end) adds nothing and lists the same logins
    before = made_by_the_seed(people, admin, root)
    again_logins = demo_city.seed(gateway_process.http_url, operator_password, state_path=state, tenant_code=code)
    assert [(login["username"], login["password"]) for login in again_logins] == [(row[1], row[2]) for row in rows]
    assert made_by_the_seed(people, admin, root) == before

    # 4: done once, never again: not even the gateway is asked
    written = logins_file.read_bytes()
    assert run("http://127.0.0.1:9") is True
    assert logins_file.read_bytes() == written


def logged_in(url: str, tenant: str, username: str, password: str) -> HttpClient:
    client = HttpClient(url)
    client.login(tenant, username, password)
    return client


def demo_branches(people: dict) -> list[tuple[HttpClient, HttpClient, dict]]:
    """(secretaryN, memberN, their branch) of the four demo branches."""
    return [(people[f"secretary{n}"], people[f"member{n}"],
             next(org for org in people[f"secretary{n}"].call("GetMe")["orgs"] if org["kind"] == "branch"))
            for n in range(1, 5)]


def organisational_life(people: dict, admin: HttpClient, root: dict, rpc) -> None:
    month = datetime.now(LOCAL_ZONE).strftime("%Y-%m")
    # 三会一课: each secretary's lesson, committee meeting and assembly; the lesson held now has the sign-ins of the
    # secretary and the member (those on its roster: probationary and full members), and once its sign-out window
    # has ended (the attendance clock moved on) it is held, the secretary records it and the ledger counts it
    live = []
    for secretary, member, branch in demo_branches(people):
        assert secretary.call("GetMyDevelopmentRecord")["status"] == "full"      # a secretary is a full member
        meetings = {m["title"]: m for m in secretary.call("ListMeetings", {"org_id": branch["id"]})["meetings"]}
        assert {demo_life.LESSON, demo_life.ASSEMBLY} <= set(meetings) <= {
            demo_life.LESSON, demo_life.COMMITTEE, demo_life.ASSEMBLY}
        assert all(m["state"] == "planned" and m["venue_name"].endswith("党员活动室") for m in meetings.values())
        lesson = meetings[demo_life.LESSON]
        if parse_stamp(lesson["checkin_opens_at"]) > datetime.now(timezone.utc):
            assert lesson["date"] > datetime.now(LOCAL_ZONE).date().isoformat()     # seeded late in the evening
            continue
        on_roster = [client for client in (secretary, member)
                     if client.call("GetMyDevelopmentRecord")["status"] in demo_life.PARTY_MEMBERS]
        scans = secretary.call("ListScans", {"activity_id": lesson["id"]})["scans"]
        assert [(scan["direction"], scan["flags"]) for scan in scans] == [("in", [])] * len(on_roster)
        live.append((secretary, member, branch, lesson, len(on_roster)))
    if live:
        closes = max(parse_stamp(lesson["checkout_closes_at"]) for *_, lesson, _ in live)
        rpc.attendance.set_clock_offset(seconds=(closes - datetime.now(timezone.utc)).total_seconds() + 60)
        try:
            with acting_as("attendance"):
                rpc.attendance.run_sweeps()
            for secretary, member, branch, lesson, present in live:
                held = secretary.call("GetMeeting", {"meeting_id": lesson["id"]})
                assert (held["state"], held["attendance"]["present"]) == ("held" if present else "not_held", present)
                if not present:
                    continue
                recorded = secretary.call("RecordMeeting", {
                    "meeting_id": lesson["id"], "host": "支部书记", "recorder": "组织委员", "topics": ["重温入党誓词"],
                    "minutes": "全体党员面向党旗重温入党誓词，书记讲授专题党课。"})
                assert recorded["state"] == "recorded"
                ledger = secretary.call("GetMeetingLedger", {"org_id": branch["id"], "month": lesson["date"][:7]})
                [row] = ledger["rows"]
                assert next(item for item in row["items"] if item["type"] == "lesson")["held"] == 1
        finally:
            rpc.attendance.set_clock_offset(seconds=0)
    # 党费: the city's totals of last month and this month, with members unpaid this month; members owing arrears;
    # each demo member who pays dues sees its standard and the past months paid
    last = admin.call("GetDuesTotals", {"org_id": root["id"], "month": shift(month, -1)})["total"]
    now = admin.call("GetDuesTotals", {"org_id": root["id"], "month": month})["total"]
    assert int(last["paid_fen"]) > 0 and 0 < last["paid_members"] < last["members_with_standard"]
    assert now["paid_members"] < now["members_with_standard"] <= 4 * demo_life.DUES_MEMBERS
    arrears = [row for secretary, _, branch in demo_branches(people)
               for row in secretary.call("ListBranchDues", {"org_id": branch["id"], "arrears_only": True})["members"]]
    assert arrears and all(row["owed_months"] == [shift(month, -2), shift(month, -1)] for row in arrears)
    past = [shift(month, back) for back in range(-demo_life.DUES_MONTHS_BACK, 0)]
    paying = [people[f"member{n}"] for n in range(1, 5)
              if people[f"member{n}"].call("GetMyDevelopmentRecord")["status"] in demo_life.PARTY_MEMBERS]
    assert paying
    for member in paying:
        mine = member.call("GetMyDues")
        assert mine["has_standard"] and mine["paid_months"][:len(past)] == past and mine["owed_months"] == []
    # 发展党员纪实: entries in the demo branches' records; a demo member in development reads its own
    entries = sum(row["entries"] for secretary, _, branch in demo_branches(people)
                  for row in secretary.call("ListDevelopmentRecords", {"org_id": branch["id"]})["applicants"])
    assert entries >= 3
    for n in range(1, 5):
        record = people[f"member{n}"].call("GetMyDevelopmentRecord")
        assert bool(record["entries"]) == (record["status"] != "full"), record
    # 民主评议: the year's appraisal open, seen by a demo member on its roster, with the secretary's self-review
    [appraisal] = admin.call("ListAppraisals", {"org_id": root["id"]})["appraisals"]
    assert appraisal["state"] == "open" and appraisal["year"] == demo_life.appraisal_year(
        datetime.now(LOCAL_ZONE).date())
    seen = [people[f"member{n}"].call("ListMyAppraisals")["appraisals"] for n in range(1, 5)]
    assert [[a["id"] for a in mine] for mine in seen if mine] == ([[appraisal["id"]]] if paying else [])


def made_by_the_seed(people: dict, admin: HttpClient, root: dict) -> dict:
    """What a second run could have added to: meetings and their sign-ins, dues payments and standards, development
    entries, appraisals and reviews, the demo members' own views."""
    made = {"appraisals": [(a["id"], a["state"], a["self_review_count"])
                           for a in admin.call("ListAppraisals", {"org_id": root["id"]})["appraisals"]],
            "payments": len(admin.call("ListDuesPayments", {"org_id": root["id"], "page_size": 500})["payments"])}
    for number, (secretary, member, branch) in enumerate(demo_branches(people), start=1):
        meetings = secretary.call("ListMeetings", {"org_id": branch["id"]})["meetings"]
        made[f"branch{number}"] = {
            "meetings": sorted((m["title"], m["date"], m["state"],
                                len(secretary.call("ListScans", {"activity_id": m["id"]})["scans"])) for m in meetings),
            "dues": [(row["name"], row["has_standard"], row["paid_months"]) for row in secretary.call(
                "ListBranchDues", {"org_id": branch["id"]})["members"]],
            "development": sorted((row["name"], row["entries"]) for row in secretary.call(
                "ListDevelopmentRecords", {"org_id": branch["id"]})["applicants"]),
            "my appraisals": member.call("ListMyAppraisals")["appraisals"]}
    return made
