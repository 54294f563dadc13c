"""The branch score of one themed day (主题党日): 70/10/10/5/5, each component defined here.

Everything is computed from counts (``Facts``), so the live consumer, the final score
and reconcile (from the attendance service's records) share one formula.
See docs/scoring.md for the definitions in prose.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

WEIGHTS = {"signin": 70, "like": 10, "richness": 10, "comments": 5, "rating": 5}
PHOTO_TARGET = 6            # photos counted up to this many
TEXT_TARGET = 300           # characters of written record counted up to this many
INCOMPLETE_CREDIT = 0.5     # signed in but never signed out
DEFAULT_RATING = 80         # what a superior rating not yet given counts as
RATING_MIN, RATING_MAX = 0, 100


@dataclass(frozen=True)
class Facts:
    """Counts behind one branch's themed day."""
    roster: int = 0             # members on the frozen roster (mobile members included)
    on_site_expected: int = 0   # roster minus mobile members
    present: int = 0            # on-site members who signed in and out
    incomplete: int = 0         # on-site members who signed in but not out
    excused: int = 0            # on-site members on approved leave who did not sign in
    mobile: int = 0             # mobile members on the roster
    mobile_liked: int = 0       # mobile members who liked the activity
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


def rates(facts: Facts) -> dict[str, float]:
    attending_expected = facts.on_site_expected - facts.excused
    credited = facts.present + INCOMPLETE_CREDIT * facts.incomplete
    expected_reflections = facts.roster - facts.excused
    richness = (0.5 * min(facts.photos, PHOTO_TARGET) / PHOTO_TARGET
                + 0.5 * min(facts.text_chars, TEXT_TARGET) / TEXT_TARGET)
    rating = DEFAULT_RATING if facts.rating is None else facts.rating
    return {
        "signin": _ratio(credited, attending_expected),
        "like": _ratio(facts.mobile_liked, facts.mobile),
        "richness": richness,
        "comments": _ratio(facts.reflections, expected_reflections),
        "rating": rating / RATING_MAX,
    }


def score(facts: Facts) -> dict:
    """The score (0-100, two decimals), its breakdown in points and the raw counts."""
    component_rates = rates(facts)
    points = {name: round(WEIGHTS[name] * rate, 2) for name, rate in component_rates.items()}
    total = round(sum(WEIGHTS[name] * rate for name, rate in component_rates.items()), 2)
    return {"score": total, "breakdown": points, "rates": {k: round(v, 4) for k, v in component_rates.items()},
            "counts": counts_of(facts), "rating_pending": facts.rating is None}


def counts_of(facts: Facts) -> dict:
    """The counts as a plain dict (``dataclasses.asdict`` deep-copies every value: 7 % of the score
    consumer's CPU for a dataclass of integers)."""
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


def facts_from_statuses(statuses: dict[str, str], liked: set[str], reflected: set[str], photos: int,
                        text_chars: int, flags: int, rating: int | None) -> Facts:
    """Facts of a closed day: attendance's final statuses (present|incomplete|excused|absent|mobile)."""
    counts = {"present": 0, "incomplete": 0, "excused": 0, "absent": 0, "mobile": 0}
    for status in statuses.values():
        counts[status] = counts.get(status, 0) + 1
    mobile_ids = {member for member, status in statuses.items() if status == "mobile"}
    return Facts(roster=len(statuses), on_site_expected=len(statuses) - counts["mobile"],
                 present=counts["present"], incomplete=counts["incomplete"], excused=counts["excused"],
                 mobile=counts["mobile"], mobile_liked=len(liked & mobile_ids),
                 reflections=len(reflected & set(statuses)), photos=photos, text_chars=text_chars, flags=flags,
                 rating=rating)


def facts_from_live(roster: set[str], mobile: set[str], checked_in: set[str], checked_out: set[str],
                    excused: set[str], liked: set[str], reflected: set[str], photos: int, text_chars: int,
                    flags: int, rating: int | None, roster_known: bool = True) -> Facts:
    """Facts while the day runs, from the sets of members seen in events.

    Before the roster is frozen (or when it is unknown), the members who signed in stand for it."""
    if not roster_known:
        roster = set(checked_in) | set(excused)
    on_site = roster - mobile
    signed_in = checked_in & on_site
    present = signed_in & checked_out
    return Facts(roster=len(roster), on_site_expected=len(on_site), present=len(present),
                 incomplete=len(signed_in - present), excused=len((excused & on_site) - signed_in),
                 mobile=len(mobile & roster), mobile_liked=len(liked & mobile & roster),
                 reflections=len(reflected & roster), photos=photos, text_chars=text_chars, flags=flags,
                 rating=rating)


def facts_from_record(record: dict, rating: int | None) -> Facts:
    """Facts from the attendance service's record of a day (its ``activity_facts`` RPC), for reconcile."""
    liked, reflected = set(record.get("liked") or []), set(record.get("reflection_members") or [])
    if record.get("statuses"):
        return facts_from_statuses(record["statuses"], liked, reflected, record.get("photos", 0),
                                   record.get("text_chars", 0), record.get("flags", 0), rating)
    checked_in, checked_out = set(record.get("checked_in") or []), set(record.get("checked_out") or [])
    present = checked_in & checked_out
    return Facts(roster=record.get("roster_size", 0), on_site_expected=record.get("on_site_expected", 0),
                 present=len(present), incomplete=len(checked_in - present),
                 excused=len(set(record.get("excused") or []) - checked_in), mobile=record.get("mobile_count", 0),
                 mobile_liked=min(len(liked), record.get("mobile_count", 0)),
                 reflections=min(len(reflected), record.get("roster_size", 0)), photos=record.get("photos", 0),
                 text_chars=record.get("text_chars", 0), flags=record.get("flags", 0), rating=rating)


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
