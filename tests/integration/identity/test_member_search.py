"""Member search (list_members ``q``) through the real identity service, and its keys on the real store."""
from __future__ import annotations

import base64
import secrets
from datetime import date

import pytest

from servicekit.errors import InvalidArgument, NotFound
from servicekit.storage.mongo import open_store
from services.identity.domain.search import member_keys, parse_query
from services.identity.store import IdentityStore
from tests.support.identity import new_unique_id_number

pytestmark = pytest.mark.integration


def names(rpc, scope, org, q, **filters) -> list[str]:
    return [m["name"] for m in rpc.identity.list_members(scope=scope, org_id=org["id"], q=q, **filters)["members"]]


@pytest.fixture
def people(city):
    """张小明 and 张伟 in county 1, 李小明 and 王芳 in county 2, each with a phone of its own."""
    branches = city.branches
    return {
        "张小明": city.add_member(branches[0][0], "张小明", phone="13911110001"),
        "张伟": city.add_member(branches[0][1], "张伟", phone="13922220002", mobile=True),
        "李小明": city.add_member(branches[1][0], "李小明", phone="13933330003"),
        "王芳": city.add_member(branches[1][1], "王芳", phone="13944440001"),
    }


def test_a_name_is_found_by_its_surname_any_part_or_whole(rpc, city, people):
    root = city.root
    assert sorted(names(rpc, city.admin, root, "张")) == ["张伟", "张小明"]
    assert sorted(names(rpc, city.admin, root, "小明")) == ["张小明", "李小明"]
    assert names(rpc, city.admin, root, "张小明") == ["张小明"]
    assert names(rpc, city.admin, root, " 张小明 ") == ["张小明"]
    assert names(rpc, city.admin, root, "明") == sorted(["张小明", "李小明"], key=lambda n: people[n]["id"])
    assert names(rpc, city.admin, root, "赵") == []


def test_a_phone_is_found_by_its_whole_number_or_its_last_four_digits(rpc, city, people):
    root = city.root
    assert names(rpc, city.admin, root, "13933330003") == ["李小明"]
    assert names(rpc, city.admin, root, "139-3333-0003") == ["李小明"]
    assert sorted(names(rpc, city.admin, root, "0001")) == ["张小明", "王芳"]
    assert names(rpc, city.admin, root, "13933330004") == []
    assert names(rpc, city.admin, root, "3333") == []        # the middle of a number is not a tail


def test_a_search_keeps_the_filters_and_pages(rpc, city, people):
    root = city.root
    assert names(rpc, city.admin, root, "张", mobile=True) == ["张伟"]
    assert names(rpc, city.admin, root, "张", status="applicant") == []
    first = rpc.identity.list_members(scope=city.admin, org_id=root["id"], q="张", page_size=1)
    second = rpc.identity.list_members(scope=city.admin, org_id=root["id"], q="张", page_size=1,
                                       page_token=first["next_page_token"])
    assert first["next_page_token"] and second["next_page_token"] == ""
    assert sorted(m["name"] for m in first["members"] + second["members"]) == ["张伟", "张小明"]


def test_a_search_stays_in_the_requested_subtree(rpc, city, people):
    county_1, county_2 = city.county_admins
    assert names(rpc, county_1, city.counties[0], "小明") == ["张小明"]
    assert names(rpc, county_1, city.counties[0], "李小明") == []          # only in the other county
    assert names(rpc, county_1, city.counties[0], "13933330003") == []
    assert names(rpc, county_2, city.counties[1], "0001") == ["王芳"]
    assert names(rpc, city.admin, city.branches[0][1], "张") == ["张伟"]
    with pytest.raises(NotFound):
        rpc.identity.list_members(scope=county_1, org_id=city.counties[1]["id"], q="李小明")


def test_a_search_never_finds_another_tenants_members(rpc, city, other_city, people):
    other_city.add_member(other_city.branches[0][0], "张小明", phone="13911110001")
    assert names(rpc, other_city.admin, other_city.root, "张") == ["张小明"]
    assert names(rpc, other_city.admin, other_city.root, "李小明") == []
    assert names(rpc, other_city.admin, other_city.root, "0003") == []
    assert [m["tenant_id"] for m in rpc.identity.list_members(
        scope=city.admin, org_id=city.root["id"], q="张小明")["members"]] == [city.tenant_id]
    with pytest.raises(NotFound):
        rpc.identity.list_members(scope=other_city.admin, org_id=city.root["id"], q="张")


def test_a_branch_member_finds_peers_by_name_but_not_by_phone(rpc, city, people):
    me = city.add_member(city.branches[0][0], "赵六", phone="13955550005")
    scope = city.member_login(me, f"zhao{secrets.token_hex(3)}")
    branch = city.branches[0][0]
    found = rpc.identity.list_members(scope=scope, org_id=branch["id"], q="小明")["members"]
    assert [(m["name"], m["phone"]) for m in found] == [("张小明", "")]
    assert names(rpc, scope, branch, "13911110001") == [] and names(rpc, scope, branch, "0001") == []


