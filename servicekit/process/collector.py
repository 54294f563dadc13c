"""Python's cyclic garbage collector, settled once a long-running process has started.

Once a service or the gateway is up, it holds its modules, classes, functions and protocol descriptors for good:
about 75,000 objects the collector tracks in attendance and 68,000 in the gateway. Every full collection walked
them all, 30-40 ms each (timed after import on session 23's machine), while every thread of the process waited.
``settle_after_start`` collects once and freezes what survived (``gc.freeze``): later collections, full ones
included, walk only what the process made since. Objects frozen are never freed, so it is called once, after the
start-up, never per request.

It also lets more objects be made before a young collection (10,000, Python's default 700): a scan's dicts and
lists live while the scan is in flight, a few hundred milliseconds at a peak, so with 700 most of them were walked
and promoted before they died, and the promoted ones brought the next full collection closer. In a 900-branch day
the collector's pauses fell from 14-48 ms per second to 0-16 in the gateway and 3-24 in attendance, none over 25 ms,
and the day ran at 1,303-1,465 scans/s while saturated against 1,249-1,391 with the freeze alone (README, session 23).

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
