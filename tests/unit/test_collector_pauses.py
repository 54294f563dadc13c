"""Every run of the cyclic garbage collector is timed into ``process_gc_pause_seconds`` by generation."""
from __future__ import annotations

import gc

from prometheus_client import REGISTRY

from servicekit.process import metrics


def runs(generation: int) -> float:
    return REGISTRY.get_sample_value("process_gc_pause_seconds_count", {"generation": str(generation)}) or 0.0


def test_a_full_collection_is_timed_and_the_callback_is_added_once():
    metrics.watch_collector_pauses()
    metrics.watch_collector_pauses()
    assert gc.callbacks.count(metrics._time_collection) == 1
    gc.disable()                                    # no collection but the one asked for
    try:
        garbage = [[index] for index in range(200_000)]                 # something for the collector to walk
        before, took = runs(2), REGISTRY.get_sample_value("process_gc_pause_seconds_sum", {"generation": "2"}) or 0.0
        gc.collect()
        assert runs(2) == before + 1
        assert (REGISTRY.get_sample_value("process_gc_pause_seconds_sum", {"generation": "2"}) or 0.0) > took
        del garbage
    finally:
        gc.enable()


def test_a_young_collection_is_timed_under_its_generation():
    metrics.watch_collector_pauses()
    gc.disable()
    try:
        before = runs(0)
        gc.collect(0)
        assert runs(0) == before + 1
    finally:
        gc.enable()
