"""Process-wide fixes to kombu's costs outside eventlet (the gateway's plain threads).

nameko builds a new ``kombu.Connection`` for every publish (to look up its pooled producer),
and outside eventlet ``Connection()`` tries ``import librabbitmq`` each time. When that package
is not installed, a failed import is not cached: Python walks ``sys.path`` again on every
call (3.8 % of the gateway's CPU during a scan burst, by py-spy). Marking the module as absent
makes the import fail at once, which is what kombu would conclude anyway.
"""
from __future__ import annotations

import importlib.util
import sys


def skip_missing_librabbitmq(module: str = "librabbitmq") -> bool:
    """Mark ``module`` absent when it is not installed; True when it was marked."""
    if module in sys.modules or importlib.util.find_spec(module) is not None:
        return False
    sys.modules[module] = None   # `import <module>` now raises ImportError at once
    return True
