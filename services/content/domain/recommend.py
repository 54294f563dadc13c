"""The recommender (兴趣推荐、学习短板分析): pure scoring of candidate items for one member, with the reason shown,
and the gap analysis of a member or a branch from quiz answer statistics.

A member's signals, each a distribution over tags:
- interest from reading: the tags of what it opened, recent reads weighing more (``READ_DECAY`` per read back);
- interest from searching: tags its recent queries name (a tag inside the query, or the query inside a tag);
- learning gaps: quiz categories (the same words as item tags) answered at least ``MIN_ANSWERS`` times with a
  correct rate under ``GAP_RATE``, the weakest weighing most.
An item's score is how likely the member is to open it under a mixture: pick a signal by its weight, a tag by the
signal's distribution, then an item of that tag by its popularity among the candidates of that tag (read counts,
smoothed, so a new item has a chance); plus a share of plain popularity. Reading and searching weigh less while
they rest on few reads or searches (``EVIDENCE``). So interest picks the tags and
popularity the items within them. The reason shown is the signal and tag that contributed most. Picks are greedy
with a penalty per earlier pick of the same reason, so one strong interest does not fill the list. Candidates are
whatever the caller may see: visibility is the use case's concern, as is the bound on how many candidates come in.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

MIN_ANSWERS = 5            # answers in a category before its rate counts as a gap (fewer say little)
GAP_RATE = 0.7             # a correct rate below this is a gap
MAX_GAPS = 3
READ_DECAY = 0.95          # weight of a read relative to the next more recent one
SEARCH_DECAY = 0.8
# the mixture's weights (renormalised over the signals a member has)
READ_WEIGHT = 0.5
SEARCH_WEIGHT = 0.2
GAP_WEIGHT = 0.3
POPULAR_WEIGHT = 0.15
SMOOTHING = 1.0            # reads added to every candidate's count: a new item is not invisible
# A signal drawn from a few reads or searches says little: its weight is scaled by n / (n + EVIDENCE).
EVIDENCE = 3
REPEAT_PENALTY = 0.75      # a pick's score is multiplied by this per earlier pick with the same reason
DEFAULT_LIMIT = 10
MAX_LIMIT = 50
RECOMMENDED_KINDS = ("article", "learning", "download")    # notices reach everyone through the feed already

GAP, READING, SEARCH, POPULAR, NEW = "gap", "reading", "search", "popular", "new"
REASON_KINDS = (GAP, READING, SEARCH, POPULAR, NEW)


@dataclass(frozen=True)
class Gap:
    category: str
    answered: int
    correct: int

    @property
    def rate(self) -> float:
        return self.correct / self.answered if self.answered else 0.0

    @property
    def percent(self) -> int:
        return int(round(100 * self.rate))

    def view(self) -> dict:
        return {"category": self.category, "answered": self.answered, "correct": self.correct,
                "rate": round(self.rate, 4), "percent": self.percent}


def gap_reason(gap: Gap) -> str:
    return f"{gap.category} 类题目正确率 {gap.percent}%"


def reading_reason(tag: str) -> str:
    return f"您常阅读「{tag}」相关内容"


def search_reason(query: str) -> str:
    return f"您搜索过「{query}」"


POPULAR_REASON, NEW_REASON = "近期热门", "最新发布"


def _count(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def gaps(stats, min_answers: int = MIN_ANSWERS, below: float = GAP_RATE, most: int | None = MAX_GAPS) -> list[Gap]:
    """The categories whose answers show a gap, weakest first (ties: more answers first, then by name): at least
    ``min_answers`` answers, correct rate under ``below``. ``stats``: rows ``{category, answered, correct}``;
    rows of one category are summed (a branch's members)."""
    totals: dict[str, list[int]] = {}
    for row in stats or ():
        category = row.get("category")
        if not isinstance(category, str) or not category:
            continue
        answered = _count(row.get("answered"))
        total = totals.setdefault(category, [0, 0])
        total[0] += answered
        total[1] += min(_count(row.get("correct")), answered)
    found = [Gap(category, answered, correct) for category, (answered, correct) in totals.items()
             if answered >= min_answers and correct / answered < below]
    found.sort(key=lambda gap: (gap.rate, -gap.answered, gap.category))
    return found if most is None else found[:most]


def category_rates(stats, min_answers: int = MIN_ANSWERS) -> list[dict]:
    """Every category of ``stats`` with its summed answers and rate, weakest first; ``gap`` tells whether it
    counts as one (enough answers, rate under ``GAP_RATE``)."""
    weak = {gap.category for gap in gaps(stats, min_answers, most=None)}
    every = gaps(stats, min_answers=1, below=math.inf, most=None)
    return [{**gap.view(), "gap": gap.category in weak} for gap in every]


def branch_categories(stats, min_answers: int = MIN_ANSWERS) -> list[dict]:
    """A branch's categories (rows per member and category), weakest first: the summed answers and rate, whether
    the branch as a whole has a gap there, how many members answered and for how many it is a gap of their own."""
    answered_by: dict[str, set[str]] = {}
    weak_for: dict[str, set[str]] = {}
    by_member: dict[str, list[dict]] = {}
    for row in stats or ():
        member_id = row.get("member_id")
        if isinstance(member_id, str) and member_id:
            by_member.setdefault(member_id, []).append(row)
    for member_id, rows in by_member.items():
        for gap in gaps(rows, min_answers, most=None):
            weak_for.setdefault(gap.category, set()).add(member_id)
        for row in rows:
            if _count(row.get("answered")) and isinstance(row.get("category"), str) and row["category"]:
                answered_by.setdefault(row["category"], set()).add(member_id)
    return [{**rate, "members": len(answered_by.get(rate["category"], ())),
             "members_with_gap": len(weak_for.get(rate["category"], ()))}
            for rate in category_rates(stats, min_answers)]


def reading_interest(reads) -> dict[str, float]:
    """Tag -> share of the member's reading (recent reads first in ``reads``; each read's tags share its
    weight)."""
    weights: dict[str, float] = {}
    for position, read in enumerate(reads or ()):
        tags = [tag for tag in dict.fromkeys(read.get("tags") or ()) if isinstance(tag, str) and tag]
        for tag in tags:
            weights[tag] = weights.get(tag, 0.0) + READ_DECAY ** position / len(tags)
    return _shares(weights)


def search_interest(searches, vocabulary) -> tuple[dict[str, float], dict[str, str]]:
    """Tag -> share of the member's recent searches that name it, and tag -> the latest query naming it.
    A search names a tag when the tag is inside the query or the query (two characters or more) inside the
    tag; only tags of ``vocabulary`` (the candidates') can be named."""
    weights: dict[str, float] = {}
    queries: dict[str, str] = {}
    for position, search in enumerate(searches or ()):
        query = (search.get("query") or "").strip()
        if not query:
            continue
        named = [tag for tag in vocabulary if tag in query or (len(query) >= 2 and query in tag)]
        for tag in named:
            weights[tag] = weights.get(tag, 0.0) + SEARCH_DECAY ** position / len(named)
            queries.setdefault(tag, query)
    return _shares(weights), queries


def _confidence(rows) -> float:
    count = len(rows or ())
    return count / (count + EVIDENCE)


def _shares(weights: dict[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    return {tag: weight / total for tag, weight in weights.items()} if total else {}


@dataclass
class _Scored:
    item: dict
    score: float
    reason_kind: str
    reason: str
    reason_key: str


def gap_interest(found: list[Gap]) -> dict[str, float]:
    """Category -> share of the gap signal: the weaker, the more (1 - rate)."""
    return _shares({gap.category: 1 - gap.rate for gap in found})


def recommend(candidates, reads=(), searches=(), stats=(), exclude=(), limit: int = DEFAULT_LIMIT,
              min_answers: int = MIN_ANSWERS) -> list[dict]:
    """Up to ``limit`` candidates for the member, best first, each ``{item_id, title, kind, summary, tags,
    published_at, score, reason_kind, reason}``. ``candidates``: items (``_id``, ``tags``, ``kind``,
    ``read_count``, ``published_at``); ``reads`` and ``searches``: the member's, most recent first; ``stats``:
    its quiz answers per category; ``exclude``: item ids it has read or studied (its reads' items are excluded
    too)."""
    excluded = set(exclude) | {read.get("item_id") for read in reads or ()}
    pool = [item for item in candidates or () if item.get("_id") not in excluded
            and item.get("kind", RECOMMENDED_KINDS[0]) in RECOMMENDED_KINDS]
    if not pool or limit <= 0:
        return []
    tags_of = {item["_id"]: [tag for tag in dict.fromkeys(item.get("tags") or ()) if isinstance(tag, str) and tag]
               for item in pool}
    vocabulary = {tag for tags in tags_of.values() for tag in tags}
    weak = gaps(stats, min_answers)
    searching, queries = search_interest(searches, vocabulary)
    signals = [(kind, weight, shares) for kind, weight, shares in (
        (READING, READ_WEIGHT * _confidence(reads), reading_interest(reads)),
        (SEARCH, SEARCH_WEIGHT * _confidence(searches), searching),
        (GAP, GAP_WEIGHT, gap_interest(weak))) if shares]
    total = sum(weight for _, weight, _ in signals) + POPULAR_WEIGHT
    signals = [(kind, weight / total, shares) for kind, weight, shares in signals]
    popularity = {item["_id"]: _count(item.get("read_count")) + SMOOTHING for item in pool}
    tag_mass: dict[str, float] = {}
    for item_id, tags in tags_of.items():
        for tag in tags:
            tag_mass[tag] = tag_mass.get(tag, 0.0) + popularity[item_id]
    everyone = sum(popularity.values())
    reasons = {GAP: {gap.category: gap_reason(gap) for gap in weak}, SEARCH: {t: search_reason(q) for t, q in
                                                                              queries.items()}}
    scored = []
    for item in pool:
        item_id = item["_id"]
        parts = [(weight * shares[tag] * popularity[item_id] / tag_mass[tag], kind, tag)
                 for kind, weight, shares in signals for tag in tags_of[item_id] if tag in shares]
        plain = POPULAR_WEIGHT / total * popularity[item_id] / everyone
        score = sum(part[0] for part in parts) + plain
        if parts:
            _, kind, tag = max(parts, key=lambda part: (part[0], -REASON_KINDS.index(part[1])))
            reason = reasons[kind][tag] if kind in reasons else reading_reason(tag)
            scored.append(_Scored(item, score, kind, reason, f"{kind}:{tag}"))
        elif _count(item.get("read_count")):
            scored.append(_Scored(item, score, POPULAR, POPULAR_REASON, POPULAR))
        else:
            scored.append(_Scored(item, score, NEW, NEW_REASON, NEW))
    return [_view(pick) for pick in _pick(scored, limit)]


def _pick(scored: list[_Scored], limit: int) -> list[_Scored]:
    """Greedy picks: each round the best score after ``REPEAT_PENALTY`` per earlier pick of the same reason; of
    equal scores the newest item first."""
    remaining = sorted(scored, key=lambda s: s.item["_id"])
    remaining.sort(key=lambda s: s.item.get("published_at") or "", reverse=True)
    remaining.sort(key=lambda s: -s.score)
    picked: list[_Scored] = []
    used: dict[str, int] = {}
    while remaining and len(picked) < limit:
        best = max(range(len(remaining)), key=lambda i: (
            remaining[i].score * REPEAT_PENALTY ** used.get(remaining[i].reason_key, 0), -i))
        choice = remaining.pop(best)
        used[choice.reason_key] = used.get(choice.reason_key, 0) + 1
        picked.append(choice)
    return picked


def _view(pick: _Scored) -> dict:
    item = pick.item
    return {"item_id": item["_id"], "title": item.get("title", ""), "kind": item.get("kind", ""),
            "summary": item.get("summary", ""), "tags": list(item.get("tags") or ()),
            "published_at": item.get("published_at") or "", "score": round(pick.score, 4),
            "reason_kind": pick.reason_kind, "reason": pick.reason}


def most_popular(candidates, exclude=(), limit: int = DEFAULT_LIMIT) -> list[dict]:
    """The baseline the benchmark compares against: the most read candidates not excluded."""
    excluded = set(exclude)
    pool = [item for item in candidates or () if item.get("_id") not in excluded]
    pool.sort(key=lambda item: (-_count(item.get("read_count")), item["_id"]))
    return pool[:limit]
