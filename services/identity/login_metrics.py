"""What operations alert on when logins are abused: every failure by reason, and the state of the throttle's
counters (how many addresses and passwords are being slowed down right now, the most failures from one address).

``login_failures_total{reason}`` grows with each refused login step:
  ``wrong_credentials`` (a password check failed: wrong name, password or a disabled account),
  ``throttled_account``, ``throttled_address``, ``throttled_password``, ``throttled_totp`` (refused unchecked by that
  counter), ``busy`` (the hashing queue was full), ``totp_wrong``, ``totp_reused``, ``challenge_invalid``.
An alert on ``sum(rate(login_failures_total{reason="wrong_credentials"}[5m]))`` sees stuffing from many addresses
that no single counter slows; the gauges (refreshed every ``MEASURE_SECONDS`` by the service's timer) see a few
addresses or one sprayed password.
"""
from __future__ import annotations

from prometheus_client import Counter, Gauge

MEASURE_SECONDS = 15

LOGINS = Counter("login_attempts_total", "Login steps answered, by outcome (ok, totp_required, totp_enrol_required, "
                 "failed, throttled)", ["outcome"])
FAILURES = Counter("login_failures_total", "Refused login steps, by reason", ["reason"])
COUNTERS_OVER_FREE = Gauge("login_throttle_counters_over_free",
                           "Throttle counters past their free attempts right now (each one is making a client wait), "
                           "by rule: account, address, password, totp", ["rule"])
MOST_FROM_ONE_ADDRESS = Gauge("login_address_failures_max",
                              "The most failed logins still counted for one client address (its last hour)")

REASONS = ("wrong_credentials", "throttled_account", "throttled_address", "throttled_password", "throttled_totp",
           "busy", "totp_wrong", "totp_reused", "challenge_invalid")
RULES = ("account", "address", "password", "totp")
for _reason in REASONS:     # every series present from the start, so a rate() over them is defined at once
    FAILURES.labels(_reason)
for _outcome in ("ok", "totp_required", "totp_enrol_required", "failed", "throttled"):
    LOGINS.labels(_outcome)


def failed(reason: str, outcome: str = "failed") -> None:
    FAILURES.labels(reason).inc()
    LOGINS.labels(outcome).inc()


def throttled(rule: str) -> None:
    failed(f"throttled_{rule}", "throttled")


def answered(outcome: str) -> None:
    LOGINS.labels(outcome).inc()


def measured(over_free: dict[str, int], most_from_one_address: int) -> None:
    for rule in RULES:
        COUNTERS_OVER_FREE.labels(rule).set(over_free.get(rule, 0))
    MOST_FROM_ONE_ADDRESS.set(most_from_one_address)
