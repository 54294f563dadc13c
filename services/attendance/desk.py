"""What an attendance process keeps for its lifetime: one store, the clock, the QR keys, the chain writer, the
scan desk and the schedule. Entry points, the desk and the clock share the one store, so that a write
reaches the caches it changes (``AttendanceStore.on_scan_rules_changed``)."""
from __future__ import annotations

from pathlib import Path

from eventlet.semaphore import Semaphore
from nameko.extensions import DependencyProvider

from servicekit.process.clock import WallClock
from servicekit.process.config import ConfigError, env
from servicekit.storage.mongo import open_store

from services.attendance.chaining import ChainWriter
from services.attendance.domain import qrtoken
from services.attendance.scanning import ScanDesk
from services.attendance.schedule import Schedule
from services.attendance.store import AttendanceStore

_opening = Semaphore()      # nameko sets its extensions up concurrently: the first opens the store, the others wait


def _process_parts(container):
    """The process's store and clock, kept on the container (extensions see it through a proxy). The clock is
    the real time; a test build of the service makes its own (``process_clock(store)``, tests/support/builds.py)."""
    with _opening:
        if getattr(container, "attendance_store", None) is None:
            store = open_store(AttendanceStore, container.service_name)
            process_clock = getattr(container.service_cls, "process_clock", None)
            container.attendance_clock = process_clock(store) if process_clock else WallClock()
            container.attendance_store = store
    return container


def process_store(container) -> AttendanceStore:
    return _process_parts(container).attendance_store


def service_clock(container) -> WallClock:
    """The factory of ``ServiceClock``: the process's one clock, the one its scan desk reads."""
    return _process_parts(container).attendance_clock


class QrKeys:
    """The QR-signing master key, loaded once per process; per-tenant keys derived from it."""

    def __init__(self):
        self.master = Path(env("QR_SIGNING_KEY_PATH", required=True)).read_bytes()
        self._keys: dict[str, bytes] = {}

    def tenant_key(self, tenant_id: str) -> bytes:
        if tenant_id not in self._keys:
            self._keys[tenant_id] = qrtoken.tenant_key(self.master, tenant_id)
        return self._keys[tenant_id]


def public_base_url() -> str:
    """PUBLIC_BASE_URL, checked when the process starts: a bad one would print codes that open nothing."""
    try:
        return qrtoken.public_base_url(env("PUBLIC_BASE_URL") or qrtoken.DEFAULT_PUBLIC_BASE_URL)
    except ValueError as error:
        raise ConfigError(str(error)) from None


class ProcessStore(DependencyProvider):
    """The service's store: the process's one ``AttendanceStore``."""

    def setup(self):
        self.store = process_store(self.container)

    def get_dependency(self, worker_ctx):
        return self.store


class Desk(DependencyProvider):
    """The process's QR keys, chain writer, scan desk and schedule."""

    def setup(self):
        self.public_base_url = public_base_url()
        store = process_store(self.container)
        self.keys = QrKeys()
        self.chain = ChainWriter(store)
        self.scans = ScanDesk(store, self.chain, service_clock(self.container), self.keys.tenant_key)
        self.schedule = Schedule(store)
        store.on_scan_rules_changed(self.scans.activities.forget)
        store.on_schedule_changed(self.schedule.mark_changed)

    def get_dependency(self, worker_ctx):
        return self
