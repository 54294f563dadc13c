"""Rankings: competition ranking ("1224"), rank change against the previous period, chart data.

Only real scores are ranked: a row whose branch has not held its day (``held`` false; a row without the key is
held) comes after every scored row, unranked (rank 0), whatever its score field says."""
from __future__ import annotations

from bisect import bisect_left


def is_held(row: dict) -> bool:
    return row.get("held", True)


def ranking_order(row: dict, key: str = "score") -> tuple:
    """Scored rows best first, then the rows not held; equal scores by name, then id (a total order: ids are
    unique)."""
    held = is_held(row)
    return not held, -row[key] if held else 0, row.get("name", ""), row["id"]


class Ranked:
    """A competition ranking over rows already in ``ranking_order``, ranked on demand: a row's rank is one more
    than the number of rows scoring better, found by bisection, so ranking a page copies only that page
    (a city's 9,000 rows are ranked once per change of the scores, not copied on every call)."""

    __slots__ = ("rows", "key", "scored", "_negated")

    def __init__(self, ordered_rows: list[dict], key: str = "score"):
        self.rows = ordered_rows
        self.key = key
        self.scored = next((n for n, row in enumerate(ordered_rows) if not is_held(row)), len(ordered_rows))
        self._negated = [-row[key] for row in ordered_rows[:self.scored]]      # ascending, for bisection

    @classmethod
    def of(cls, rows, key: str = "score") -> "Ranked":
        return cls(sorted(rows, key=lambda row: ranking_order(row, key)), key)

    def __len__(self) -> int:
        return len(self.rows)

    def rank_at(self, position: int) -> int:
        """The competition rank of the row at ``position``; 0 for a row not held (unranked)."""
        if position >= self.scored:
            return 0
        return bisect_left(self._negated, self._negated[position]) + 1

    def ranks_by_id(self) -> dict:
        """Branch id -> rank of every scored row (rows not held have none)."""
        ranks, previous_score, rank = {}, None, 0
        for position, row in enumerate(self.rows[:self.scored], start=1):
            if row[self.key] != previous_score:
                rank, previous_score = position, row[self.key]
            ranks[row["id"]] = rank
        return ranks

    def page(self, skip: int, count: int, previous_ranks: dict | None = None) -> list[dict]:
        """Rows ``skip`` to ``skip + count`` with ``rank``; given the previous period's ranks by id, also
        ``previous_rank`` and ``rank_change`` (as ``with_changes`` adds them)."""
        answer = []
        for position in range(max(skip, 0), min(skip + count, len(self.rows))):
            row = {**self.rows[position], "rank": self.rank_at(position)}
            if previous_ranks is not None:
                old = previous_ranks.get(row["id"], 0)
                row.update(previous_rank=old, rank_change=(old - row["rank"]) if old and row["rank"] else 0)
            answer.append(row)
        return answer


def competition_ranks(rows: list[dict], key: str = "score") -> list[dict]:
    """Rows sorted best first (ties by name, then id), each with ``rank``: equal scores share a rank,
    the next rank skips as many places as were shared (1, 2, 2, 4)."""
    ranked = Ranked.of(rows, key)
    return ranked.page(0, len(ranked))


def with_changes(current: list[dict], previous: list[dict]) -> list[dict]:
    """Add ``previous_rank`` (0 when unranked before) and ``rank_change`` (positive = moved up)."""
    before = {row["id"]: row["rank"] for row in previous if row["rank"]}
    answer = []
    for row in current:
        old = before.get(row["id"], 0)
        answer.append({**row, "previous_rank": old, "rank_change": (old - row["rank"]) if old and row["rank"] else 0})
    return answer


def chart(rows: list[dict], label: str = "name", value: str = "score") -> dict:
    """Data for a bar chart, in drawing order."""
    return {"labels": [row[label] for row in rows], "values": [row[value] for row in rows]}
