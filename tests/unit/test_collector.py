"""A process freezes what survived its start-up, so later garbage collections do not walk it, and lets more
objects be made before a young collection."""
from __future__ import annotations

import gc
import os
import subprocess
import sys

import pytest

from servicekit.process.collector import YOUNG_THRESHOLD, settle_after_start
from servicekit.process.config import ConfigError


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()                                   # the test process's objects back in the collector's care
    gc.set_threshold(*threshold)


def test_the_survivors_of_the_start_up_are_frozen(unfrozen, monkeypatch):
    monkeypatch.delenv("GC_FREEZE", raising=False)
    monkeypatch.delenv("GC_YOUNG_THRESHOLD", raising=False)
    held = [[index] for index in range(50_000)]     # what a started process holds for good
    frozen = settle_after_start("test")
    assert frozen >= 50_000
    assert frozen - 1_000 <= gc.get_freeze_count() <= frozen    # a frozen object another thread frees leaves it
    walked = {id(item) for item in gc.get_objects()}                    # what a collection walks now
    assert not any(id(item) in walked for item in held)
    assert len(walked) < frozen // 10
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD


def test_the_young_threshold_can_be_set(unfrozen, monkeypatch):
    monkeypatch.setenv("GC_YOUNG_THRESHOLD", "700")
    settle_after_start("test")
    assert gc.get_threshold()[0] == 700


@pytest.mark.parametrize("setting", ["off", "0", "no"])
def test_gc_freeze_off_leaves_the_collector_alone(unfrozen, monkeypatch, setting):
    monkeypatch.setenv("GC_FREEZE", setting)
    threshold = gc.get_threshold()
    assert settle_after_start("test") == 0 and gc.get_freeze_count() == 0
    assert gc.get_threshold() == threshold


@pytest.mark.parametrize("setting", ["", "ten", "-5", "0", "1.5"])
def test_a_young_threshold_that_is_not_a_count_is_refused_before_anything_changes(unfrozen, monkeypatch, setting):
    monkeypatch.setenv("GC_YOUNG_THRESHOLD", setting)
    threshold = gc.get_threshold()
    with pytest.raises(ConfigError, match="GC_YOUNG_THRESHOLD"):
        settle_after_start("test")
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == threshold


@pytest.mark.parametrize("command", [["servicekit.process.runner", "services.scoring.service:PointsConsumer"],
                                     ["servicekit.storage.nx_server", "--port", "0"]])
def test_a_process_refuses_a_bad_young_threshold_before_serving(command):
    done = subprocess.run([sys.executable, "-m", *command], env={**os.environ, "GC_YOUNG_THRESHOLD": "many"},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "GC_YOUNG_THRESHOLD must be a whole number" in done.stderr
