"""A dues standard set while its member moves, on the real store: ``set_standard`` reads the member (its branch and
path) and its account, then a transfer or a move of the member's branch commits, then the standard's write runs.
The race is made deterministic by running the move (through identity's own calls) just before the write. A transfer
refuses the standard (``DUES_STANDARD_CHANGED``: the caller reads the member again); a moved branch takes the
change to its new ancestors. Either way every standards total equals a recount from scratch."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from servicekit.errors import Conflict
from servicekit.process.clock import WallClock
from servicekit.security.scope import CallerScope
from services.identity.domain import dues
from services.identity.recount_dues import recount_tenant
from services.identity.store import IdentityStore
from services.identity.usecases.dues import Dues

pytestmark = pytest.mark.integration
CHINA = timezone(timedelta(hours=8))
MONTH = dues.shift(datetime.now(CHINA).strftime("%Y-%m"), -1)


@pytest.fixture
def dues_city(rpc, city):
    """b00: 迁移甲 (9,000 fen, or no standard yet when a test says so) and 留下乙 (20 fen); b10: 外县丙 (4,000)."""
    (b00, _), (b10, _) = city.branches
    members = {name: city.add_member(branch, name) for branch, name in (
        (b00, "迁移甲"), (b00, "留下乙"), (b10, "外县丙"))}
    for name, category, income_fen in (("留下乙", "student", 0), ("外县丙", "employed", 400_000)):
        rpc.identity.set_dues_standard(scope=city.admin, member_id=members[name]["id"], category=category,
                                       income_fen=income_fen, from_month=MONTH)
    return city, members


def with_first_standard(rpc, city, member: dict, first: bool) -> None:
    """Unless the race is about the member's first standard: 9,000 fen before it."""
    if not first:
        rpc.identity.set_dues_standard(scope=city.admin, member_id=member["id"], category="employed",
                                       income_fen=600_000, from_month=MONTH)


def set_standard_after(monkeypatch, store: IdentityStore, city, member: dict, between) -> dict:
    """``set_standard`` of ``member`` (student: 20 fen) by the city's admin in this process, on identity's store,
    with ``between()`` committed after the use case has read the member, its path and its account and before the
    standard's write (``set_dues_standard``) starts."""
    write = store.set_dues_standard

    def late(*args, **kwargs):
        between()
        return write(*args, **kwargs)
    monkeypatch.setattr(store, "set_dues_standard", late)
    return Dues(store, WallClock(), cipher=None).set_standard(CallerScope.from_dict(city.admin), member["id"],
                                                              "student", 0, 0, MONTH)


def standard_totals(rpc, city) -> dict[str, tuple[int, int]]:
    """{org id: (standard_fen, members_with_standard)} of every organisation, as identity answers them."""
    orgs = [city.root, *city.counties, *city.committees, *[b for pair in city.branches for b in pair]]
    rows = {}
    for org in orgs:
        row = rpc.identity.get_dues_totals(scope=city.admin, org_id=org["id"], month=MONTH)["total"]
        rows[org["id"]] = (row["standard_fen"], row["members_with_standard"])
    return rows


def assert_as_recounted(store: IdentityStore, city) -> None:
    differing = recount_tenant(store, city.tenant_id, dry_run=True).differing
    assert [(org_id, stored.values, recounted.values) for org_id, stored, recounted in differing] == []


@pytest.mark.parametrize("first", [False, True], ids=["changed standard", "first standard"])
def test_a_transfer_committed_before_the_write_refuses_the_standard(rpc, dues_city, identity_store, monkeypatch,
                                                                    first):
    city, members = dues_city
    (b00, _), (_, b11) = city.branches
    (county_a, county_b) = city.counties
    moving = members["迁移甲"]
    with_first_standard(rpc, city, moving, first)

    def transfer():
        transfer = rpc.identity.request_transfer(scope=city.admin, member_id=moving["id"], to_branch_id=b11["id"],
                                                 reason="工作调动")
        rpc.identity.accept_transfer(scope=city.admin, transfer_id=transfer["id"])

    try:
        set_standard_after(monkeypatch, identity_store, city, moving, transfer)
        refused = None
    except Conflict as error:
        refused = error.code
    assert_as_recounted(identity_store, city)       # first: what no race may break
    assert refused == "DUES_STANDARD_CHANGED"
    moved = 0 if first else 9_000
    totals = standard_totals(rpc, city)
    assert totals[b00["id"]] == totals[county_a["id"]] == (20, 1)
    assert totals[b11["id"]] == (moved, 0 if first else 1)
    assert totals[county_b["id"]] == (4_000 + moved, 1 if first else 2)

    # read again (now in b11), the same change is written on b11's path
    answer = rpc.identity.set_dues_standard(scope=city.admin, member_id=moving["id"], category="student",
                                            from_month=MONTH)
    assert answer["amount_fen"] == 20
    totals = standard_totals(rpc, city)
    assert totals[b11["id"]] == (20, 1) and totals[county_b["id"]] == (4_020, 2)
    assert totals[county_a["id"]] == (20, 1) and totals[city.root["id"]] == (4_040, 3)
    assert_as_recounted(identity_store, city)


@pytest.mark.parametrize("first", [False, True], ids=["changed standard", "first standard"])
def test_a_branch_moved_before_the_write_takes_the_change_to_its_new_ancestors(rpc, dues_city, identity_store,
                                                                               monkeypatch, first):
    city, members = dues_city
    (b00, _), _ = city.branches
    (county_a, county_b), (committee_a, committee_b) = city.counties, city.committees
    moving = members["迁移甲"]
    with_first_standard(rpc, city, moving, first)

    def move_branch():
        rpc.identity.move_org(scope=city.admin, org_id=b00["id"], new_parent_id=committee_b["id"])

    answer = set_standard_after(monkeypatch, identity_store, city, moving, move_branch)
    assert_as_recounted(identity_store, city)
    assert answer["amount_fen"] == 20
    totals = standard_totals(rpc, city)
    assert totals[b00["id"]] == (40, 2)
    assert totals[committee_a["id"]] == totals[county_a["id"]] == (0, 0)
    assert totals[committee_b["id"]] == totals[county_b["id"]] == (4_040, 3)
    assert totals[city.root["id"]] == (4_040, 3)
