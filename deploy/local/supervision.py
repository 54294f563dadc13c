"""bin/run's supervision: a child that exits is started again after a back-off, the others keep running.

The back-off doubles from 1 s to 30 s while a child keeps failing, and starts again from 1 s once it has run a
minute: a process that crashes at start is not restarted in a tight loop, one that crashes after hours of work
is back within a second. Each exit is logged, with its exit code and the tail of the child's log, on the console
and in ``var/log/supervisor.log``.

    supervisor = Supervisor(LOGS / "supervisor.log")
    supervisor.add("identity", start=..., exit_code=..., log_path=...)    # already started
    while running:
        supervisor.check()          # notices exits, starts again those whose back-off is over
        time.sleep(0.5)
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from servicekit.storage.embedded_mongo import log_tail

TAIL_LINES = 15


@dataclass
class Backoff:
    """The wait before the next start of a child that exited: ``initial`` doubling to ``maximum`` over consecutive
    failures, back to ``initial`` once a run lasted ``stable_after`` seconds."""
    initial: float = 1.0
    maximum: float = 30.0
    stable_after: float = 60.0
    failures: int = 0           # consecutive runs shorter than stable_after

    def after_exit(self, ran_for: float) -> float:
        """The delay before starting again a child that ran ``ran_for`` seconds."""
        if ran_for >= self.stable_after:
            self.failures = 0
        delay = min(self.maximum, self.initial * 2 ** min(self.failures, 30))
        self.failures += 1
        return delay


@dataclass
class Supervised:
    name: str
    start: Callable[[], object]             # starts it (again); raising counts as an exit
    exit_code: Callable[[], int | None]     # None while it runs
    log_path: Path | None
    backoff: Backoff
    started_at: float
    restart_at: float | None = None         # set while waiting out the back-off
    restarts: int = 0
    history: list[tuple[float, int | str]] = field(default_factory=list)   # (when, exit code or start error)


def say(message: str) -> None:
    print(message, flush=True)


class Supervisor:
    def __init__(self, log_path: Path | None, clock: Callable[[], float] = time.monotonic,
                 say: Callable[[str], None] = say, policy: Callable[[], Backoff] = Backoff):
        self.log_path, self.clock, self.say, self.policy = log_path, clock, say, policy
        self.children: dict[str, Supervised] = {}

    def add(self, name: str, start: Callable[[], object], exit_code: Callable[[], int | None],
            log_path: Path | None = None) -> Supervised:
        """Supervise ``name``, started already (its ``start`` starts it again)."""
        child = self.children[name] = Supervised(name, start, exit_code, log_path, self.policy(), self.clock())
        return child

    def check(self) -> None:
        """One round: note the children that exited and start again those whose back-off is over."""
        for child in self.children.values():
            now = self.clock()
            if child.restart_at is not None:
                if now >= child.restart_at:
                    self._start_again(child, now)
                continue
            code = child.exit_code()
            if code is not None:
                self._exited(child, code, now)

    def waiting(self) -> list[str]:
        """The children waiting out their back-off."""
        return [child.name for child in self.children.values() if child.restart_at is not None]

    def _exited(self, child: Supervised, code: int | str, now: float) -> None:
        ran_for = now - child.started_at
        delay = child.backoff.after_exit(ran_for)
        child.restart_at, child.restarts = now + delay, child.restarts + 1
        child.history.append((now, code))
        what = f"exited with code {code}" if isinstance(code, int) else f"did not start: {code}"
        tail = log_tail(child.log_path, TAIL_LINES) if child.log_path else ""
        self._log(f"{child.name} 意外退出 ({what}) after {ran_for:.1f} s; {delay:g} 秒后重启 "
                  f"(restart #{child.restarts} in {delay:g} s)"
                  + (f"; {child.log_path} 末尾 (log tail):\n{tail}" if tail else ""))

    def _start_again(self, child: Supervised, now: float) -> None:
        child.restart_at = None
        try:
            child.start()
        except Exception as error:  # noqa: BLE001  a start that fails waits its back-off like an exit
            child.started_at = now
            self._exited(child, f"{type(error).__name__}: {error}", self.clock())
            return
        child.started_at = self.clock()
        self._log(f"{child.name} 已重启 (restarted, #{child.restarts})")

    def _log(self, message: str) -> None:
        self.say(message)
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log_path, "a", encoding="utf-8") as out:
                out.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")
