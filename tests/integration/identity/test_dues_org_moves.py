"""A moved organisation's dues standards move with it, through identity's move_org on the real store: its old
ancestors stop counting them, its new ones count them, the ancestors on both keep them; its payments stay counted
where they were collected. Every standards total equals a recount from the members; a move back restores them."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from servicekit.errors import InvalidArgument, NotFound
from services.identity.domain import dues
from services.identity.recount_dues import expected_standards

pytestmark = pytest.mark.integration
CHINA = timezone(timedelta(hours=8))
MONTH = dues.shift(datetime.now(CHINA).strftime("%Y-%m"), -1)


@pytest.fixture
def dues_city(rpc, city):
    """County A: committee 0 with b00 (moved: 9,000 paid, 9,000 + 20 fen standards) and b01 (2,000 fen);
    county B: committee 1 with b10 (4,000 fen) and b11."""
    (b00, b01), (b10, _) = city.branches
    members = {name: city.add_member(branch, name) for branch, name in (
        (b00, "迁移甲"), (b00, "迁移乙"), (b01, "留下丙"), (b10, "外县丁"))}
    for name, category, income_fen in (("迁移甲", "employed", 600_000), ("迁移乙", "student", 0),
                                       ("留下丙", "retired", 400_000), ("外县丁", "employed", 400_000)):
        rpc.identity.set_dues_standard(scope=city.admin, member_id=members[name]["id"], category=category,
                                       income_fen=income_fen, from_month=MONTH)
    rpc.identity.record_dues_payment(scope=city.admin, member_id=members["迁移甲"]["id"], months=[MONTH],
                                     amount_fen=9_000)
    return city, members


def totals(rpc, city) -> dict[str, tuple]:
    """{org id: (paid_fen, paid_members, standard_fen, members_with_standard)} of every organisation, as read."""
    orgs = [city.root, *city.counties, *city.committees, *[b for pair in city.branches for b in pair]]
    rows = {}
    for org in orgs:
        row = rpc.identity.get_dues_totals(scope=city.admin, org_id=org["id"], month=MONTH)["total"]
        rows[org["id"]] = (row["paid_fen"], row["paid_members"], row["standard_fen"], row["members_with_standard"])
    return rows


def assert_as_recounted(store, city, read: dict[str, tuple]) -> None:
    expected = expected_standards(*store.dues_standard_sources(city.tenant_id))
    assert {org_id: row[2:] for org_id, row in read.items()} == {
        org_id: expected[org_id].values if org_id in expected else (0, 0) for org_id in read}


def test_a_moved_branch_takes_its_standards_to_its_new_ancestors_and_back(rpc, dues_city, identity_store):
    city, members = dues_city
    (b00, b01), (b10, b11) = city.branches
    (county_a, county_b), (committee_a, committee_b) = city.counties, city.committees
    before = totals(rpc, city)
    assert before[county_a["id"]] == (9_000, 1, 11_020, 3) and before[county_b["id"]] == (0, 0, 4_000, 1)
    assert_as_recounted(identity_store, city, before)

    # refused moves (a stranger's, a cycle, a kind not allowed there) change no totals
    with pytest.raises(NotFound):
        rpc.identity.move_org(scope=city.county_admins[0], org_id=b00["id"], new_parent_id=county_b["id"])
    for org, parent in ((committee_a, b00), (b00, b01)):
        with pytest.raises(InvalidArgument):
            rpc.identity.move_org(scope=city.admin, org_id=org["id"], new_parent_id=parent["id"])
    assert totals(rpc, city) == before

    # b00 goes straight under county B (one level up): committee 0 and county A lose its standards, county B gains
    # them, the city and b00 itself keep theirs; the month paid stays counted where it was collected
    rpc.identity.move_org(scope=city.admin, org_id=b00["id"], new_parent_id=county_b["id"])
    moved = totals(rpc, city)
    assert moved[b00["id"]] == before[b00["id"]] == (9_000, 1, 9_020, 2)
    assert moved[committee_a["id"]] == moved[county_a["id"]] == (9_000, 1, 2_000, 1)
    assert moved[county_b["id"]] == (0, 0, 13_020, 3) and moved[committee_b["id"]] == (0, 0, 4_000, 1)
    assert moved[city.root["id"]] == before[city.root["id"]] == (9_000, 1, 15_020, 4)
    assert_as_recounted(identity_store, city, moved)

    # back under committee 0: every total as before the move
    rpc.identity.move_org(scope=city.admin, org_id=b00["id"], new_parent_id=committee_a["id"])
    assert totals(rpc, city) == before

    # moved again, a moved member's new standard changes its new ancestors' totals by the difference
    rpc.identity.move_org(scope=city.admin, org_id=b00["id"], new_parent_id=committee_b["id"])
    rpc.identity.set_dues_standard(scope=city.county_admins[1], member_id=members["迁移甲"]["id"],
                                   category="employed", income_fen=400_000, from_month=MONTH)
    changed = totals(rpc, city)
    assert changed[b00["id"]] == (9_000, 1, 4_020, 2) and changed[county_a["id"]] == (9_000, 1, 2_000, 1)
    assert changed[committee_b["id"]] == changed[county_b["id"]] == (0, 0, 8_020, 3)
    assert changed[city.root["id"]] == (9_000, 1, 10_020, 4)
    assert_as_recounted(identity_store, city, changed)


def test_a_moved_committee_takes_the_standards_of_all_its_branches(rpc, dues_city, identity_store):
    city, members = dues_city
    (county_a, county_b), (committee_a, committee_b) = city.counties, city.committees
    before = totals(rpc, city)

    rpc.identity.move_org(scope=city.admin, org_id=committee_a["id"], new_parent_id=county_b["id"])
    moved = totals(rpc, city)
    assert moved[committee_a["id"]] == before[committee_a["id"]] == (9_000, 1, 11_020, 3)
    assert moved[county_a["id"]] == (9_000, 1, 0, 0) and moved[county_b["id"]] == (0, 0, 15_020, 4)
    assert moved[committee_b["id"]] == before[committee_b["id"]]
    assert moved[city.root["id"]] == before[city.root["id"]]
    assert_as_recounted(identity_store, city, moved)

    rpc.identity.set_dues_standard(scope=city.county_admins[1], member_id=members["留下丙"]["id"],
                                   category="student", from_month=MONTH)
    assert totals(rpc, city)[county_b["id"]] == (0, 0, 13_040, 4)
    assert_as_recounted(identity_store, city, totals(rpc, city))

    rpc.identity.move_org(scope=city.admin, org_id=committee_a["id"], new_parent_id=county_a["id"])
    back = totals(rpc, city)
    assert back[county_a["id"]] == (9_000, 1, 9_040, 3) and back[county_b["id"]] == before[county_b["id"]]
    assert_as_recounted(identity_store, city, back)
