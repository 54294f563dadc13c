"""services.identity.recount_dues over an in-memory store: what a member counts for, what differs, what is written."""
from __future__ import annotations

import copy

from servicekit.storage.subtree import ancestor_fields
from services.identity.recount_dues import Total, expected_standards, recount_dues, recount_tenant

CITY, COUNTY_1, COUNTY_2, BRANCH_1, BRANCH_2, BRANCH_3 = "root", "c1", "c2", "b1", "b2", "b3"
PATHS = {BRANCH_1: [CITY, COUNTY_1, BRANCH_1], BRANCH_2: [CITY, COUNTY_1, BRANCH_2],
         BRANCH_3: [CITY, COUNTY_2, BRANCH_3], "ob": ["other_root", "ob"]}     # ob: another tenant's branch


def member(member_id: str, branch: str, tenant_id: str = "ten_1") -> dict:
    return {"_id": member_id, "tenant_id": tenant_id, **ancestor_fields(PATHS[branch])}


class MemoryStore:
    """The four store calls the recount makes, over members, accounts and standards totals per tenant."""

    def __init__(self, members: list[dict], accounts: dict[str, dict], totals: dict[str, dict]):
        self.members, self.accounts, self.totals = members, accounts, totals      # totals: {org id: document}
        self.commits = 0
        self.between_reads = None           # called after the totals are read (a change made meanwhile)

    def tenant_ids(self):
        return sorted({m["tenant_id"] for m in self.members} | {t["tenant_id"] for t in self.totals.values()})

    def dues_standard_sources(self, tenant_id):
        return ([copy.deepcopy(m) for m in self.members if m["tenant_id"] == tenant_id],
                {member_id: dict(a) for member_id, a in self.accounts.items() if a["tenant_id"] == tenant_id})

    def dues_standard_totals(self, tenant_id, org_ids=None):
        found = {org_id: copy.deepcopy(t) for org_id, t in self.totals.items()
                 if t["tenant_id"] == tenant_id and (org_ids is None or org_id in org_ids)}
        if self.between_reads:
            self.between_reads()
            self.between_reads = None
        return found

    def rewrite_dues_standards(self, tenant_id, changes):
        for org_id, as_read, _ in changes:
            held = self.totals.get(org_id)
            if (held is None) != (as_read is None) or (
                    held and (held["due_fen"], held["members"]) != (as_read["due_fen"], as_read["members"])):
                return False
        self.commits += 1
        for org_id, _, new in changes:
            self.totals.setdefault(org_id, {"tenant_id": tenant_id, "parent_id": new["parent_id"]}).update(
                due_fen=new["due_fen"], members=new["members"])
        return True

    def values(self) -> dict[str, tuple[int, int]]:
        return {org_id: (t["due_fen"], t["members"]) for org_id, t in self.totals.items()}


def total(due_fen: int, members: int, tenant_id: str = "ten_1") -> dict:
    return {"tenant_id": tenant_id, "due_fen": due_fen, "members": members, "parent_id": None}


def test_each_member_with_an_account_counts_once_on_every_organisation_of_its_current_path():
    members = [member("m1", BRANCH_1), member("m2", BRANCH_1), member("m3", BRANCH_3), member("m4", BRANCH_2)]
    accounts = {"m1": {"counted_fen": 9_000}, "m2": {"counted_fen": 20}, "m3": {"counted_fen": 2_000},
                "m4": {"counted_fen": 0},            # a standard of nothing still counts its member
                "gone": {"counted_fen": 5_000}}      # a removed member's account counts nowhere
    # m5 has no account: no standard was ever set

    expected = expected_standards([*members, member("m5", BRANCH_2)], accounts)

    assert {org_id: t.values for org_id, t in expected.items()} == {
        CITY: (11_020, 4), COUNTY_1: (9_020, 3), BRANCH_1: (9_020, 2), BRANCH_2: (0, 1),
        COUNTY_2: (2_000, 1), BRANCH_3: (2_000, 1)}
    assert (expected[CITY].parent_id, expected[COUNTY_2].parent_id, expected[BRANCH_3].parent_id) == \
        (None, CITY, COUNTY_2)
    assert expected_standards([member("m1", BRANCH_1)], {"m1": {}})[BRANCH_1] == Total(0, 1, COUNTY_1)


def skewed_store() -> MemoryStore:
    """m1 (9,000) transferred from b1 to b3 and m2 (20) removed by the old code, which left both counted in b1."""
    members = [member("m1", BRANCH_3), member("m3", BRANCH_2), member("o1", "ob", "ten_2")]
    accounts = {"m1": {"tenant_id": "ten_1", "counted_fen": 9_000}, "m2": {"tenant_id": "ten_1", "counted_fen": 20},
                "m3": {"tenant_id": "ten_1", "counted_fen": 2_000},
                "o1": {"tenant_id": "ten_2", "counted_fen": 700}}
    totals = {CITY: total(11_020, 3), COUNTY_1: total(11_020, 3), BRANCH_1: total(9_020, 2),
              BRANCH_2: total(2_000, 1), "other_root": total(1, 1, "ten_2")}
    return MemoryStore(members, accounts, totals)


def test_the_differences_are_found_and_set_and_a_second_run_finds_none():
    store = skewed_store()

    dry = recount_tenant(store, "ten_1", dry_run=True)

    assert [(org_id, before.values, after.values) for org_id, before, after in dry.differing] == [
        (BRANCH_1, (9_020, 2), (0, 0)), (BRANCH_3, (0, 0), (9_000, 1)), (COUNTY_1, (11_020, 3), (2_000, 1)),
        (COUNTY_2, (0, 0), (9_000, 1)), (CITY, (11_020, 3), (11_000, 2))]
    assert dry.organisations == 6 and store.commits == 0 and BRANCH_3 not in store.totals

    done = recount_tenant(store, "ten_1", batch=3)

    assert (len(done.differing), done.written, done.changed, store.commits) == (5, 5, 0, 2)
    assert {org_id: v for org_id, v in store.values().items() if org_id != "other_root"} == {
        CITY: (11_000, 2), COUNTY_1: (2_000, 1), BRANCH_1: (0, 0), BRANCH_2: (2_000, 1), BRANCH_3: (9_000, 1),
        COUNTY_2: (9_000, 1)}
    assert store.totals[BRANCH_3]["parent_id"] == COUNTY_2
    assert store.values()["other_root"] == (1, 1)               # another tenant's: untouched
    again = recount_tenant(store, "ten_1")
    assert (again.differing, again.written, store.commits) == ([], 0, 2)


def test_without_a_tenant_every_tenant_is_recounted():
    store = skewed_store()

    results = recount_dues(store)

    assert [(r.tenant_id, len(r.differing), r.written) for r in results] == [("ten_1", 5, 5), ("ten_2", 2, 2)]
    assert (store.values()["other_root"], store.values()["ob"], store.values()[BRANCH_1]) == \
        ((700, 1), (700, 1), (0, 0))
    assert [len(r.differing) for r in recount_dues(store)] == [0, 0]


def test_a_total_changed_after_it_was_read_is_left_and_the_rest_of_its_batch_written():
    store = skewed_store()

    def changed_meanwhile():
        store.totals[COUNTY_1]["due_fen"] += 500            # identity counted a new standard meanwhile
    store.between_reads = changed_meanwhile

    result = recount_tenant(store, "ten_1")

    assert (result.written, result.changed) == (4, 1)
    assert store.values()[COUNTY_1] == (11_520, 3) and store.values()[BRANCH_1] == (0, 0)
