"""The demo city `bin/run` seeds passes the importer's own validation, whatever the day it is generated on."""
from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta

import pytest

from deploy.local import demo_city
from services.identity.domain import importing
from services.identity.domain.idcard import make_id_number
from services.identity.domain.lifecycle import STATUSES

# Four years from 1 January of the year before a leap year: every day of the calendar and every day's
# position from a 29 February (before, on, after; this year, last year, the years before).
CYCLE = [date(2027, 1, 1) + timedelta(days=n) for n in range(4 * 365 + 1)]


def branch_paths(orgs_csv: bytes) -> set[str]:
    """The branch paths (names below the city joined by "/") the importer resolves ``branch_ref`` against."""
    rows = {row["ref"]: row for row in csv.DictReader(io.StringIO(orgs_csv.decode()))}

    def path(row):
        parent = rows.get(row["parent_ref"])
        return (path(parent) + "/" if parent else "") + row["name"]
    return {path(row) for row in rows.values() if row["kind"] == "branch"}


@pytest.mark.parametrize("today", [date(2026, 12, 6), date(2028, 2, 29), date(2028, 3, 1), date(2029, 3, 1)])
def test_the_whole_demo_city_passes_the_importers_validation(today):
    orgs_csv, members_csv = demo_city.generate_demo_city(2026, today)

    org_rows = importing.read_table("csv", orgs_csv, importing.ORG_REQUIRED_COLUMNS)
    orgs, org_problems = importing.validate_org_rows(org_rows, "city")
    assert org_problems == [] and len(orgs) == len(org_rows)
    paths = branch_paths(orgs_csv)
    member_rows = importing.read_table("csv", members_csv, importing.MEMBER_REQUIRED_COLUMNS)
    members, problems = importing.validate_member_rows(member_rows, lambda ref: ref if ref in paths else None,
                                                       today)
    assert problems == [] and len(members) == len(member_rows) > 2500


class Ends:
    """A ``pick`` answering every choice with one end of its range (``high`` or low), except choice number
    ``flipped``, answered with the other end."""

    def __init__(self, high: bool, flipped: int = -1):
        self.high, self.flipped, self.calls = high, flipped, 0

    def __call__(self, low: int, high: int) -> int:
        use_high = self.high != (self.calls == self.flipped)
        self.calls += 1
        return high if use_high else low


def every_end(status: str, ages: tuple[int, int], today: date):
    """The generator's birth and step dates with all its choices at their low ends, at their high ends, and
    each of them flipped in turn: the rows against every bound the choices move towards."""
    counted = Ends(False)
    demo_city._steps(counted, status, demo_city._birth(counted, status, ages, today), today)
    for high in (False, True):
        for flipped in range(-1, counted.calls):
            pick = Ends(high, flipped)
            birth = demo_city._birth(pick, status, ages, today)
            yield birth, demo_city._steps(pick, status, birth, today)


def test_every_member_the_generator_can_make_passes_the_importer_on_every_day_of_a_four_year_cycle():
    tree = demo_city._build_tree(random.Random(2026))
    ages = (min(branch.ages[0] for branch in tree.branches), max(branch.ages[1] for branch in tree.branches))
    refused, checked = [], 0
    for today in CYCLE:
        rows = []
        for status in STATUSES:
            for birth, steps in every_end(status, ages, today):
                rows.append((len(rows) + 2, {
                    "branch_ref": "b", "name": "王伟", "gender": "男", "birth_date": birth.isoformat(),
                    "id_number": make_id_number("610702", birth, len(rows), "male"), "phone": "13800000000",
                    "status": status, **{column: day.isoformat() if day else "" for column, day in steps.items()}}))
        valid, problems = importing.validate_member_rows(rows, lambda ref: "org-b", today)
        refused += [(today.isoformat(), rows[problem["line"] - 2][1], problem["reason"]) for problem in problems]
        checked += len(valid)
    assert refused == []
    assert checked > len(CYCLE) * len(STATUSES) * 6      # every status, both ends and each choice flipped
