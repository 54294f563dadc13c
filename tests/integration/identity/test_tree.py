import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied

pytestmark = pytest.mark.integration


def test_city_admin_lists_the_whole_tree_root_first(rpc, city):
    answer = rpc.identity.list_subtree(scope=city.admin, org_id=city.root["id"], page_size=100)
    orgs = answer["orgs"]
    assert orgs[0]["id"] == city.root["id"]
    assert len(orgs) == 1 + 2 + 2 + 4
    branch = next(org for org in orgs if org["kind"] == "branch")
    assert branch["level"] == 3 and branch["path_names"][0] == "测试市"
    assert answer["next_page_token"] == ""


def test_subtree_pages_follow_each_other_without_gaps(rpc, city):
    first = rpc.identity.list_subtree(scope=city.admin, org_id=city.root["id"], page_size=4)
    second = rpc.identity.list_subtree(scope=city.admin, org_id=city.root["id"], page_size=4,
                                       page_token=first["next_page_token"])
    third = rpc.identity.list_subtree(scope=city.admin, org_id=city.root["id"], page_size=4,
                                      page_token=second["next_page_token"])
    ids = [org["id"] for page in (first, second, third) for org in page["orgs"]]
    assert len(ids) == len(set(ids)) == 9 and third["next_page_token"] == ""


def test_county_admin_sees_only_its_county(rpc, city):
    county_one = city.county_admins[0]
    orgs = rpc.identity.list_subtree(scope=county_one, org_id=city.counties[0]["id"])["orgs"]
    assert {org["id"] for org in orgs} >= {city.counties[0]["id"], city.committees[0]["id"]}
    assert city.counties[1]["id"] not in {org["id"] for org in orgs}
    for org_id in (city.counties[1]["id"], city.root["id"], city.branches[1][0]["id"]):
        with pytest.raises(NotFound):
            rpc.identity.get_org(scope=county_one, org_id=org_id)
        with pytest.raises(NotFound):
            rpc.identity.list_subtree(scope=county_one, org_id=org_id)


def test_another_tenants_admin_gets_not_found_for_every_tree_operation(rpc, city, other_city):
    stranger = other_city.admin
    target = city.branches[0][0]["id"]
    calls = [
        lambda: rpc.identity.get_org(scope=stranger, org_id=target),
        lambda: rpc.identity.list_subtree(scope=stranger, org_id=city.root["id"]),
        lambda: rpc.identity.update_org(scope=stranger, org_id=target, name="改名"),
        lambda: rpc.identity.move_org(scope=stranger, org_id=target, new_parent_id=city.committees[1]["id"]),
        lambda: rpc.identity.dissolve_org(scope=stranger, org_id=target),
        lambda: rpc.identity.create_org(scope=stranger, parent_id=city.committees[0]["id"], name="x", kind="branch"),
    ]
    for call in calls:
        with pytest.raises(NotFound):
            call()
    assert rpc.identity.get_org(scope=city.admin, org_id=target)["name"] == "第1镇第1支部"


def test_rename_changes_the_name_and_keeps_the_place(rpc, city):
    branch = city.branches[0][0]
    renamed = rpc.identity.update_org(scope=city.county_admins[0], org_id=branch["id"], name="新名字支部",
                                      field="community")
    assert renamed["name"] == "新名字支部" and renamed["field"] == "community"
    assert rpc.identity.get_org(scope=city.admin, org_id=branch["id"])["path_ids"] == branch["path_ids"]


def test_moving_a_committee_carries_its_branches_and_members(rpc, city):
    committee, member = city.committees[0], city.add_member(city.branches[0][0])
    moved = rpc.identity.move_org(scope=city.admin, org_id=committee["id"], new_parent_id=city.counties[1]["id"])
    assert moved["path_ids"] == [city.root["id"], city.counties[1]["id"], committee["id"]]
    branch = rpc.identity.get_org(scope=city.admin, org_id=city.branches[0][0]["id"])
    assert branch["path_ids"][:2] == [city.root["id"], city.counties[1]["id"]]
    assert member["id"] in {m["id"] for m in rpc.identity.list_members(
        scope=city.county_admins[1], org_id=city.counties[1]["id"])["members"]}
    with pytest.raises(NotFound):
        rpc.identity.get_member(scope=city.county_admins[0], member_id=member["id"])


def test_a_node_cannot_move_into_its_own_subtree(rpc, city):
    with pytest.raises(InvalidArgument) as error:
        rpc.identity.move_org(scope=city.admin, org_id=city.counties[0]["id"],
                              new_parent_id=city.committees[0]["id"])
    assert error.value.code in ("MOVE_INTO_OWN_SUBTREE", "KIND_NOT_ALLOWED_HERE")


def test_county_admin_cannot_move_or_dissolve_its_own_county(rpc, city):
    with pytest.raises(PermissionDenied):
        rpc.identity.dissolve_org(scope=city.county_admins[0], org_id=city.counties[0]["id"])


def test_dissolving_needs_an_empty_node(rpc, city):
    branch = city.branches[0][0]
    city.add_member(branch)
    with pytest.raises(Conflict) as error:
        rpc.identity.dissolve_org(scope=city.admin, org_id=branch["id"])
    assert error.value.code == "ORG_HAS_MEMBERS"
    with pytest.raises(Conflict):
        rpc.identity.dissolve_org(scope=city.admin, org_id=city.committees[0]["id"])
    empty = city.branches[0][1]
    assert rpc.identity.dissolve_org(scope=city.admin, org_id=empty["id"]) == {}
    with pytest.raises(NotFound):
        rpc.identity.get_org(scope=city.admin, org_id=empty["id"])


def test_a_branch_cannot_hold_a_county(rpc, city):
    with pytest.raises(InvalidArgument) as error:
        rpc.identity.create_org(scope=city.admin, parent_id=city.branches[0][0]["id"], name="错误", kind="county")
    assert error.value.code == "KIND_NOT_ALLOWED_HERE" and error.value.field == "kind"
