"""How long the gateway waits for a service's answer: one setting, the same under ``bin/run``, Kubernetes and tests.

Every call waits at most ``GATEWAY_RPC_TIMEOUT`` seconds (30), then is answered 504 ``UPSTREAM_TIMEOUT``. The
operations below move a whole file through one call (a city's 208,000 members import in 67-89 s, docs/performance.md)
and wait ``GATEWAY_LONG_RPC_TIMEOUT`` (600) instead. Services give their own calls to each other a shorter deadline
(``servicekit.messaging.peer_calls``, 10 s), so a peer that does not answer reaches the client as ``PEER_TIMEOUT``
from the service that waited, not as the gateway's own timeout.
"""
from __future__ import annotations

from servicekit.process.config import env

DEFAULT_RPC_TIMEOUT = 30.0
DEFAULT_LONG_RPC_TIMEOUT = 600.0

LONG_OPERATIONS = frozenset({
    "ImportOrgs", "ImportMembers", "ImportBankQuestions",           # every row checked and written in one call
    "ImportDuesPayments",
    "ExportStatistics", "ExportReport", "ExportVolunteerStatistics", "ExportAuditLog",      # a subtree's rows
})


def rpc_timeout() -> float:
    """Seconds the gateway waits for a service's answer (GATEWAY_RPC_TIMEOUT)."""
    return float(env("GATEWAY_RPC_TIMEOUT", str(DEFAULT_RPC_TIMEOUT)))


def long_rpc_timeout() -> float:
    """Seconds the gateway waits for the answer of one of the LONG_OPERATIONS (GATEWAY_LONG_RPC_TIMEOUT)."""
    return max(rpc_timeout(), float(env("GATEWAY_LONG_RPC_TIMEOUT", str(DEFAULT_LONG_RPC_TIMEOUT))))


def long_calls() -> dict[tuple[str, str], float]:
    """(nameko service, method) -> seconds, for the calls that wait longer than ``rpc_timeout()``."""
    from gateway.operations import BY_RPC
    seconds = long_rpc_timeout()
    return {(BY_RPC[rpc].service, BY_RPC[rpc].method): seconds for rpc in LONG_OPERATIONS if rpc in BY_RPC}
