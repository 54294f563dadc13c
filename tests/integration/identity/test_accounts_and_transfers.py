import base64
import time

import pytest
from kombu import Connection, Exchange, Queue

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied, TooManyRequests, Unauthenticated
from servicekit.security.tokens import TokenVerifier

from tests.support.identity import PASSWORD, login

pytestmark = pytest.mark.integration


def test_login_gives_a_token_carrying_the_callers_scope(rpc, city):
    answer = rpc.identity.login(tenant_code=city.code, username="county1", password=PASSWORD)
    claims = TokenVerifier().verify(answer["access_token"])
    assert claims["tenant_id"] == city.tenant_id
    assert claims["roles"] == [{"role": "org_admin", "org_id": city.counties[0]["id"]}]
    assert answer["token_type"] == "Bearer" and answer["expires_in"] > 0


def test_a_wrong_password_and_an_unknown_user_fail_alike(rpc, city):
    for username, password in (("county1", "wrong-password-1"), ("nobody", PASSWORD)):
        with pytest.raises(Unauthenticated) as error:
            rpc.identity.login(tenant_code=city.code, username=username, password=password)
        assert error.value.code == "LOGIN_FAILED"


def test_failed_logins_slow_down_the_address_they_come_from_never_the_account(rpc, city):
    refused = []
    for _ in range(10):         # 5 free, then waits of 1, 2, 4... seconds: some of these come too soon
        try:
            rpc.identity.login(tenant_code=city.code, username="county2", password="wrong-password-1",
                               client_address="203.0.113.50")
        except Unauthenticated:
            continue
        except TooManyRequests as error:
            refused.append(error.code)
    assert refused and set(refused) == {"TOO_MANY_ATTEMPTS"}
    assert rpc.identity.login(tenant_code=city.code, username="county2", password=PASSWORD,
                              client_address="198.51.100.50")["access_token"]


def test_the_same_username_may_exist_in_two_tenants_but_not_twice_in_one(rpc, city, other_city):
    assert login(rpc, other_city.code, "county1")["tenant_id"] == other_city.tenant_id
    with pytest.raises(Conflict) as error:
        rpc.identity.create_account(scope=city.admin, username="county1", password=PASSWORD, role="org_admin",
                                    org_id=city.counties[1]["id"])
    assert error.value.code == "USERNAME_EXISTS"


def test_weak_passwords_are_refused(rpc, city):
    with pytest.raises(InvalidArgument) as error:
        rpc.identity.create_account(scope=city.admin, username="weak", password="short", role="org_admin",
                                    org_id=city.counties[1]["id"])
    assert error.value.code == "PASSWORD_TOO_WEAK"


def test_a_county_admin_cannot_grant_roles_outside_its_county(rpc, city, other_city):
    for org_id in (city.counties[1]["id"], city.root["id"], other_city.counties[0]["id"]):
        with pytest.raises(NotFound):
            rpc.identity.create_account(scope=city.county_admins[0], username="grab", password=PASSWORD,
                                        role="org_admin", org_id=org_id)


def test_only_the_operator_creates_tenants(rpc, city):
    with pytest.raises(PermissionDenied):
        rpc.identity.create_tenant(scope=city.admin, code="rogue", name="流氓市", admin_username="x",
                                   admin_password=PASSWORD)


def test_a_transfer_between_counties_moves_the_member_only_on_acceptance(rpc, city):
    member = city.add_member(city.branches[0][0], "周八")
    target = city.branches[1][0]
    transfer = rpc.identity.request_transfer(scope=city.county_admins[0], member_id=member["id"],
                                             to_branch_id=target["id"], reason="工作调动")
    assert transfer["state"] == "pending" and transfer["overdue"] is False
    assert rpc.identity.get_member(scope=city.county_admins[0], member_id=member["id"])["branch_id"] == \
        city.branches[0][0]["id"]
    outgoing = rpc.identity.list_transfers(scope=city.county_admins[0], org_id=city.counties[0]["id"],
                                           side="outgoing", state="pending")["transfers"]
    incoming = rpc.identity.list_transfers(scope=city.county_admins[1], org_id=city.counties[1]["id"],
                                           side="incoming", state="pending")["transfers"]
    assert [t["id"] for t in outgoing] == [t["id"] for t in incoming] == [transfer["id"]]
    with pytest.raises(PermissionDenied):
        rpc.identity.accept_transfer(scope=city.county_admins[0], transfer_id=transfer["id"])
    accepted = rpc.identity.accept_transfer(scope=city.county_admins[1], transfer_id=transfer["id"])
    assert accepted["state"] == "accepted"
    assert rpc.identity.get_member(scope=city.county_admins[1], member_id=member["id"])["branch_id"] == target["id"]
    with pytest.raises(NotFound):
        rpc.identity.get_member(scope=city.county_admins[0], member_id=member["id"])
    done = rpc.identity.list_transfers(scope=city.county_admins[0], org_id=city.counties[0]["id"],
                                       side="outgoing", state="done")["transfers"]
    assert [t["id"] for t in done] == [transfer["id"]]
    with pytest.raises(Conflict):
        rpc.identity.reject_transfer(scope=city.county_admins[1], transfer_id=transfer["id"], reason="晚了")