@pytest.mark.parametrize("q, code", [
    ("张" * 33, "TOO_LONG"), ("张\x07三", "CONTROL_CHARACTERS"), ("12345", "PHONE_QUERY_INVALID"),
    (7, "INVALID_TYPE"),
])
def test_a_bad_query_is_refused_with_its_code(rpc, city, q, code):
    with pytest.raises(InvalidArgument) as error:
        rpc.identity.list_members(scope=city.admin, org_id=city.root["id"], q=q)
    assert (error.value.code, error.value.field) == (code, "q")


def test_a_changed_name_or_phone_is_found_by_its_new_value_only(rpc, city, people):
    member = people["王芳"]
    rpc.identity.update_member(scope=city.admin, member_id=member["id"], name="王芳华")
    assert names(rpc, city.admin, city.root, "芳华") == ["王芳华"]
    rpc.identity.update_member(scope=city.admin, member_id=member["id"], phone="13966660006")
    assert names(rpc, city.admin, city.root, "0006") == ["王芳华"]
    assert names(rpc, city.admin, city.root, "13944440001") == []
    assert names(rpc, city.admin, city.root, "王芳华") == ["王芳华"]       # the name kept by the phone change
    rpc.identity.update_member(scope=city.admin, member_id=member["id"], name="周敏")
    assert names(rpc, city.admin, city.root, "芳") == [] and names(rpc, city.admin, city.root, "周敏") == ["周敏"]


def test_a_transferred_member_is_found_in_its_new_subtree_only(rpc, city, people):
    member = people["张伟"]
    transfer = rpc.identity.request_transfer(scope=city.county_admins[0], member_id=member["id"],
                                             to_branch_id=city.branches[1][0]["id"])
    rpc.identity.accept_transfer(scope=city.county_admins[1], transfer_id=transfer["id"])
    assert names(rpc, city.county_admins[1], city.counties[1], "张") == ["张伟"]
    assert names(rpc, city.county_admins[0], city.counties[0], "张") == ["张小明"]


def test_imported_members_are_found(rpc, city):
    header = "branch_ref,name,gender,birth_date,id_number,phone,education,status,applied_on,activist_on," \
             "development_target_on,probationary_on,full_on,enrolment,mobile\n"
    rows = []
    for index, name in enumerate(["欧阳小明", "诸葛亮"]):
        number = new_unique_id_number(date(1986, 3, 1 + index))
        birth = f"{number[6:10]}-{number[10:12]}-{number[12:14]}"
        rows.append(f"第2县/第2镇党委/第2镇第1支部,{name},男,{birth},{number},1397777100{index},本科,full,"
                    f"2010-01-01,2010-06-01,2011-07-01,2012-07-01,2013-07-01,none,false\n")
    rpc.identity.import_members(scope=city.admin, org_id=city.root["id"], format="csv",
                                content=base64.b64encode((header + "".join(rows)).encode()).decode())
    assert names(rpc, city.county_admins[1], city.counties[1], "阳小") == ["欧阳小明"]
    assert names(rpc, city.county_admins[1], city.counties[1], "1001") == ["诸葛亮"]


@pytest.fixture
def store(mongo_uri):
    store = open_store(IdentityStore, f"search{secrets.token_hex(4)}", mongo_uri)
    yield store
    store.client.drop_database(store.db.name)


def stored_member(member_id: str, name: str, phone: str) -> dict:
    return {"_id": member_id, "tenant_id": "ten_x", "branch_id": "org_b", "a0": "org_city", "a1": "org_b",
            "a2": None, "a3": None, "a4": None, "a5": None, "name": name, "phone": phone, "status": "full",
            "id_number_index": secrets.token_hex(8)}


def test_members_stored_before_search_are_keyed_once_at_start_up(store):
    store.db.migrations.delete_many({})           # as a store of the version before
    store.db.members.insert_many([stored_member(f"mem_{n}", name, f"1380000000{n}")
                                  for n, name in enumerate(["张小明", "李四", "王五"])])
    store.db.members.insert_one({**stored_member("mem_new", "赵六", "13800000009"),
                                 "search": member_keys("赵六", "13800000009")})
    assert store.key_member_search(batch=2) == 3
    assert store.db.members.find_one({"_id": "mem_0"})["search"] == member_keys("张小明", "13800000000")
    city = {"_id": "org_city", "tenant_id": "ten_x", "a0": "org_city"}
    found = store.search_members(city, parse_query("小明").conditions(), {}, 0, 10)
    assert [m["_id"] for m in found] == ["mem_0"]
    store.db.members.update_one({"_id": "mem_1"}, {"$unset": {"search": ""}})
    assert store.key_member_search() == 0         # done: not walked again
