"""list_accounts on the real service: who sees which accounts (the grant's organisation in the caller's subtree),
the role filter, paging, rows without secrets, and accounts following their organisation or member when moved."""
from __future__ import annotations

import secrets

import pytest

from servicekit.errors import InvalidArgument, NotFound, PermissionDenied
from servicekit.storage.mongo import open_store
from services.identity.store import IdentityStore
from tests.support.identity import PASSWORD, login

pytestmark = pytest.mark.integration
ROW_KEYS = {"id", "username", "roles", "member_id", "member_name", "created_at", "disabled"}


def listed(rpc, scope, org_id, **filters) -> dict[str, dict]:
    """Every account of the subtree, page by page (small pages, so paging is exercised), by username."""
    rows, token = [], ""
    while True:
        answer = rpc.identity.list_accounts(scope=scope, org_id=org_id, page_size=2, page_token=token, **filters)
        rows.extend(answer["accounts"])
        token = answer["next_page_token"]
        if not token:
            break
    by_name = {row["username"]: row for row in rows}
    assert len(by_name) == len(rows), "an account listed twice across pages"
    return by_name


@pytest.fixture
def staffed(rpc, city):
    """Each branch of the city with a secretary and a member with a login."""
    members = {}
    for county_index, branches in enumerate(city.branches, start=1):
        for branch_index, branch in enumerate(branches, start=1):
            tag = f"{county_index}-{branch_index}"
            rpc.identity.create_account(scope=city.admin, username=f"sec{tag}", password=PASSWORD,
                                        role="branch_secretary", org_id=branch["id"])
            members[tag] = city.add_member(branch, f"党员{tag}")
            rpc.identity.create_account(scope=city.admin, username=f"mem{tag}", password=PASSWORD, role="member",
                                        member_id=members[tag]["id"])
    return members


def test_the_city_admin_sees_every_account_of_the_city_with_names(rpc, city, staffed):
    rows = listed(rpc, city.admin, city.root["id"])
    assert set(rows) == {"city-admin", "county1", "county2", "sec1-1", "sec1-2", "sec2-1", "sec2-2",
                         "mem1-1", "mem1-2", "mem2-1", "mem2-2"}
    assert rows["county1"]["roles"] == [{"role": "org_admin", "org_id": city.counties[0]["id"], "org_name": "第1县"}]
    assert rows["sec2-1"]["roles"] == [{"role": "branch_secretary", "org_id": city.branches[1][0]["id"],
                                        "org_name": "第2镇第1支部"}]
    member = staffed["1-2"]
    assert rows["mem1-2"]["member_id"] == member["id"] and rows["mem1-2"]["member_name"] == "党员1-2"
    assert rows["mem1-2"]["roles"] == [{"role": "member", "org_id": city.branches[0][1]["id"],
                                        "org_name": "第1镇第2支部"}]
    assert rows["county1"]["member_id"] == "" and rows["county1"]["member_name"] == ""
    assert rows["city-admin"]["created_at"].endswith("Z") and rows["city-admin"]["created_at"] <= \
        rows["mem2-2"]["created_at"]


def test_rows_carry_nothing_secret(rpc, city, staffed):
    answer = rpc.identity.list_accounts(scope=city.admin, org_id=city.root["id"], page_size=500)
    assert answer["accounts"]
    for row in answer["accounts"]:
        assert set(row) == ROW_KEYS
        assert all(set(grant) == {"role", "org_id", "org_name"} for grant in row["roles"])
        text = repr(row)
        assert "argon2" not in text and "password" not in text and f"{city.tenant_id}:" not in text


def test_a_county_admin_sees_only_its_countys_accounts(rpc, city, staffed):
    rows = listed(rpc, city.county_admins[0], city.counties[0]["id"])
    assert set(rows) == {"county1", "sec1-1", "sec1-2", "mem1-1", "mem1-2"}
    for org in (city.counties[1], city.branches[1][0], city.root):
        with pytest.raises(NotFound) as refused:
            rpc.identity.list_accounts(scope=city.county_admins[0], org_id=org["id"])
        assert refused.value.code == "ORG_NOT_FOUND"


