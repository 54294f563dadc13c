"""bin/run's back-off policy and supervisor (deploy.local.supervision), on a clock the tests move."""
from __future__ import annotations

from deploy.local.supervision import Backoff, Supervisor


def test_the_delay_doubles_from_one_second_to_thirty_while_a_child_keeps_failing():
    backoff = Backoff()
    assert [backoff.after_exit(ran_for=2) for _ in range(8)] == [1, 2, 4, 8, 16, 30, 30, 30]


def test_a_run_of_a_minute_starts_the_back_off_again():
    backoff = Backoff()
    assert [backoff.after_exit(ran_for=5) for _ in range(4)] == [1, 2, 4, 8]
    assert backoff.after_exit(ran_for=60) == 1
    assert backoff.after_exit(ran_for=59.9) == 2


def test_the_policy_takes_other_bounds():
    backoff = Backoff(initial=0.5, maximum=3, stable_after=10)
    assert [backoff.after_exit(ran_for=1) for _ in range(5)] == [0.5, 1, 2, 3, 3]
    assert backoff.after_exit(ran_for=10) == 0.5


def test_many_failures_never_overflow_the_delay():
    backoff = Backoff(failures=5000)
    assert backoff.after_exit(ran_for=0) == 30


class FakeChild:
    def __init__(self):
        self.code, self.starts, self.fail_next_start = None, 0, False

    def start(self):
        if self.fail_next_start:
            self.fail_next_start = False
            raise OSError("port in use")
        self.starts += 1
        self.code = None


def supervised(tmp_path):
    now, said = [0.0], []
    supervisor = Supervisor(tmp_path / "log" / "supervisor.log", clock=lambda: now[0], say=said.append)
    child, other = FakeChild(), FakeChild()
    log = tmp_path / "flaky.log"
    log.write_text("starting\nTraceback (most recent call last):\nRuntimeError: boom\n")
    supervisor.add("flaky", child.start, lambda: child.code, log)
    supervisor.add("steady", other.start, lambda: other.code)
    return supervisor, child, other, now, said


def test_a_child_that_exits_is_started_again_after_its_back_off_and_the_others_are_left_alone(tmp_path):
    supervisor, child, other, now, said = supervised(tmp_path)
    now[0], child.code = 10.0, 1
    supervisor.check()
    assert supervisor.waiting() == ["flaky"] and child.starts == 0
    assert said[0].startswith("flaky 意外退出 (exited with code 1) after 10.0 s; 1 秒后重启 (restart #1 in 1 s)")
    assert "RuntimeError: boom" in said[0]                      # the tail of its log
    now[0] = 10.5
    supervisor.check()
    assert child.starts == 0
    now[0] = 11.0
    supervisor.check()
    assert child.starts == 1 and supervisor.waiting() == [] and said[-1] == "flaky 已重启 (restarted, #1)"
    now[0], child.code = 12.0, 1                               # failed again at once: twice the wait
    supervisor.check()
    assert supervisor.children["flaky"].restart_at == 14.0
    assert other.starts == 0 and supervisor.children["steady"].restarts == 0
    logged = (tmp_path / "log" / "supervisor.log").read_text(encoding="utf-8")
    assert logged.count("exited with code 1") == 2 and "restart #2 in 2 s" in logged and "RuntimeError: boom" in logged


def test_a_start_that_fails_waits_the_next_back_off(tmp_path):
    supervisor, child, _, now, said = supervised(tmp_path)
    now[0], child.code = 100.0, -9
    supervisor.check()
    child.fail_next_start = True
    now[0] = 101.0
    supervisor.check()
    assert child.starts == 0 and "did not start: OSError: port in use" in said[-1]
    assert supervisor.children["flaky"].restart_at == 103.0
    now[0] = 103.0
    supervisor.check()
    assert child.starts == 1 and supervisor.children["flaky"].history == [(100.0, -9), (101.0, "OSError: port in use")]
