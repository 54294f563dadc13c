"""The address of the client a request comes from, for the operations that need it (login throttling).

It is the connection's peer, unless that peer is one of the trusted proxies (``TRUSTED_PROXIES``:
comma-separated addresses or CIDR networks, none by default): then it is the nearest address in
``X-Forwarded-For`` (HTTP header, or gRPC metadata) that is not itself a trusted proxy, read from the
right, as each proxy appends the address it saw. The header from any other peer is ignored: anyone can
write one, and believing it would let a client choose the address its attempts are counted by.
"""
from __future__ import annotations

import ipaddress
from urllib.parse import unquote

from servicekit.process.config import env

UNKNOWN = "unknown"        # no peer address at all: such requests share one counter


class TrustedProxies:
    def __init__(self, spec: str = ""):
        """``spec``: comma-separated addresses or networks (``10.0.0.5, 192.168.0.0/16, ::1``); a bad entry
        is a ValueError, so a misconfigured gateway does not start."""
        self.networks = tuple(ipaddress.ip_network(entry.strip(), strict=False)
                              for entry in spec.split(",") if entry.strip())

    @classmethod
    def from_env(cls) -> "TrustedProxies":
        return cls(env("TRUSTED_PROXIES", ""))

    def trusts(self, address: str) -> bool:
        parsed = _parse(address)
        return parsed is not None and any(parsed in network for network in self.networks)

    def client_address(self, peer: str | None, forwarded_for: str | None) -> str:
        """The client's address from the peer's and, only when the peer is trusted, ``X-Forwarded-For``
        (its values joined by commas when it came more than once)."""
        address = _canonical(peer) or UNKNOWN
        if not self.trusts(address) or not forwarded_for:
            return address
        for hop in reversed(forwarded_for.split(",")):
            hop = _canonical(hop)
            if hop is None:
                break                   # not an address: the hops before it cannot be vouched for
            address = hop
            if not self.trusts(hop):
                break
        return address


def grpc_peer(peer: str | None) -> str | None:
    """The address of a gRPC ``context.peer()`` (``ipv4:1.2.3.4:5678``, ``ipv6:[::1]:5678``); None for others."""
    if not peer:
        return None
    kind, _, rest = unquote(peer).partition(":")
    if kind == "ipv4":
        return rest.rpartition(":")[0]
    if kind == "ipv6":
        return rest.rpartition(":")[0].strip("[]")
    return None


def _parse(address: str | None):
    try:
        return ipaddress.ip_address((address or "").strip())
    except ValueError:
        return None


def _canonical(address: str | None) -> str | None:
    parsed = _parse(address)
    if parsed is None:
        return None
    if parsed.version == 6 and parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(parsed)