def test_a_branch_secretary_sees_only_its_branch(rpc, city, staffed):
    secretary = login(rpc, city.code, "sec1-1")
    rows = listed(rpc, secretary, city.branches[0][0]["id"])
    assert set(rows) == {"sec1-1", "mem1-1"}
    for org in (city.branches[0][1], city.committees[0], city.counties[0]):
        with pytest.raises(NotFound) as refused:
            rpc.identity.list_accounts(scope=secretary, org_id=org["id"])
        assert refused.value.code == "ORG_NOT_FOUND"


def test_a_member_cannot_list_accounts_even_of_its_own_branch(rpc, city, staffed):
    member = login(rpc, city.code, "mem1-1")
    with pytest.raises(PermissionDenied) as refused:
        rpc.identity.list_accounts(scope=member, org_id=city.branches[0][0]["id"])
    assert refused.value.code == "NOT_ORG_MANAGER"
    with pytest.raises(NotFound):
        rpc.identity.list_accounts(scope=member, org_id=city.branches[0][1]["id"])


def test_another_tenants_accounts_are_never_listed(rpc, city, other_city, staffed):
    assert set(listed(rpc, other_city.admin, other_city.root["id"])) == {"city-admin", "county1", "county2"}
    ids = {row["id"] for row in listed(rpc, other_city.admin, other_city.root["id"]).values()}
    assert not ids & {row["id"] for row in listed(rpc, city.admin, city.root["id"]).values()}
    for org_id in (city.root["id"], city.counties[0]["id"]):
        with pytest.raises(NotFound):
            rpc.identity.list_accounts(scope=other_city.admin, org_id=org_id)


def test_the_operator_lists_no_tenants_accounts(rpc, city, operator_scope):
    with pytest.raises(PermissionDenied) as refused:
        rpc.identity.list_accounts(scope=operator_scope, org_id=city.root["id"])
    assert refused.value.code == "TENANT_REQUIRED"


def test_the_role_filter_keeps_one_role(rpc, city, staffed):
    assert set(listed(rpc, city.admin, city.root["id"], role="org_admin")) == {"city-admin", "county1", "county2"}
    assert set(listed(rpc, city.county_admins[1], city.counties[1]["id"], role="branch_secretary")) == \
        {"sec2-1", "sec2-2"}
    assert set(listed(rpc, city.county_admins[0], city.branches[0][1]["id"], role="member")) == {"mem1-2"}
    assert listed(rpc, city.county_admins[0], city.branches[0][1]["id"], role="org_admin") == {}


@pytest.mark.parametrize("role", ["operator", "admin", "Member"])
def test_an_unknown_role_filter_is_refused(rpc, city, role):
    with pytest.raises(InvalidArgument) as refused:
        rpc.identity.list_accounts(scope=city.admin, org_id=city.root["id"], role=role)
    assert (refused.value.code, refused.value.field) == ("UNKNOWN_VALUE", "role")


def test_bad_paging_is_refused(rpc, city):
    with pytest.raises(InvalidArgument) as refused:
        rpc.identity.list_accounts(scope=city.admin, org_id=city.root["id"], page_size=501)
    assert refused.value.code == "PAGE_SIZE_TOO_LARGE"
    with pytest.raises(InvalidArgument) as refused:
        rpc.identity.list_accounts(scope=city.admin, org_id=city.root["id"], page_token="not-a-token")
    assert refused.value.code == "PAGE_TOKEN_INVALID"


