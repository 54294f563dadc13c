"""PROCESS_NICE: a process that may wait lowers its CPU priority (servicekit.process.priority)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from servicekit.process.priority import PriorityError, lower_priority_of, nice_steps

CHILD = """
import os, sys
from pathlib import Path
from servicekit.process.priority import lower_cpu_priority
group = Path(sys.argv[1])
if sys.argv[2] == "leader":
    os.setsid()
print(lower_cpu_priority(int(sys.argv[3]), autogroup=group), os.nice(0), group.read_text().strip())
"""


@pytest.mark.parametrize("value, steps", [(None, 0), ("", 0), (" ", 0), ("0", 0), ("10", 10), ("19", 19)])
def test_nice_steps_reads_the_setting(value, steps):
    assert nice_steps(value) == steps


@pytest.mark.parametrize("value", ["-1", "20", "ten", "1.5"])
def test_nice_steps_refuses_what_is_not_0_to_19(value):
    with pytest.raises(PriorityError, match="PROCESS_NICE"):
        nice_steps(value)


def run_child(tmp_path, role: str, steps: int) -> list[str]:
    group = tmp_path / "autogroup"
    group.write_text("untouched\n")
    done = subprocess.run([sys.executable, "-c", CHILD, str(group), role, str(steps)], capture_output=True, text=True,
                          cwd=os.getcwd(), check=True)
    return done.stdout.split()


def test_a_session_leader_lowers_itself_and_its_group(tmp_path):
    before = os.nice(0)
    assert run_child(tmp_path, "leader", 7) == [str(before + 7), str(before + 7), str(before + 7)]


def test_a_process_sharing_its_session_lowers_only_itself(tmp_path):
    before = os.nice(0)
    assert run_child(tmp_path, "member", 5) == [str(before + 5), str(before + 5), "untouched"]


def test_no_steps_changes_nothing(tmp_path):
    before = os.nice(0)
    assert run_child(tmp_path, "leader", 0) == [str(before), str(before), "untouched"]


def test_the_runner_refuses_a_bad_setting_before_starting():
    done = subprocess.run([sys.executable, "-m", "servicekit.process.runner", "services.scoring.service:PointsConsumer"],
                          env={**os.environ, "PROCESS_NICE": "high"}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "PROCESS_NICE must be a whole number" in done.stderr


def autogroup_nice(pid) -> str | None:
    """The nice value of a process's autogroup, or None where the kernel shows none (no autogroup scheduling, or a
    sandbox whose /proc/<pid>/autogroup reads empty, as on CI)."""
    try:
        shown = re.search(r"\bnice (-?\d+)", Path(f"/proc/{pid}/autogroup").read_text())
    except OSError:
        return None
    return shown.group(1) if shown else None


def test_another_process_leading_its_session_is_lowered_with_its_group():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
    try:
        before, steps = autogroup_nice(child.pid), min(19, os.nice(0) + 7)
        lower_priority_of(child.pid, steps)
        assert os.getpriority(os.PRIO_PROCESS, child.pid) == steps
        assert autogroup_nice(child.pid) == (None if before is None else str(steps))
    finally:
        child.kill()
        child.wait()


def test_another_process_sharing_a_session_is_lowered_alone():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        group, steps = autogroup_nice(child.pid), min(19, os.nice(0) + 6)
        lower_priority_of(child.pid, steps)
        assert os.getpriority(os.PRIO_PROCESS, child.pid) == steps
        assert autogroup_nice(child.pid) == group == autogroup_nice(os.getpid())     # this session's, untouched
    finally:
        child.kill()
        child.wait()


def test_a_process_already_lower_is_left_as_it_is():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True,
                             preexec_fn=lambda: os.nice(12))
    try:
        already = os.getpriority(os.PRIO_PROCESS, child.pid)
        lower_priority_of(child.pid, already - 5)
        assert os.getpriority(os.PRIO_PROCESS, child.pid) == already
    finally:
        child.kill()
        child.wait()
