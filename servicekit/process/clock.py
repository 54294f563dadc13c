"""The service's time as a dependency of its own: ``clock = ServiceClock()`` on a service, ``self.clock.now()``
in its entry points and use cases, a fixed clock in tests (``FixedClock``)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from nameko.extensions import DependencyProvider

from servicekit.timestamps import LOCAL_ZONE, utc_now


class WallClock:
    """The real time."""

    def now(self) -> datetime:
        return utc_now()

    def today(self) -> date:
        """Today's date in China (a date typed or read by people is civil, not UTC)."""
        return self.now().astimezone(LOCAL_ZONE).date()


class FixedClock(WallClock):
    """A clock that says what it is told: for tests."""

    def __init__(self, moment: datetime):
        self.moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta) -> None:
        self.moment += timedelta(**delta)


class ServiceClock(DependencyProvider):
    """A service's clock, one per process. ``factory(container)`` builds it (default: the wall clock); a
    service whose time tests may shift passes its own."""

    def __init__(self, factory=None):
        self.factory = factory
        self.clock = None

    def setup(self):
        self.clock = self.factory(self.container) if self.factory else WallClock()

    def get_dependency(self, worker_ctx):
        return self.clock
