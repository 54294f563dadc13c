"""bin/run's platform (deploy.local.up): the live score and its embedded store yield the CPU to the scans."""
from __future__ import annotations

import os

import pytest

from deploy.local.processes import LIVE_SCORE_NICE, PROCESSES
from deploy.local.up import Platform

pytestmark = pytest.mark.integration


def test_scoring_runs_at_the_live_score_priority_and_attendance_at_the_scans():
    niceness = {spec.name: spec.env.get("PROCESS_NICE") for spec in PROCESSES}

    assert niceness["scoring"] == str(LIVE_SCORE_NICE) and LIVE_SCORE_NICE > 0
    assert niceness["attendance"] is None and niceness["gateway"] is None


def test_the_scoring_store_yields_with_scoring_and_the_main_store_does_not(tmp_path):
    platform = Platform()
    try:
        main, scoring = platform.start_store("main", var=tmp_path), platform.start_store("scoring", var=tmp_path)

        assert os.getpriority(os.PRIO_PROCESS, scoring.process.pid) == max(LIVE_SCORE_NICE, os.nice(0))
        assert os.getpriority(os.PRIO_PROCESS, main.process.pid) == os.nice(0)
        assert (tmp_path / "log" / "mongo-scoring.log").exists() and (tmp_path / "mongo-scoring").is_dir()
    finally:
        for store in platform.stores.values():
            store.stop()
