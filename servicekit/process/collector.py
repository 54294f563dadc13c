"""Python's cyclic garbage collector, settled once a long-running process has started.

A started process holds tens of thousands of long-lived objects (modules, classes, protocol descriptors) that
every full collection would walk while every thread waits. ``settle_after_start`` collects once and freezes what
survived (``gc.freeze``), so later collections walk only what the process made since; frozen objects are never
freed, so it is called once, after start-up. A larger young threshold (10,000, Python's default 700) lets a scan's
short-lived dicts die before a collection promotes them. Figures: docs/performance.md#garbage-collector-settings.

``GC_FREEZE=off`` leaves the collector as Python sets it; ``GC_YOUNG_THRESHOLD`` sets the young threshold alone.
"""
from __future__ import annotations

import gc
import logging

from servicekit.process.config import ConfigError, env, switched_off

log = logging.getLogger(__name__)

YOUNG_THRESHOLD = 10_000


def settle_after_start(process: str) -> int:
    """Collect, freeze the survivors of the start-up and widen the young generation; how many objects are frozen
    now (0: the collector left as Python sets it)."""
    if switched_off("GC_FREEZE"):
        return 0
    young = young_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(young, *gc.get_threshold()[1:])
    frozen = gc.get_freeze_count()
    log.info("%s: %d objects of its start-up frozen, outside every later garbage collection; young collections "
             "every %d objects", process, frozen, young)
    return frozen


def young_threshold() -> int:
    """``GC_YOUNG_THRESHOLD``, checked (a process checks it before it starts anything)."""
    text = env("GC_YOUNG_THRESHOLD", str(YOUNG_THRESHOLD))
    if not text.strip().isdigit() or int(text) < 1:
        raise ConfigError(f"GC_YOUNG_THRESHOLD must be a whole number of allocations of at least 1, not {text!r}")
    return int(text)
