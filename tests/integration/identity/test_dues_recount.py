"""python -m services.identity.recount_dues on the real store: standards totals skewed as the code before
``move_dues_standard`` left them (a transfer and a removal that moved no standard) are recounted, read back through
identity's own totals call; a dry run writes nothing, a second run finds nothing, another tenant is not touched."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from servicekit.storage.subtree import ancestor_fields, path_of
from services.identity import recount_dues
from services.identity.domain import dues

pytestmark = pytest.mark.integration
CHINA = timezone(timedelta(hours=8))


def last_month() -> str:
    return dues.shift(datetime.now(CHINA).strftime("%Y-%m"), -1)


def run(capsys, *arguments: str) -> tuple[int, list[str], dict]:
    """The command in this process (MONGO_URI and DB_PREFIX are the session's): exit code, lines, summary."""
    code = recount_dues.main(list(arguments))
    lines = capsys.readouterr().out.strip().splitlines()
    return code, lines[:-1], json.loads(lines[-1])


def test_skewed_standards_totals_are_recounted_and_only_the_tenant_asked_for(rpc, city, other_city, identity_store,
                                                                              capsys):
    month = last_month()

    def standard(town, member: dict, category: str, income_fen: int = 0) -> int:
        return rpc.identity.set_dues_standard(scope=town.admin, member_id=member["id"], category=category,
                                              income_fen=income_fen, from_month=month)["amount_fen"]

    def totals(town, org: dict) -> tuple:
        total = rpc.identity.get_dues_totals(scope=town.admin, org_id=org["id"], month=month)["total"]
        return total["paid_fen"], total["paid_members"], total["standard_fen"], total["members_with_standard"]

    (b00, b01), (b10, b11) = city.branches
    moved, removed, stays, other = (city.add_member(branch, name) for branch, name in (
        (b00, "调出甲"), (b00, "删除乙"), (b01, "留下丙"), (b10, "外县丁")))
    a_moved, a_removed = standard(city, moved, "employed", 600_000), standard(city, removed, "student")
    a_stays, a_other = standard(city, stays, "retired", 400_000), standard(city, other, "employed", 400_000)
    assert (a_moved, a_removed, a_stays, a_other) == (9_000, 20, 2_000, 4_000)
    rpc.identity.record_dues_payment(scope=city.admin, member_id=moved["id"], months=[month], amount_fen=a_moved)
    elsewhere = other_city.add_member(other_city.branches[0][0], "他市戊")
    standard(other_city, elsewhere, "student")

    # as the code before move_dues_standard did: a transfer and a removal that leave the standards where they were
    b11_path = path_of(identity_store.org(b11["id"]))
    identity_store.db.members.update_one({"_id": moved["id"]}, {"$set": {"branch_id": b11["id"],
                                                                         **ancestor_fields(b11_path)}})
    identity_store.db.members.delete_one({"_id": removed["id"]})
    identity_store.db.dues_totals.update_one({"_id": f"{other_city.branches[0][0]['id']}:standard"},
                                             {"$inc": {"due_fen": 123}})
    skewed = {b00["id"]: (a_moved, 1, a_moved + a_removed, 2), b11["id"]: (0, 0, 0, 0),
              city.counties[0]["id"]: (a_moved, 1, a_moved + a_removed + a_stays, 3),
              city.counties[1]["id"]: (0, 0, a_other, 1),
              city.root["id"]: (a_moved, 1, a_moved + a_removed + a_stays + a_other, 4)}
    orgs = [b00, b01, b10, b11, *city.committees, *city.counties, city.root]
    skewed_now = {org["id"]: totals(city, org) for org in orgs}
    assert {org_id: skewed_now[org_id] for org_id in skewed} == skewed

    code, lines, summary = run(capsys, "--tenant", city.tenant_id, "--dry-run")

    # b00, its committee and county, b11, its committee and county, the root
    assert (code, summary["differing"], summary["written"]) == (recount_dues.DIFFERENCES, 7, 0)
    assert lines[0] == f"tenant {city.tenant_id}: 7 of 9 organisations differ"
    assert f"  {b00['id']}: stored {a_moved + a_removed} fen, 2 members; recounted 0 fen, 0 members" in lines
    assert {org["id"]: totals(city, org) for org in orgs} == skewed_now            # nothing written

    code, lines, summary = run(capsys, "--tenant", city.tenant_id)

    assert (code, summary["differing"], summary["written"], summary["changed"]) == (0, 7, 7, 0)
    # the standards follow the members as they are now; the paid month stays with the branch that collected it
    right = {b00["id"]: (a_moved, 1, 0, 0), b01["id"]: (0, 0, a_stays, 1), b10["id"]: (0, 0, a_other, 1),
             b11["id"]: (0, 0, a_moved, 1), city.committees[0]["id"]: (a_moved, 1, a_stays, 1),
             city.counties[0]["id"]: (a_moved, 1, a_stays, 1), city.committees[1]["id"]: (0, 0, a_moved + a_other, 2),
             city.counties[1]["id"]: (0, 0, a_moved + a_other, 2),
             city.root["id"]: (a_moved, 1, a_moved + a_stays + a_other, 3)}
    assert {org["id"]: totals(city, org) for org in orgs} == right
    assert totals(other_city, other_city.branches[0][0]) == (0, 0, 20 + 123, 1)      # another tenant: as it was

    code, lines, summary = run(capsys, "--tenant", city.tenant_id, "--dry-run")
    assert (code, summary["differing"], lines) == (0, 0, [f"tenant {city.tenant_id}: 0 of 9 organisations differ"])

    # the live code goes on from the recounted totals: a new standard moves them by its difference
    assert standard(city, moved, "employed", 400_000) == 4_000
    assert totals(city, b11) == (0, 0, 4_000, 1) and totals(city, city.root)[2:] == (4_000 + a_stays + a_other, 3)


def test_an_unknown_tenant_is_refused(identity_store, capsys):
    assert recount_dues.main(["--tenant", "ten_no_such", "--dry-run"]) == recount_dues.UNKNOWN_TENANT


def test_a_batch_is_written_only_if_every_total_still_holds_what_was_read(scratch_store):
    held = {"_id": "org_b:standard", "org_id": "org_b", "tenant_id": "ten_1", "month": "standard",
            "parent_id": "org_c", "due_fen": 500, "members": 2}
    scratch_store.db.dues_totals.insert_one(held)
    new = {"due_fen": 20, "members": 1, "parent_id": "org_c"}

    misread = {**held, "due_fen": 400}
    assert not scratch_store.rewrite_dues_standards("ten_1", [("org_a", None, new), ("org_b", misread, new)])
    assert not scratch_store.rewrite_dues_standards("ten_1", [("org_a", None, new), ("org_b", None, new)])
    assert scratch_store.dues_standard_totals("ten_1", ["org_a", "org_b"]) == {"org_b": held}   # nothing of either

    assert scratch_store.rewrite_dues_standards("ten_1", [("org_a", None, new), ("org_b", held, new)])
    stored = scratch_store.dues_standard_totals("ten_1", ["org_a", "org_b"])
    assert {org_id: (t["due_fen"], t["members"], t["parent_id"]) for org_id, t in stored.items()} == {
        "org_a": (20, 1, "org_c"), "org_b": (20, 1, "org_c")}
    assert stored["org_a"]["month"] == "standard" and stored["org_a"]["tenant_id"] == "ten_1"
