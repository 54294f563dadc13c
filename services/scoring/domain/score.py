"""The branch score of one themed day (主题党日): 70/10/10/5/5, each component defined here.

Everything is computed from counts (``Facts``), so the live consumer, the final score
and reconcile (from the attendance service's records) share one formula.
See docs/scoring.md for the definitions in prose.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from servicekit import roster as categories

from services.attendance.events import STATUS_CLOSED

WEIGHTS = {"signin": 70, "like": 10, "richness": 10, "comments": 5, "rating": 5}
PHOTO_TARGET = 6            # photos counted up to this many
TEXT_TARGET = 300           # characters of written record counted up to this many
INCOMPLETE_CREDIT = 0.5     # signed in but never signed out
DEFAULT_RATING = 80         # what a superior rating not yet given counts as
RATING_MIN, RATING_MAX = 0, 100


@dataclass(frozen=True)
class Facts:
    """Counts behind one branch's themed day."""
    # the roster categories of servicekit.roster, counted as attendance counts them
    roster: int = 0             # members on the frozen roster (mobile members included)
    on_site_expected: int = 0   # roster minus the mobile category
    present: int = 0            # members who signed in and out (a mobile member who came too)
    incomplete: int = 0         # members who signed in but not out
    excused: int = 0            # members on approved leave who did not sign in
    mobile: int = 0             # mobile members who neither came nor took leave (took part online)
    mobile_liked: int = 0       # of those, the ones who liked the activity
    reflections: int = 0        # roster members who posted a reflection
    photos: int = 0             # distinct photos uploaded
    text_chars: int = 0         # characters of written record uploaded
    flags: int = 0              # flagged scans (reported, not scored)
    rating: int | None = None   # the superior's rating 0-100, None until given


FACT_NAMES = tuple(field.name for field in fields(Facts))


def _ratio(numerator: float, denominator: float) -> float:
    if denominator <= 0:
        return 1.0
    return max(0.0, min(1.0, numerator / denominator))


def denominators(facts: Facts) -> dict[str, int]:
    """The members each counted component is measured against (``servicekit.roster``'s definitions, the
    ones attendance's totals and attendance rate use)."""
    counts = {"roster": facts.roster, "on_site_expected": facts.on_site_expected, "excused": facts.excused,
              "mobile": facts.mobile}
    return {"signin": categories.expected_to_sign_in(counts), "like": categories.expected_to_like(counts),
            "comments": categories.expected_to_comment(counts)}


def rates(facts: Facts) -> dict[str, float]:
    expected = denominators(facts)
    credited = facts.present + INCOMPLETE_CREDIT * facts.incomplete
    richness = (0.5 * min(facts.photos, PHOTO_TARGET) / PHOTO_TARGET
                + 0.5 * min(facts.text_chars, TEXT_TARGET) / TEXT_TARGET)
    rating = DEFAULT_RATING if facts.rating is None else facts.rating
    return {
        "signin": _ratio(credited, expected["signin"]),
        "like": _ratio(facts.mobile_liked, expected["like"]),
        "richness": richness,
        "comments": _ratio(facts.reflections, expected["comments"]),
        "rating": rating / RATING_MAX,
    }


def score(facts: Facts) -> dict:
    """The score (0-100, two decimals), its breakdown in points and the raw counts."""
    component_rates = rates(facts)
    points = {name: round(WEIGHTS[name] * rate, 2) for name, rate in component_rates.items()}
    total = round(sum(WEIGHTS[name] * rate for name, rate in component_rates.items()), 2)
    return {"score": total, "breakdown": points, "rates": {k: round(v, 4) for k, v in component_rates.items()},
            "counts": counts_of(facts), "rating_pending": facts.rating is None}


def day_score(facts: Facts, held: bool) -> dict:
    """``score(facts)`` for a day that was held; a day not held (yet) has no score: 0, no breakdown, no rates
    (its counts stay). Empty denominators count as full only inside a held day."""
    result = score(facts)
    if not held:
        result.update(score=0.0, breakdown={}, rates={})
    return result


