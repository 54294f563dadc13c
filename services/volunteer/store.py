"""Volunteer storage: one database (``volunteer``) whose writes commit with their events (``OutboxStore``).

Reads and writes are grouped by topic in ``stores/``, each a mixin declaring its own collections;
``VolunteerStore`` is their union over one database and one outbox, so a write of one topic that another
depends on (confirming an order credits the hours ledger) commits both in one transaction. Subtrees are found
through the ancestor fields ``a0``..``a5`` (``servicekit.storage.subtree``): nx-27017 plans with single-field
indexes only.
"""
from __future__ import annotations

from servicekit.messaging.outbox import OutboxStore

from services.volunteer.events import SOURCE
from services.volunteer.stores.claims import ClaimRecords
from services.volunteer.stores.hours import HoursRecords
from services.volunteer.stores.orders import OrderRecords
from services.volunteer.stores.profiles import ProfileRecords
from services.volunteer.stores.reports import ReportRecords
from services.volunteer.stores.settings import SettingsRecords
from services.volunteer.stores.statistics import StatisticsRecords
from services.volunteer.stores.teams import TeamRecords


class VolunteerStore(OrderRecords, ClaimRecords, ProfileRecords, HoursRecords, SettingsRecords,
                     TeamRecords, ReportRecords, StatisticsRecords, OutboxStore):
    source = SOURCE
