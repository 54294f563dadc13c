"""Where an account is listed (its placement fields) and what a row of list_accounts shows."""
from services.identity.store import account_place, accounts_filter
from services.identity.views import account_entry

BRANCH = {"_id": "org-b", "tenant_id": "t1", "a0": "org-root", "a1": "org-county", "a2": "org-b"}


def test_an_account_is_placed_on_its_grants_path_with_and_without_its_role():
    place = account_place("member", ["org-root", "org-county", "org-b"])
    assert [place[f"a{level}"] for level in range(6)] == ["org-root", "org-county", "org-b", None, None, None]
    assert [place[f"ra{level}"] for level in range(6)] == [
        "member:org-root", "member:org-county", "member:org-b", None, None, None]


def test_a_subtree_is_one_equality_on_the_level_of_its_root():
    assert accounts_filter(BRANCH) == {"a2": "org-b"}
    assert accounts_filter(BRANCH, "branch_secretary") == {"ra2": "branch_secretary:org-b"}


def test_a_row_names_its_fields_and_nothing_else_of_the_stored_account():
    stored = {"_id": "acc-1", "tenant_id": "t1", "username": "wang", "login_key": "t1:wang",
              "password_hash": "$argon2id$v=19$secret", "last_login_at": "2026-12-01T00:00:00Z",
              "password_reset_at": "2026-12-01T00:00:00Z", "created_at": "2026-11-30T08:00:00.000Z",
              "roles": [{"role": "member", "org_id": "org-b"}], "member_id": "mem-1",
              **account_place("member", ["org-root", "org-county", "org-b"])}
    row = account_entry(stored, {"org-b": {"_id": "org-b", "name": "第一党支部"}}, {"mem-1": "王五"})
    assert row == {"id": "acc-1", "username": "wang", "member_id": "mem-1", "member_name": "王五",
                   "roles": [{"role": "member", "org_id": "org-b", "org_name": "第一党支部"}],
                   "created_at": "2026-11-30T08:00:00.000Z", "disabled": False}
    assert account_entry({**stored, "disabled": True, "disabled_reason": "离职"}, {}, {})["disabled"] is True
    unlinked = account_entry({**stored, "member_id": None, "roles": [{"role": "org_admin", "org_id": "org-gone"}]},
                             {}, {})
    assert (unlinked["member_id"], unlinked["member_name"], unlinked["roles"][0]["org_name"]) == ("", "", "")
