"""Benchmark: the recommender (services/content/domain/recommend.py) measured offline on simulated histories.

    .venv/bin/python -m bench.recommendations [--members 1500] [--items 1500] [--holdout 0.2] [--seed 7]

The simulation: a catalogue of items, each with one to three tags from the shared vocabulary (the quiz
categories are tags too) and a popularity drawn from a heavy-tailed distribution; members with latent interests
over the tags (sparse: most weight on two or three) and latent weak quiz categories. Each member's reads follow
its interests and the items' popularity, with a share spent studying its weak categories (what a member does
after its quiz results) and a share on whatever is popular; its searches name its interests; its quiz answers
are right less often in its weak categories. The last ``--holdout`` of each member's reads is held out; the
items' read counts come from the other reads only.

For each member every method ranks the catalogue minus what it read before the held-out slice, and the bench
prints, per method: hit rate at 10 (members with at least one held-out read in their ten), recall at 10 (the
held-out reads found, averaged over members), gap coverage (members with a gap whose ten hold an item of a gap
category), and the time per member. Methods: most popular (the baseline), the recommender on reading and
searching alone, on gaps alone, and whole; and an oracle ranking by the simulation's own hidden probabilities,
the ceiling any method could reach on these histories.
"""
from __future__ import annotations

import argparse
import random
import time
from dataclasses import dataclass, field

from services.content.domain import recommend

CATEGORIES = ["党章", "党史", "理论学习", "党纪法规", "时事政策"]
TAGS = CATEGORIES + ["乡村振兴", "基层治理", "廉政建设", "志愿服务", "红色文化", "科技创新", "生态文明"]
QUERY_SUFFIXES = ["", "学习", "心得", "知识", "要点"]
TOP = 10


@dataclass
class Member:
    member_id: str
    interest: list[float]
    weak: set[str]
    reads: list[str] = field(default_factory=list)
    searches: list[dict] = field(default_factory=list)
    stats: list[dict] = field(default_factory=list)


def dirichlet(rng: random.Random, alpha: float, size: int) -> list[float]:
    draws = [rng.gammavariate(alpha, 1.0) for _ in range(size)]
    total = sum(draws) or 1.0
    return [draw / total for draw in draws]


def catalogue(rng: random.Random, count: int) -> list[dict]:
    tag_weights = [1.0 / (rank + 1) ** 0.6 for rank in range(len(TAGS))]
    items = []
    for n in range(count):
        tags = []
        for _ in range(rng.choice([1, 1, 2, 2, 3])):
            tag = rng.choices(TAGS, tag_weights)[0]
            if tag not in tags:
                tags.append(tag)
        items.append({"_id": f"itm_{n:05d}", "title": f"第{n}篇", "kind": rng.choice(["article", "article", "learning"]),
                      "tags": tags, "quality": rng.lognormvariate(0, 1.0),
                      "published_at": f"2026-{1 + n * 11 // count:02d}-{1 + n % 28:02d}T00:00:00.000Z"})
    return items


def simulate(rng: random.Random, members: int, items: list[dict], weak_share: float,
             popular_share: float) -> list[Member]:
    by_tag = {tag: [item for item in items if tag in item["tags"]] for tag in TAGS}
    weights_by_tag = {tag: [item["quality"] for item in found] for tag, found in by_tag.items()}
    popular_weights = [item["quality"] ** 1.5 for item in items]
    people = []
    for n in range(members):
        weak = set(rng.sample(CATEGORIES, rng.choice([0, 1, 1, 2])))
        member = Member(f"m{n:05d}", dirichlet(rng, 0.3, len(TAGS)), weak)
        seen: set[str] = set()
        for _ in range(rng.randint(10, 50)):
            for _attempt in range(5):
                roll = rng.random()
                if weak and roll < weak_share:
                    tag = rng.choice(sorted(weak))
                    item = rng.choices(by_tag[tag], weights_by_tag[tag])[0]
                elif roll < weak_share + popular_share:
                    item = rng.choices(items, popular_weights)[0]
                else:
                    tag = rng.choices(TAGS, member.interest)[0]
                    if not by_tag[tag]:
                        continue
                    item = rng.choices(by_tag[tag], weights_by_tag[tag])[0]
                if item["_id"] not in seen:
                    seen.add(item["_id"])
                    member.reads.append(item["_id"])
                    break
        for _ in range(rng.randint(0, 6)):
            tag = rng.choices(TAGS, member.interest)[0]
            member.searches.insert(0, {"query": tag + rng.choice(QUERY_SUFFIXES)})
        for category in CATEGORIES:
            answered = rng.randint(0, 20)
            right = 0.45 if category in weak else 0.88
            member.stats.append({"category": category, "answered": answered,
                                 "correct": sum(rng.random() < right for _ in range(answered))})
        people.append(member)
    return people


