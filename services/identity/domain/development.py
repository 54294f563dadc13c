"""The development record (发展党员纪实): each applicant's dated entries beside its lifecycle steps.

The record's state is the member's lifecycle status (``lifecycle.STATUSES``); an entry is an event the state
machine admits or refuses. The table ``ENTRY_RULES`` says, per kind of entry, from which step it may be recorded
(its date counting from that step's date) and whether the record holds at most one live entry of the kind:

- 谈话 (talk): by purpose, each from its own step (an applicant's talk from the application on, the talk before
  admission once a development target, a probationary member's talk once probationary).
- 入党介绍人 (introducers): once a development target; two different full members of the applicant's own branch,
  neither the applicant; one live entry.
- 政治审查 (political review): once a development target; passed or not passed, with its conclusion; one live entry.
- 培训 (training): an activist's training from the activist step, a development target's short course from the
  development-target step.

Entries are never changed nor removed: a correction is a new entry of the same kind naming the one it corrects
(``corrects``), with a reason; the corrected entry is then superseded and shown as such, and a superseded entry is
not corrected again (the correction is). No entry is dated in the future, and none after the member became a full
member (the record of its development ends there). The steps a publicity must follow (``PUBLICISED_STEPS``) are
matched with the content service's publicities (``publicity_rows``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Iterable, Mapping

from servicekit.errors import Conflict, InvalidArgument

from .lifecycle import DATE_LABELS, STATUS_INDEX, STATUS_LABELS, STATUSES


class EntryKind(str, Enum):
    TALK = "talk"
    INTRODUCERS = "introducers"
    POLITICAL_REVIEW = "political_review"
    TRAINING = "training"


KIND_LABELS = {EntryKind.TALK: "谈话", EntryKind.INTRODUCERS: "确定入党介绍人",
               EntryKind.POLITICAL_REVIEW: "政治审查", EntryKind.TRAINING: "培训"}

# A talk's purpose and a training's stage: the step each needs.
TALK_PURPOSES = {"application": "applicant", "cultivation": "activist", "admission": "development_target",
                 "probation": "probationary"}
TALK_PURPOSE_LABELS = {"application": "入党申请人谈话", "cultivation": "培养考察谈话", "admission": "入党前谈话",
                       "probation": "预备期谈话"}
TRAINING_STAGES = {"activist": "activist", "development_target": "development_target"}
TRAINING_STAGE_LABELS = {"activist": "入党积极分子培训", "development_target": "发展对象集中培训"}
REVIEW_OUTCOMES = {"passed": "合格", "failed": "不合格"}

# The steps opened for public scrutiny (发展对象、接收预备党员、预备党员转正), as the content service publicises them.
PUBLICISED_STEPS = ("development_target", "probationary", "full")
# What the branch should have recorded before each step (shown as outstanding, not enforced on the step itself:
# records older than the platform lack them).
REQUIRED_BEFORE = {
    "probationary": (EntryKind.INTRODUCERS, EntryKind.POLITICAL_REVIEW, EntryKind.TRAINING),
}
STEP_ACTIONS = {"probationary": "接收为预备党员"}
INTRODUCERS_NEEDED = 2
MAX_HOURS = 500


@dataclass(frozen=True)
class EntryRule:
    kind: EntryKind
    from_step: str          # the step the member must have reached ("" when the entry's own detail says)
    single: bool            # at most one live (not superseded) entry of this kind


ENTRY_RULES = {
    EntryKind.TALK: EntryRule(EntryKind.TALK, "", False),
    EntryKind.INTRODUCERS: EntryRule(EntryKind.INTRODUCERS, "development_target", True),
    EntryKind.POLITICAL_REVIEW: EntryRule(EntryKind.POLITICAL_REVIEW, "development_target", True),
    EntryKind.TRAINING: EntryRule(EntryKind.TRAINING, "", False),
}


def entry_kind(value: str) -> EntryKind:
    try:
        return EntryKind(value)
    except ValueError:
        raise InvalidArgument(f"kind 只能是 {'、'.join(kind.value for kind in EntryKind)}", code="UNKNOWN_VALUE",
                              field="kind") from None


def required_step(kind: EntryKind, detail: Mapping) -> str:
    """The step the member must have reached for this entry (a talk's purpose, a training's stage decide)."""
    if kind is EntryKind.TALK:
        return TALK_PURPOSES[detail["purpose"]]
    if kind is EntryKind.TRAINING:
        return TRAINING_STAGES[detail["stage"]]
    return ENTRY_RULES[kind].from_step


def live_entries(entries: Iterable[Mapping]) -> list[Mapping]:
    """The entries no later entry corrects."""
    entries = list(entries)
    superseded = {entry.get("corrects") for entry in entries if entry.get("corrects")}
    return [entry for entry in entries if entry["_id"] not in superseded]


def check_entry(kind: EntryKind, status: str, status_dates: Mapping[str, date | None], entries: list[Mapping],
                on: date, today: date, corrects: str = "") -> None:
    """The guard of one new entry of ``kind`` dated ``on``, on a record at ``status`` holding ``entries``
    (correcting ``corrects``, if given). Raises the refusal."""
    if on > today:
        raise InvalidArgument("记录日期不能晚于今天", code="DATE_IN_FUTURE", field="on")
    if corrects:
        corrected = next((entry for entry in entries if entry["_id"] == corrects), None)
        if corrected is None:
            raise InvalidArgument("被更正的记录不存在", code="ENTRY_NOT_FOUND", field="corrects")
        if corrected["kind"] != kind.value:
            raise InvalidArgument("更正记录须与原记录类型相同", code="CORRECTION_KIND_MISMATCH", field="kind")
        if any(entry.get("corrects") == corrects for entry in entries):
            raise Conflict("该记录已被更正，请更正最新的记录", code="ENTRY_SUPERSEDED", field="corrects")
    full_on = status_dates.get("full")
    if status == "full" and full_on is not None and on > full_on:
        raise Conflict("转为正式党员后不再记入发展纪实", code="RECORD_CLOSED", field="on")


def check_step(kind: EntryKind, step: str, status: str, status_dates: Mapping[str, date | None], on: date) -> None:
    """The entry's order rule: the member has reached ``step`` and the entry is not dated before it."""
    if status not in STATUS_INDEX or STATUS_INDEX[status] < STATUS_INDEX[step]:
        raise Conflict(f"{STATUS_LABELS[step]}阶段才能记录{KIND_LABELS[kind]}，该同志目前为"
                       f"{STATUS_LABELS.get(status, status)}", code="STEP_NOT_REACHED", field="kind")
    reached_on = status_dates.get(step)
    if reached_on is not None and on < reached_on:
        raise InvalidArgument(f"{KIND_LABELS[kind]}日期不能早于{DATE_LABELS[step]}（{reached_on.isoformat()}）",
                              code="DATE_BEFORE_STEP", field="on")