def test_a_transferred_members_login_is_listed_by_its_new_county(rpc, city, staffed):
    moving = staffed["1-1"]
    transfer = rpc.identity.request_transfer(scope=city.county_admins[0], member_id=moving["id"],
                                             to_branch_id=city.branches[1][1]["id"])
    rpc.identity.accept_transfer(scope=city.county_admins[1], transfer_id=transfer["id"])
    assert "mem1-1" not in listed(rpc, city.county_admins[0], city.counties[0]["id"])
    rows = listed(rpc, city.county_admins[1], city.counties[1]["id"], role="member")
    assert rows["mem1-1"]["roles"] == [{"role": "member", "org_id": city.branches[1][1]["id"],
                                        "org_name": "第2镇第2支部"}]
    assert "sec1-1" in listed(rpc, city.county_admins[0], city.counties[0]["id"])      # the office stays


def test_accounts_follow_their_organisation_when_it_moves(rpc, city, staffed):
    # the same depth: the first county's committee (with its branches) under the second county
    rpc.identity.move_org(scope=city.admin, org_id=city.committees[0]["id"], new_parent_id=city.counties[1]["id"])
    assert set(listed(rpc, city.county_admins[0], city.counties[0]["id"])) == {"county1"}
    assert set(listed(rpc, city.county_admins[1], city.counties[1]["id"], role="branch_secretary")) == \
        {"sec1-1", "sec1-2", "sec2-1", "sec2-2"}
    # a level up: a branch straight under the first county again
    moved = rpc.identity.move_org(scope=city.admin, org_id=city.branches[0][0]["id"],
                                  new_parent_id=city.counties[0]["id"])
    assert (moved["level"], moved["parent_id"]) == (2, city.counties[0]["id"])
    assert set(listed(rpc, city.county_admins[0], city.counties[0]["id"])) == {"county1", "sec1-1", "mem1-1"}
    assert set(listed(rpc, city.county_admins[0], city.counties[0]["id"], role="member")) == {"mem1-1"}
    assert set(listed(rpc, city.county_admins[1], city.committees[0]["id"])) == {"sec1-2", "mem1-2"}


@pytest.fixture
def store(mongo_uri):
    store = open_store(IdentityStore, f"accounts{secrets.token_hex(4)}", mongo_uri)
    yield store
    store.client.drop_database(store.db.name)


def test_accounts_stored_before_placement_are_placed_once_at_start(store):
    root = {"_id": "org-root", "tenant_id": "t1", "name": "市", "kind": "city", "level": 0, "a0": "org-root"}
    branch = {"_id": "org-b", "tenant_id": "t1", "name": "支部", "kind": "branch", "level": 1, "a0": "org-root",
              "a1": "org-b"}
    store.db.orgs.insert_many([root, branch])
    store.db.accounts.insert_many([
        {"_id": "acc-admin", "tenant_id": "t1", "username": "admin", "login_key": "t1:admin", "password_hash": "h",
         "roles": [{"role": "org_admin", "org_id": "org-root"}], "member_id": None, "created_at": "2026-01-01"},
        {"_id": "acc-sec", "tenant_id": "t1", "username": "sec", "login_key": "t1:sec", "password_hash": "h",
         "roles": [{"role": "branch_secretary", "org_id": "org-b"}], "member_id": None, "created_at": "2026-01-02"},
        {"_id": "acc-op", "tenant_id": None, "username": "operator", "login_key": ":operator", "password_hash": "h",
         "roles": [{"role": "operator", "org_id": None}], "member_id": None, "created_at": "2026-01-01"}])
    assert store.accounts_in(root, "", 0, 10) == []       # the marker says done: nothing placed on its own
    store.db.migrations.delete_one({"_id": "account_places"})

    assert store.place_accounts() == 2
    assert [a["_id"] for a in store.accounts_in(root, "", 0, 10)] == ["acc-admin", "acc-sec"]
    assert [a["_id"] for a in store.accounts_in(root, "branch_secretary", 0, 10)] == ["acc-sec"]
    assert [a["_id"] for a in store.accounts_in(branch, "", 0, 10)] == ["acc-sec"]
    assert "password_hash" not in store.accounts_in(root, "", 0, 10)[0]
    assert store.place_accounts() == 0                    # once: the next start does nothing
