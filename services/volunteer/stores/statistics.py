"""Reads for hours and statistics over the order side's collections (``orders``, the ``hours`` ledger): no
collection of its own, no writes.

A mixin of ``services.volunteer.store.VolunteerStore``. At city scale (100,000 orders, 300,000 ledger entries in a
tenant) every read asks by one indexed field (a subtree's ancestor field, a member id) with the rest of its filter
checked on each hit (nx-27017 plans with single-field indexes only, and its ``count_documents`` scans). Subtree reads
are aggregations nx-27017 runs as SQL: a ``find`` projection is applied in Python to whole documents (an order carries
its history), ``$project`` is not; ``$group`` stays in SQL with ``$sum`` and ``$max``, not ``$first``.
"""
from __future__ import annotations

from servicekit.storage.subtree import subtree_filter

ORDER_STATISTICS_FIELDS = ("status", "category", "placed_at", "dispatched_at", "first_claimed_at", "completed_at",
                           "rating")


def _between(field: str, low: str, high: str) -> dict:
    bounds = {**({"$gte": low} if low else {}), **({"$lt": high} if high else {})}
    return {field: bounds} if bounds else {}


class StatisticsRecords:
    collections: dict[str, list] = {}

    # --- a member's hours -------------------------------------------------------------------------
    def hours_of_member(self, member_id: str, skip: int = 0, limit: int = 0) -> list[dict]:
        """A member's ledger entries, the latest first."""
        cursor = self.db.hours.find({"member_id": member_id}).sort([("credited_at", -1), ("_id", -1)])
        return list(cursor.skip(skip).limit(limit))

    def total_hours_of_member(self, member_id: str) -> float:
        return sum(float(doc.get("hours") or 0) for doc in self.db.hours.find({"member_id": member_id}, {"hours": 1}))

    def hours_by_member_at(self, pairs) -> dict[tuple[str, str], float]:
        """Hours per (member, community) for these pairs: what reported members served in their community."""
        wanted = set(pairs)
        members = list({member_id for member_id, _ in wanted})
        totals: dict[tuple[str, str], float] = {pair: 0.0 for pair in wanted}
        if not members:
            return totals
        for doc in self.db.hours.find({"member_id": {"$in": members}}, {"member_id": 1, "community_id": 1, "hours": 1}):
            key = (doc["member_id"], doc.get("community_id"))
            if key in totals:
                totals[key] += float(doc.get("hours") or 0)
        return totals

    # --- a subtree over a period --------------------------------------------------------------------
    def orders_placed_under(self, path_ids: list[str], since: str, until: str) -> list[dict]:
        """The timing, status, category and rating of the orders of a subtree's communities placed in
        [``since``, ``until``) (stamps; "" is open-ended)."""
        query = {**subtree_filter(path_ids), **_between("placed_at", since, until)}
        return list(self.db.orders.aggregate([{"$match": query},
                                              {"$project": {"_id": 0, **{f: 1 for f in ORDER_STATISTICS_FIELDS}}}]))

    def hours_sum_under(self, side: str, path_ids: list[str], since_day: str, until_day: str) -> float:
        """The hours credited on days in [``since_day``, ``until_day``] ("" is open-ended) of a subtree: ``side``
        "a" for service in the subtree's communities and teams, "b" for the subtree's members."""
        found = list(self.db.hours.aggregate([{"$match": _hours_match(side, path_ids, since_day, until_day)},
                                              {"$group": {"_id": None, "hours": {"$sum": "$hours"}}}]))
        return float(found[0]["hours"] or 0) if found else 0.0

    def hours_totals_under(self, side: str, path_ids: list[str], since_day: str, until_day: str,
                           group_field: str, limit: int | None = None) -> dict[str, dict]:
        """``{id: {hours, name}}`` per ``group_field`` (member_id, branch_id or community_id) over the same entries
        as ``hours_sum_under``, the ``limit`` with the most hours (all without one); ``name`` is the member's name
        kept on its entries (by member only)."""
        group = {"_id": f"${group_field}", "hours": {"$sum": "$hours"}}
        if group_field == "member_id":
            group["name"] = {"$max": "$member_name"}
        pipeline = [{"$match": _hours_match(side, path_ids, since_day, until_day)}, {"$group": group}]
        if limit:
            pipeline += [{"$sort": {"hours": -1, "_id": 1}}, {"$limit": limit}]
        return {row["_id"]: {"hours": float(row["hours"] or 0), "name": row.get("name") or ""}
                for row in self.db.hours.aggregate(pipeline)}


def _hours_match(side: str, path_ids: list[str], since_day: str, until_day: str) -> dict:
    days = {**({"$gte": since_day} if since_day else {}), **({"$lte": until_day} if until_day else {})}
    return {f"{side}{len(path_ids) - 1}": path_ids[-1], **({"day": days} if days else {})}
