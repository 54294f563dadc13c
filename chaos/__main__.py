"""The chaos suite (not part of the test run):

    .venv/bin/python -m chaos --mode small      # CI: 5 kill -9 cycles of each component
    .venv/bin/python -m chaos --mode long       # 20 cycles each

Starts its own RabbitMQ node (never the machine's broker on 5672), two embedded stores and the platform, drives a
themed day (bench.themed_day's city and plans) at --rate scans/s while RabbitMQ, the main store, scoring's store,
attendance, identity, the scoring process, the points consumer and the gateway are each killed with SIGKILL and
started again, in turn; closes the day and checks (chaos.checker). Prints the tables and exits 1 on any violation.
Everything it started is stopped at the end, on failure and on Ctrl-C; the logs stay under the work directory when
the run failed or with --keep. docs/operations.md#chaos-suite explains the table.
"""
from __future__ import annotations

import argparse
import shutil
import signal
import sys
import time

from chaos.run import MODES, ORDER, ChaosDay


def parse(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=tuple(MODES), default="small")
    parser.add_argument("--cycles", type=int, help="kill -9 cycles per component (small 5, long 20)")
    parser.add_argument("--members", type=int, help="city members (small 30,000, long 120,000)")
    parser.add_argument("--branches", type=int, help="branches (small 250, long 1,000)")
    parser.add_argument("--rate", type=float, default=400.0, help="scans sent per second (at least 300)")
    parser.add_argument("--concurrency", type=int, default=3000,
                        help="scans in flight at most (phones waiting for an answer)")
    parser.add_argument("--down", type=float, default=1.0, help="seconds a killed component stays down")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds after a restart before the next fault")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of load before the first fault")
    parser.add_argument("--ready-wait", type=float, default=120.0, help="how long a restart may take to be ready")
    parser.add_argument("--consumer-wait", type=float, default=120.0,
                        help="how long to wait for the consumers after the broker returns")
    parser.add_argument("--rpc-timeout", type=float, default=10.0, help="the gateway's GATEWAY_RPC_TIMEOUT")
    parser.add_argument("--client-timeout", type=float, default=15.0, help="a phone's timeout per scan")
    parser.add_argument("--give-up", type=float, default=90.0,
                        help="after the faults, seconds a phone keeps trying an undecided scan")
    parser.add_argument("--only", nargs="+", choices=ORDER, metavar="COMPONENT",
                        help="fault only these components (to look into one; a CI run faults every one)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--work-dir", help="where the stores, the broker and the logs go (default: a new /tmp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory after a passing run")
    args = parser.parse_args(argv)
    for name, value in MODES[args.mode].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.rate < 300:
        parser.error("--rate must be at least 300 scans/s")
    return args


def main(argv=None) -> int:
    args = parse(argv)

    def terminated(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, terminated)
    started = time.perf_counter()
    day = ChaosDay(args)
    code = 2
    try:
        day.start_platform()
        day.chaos_day()
        code = day.check()
    except KeyboardInterrupt:
        day.log("interrupted: stopping everything this run started")
        code = 130
    finally:
        day.stop()
        print(f"chaos {args.mode}: wall time {time.perf_counter() - started:.0f} s", flush=True)
        if code == 0 and not args.keep:
            shutil.rmtree(day.work, ignore_errors=True)
        else:
            print(f"work directory kept: {day.work}", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
