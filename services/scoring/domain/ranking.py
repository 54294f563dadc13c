"""Rankings: competition ranking ("1224"), rank change against the previous period, chart data."""
from __future__ import annotations


def competition_ranks(rows: list[dict], key: str = "score") -> list[dict]:
    """Rows sorted best first (ties by name, then id), each with ``rank``: equal scores share a rank,
    the next rank skips as many places as were shared (1, 2, 2, 4)."""
    ordered = sorted(rows, key=lambda row: (-row[key], row.get("name", ""), row["id"]))
    ranked, previous_score, previous_rank = [], None, 0
    for position, row in enumerate(ordered, start=1):
        rank = previous_rank if row[key] == previous_score else position
        ranked.append({**row, "rank": rank})
        previous_score, previous_rank = row[key], rank
    return ranked


def with_changes(current: list[dict], previous: list[dict]) -> list[dict]:
    """Add ``previous_rank`` (0 when unranked before) and ``rank_change`` (positive = moved up)."""
    before = {row["id"]: row["rank"] for row in previous}
    answer = []
    for row in current:
        old = before.get(row["id"], 0)
        answer.append({**row, "previous_rank": old, "rank_change": (old - row["rank"]) if old else 0})
    return answer


def chart(rows: list[dict], label: str = "name", value: str = "score") -> dict:
    """Data for a bar chart, in drawing order."""
    return {"labels": [row[label] for row in rows], "values": [row[value] for row in rows]}
