"""Hypothesis settings for the property tests: few examples, the same ones every run (derandomized, no example
database), no deadline (a loaded CI machine is slow, and the properties are about answers, not speed)."""
from __future__ import annotations

from hypothesis import HealthCheck, settings


def bounded(examples: int) -> settings:
    return settings(max_examples=examples, derandomize=True, database=None, deadline=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])