def counts_of(facts: Facts) -> dict:
    """The counts as a plain dict (not ``dataclasses.asdict``, which deep-copies every value: the score consumer
    calls this for every activity of every batch)."""
    return {name: getattr(facts, name) for name in FACT_NAMES}


def check_rating(value) -> int:
    """A superior's rating: an integer 0-100."""
    from servicekit.errors import InvalidArgument
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise InvalidArgument("评分必须是整数", code="RATING_INVALID", field="rating")
    if not RATING_MIN <= value <= RATING_MAX:
        raise InvalidArgument(f"评分必须在 {RATING_MIN} 到 {RATING_MAX} 之间", code="RATING_OUT_OF_RANGE",
                              field="rating")
    return int(value)


def _facts(figures: dict, reflected: set[str], members, photos: int, text_chars: int, flags: int,
           rating: int | None) -> Facts:
    return Facts(roster=figures["roster"], on_site_expected=figures["on_site_expected"],
                 present=figures[categories.PRESENT], incomplete=figures[categories.INCOMPLETE],
                 excused=figures[categories.EXCUSED], mobile=figures[categories.MOBILE],
                 mobile_liked=figures["mobile_liked"], reflections=len(reflected & members), photos=photos,
                 text_chars=text_chars, flags=flags, rating=rating)


def facts_from_statuses(statuses: dict[str, str], liked: set[str], reflected: set[str], photos: int,
                        text_chars: int, flags: int, rating: int | None) -> Facts:
    """Facts of a closed day: attendance's final statuses (present|incomplete|excused|absent|mobile)."""
    return _facts(categories.figures(statuses, liked), reflected, statuses.keys(), photos, text_chars, flags,
                  rating)


def facts_from_live(roster: set[str], mobile: set[str], checked_in: set[str], checked_out: set[str],
                    excused: set[str], liked: set[str], reflected: set[str], photos: int, text_chars: int,
                    flags: int, rating: int | None, roster_known: bool = True) -> Facts:
    """Facts while the day runs, from the sets of members seen in events, in the categories attendance will
    close the day with (a mobile member who signed in is counted on site).

    Before the roster is frozen (or when it is unknown), the members who signed in stand for it."""
    if not roster_known:
        roster = set(checked_in) | set(excused)
    return _facts(categories.figures_of_sets(roster, mobile, checked_in, checked_out, excused, liked), reflected,
                  roster, photos, text_chars, flags, rating)


def facts_from_record(record: dict, rating: int | None) -> Facts:
    """Facts from the attendance service's record of a day (its ``activity_facts`` RPC), for reconcile."""
    liked, reflected = set(record.get("liked") or []), set(record.get("reflection_members") or [])
    if record.get("statuses"):
        return facts_from_statuses(record["statuses"], liked, reflected, record.get("photos", 0),
                                   record.get("text_chars", 0), record.get("flags", 0), rating)
    return facts_from_live(set(record.get("member_ids") or ()), set(record.get("mobile_member_ids") or ()),
                           set(record.get("checked_in") or ()), set(record.get("checked_out") or ()),
                           set(record.get("excused") or ()), liked, reflected, record.get("photos", 0),
                           record.get("text_chars", 0), record.get("flags", 0), rating,
                           roster_known=bool(record.get("roster_frozen")))


def record_held(record: dict) -> bool:
    """Whether attendance's record of a day says it was held: roster frozen, a scan, or closed (what the
    ``held`` stage of scoring's events means)."""
    return bool(record.get("roster_frozen") or record.get("checked_in") or record.get("checked_out")
                or record.get("status") == STATUS_CLOSED)


def differences(stored: dict, recomputed: dict) -> list[dict]:
    """Where a stored score and a recomputed one disagree: the score or any raw count."""
    found = []
    if abs(stored.get("score", 0.0) - recomputed["score"]) > 0.005:
        found.append({"field": "score", "live": str(stored.get("score")), "recomputed": str(recomputed["score"])})
    for name, value in recomputed["counts"].items():
        if name != "rating" and (stored.get("counts") or {}).get(name) != value:
            found.append({"field": f"counts.{name}", "live": str((stored.get("counts") or {}).get(name)),
                          "recomputed": str(value)})
    return found
