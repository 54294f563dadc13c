"""Benchmark: the themed day with one instance of every scan-path process against two, alternating, on one machine.

    .venv/bin/python -m bench.instances [--runs 2] [--modes 1,2] [-- <bench.themed_day options>]

Runs ``python -m bench.themed_day --instances N`` for each mode in turn (1, 2, 1, 2, ...: a machine's drift falls on
both), keeps each run's whole output in a log file, and prints each run's throughput, p99 and reconciliation, then
each mode's mean and the ratio of the means. The default day is the quick one (``--members 20000 --branches 900
--baseline-seconds 3``); options after ``--`` replace it.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.processes import REPO

QUICK_DAY = ["--members", "20000", "--branches", "900", "--baseline-seconds", "3"]
FIGURES = {
    "sustained": re.compile(r"^SUSTAINED .*= ([\d,]+) accepted scans/s.*p99 ([\d.]+) ms", re.M),
    "saturated": re.compile(r"^SATURATED .*?: (\d+) s, ([\d,]+) accepted scans/s", re.M),
    "reconciliation": re.compile(r"RECONCILIATION: (\w+)"),
    "lost": re.compile(r"0 lost: (\d+)"),
    "duplicated": re.compile(r"0 duplicated: (\d+)"),
    "answers": re.compile(r"-- answers by code \(all phases\) --\n  (.*)"),
}


def figures_of(text: str) -> dict:
    """The figures of one run's output (None for any it does not print: a run that failed)."""
    found = {name: pattern.search(text) for name, pattern in FIGURES.items()}
    number = lambda value: float(value.replace(",", ""))     # noqa: E731
    return {"sustained": number(found["sustained"].group(1)) if found["sustained"] else None,
            "p99_ms": number(found["sustained"].group(2)) if found["sustained"] else None,
            "saturated_s": int(found["saturated"].group(1)) if found["saturated"] else None,
            "saturated": number(found["saturated"].group(2)) if found["saturated"] else None,
            "reconciliation": found["reconciliation"].group(1) if found["reconciliation"] else "NOT PRINTED",
            "lost": int(found["lost"].group(1)) if found["lost"] else None,
            "duplicated": int(found["duplicated"].group(1)) if found["duplicated"] else None,
            "answers": found["answers"].group(1) if found["answers"] else ""}


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2, help="runs of each mode")
    parser.add_argument("--modes", default="1,2", help="instance counts to alternate")
    parser.add_argument("rest", nargs="*", help="bench.themed_day options (after --)")
    args = parser.parse_args()
    day = args.rest or QUICK_DAY
    modes = [int(mode) for mode in args.modes.split(",")]
    logs = Path(tempfile.mkdtemp(prefix="bench-instances-"))
    results: list[tuple[int, dict, Path]] = []
    for run in range(args.runs):
        for mode in modes:
            log = logs / f"run{run + 1}-instances{mode}.log"
            command = [sys.executable, "-m", "bench.themed_day", *day, "--instances", str(mode)]
            print(f"[{time.strftime('%H:%M:%S')}] run {run + 1}, {mode} instance(s): {' '.join(command[1:])} "
                  f"> {log}", flush=True)
            with open(log, "w") as out:
                code = subprocess.run(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT).returncode
            figures = figures_of(log.read_text())
            figures["exit"] = code
            results.append((mode, figures, log))
            print(f"    sustained {figures['sustained']} acc/s, saturated {figures['saturated']} acc/s over "
                  f"{figures['saturated_s']} s, p99 {figures['p99_ms']} ms, reconciliation {figures['reconciliation']} "
                  f"(lost {figures['lost']}, duplicated {figures['duplicated']}), exit {code}", flush=True)
    print(f"\nTHEMED DAY, ONE INSTANCE AGAINST SEVERAL ({' '.join(day)}; logs in {logs})")
    print(f"{'instances':>9}{'sustained acc/s':>17}{'saturated acc/s':>17}{'sat. s':>8}{'p99 ms':>8}"
          f"{'lost':>6}{'dup':>5}  reconciliation")
    for mode, figures, _ in results:
        print(f"{mode:>9}{figures['sustained'] or 0:>17,.0f}{figures['saturated'] or 0:>17,.0f}"
              f"{figures['saturated_s'] or 0:>8}{figures['p99_ms'] or 0:>8.0f}{figures['lost'] if figures['lost'] is not None else '?':>6}"
              f"{figures['duplicated'] if figures['duplicated'] is not None else '?':>5}  {figures['reconciliation']}")
    means = {mode: {key: mean([f[key] for m, f, _ in results if m == mode and f[key] is not None])
                    for key in ("sustained", "saturated", "p99_ms")} for mode in modes}
    for mode in modes:
        print(f"mean of {mode}: sustained {means[mode]['sustained']:,.0f}, saturated {means[mode]['saturated']:,.0f} "
              f"accepted scans/s, p99 {means[mode]['p99_ms']:.0f} ms")
    for mode in modes[1:]:
        print(f"ratio {mode} : {modes[0]}: sustained {means[mode]['sustained'] / means[modes[0]]['sustained']:.2f}, "
              f"saturated {means[mode]['saturated'] / means[modes[0]]['saturated']:.2f}")
    passed = all(f["reconciliation"] == "PASSED" and f["lost"] == 0 and f["duplicated"] == 0 for _, f, _ in results)
    print(f"every run reconciled with 0 lost and 0 duplicated: {'YES' if passed else 'NO'}")
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