def check_single(kind: EntryKind, entries: list[Mapping], corrects: str = "") -> None:
    if not ENTRY_RULES[kind].single:
        return
    if any(entry["kind"] == kind.value and entry["_id"] != corrects for entry in live_entries(entries)):
        raise Conflict(f"已记录{KIND_LABELS[kind]}；如有错误请更正原记录", code="ENTRY_EXISTS", field="kind")


def check_introducers(applicant: Mapping, introducers: list[Mapping | None], introducer_ids: list[str]) -> None:
    """Two different full members of the applicant's own branch, neither the applicant (``introducers`` are the
    stored members of ``introducer_ids``, None where unknown)."""
    if len(introducer_ids) != INTRODUCERS_NEEDED or len(set(introducer_ids)) != INTRODUCERS_NEEDED:
        raise InvalidArgument("须确定两名不同的入党介绍人", code="INTRODUCERS_COUNT", field="introducer_ids")
    if applicant["_id"] in introducer_ids:
        raise InvalidArgument("本人不能担任自己的入党介绍人", code="INTRODUCER_IS_APPLICANT", field="introducer_ids")
    for introducer in introducers:
        if introducer is None or introducer.get("tenant_id") != applicant.get("tenant_id") \
                or introducer.get("branch_id") != applicant.get("branch_id"):
            raise InvalidArgument("入党介绍人须为本支部党员", code="INTRODUCER_NOT_IN_BRANCH", field="introducer_ids")
        if introducer.get("status") != "full":
            raise InvalidArgument(f"入党介绍人须为正式党员，{introducer.get('name', '')}同志目前为"
                                  f"{STATUS_LABELS.get(introducer.get('status'), '')}",
                                  code="INTRODUCER_NOT_FULL_MEMBER", field="introducer_ids")


def outstanding(status: str, entries: list[Mapping]) -> list[dict]:
    """What the record still lacks for the member's next step (before admission: introducers, the political
    review passed, a training)."""
    if status not in STATUS_INDEX or status == STATUSES[-1]:
        return []
    next_step = STATUSES[STATUS_INDEX[status] + 1]
    live = live_entries(entries)
    missing = []
    for kind in REQUIRED_BEFORE.get(next_step, ()):
        present = [entry for entry in live if entry["kind"] == kind.value]
        if kind is EntryKind.POLITICAL_REVIEW:
            present = [entry for entry in present if entry.get("detail", {}).get("outcome") == "passed"]
        if not present:
            step_text = STEP_ACTIONS.get(next_step, STATUS_LABELS[next_step])
            missing.append({"kind": kind.value, "before": next_step,
                            "message": f"{step_text}前须有{KIND_LABELS[kind]}记录"
                            + ("（结论为合格）" if kind is EntryKind.POLITICAL_REVIEW else "")})
    return missing


def publicity_rows(status_dates: Mapping[str, date | None], publicities: list[Mapping] | None,
                   objections_visible: bool = True) -> list[dict]:
    """Per publicised step the member reached: whether its publicity ran (open, closed, suspended), or is
    missing; ``publicities`` None when the content service did not answer (state ``unknown``). The objections'
    numbers only when ``objections_visible`` (as the content service shows them: to the admins of the notice's
    node, the branch's superior, or above); 0 otherwise."""
    rows = []
    for step in PUBLICISED_STEPS:
        if status_dates.get(step) is None:
            continue
        row = {"step": step, "step_on": status_dates[step].isoformat(), "state": "unknown", "publicity_id": "",
               "opens_on": "", "closes_on": "", "objections": 0, "pending_objections": 0,
               "objections_visible": objections_visible}
        if publicities is not None:
            found = [p for p in publicities if p.get("step") == step]
            if found:
                latest = max(found, key=lambda p: p.get("opens_on", ""))
                row.update(state=latest["state"], publicity_id=latest["id"], opens_on=latest["opens_on"],
                           closes_on=latest["closes_on"])
                if objections_visible:
                    row.update(objections=int(latest.get("objections", 0)),
                               pending_objections=int(latest.get("pending_objections", 0)))
            else:
                row["state"] = "missing"
        rows.append(row)
    return rows
