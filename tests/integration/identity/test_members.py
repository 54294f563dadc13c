import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied

from tests.support.identity import member_fields

pytestmark = pytest.mark.integration


def test_a_new_member_is_stored_with_a_masked_id_number(rpc, city):
    fields = member_fields(city.branches[0][0]["id"], "李四")
    member = rpc.identity.create_member(scope=city.county_admins[0], **fields)
    assert member["id_number_masked"] == fields["id_number"][:6] + "********" + fields["id_number"][-4:]
    assert fields["id_number"] not in str(member)
    assert [step["status"] for step in member["status_history"]] == [
        "applicant", "activist", "development_target", "probationary", "full"]
    assert rpc.identity.get_member(scope=city.admin, member_id=member["id"])["name"] == "李四"


def test_the_same_id_number_cannot_join_twice(rpc, city):
    fields = member_fields(city.branches[0][0]["id"])
    rpc.identity.create_member(scope=city.admin, **fields)
    with pytest.raises(Conflict) as error:
        rpc.identity.create_member(scope=city.admin, **{**fields, "branch_id": city.branches[1][0]["id"]})
    assert error.value.code == "MEMBER_EXISTS" and error.value.field == "id_number"


def test_bad_member_input_is_refused_with_its_field_and_nothing_is_stored(rpc, city):
    branch = city.branches[0][0]
    before = rpc.identity.list_members(scope=city.admin, org_id=branch["id"])["members"]
    for override, field in [({"phone": "12345"}, "phone"), ({"gender": "x"}, "gender"),
                            ({"id_number": "610702199005171230"}, "id_number"),
                            ({"status": "nonsense"}, "status")]:
        with pytest.raises(InvalidArgument) as error:
            rpc.identity.create_member(scope=city.admin, **member_fields(branch["id"], **override))
        assert error.value.field == field, override
    with pytest.raises(InvalidArgument) as error:
        rpc.identity.create_member(scope=city.admin, **member_fields(branch["id"], name=123))
    assert rpc.identity.list_members(scope=city.admin, org_id=branch["id"])["members"] == before


def test_members_join_branches_only(rpc, city):
    with pytest.raises(InvalidArgument) as error:
        rpc.identity.create_member(scope=city.admin, **member_fields(city.committees[0]["id"]))
    assert error.value.code == "NOT_A_BRANCH"


def test_member_operations_refuse_other_counties_and_tenants(rpc, city, other_city):
    member = city.add_member(city.branches[0][0])
    for stranger in (city.county_admins[1], other_city.admin):
        calls = [
            lambda: rpc.identity.get_member(scope=stranger, member_id=member["id"]),
            lambda: rpc.identity.update_member(scope=stranger, member_id=member["id"], phone="13900000000"),
            lambda: rpc.identity.remove_member(scope=stranger, member_id=member["id"]),
            lambda: rpc.identity.change_member_status(scope=stranger, member_id=member["id"], status="full",
                                                      on="2020-01-01"),
            lambda: rpc.identity.list_members(scope=stranger, org_id=city.branches[0][0]["id"]),
            lambda: rpc.identity.create_member(scope=stranger, **member_fields(city.branches[0][0]["id"])),
        ]
        for call in calls:
            with pytest.raises(NotFound):
                call()
    assert rpc.identity.get_member(scope=city.admin, member_id=member["id"])["phone"] == "13800138000"


def test_a_member_sees_itself_and_its_branch_but_changes_nothing(rpc, city):
    me = city.add_member(city.branches[0][0], "王五")
    peer = city.add_member(city.branches[0][0], "赵六")
    elsewhere = city.add_member(city.branches[0][1], "钱七")
    scope = city.member_login(me, "wangwu")
    assert rpc.identity.get_member(scope=scope, member_id=me["id"])["name"] == "王五"
    listed = rpc.identity.list_members(scope=scope, org_id=city.branches[0][0]["id"])["members"]
    peer_view = next(view for view in listed if view["id"] == peer["id"])
    assert peer_view["name"] == "赵六" and peer_view["phone"] == "" and peer_view["id_number_masked"] == ""
    assert rpc.identity.get_org(scope=scope, org_id=city.branches[0][0]["id"])["kind"] == "branch"
    with pytest.raises(NotFound):
        rpc.identity.get_member(scope=scope, member_id=peer["id"])
    with pytest.raises(NotFound):
        rpc.identity.get_member(scope=scope, member_id=elsewhere["id"])
    with pytest.raises(NotFound):
        rpc.identity.get_org(scope=scope, org_id=city.committees[0]["id"])
    with pytest.raises(PermissionDenied):
        rpc.identity.update_member(scope=scope, member_id=me["id"], name="改名")
    with pytest.raises(PermissionDenied):
        rpc.identity.create_member(scope=scope, **member_fields(city.branches[0][0]["id"]))


def test_status_steps_advance_one_at_a_time_with_the_one_year_rules(rpc, city):
    member = city.add_member(city.branches[0][0], status="activist",
                             status_dates={"applicant": "2023-01-10", "activist": "2023-06-01"})
    with pytest.raises(Conflict) as error:
        rpc.identity.change_member_status(scope=city.admin, member_id=member["id"], status="probationary",
                                          on="2024-08-01")
    assert error.value.code == "STATUS_STEP_INVALID"
    with pytest.raises(Conflict) as error:
        rpc.identity.change_member_status(scope=city.admin, member_id=member["id"], status="development_target",
                                          on="2024-05-31")
    assert error.value.code == "STATUS_INTERVAL_TOO_SHORT"
    advanced = rpc.identity.change_member_status(scope=city.admin, member_id=member["id"],
                                                 status="development_target", on="2024-06-01")
    assert advanced["status"] == "development_target"
    assert advanced["status_history"][-1] == {"status": "development_target", "on": "2024-06-01"}


def test_updates_change_only_the_updatable_fields(rpc, city):
    member = city.add_member(city.branches[0][0])
    updated = rpc.identity.update_member(scope=city.admin, member_id=member["id"], phone="13911112222", mobile=True)
    assert updated["phone"] == "13911112222" and updated["mobile"] is True
    with pytest.raises(InvalidArgument):
        rpc.identity.update_member(scope=city.admin, member_id=member["id"], phone="999")
    assert rpc.identity.get_member(scope=city.admin, member_id=member["id"])["phone"] == "13911112222"


def test_removing_a_member_removes_its_login(rpc, city):
    member = city.add_member(city.branches[0][0])
    city.member_login(member, "leaving")
    assert rpc.identity.remove_member(scope=city.admin, member_id=member["id"]) == {}
    with pytest.raises(NotFound):
        rpc.identity.get_member(scope=city.admin, member_id=member["id"])
    from servicekit.errors import Unauthenticated
    from tests.support.identity import login
    with pytest.raises(Unauthenticated):
        login(rpc, city.code, "leaving")


def test_oversized_pages_and_forged_page_tokens_are_refused(rpc, city):
    with pytest.raises(InvalidArgument) as error:
        rpc.identity.list_members(scope=city.admin, org_id=city.root["id"], page_size=501)
    assert error.value.code == "PAGE_SIZE_TOO_LARGE"
    with pytest.raises(InvalidArgument) as error:
        rpc.identity.list_members(scope=city.admin, org_id=city.root["id"], page_token="not-a-token")
    assert error.value.code == "PAGE_TOKEN_INVALID"