def oracle(member: Member, items: list[dict], by_tag: dict, exclude: set[str], weak_share: float,
           popular_share: float) -> list[dict]:
    """The ceiling: items ranked by the very probabilities the simulation drew reads from (latent interests, weak
    categories and qualities, which no method sees)."""
    tag_quality = {tag: sum(item["quality"] for item in found) for tag, found in by_tag.items()}
    popular_total = sum(item["quality"] ** 1.5 for item in items)
    weak = sorted(member.weak)
    interest_share = 1 - popular_share - (weak_share if weak else 0)
    interest = dict(zip(TAGS, member.interest))

    def chance(item: dict) -> float:
        value = popular_share * item["quality"] ** 1.5 / popular_total
        for tag in item["tags"]:
            value += interest_share * interest[tag] * item["quality"] / tag_quality[tag]
            if tag in member.weak:
                value += weak_share / len(weak) * item["quality"] / tag_quality[tag]
        return value
    ranked = sorted((item for item in items if item["_id"] not in exclude), key=chance, reverse=True)
    return ranked[:TOP]


def evaluate(people: list[Member], items: list[dict], holdout: float, weak_share: float = 0.2,
             popular_share: float = 0.15) -> list[dict]:
    by_id = {item["_id"]: item for item in items}
    split = {}
    counts: dict[str, int] = {}
    for member in people:
        keep = max(1, int(round(len(member.reads) * (1 - holdout))))
        split[member.member_id] = (member.reads[:keep], set(member.reads[keep:]))
        for item_id in member.reads[:keep]:
            counts[item_id] = counts.get(item_id, 0) + 1
    candidates = [{**item, "read_count": counts.get(item["_id"], 0)} for item in items]
    by_tag = {tag: [item for item in items if tag in item["tags"]] for tag in TAGS}
    methods = {
        "most popular (baseline)": lambda m, reads: recommend.most_popular(candidates, {r["item_id"] for r in reads},
                                                                           TOP),
        "interest only": lambda m, reads: recommend.recommend(candidates, reads, m.searches, (), limit=TOP),
        "gaps only": lambda m, reads: recommend.recommend(candidates, (), (), m.stats,
                                                          {r["item_id"] for r in reads}, limit=TOP),
        "recommender": lambda m, reads: recommend.recommend(candidates, reads, m.searches, m.stats, limit=TOP),
        "oracle (latent truth, the ceiling)": lambda m, reads: oracle(m, items, by_tag, {r["item_id"] for r in reads},
                                                                      weak_share, popular_share),
    }
    rows = []
    for name, rank in methods.items():
        hits = recall = gap_members = gap_covered = 0
        evaluated = 0
        started = time.perf_counter()
        for member in people:
            train, held = split[member.member_id]
            if not held:
                continue
            evaluated += 1
            reads = [{"item_id": item_id, "tags": by_id[item_id]["tags"]} for item_id in reversed(train)]
            picked = rank(member, reads)
            ids = [pick.get("item_id") or pick.get("_id") for pick in picked]
            found = len(held.intersection(ids))
            hits += bool(found)
            recall += found / len(held)
            member_gaps = {gap.category for gap in recommend.gaps(member.stats)}
            if member_gaps:
                gap_members += 1
                gap_covered += any(member_gaps.intersection(by_id[item_id]["tags"]) for item_id in ids)
        elapsed = time.perf_counter() - started
        rows.append({"method": name, "members": evaluated, "hit_rate": hits / max(1, evaluated),
                     "recall": recall / max(1, evaluated), "gap_coverage": gap_covered / max(1, gap_members),
                     "ms_per_member": 1000 * elapsed / max(1, evaluated)})
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1500)
    parser.add_argument("--items", type=int, default=1500)
    parser.add_argument("--holdout", type=float, default=0.2, help="share of each member's later reads held out")
    parser.add_argument("--weak-share", type=float, default=0.2,
                        help="share of a member's reads spent studying its weak categories")
    parser.add_argument("--popular-share", type=float, default=0.15,
                        help="share of a member's reads on whatever is popular")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    started = time.perf_counter()
    items = catalogue(rng, args.items)
    people = simulate(rng, args.members, items, args.weak_share, args.popular_share)
    reads = sum(len(member.reads) for member in people)
    with_gaps = sum(bool(recommend.gaps(member.stats)) for member in people)
    print(f"simulated {len(people)} members, {len(items)} items, {reads} reads "
          f"({reads / len(people):.1f} a member), {with_gaps} members with a measured gap, "
          f"held out {args.holdout:.0%} of each member's reads, in {time.perf_counter() - started:.1f} s")
    rows = evaluate(people, items, args.holdout, args.weak_share, args.popular_share)
    print(f"\n| method | members | hit rate@{TOP} | recall@{TOP} | gap coverage | ms per member |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['method']} | {row['members']} | {row['hit_rate']:.3f} | {row['recall']:.3f} | "
              f"{row['gap_coverage']:.3f} | {row['ms_per_member']:.2f} |")
    baseline = rows[0]["hit_rate"]
    best = next(row["hit_rate"] for row in rows if row["method"] == "recommender")
    lift = f"{best / baseline:.2f}x" if baseline else "n/a"
    print(f"\nrecommender hit rate@{TOP} {best:.3f} against most popular {baseline:.3f} ({lift}); "
          f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
