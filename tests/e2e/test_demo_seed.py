"""bin/run's demo seed (deploy.local.up.seed_demo) through a real gateway and identity service: a seed that
failed part-way is completed by the next run, and a finished one is never repeated."""
import uuid
from datetime import date

import pytest

from deploy.local import demo_city, demo_volunteer, up
from gateway.client import HttpClient

pytestmark = pytest.mark.e2e


class Platform:
    """What seed_demo asks of the running platform."""

    def running(self, name: str) -> bool:
        return True


def test_a_seed_that_failed_part_way_is_completed_by_the_next_run_and_then_never_repeated(
        gateway_process, content_service, volunteer_service, operator_password, tmp_path, monkeypatch):
    code = f"demo-{uuid.uuid4().hex[:8]}"
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

    # 4: done once, never again: not even the gateway is asked
    written = logins_file.read_bytes()
    assert run("http://127.0.0.1:9") is True
    assert logins_file.read_bytes() == written
