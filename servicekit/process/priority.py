"""A process's CPU priority: ``PROCESS_NICE=N`` lowers it by N steps (0-19), for work that may wait.

On Linux with autogroup scheduling (``/proc/sys/kernel/sched_autogroup_enabled``), each session is a
group that competes for the CPU as one: a process's own nice value ranks it only among its session's
processes. ``bin/run`` (and the city benchmark) starts every child in a session of its own, so there a session
leader lowers its group's nice (``/proc/self/autogroup``) too. A process that shares its session (a test's
children) leaves the group alone, which would lower its siblings with it, and moves only its own nice. The
embedded store processes lead sessions of their own: ``lower_priority_of`` lowers one from outside.
"""
from __future__ import annotations

import os
from pathlib import Path

MAX_NICE = 19
AUTOGROUP = Path("/proc/self/autogroup")


class PriorityError(ValueError):
    pass


def nice_steps(value: str | None) -> int:
    """``PROCESS_NICE``'s value as a number of steps; unset or empty means 0."""
    if value is None or not value.strip():
        return 0
    try:
        steps = int(value)
    except ValueError:
        raise PriorityError(f"PROCESS_NICE must be a whole number 0-{MAX_NICE}, not {value!r}") from None
    if not 0 <= steps <= MAX_NICE:
        raise PriorityError(f"PROCESS_NICE must be 0-{MAX_NICE}, not {steps}")
    return steps


def lower_cpu_priority(steps: int, autogroup: Path = AUTOGROUP) -> int:
    """Lower this process's CPU priority by ``steps``; returns its nice value afterwards."""
    if steps <= 0:
        return os.nice(0)
    niceness = os.nice(steps)
    if leads_its_session():
        set_group_nice(autogroup, niceness)
    return niceness


def leads_its_session() -> bool:
    return os.getsid(0) == os.getpid()


def lower_priority_of(pid: int, steps: int, proc: Path = Path("/proc")) -> None:
    """Lower another process's CPU priority to nice ``steps`` (a store process started in a session of its own
    by `bin/run` or a benchmark): its own nice and, where it leads its session, its autogroup's; without the
    latter the nice would rank it only against itself. Never raises it: a process already at ``steps`` or lower
    (`bin/run` itself started under ``nice``) is left as it is, where raising would need privileges."""
    if steps <= 0 or steps <= os.getpriority(os.PRIO_PROCESS, pid):
        return
    os.setpriority(os.PRIO_PROCESS, pid, steps)
    if os.getsid(pid) == pid:
        set_group_nice(proc / str(pid) / "autogroup", steps)


def set_group_nice(autogroup: Path, niceness: int) -> None:
    """Give a session's autogroup this nice value (where there is none, or it is not ours to change, the
    process's own nice still applies)."""
    try:
        autogroup.write_text(f"{niceness}\n")
    except OSError:
        pass
