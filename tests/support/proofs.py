"""Calls from the test process as a principal other than the gateway (servicekit.security.proofs)."""
from __future__ import annotations

from contextlib import contextmanager

from servicekit.security.proofs import current_principal, use_principal


@contextmanager
def acting_as(principal: str):
    """Sign this process's calls as ``principal`` inside the block (an operation only a peer service may call)."""
    previous = current_principal()
    use_principal(principal)
    try:
        yield
    finally:
        if previous is not None:
            use_principal(previous)