def test_a_rejected_transfer_keeps_the_member_and_records_the_reason(rpc, city, other_city):
    member = city.add_member(city.branches[0][0])
    transfer = rpc.identity.request_transfer(scope=city.admin, member_id=member["id"],
                                             to_branch_id=city.branches[1][1]["id"])
    with pytest.raises(InvalidArgument):
        rpc.identity.reject_transfer(scope=city.county_admins[1], transfer_id=transfer["id"], reason="")
    with pytest.raises(NotFound):
        rpc.identity.reject_transfer(scope=other_city.admin, transfer_id=transfer["id"], reason="x")
    rejected = rpc.identity.reject_transfer(scope=city.county_admins[1], transfer_id=transfer["id"],
                                            reason="材料不全")
    assert rejected["state"] == "rejected" and rejected["reject_reason"] == "材料不全"
    assert rpc.identity.get_member(scope=city.admin, member_id=member["id"])["branch_id"] == city.branches[0][0]["id"]


def test_transfers_cannot_go_to_another_tenant(rpc, city, other_city):
    member = city.add_member(city.branches[0][0])
    with pytest.raises(NotFound):
        rpc.identity.request_transfer(scope=city.admin, member_id=member["id"],
                                      to_branch_id=other_city.branches[0][0]["id"])


def _identity_events(bus_uri, routing_key="#"):
    connection = Connection(bus_uri)
    exchange = Exchange("identity.events", type="topic", durable=True)
    queue = Queue(f"test-watch-{time.time_ns()}", exchange=exchange, routing_key=routing_key, auto_delete=True,
                  exclusive=True)
    queue(connection.default_channel).declare()
    return connection, queue


def test_each_change_reaches_the_bus_once_with_the_envelope(rpc, city, bus_uri):
    connection, queue = _identity_events(bus_uri, "member_joined")
    try:
        member = city.add_member(city.branches[0][0])
        received = []
        deadline = time.monotonic() + 30
        bound = queue(connection.default_channel)
        while time.monotonic() < deadline and not any(body.get("member_id") == member["id"] for body in received):
            message = bound.get(no_ack=True)
            if message is None:
                time.sleep(0.05)
                continue
            received.append(message.payload)
        event = next(body for body in received if body.get("member_id") == member["id"])
        assert event["event_type"] == "member_joined" and event["tenant_id"] == city.tenant_id
        assert event["schema_version"] == 1 and event["event_id"] and event["occurred_at"].endswith("Z")
        assert event["branch_id"] == city.branches[0][0]["id"]
        time.sleep(0.5)
        while (message := bound.get(no_ack=True)) is not None:
            received.append(message.payload)
        assert sum(body.get("member_id") == member["id"] for body in received) == 1
    finally:
        connection.release()


def test_member_import_writes_all_rows_or_none(rpc, city):
    from tests.support.identity import new_unique_id_number
    from datetime import date
    branch_path = "第1县/第1镇党委/第1镇第1支部"
    header = "branch_ref,name,gender,birth_date,id_number,phone,education,status,applied_on,activist_on," \
             "development_target_on,probationary_on,full_on,enrolment,mobile\n"
    good = []
    for index in range(3):
        birth = date(1985, 1, 1 + index)
        number = new_unique_id_number(birth)
        birth = number[6:10] + "-" + number[10:12] + "-" + number[12:14]
        good.append(f"{branch_path},成员{index},男,{birth},{number},1380013800{index},本科,full,"
                    f"2010-01-01,2010-06-01,2011-07-01,2012-07-01,2013-07-01,none,false\n")
    bad_file = header + good[0] + "不存在的支部,坏行,男,1985-01-01,123,1,本科,full,,,,,,none,false\n" + good[1]
    with pytest.raises(InvalidArgument) as error:
        rpc.identity.import_members(scope=city.admin, org_id=city.root["id"], format="csv",
                                    content=base64.b64encode(bad_file.encode()).decode())
    assert error.value.code == "IMPORT_REJECTED"
    assert {problem["line"] for problem in error.value.details} == {3}
    assert {"branch_ref", "id_number"} <= {problem["field"] for problem in error.value.details}
    branch_id = city.branches[0][0]["id"]
    assert rpc.identity.list_members(scope=city.admin, org_id=branch_id)["members"] == []
    answer = rpc.identity.import_members(scope=city.admin, org_id=city.root["id"], format="csv",
                                         content=base64.b64encode((header + "".join(good)).encode()).decode())
    assert answer["imported"] == 3
    names = sorted(m["name"] for m in rpc.identity.list_members(scope=city.admin, org_id=branch_id)["members"])
    assert names == ["成员0", "成员1", "成员2"]
    with pytest.raises(InvalidArgument) as again:
        rpc.identity.import_members(scope=city.admin, org_id=city.root["id"], format="csv",
                                    content=base64.b64encode((header + good[0]).encode()).decode())
    assert again.value.details[0]["reason"] == "MEMBER_EXISTS"


def test_an_org_import_builds_the_tree_below_the_chosen_node(rpc, city):
    content = "ref,parent_ref,name,kind,category,field\n" \
              "b1,c1,新支部一,branch,,community\n" \
              "c1,,新街道党工委,committee,street,\n" \
              "b2,c1,新支部二,branch,,community\n"
    answer = rpc.identity.import_orgs(scope=city.county_admins[0], parent_id=city.counties[0]["id"], format="csv",
                                      content=base64.b64encode(content.encode()).decode())
    assert answer["imported"] == 3
    orgs = rpc.identity.list_subtree(scope=city.county_admins[0], org_id=city.counties[0]["id"])["orgs"]
    committee = next(org for org in orgs if org["name"] == "新街道党工委")
    assert sorted(org["name"] for org in orgs if org["parent_id"] == committee["id"]) == ["新支部一", "新支部二"]
    with pytest.raises(NotFound):
        rpc.identity.import_orgs(scope=city.county_admins[0], parent_id=city.counties[1]["id"], format="csv",
                                 content=base64.b64encode(content.encode()).decode())
