"""Login throttling: how long a client must wait before its next password attempt.

Attempts are counted per client address, per (tenant code, username, client address) and per password guessed
(keyed, never stored as typed), never per account alone: a stranger's wrong guesses slow down only the stranger's own address, never the account's
owner logging in from elsewhere. The counters are keyed by the names as typed, not by the account found,
so a name that does not exist is throttled exactly like one that does and the answers reveal nothing.
The first ``free`` attempts of a counter cost nothing; after them each attempt must wait ``base`` seconds
after the previous one, doubling with each further attempt up to ``cap``. A counter is forgotten
``forget`` seconds after its last attempt. Pure rules: the clock is the caller's ``now`` (epoch seconds).
"""
from __future__ import annotations

import hashlib
import ipaddress
import json
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    name: str
    free: int          # attempts allowed before any delay
    base: float        # seconds to wait after the last attempt once ``free`` are used, doubling from there
    cap: float         # the longest wait
    forget: float      # seconds after the last attempt when the counter starts again from zero


# guesses at one name from one address: a person who mistypes waits a second or two, a guesser ever longer
ACCOUNT_FROM_ADDRESS = Rule("account", free=5, base=1.0, cap=15 * 60, forget=60 * 60)
# every failed login from one address, whatever the name: password spraying over many accounts
ADDRESS = Rule("address", free=20, base=1.0, cap=5 * 60, forget=60 * 60)
# one password tried, whatever the tenant, name or address: spraying a common password from many addresses. Only
# failures stay counted (a login gives its attempt back), so this waits only while that very password is sprayed.
PASSWORD = Rule("password", free=30, base=1.0, cap=5 * 60, forget=60 * 60)
# wrong TOTP codes for one account, wherever they come from: whoever types them already has the password, so the
# account itself is what to protect; a million codes, three valid at a time, leave a guesser no chance at this pace
TOTP = Rule("totp", free=5, base=15.0, cap=15 * 60, forget=60 * 60)
# citizens' registrations from one address, whatever the phone: a script opening accounts in bulk. Mild, since
# many phones share one address behind a carrier's NAT; every registration counts, taken or not.
REGISTRATION = Rule("registration", free=20, base=5.0, cap=5 * 60, forget=60 * 60)
IPV6_PREFIX = 64                    # one subscriber's IPv6 network: its 2^64 addresses count as one


@dataclass(frozen=True)
class Counter:
    """One counter to charge an attempt to: its stored id and its rule."""
    id: str
    rule: Rule


def client_key(address: str) -> str:
    """The address attempts are counted by: an IPv4 address as it is, an IPv6 address's /64 network (IPv4-mapped
    ones as IPv4), anything else (not an IP address) as given."""
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        return address.strip()[:128]
    if parsed.version == 6 and parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_PREFIX}", strict=False))
    return str(parsed)


def counters(tenant_code: str, username: str, client_address: str, password_mark: str = "") -> list[Counter]:
    """The counters an attempt is charged to, narrowest first. Without an address (a caller inside the
    platform, not through the gateway) only the name's own counter, shared by every such caller.
    ``password_mark``: a keyed digest of the password typed (``Sessions``), "" for no password counter."""
    client = client_key(client_address) if client_address else ""
    found = [Counter(_counter_id("account", tenant_code, username, client), ACCOUNT_FROM_ADDRESS)]
    if client:
        found.append(Counter(_counter_id("address", client), ADDRESS))
    if password_mark:
        found.append(Counter(_counter_id("password", password_mark), PASSWORD))
    return found


def totp_counter(account_id: str) -> Counter:
    """The counter of an account's wrong second-factor codes."""
    return Counter(_counter_id("totp", account_id), TOTP)


def registration_counters(client_address: str) -> list[Counter]:
    """The counters a citizen's registration is charged to: its address's; none without one (a caller inside the
    platform, such as a seeding script, is not throttled)."""
    return [Counter(_counter_id("registration", client_key(client_address)), REGISTRATION)] if client_address else []


def _counter_id(*parts: str) -> str:
    # hashed: a fixed length whatever was typed, and the names an attacker tried are not stored as such
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()


def attempts(rule: Rule, counted: int, last_at: float | None, now: float) -> int:
    """The attempts still counted at ``now``: none once ``forget`` seconds have passed since the last."""
    if not counted or last_at is None or now - last_at >= rule.forget:
        return 0
    return counted


def delay(rule: Rule, counted: int) -> float:
    """The wait after the last of ``counted`` attempts before the next one."""
    if counted < rule.free:
        return 0.0
    return min(rule.base * 2 ** min(counted - rule.free, 32), rule.cap)


def wait(rule: Rule, counted: int, last_at: float | None, now: float) -> float:
    """Seconds before the next attempt may run (0.0: now); ``counted`` as stored, forgetting applied here."""
    counted = attempts(rule, counted, last_at, now)
    if counted == 0:
        return 0.0
    return max(0.0, last_at + delay(rule, counted) - now)


def retry_after(seconds: float) -> int:
    """Whole seconds for a Retry-After answer: never 0, so a client that obeys it is not refused again."""
    return max(1, math.ceil(seconds))
