"""The scan desk's memory of stored records: a sign-in keeps its place and time, a sign-out only that it
exists, and the oldest is forgotten past the capacity."""
from datetime import datetime, timezone

from services.attendance.scanning import KnownRecords

AT = datetime(2026, 11, 26, 0, 55, tzinfo=timezone.utc)


def test_a_sign_in_is_known_with_its_place_and_time_a_sign_out_without():
    known = KnownRecords()
    known.put("a1:in:m1", {"at": AT, "lat": 30.1, "lng": 120.2})
    known.put("a1:out:m1", None)
    assert "a1:in:m1" in known and "a1:out:m1" in known and "a1:in:m2" not in known
    assert known.checkin("a1:in:m1") == {"at": AT, "lat": 30.1, "lng": 120.2}
    assert known.checkin("a1:out:m1") is None and known.checkin("a1:in:m2") is None


def test_past_the_capacity_the_oldest_record_is_forgotten():
    known = KnownRecords(capacity=2)
    for member in ("m1", "m2", "m3"):
        known.put(f"a1:in:{member}", {"at": AT, "lat": 30.1, "lng": 120.2})
    assert "a1:in:m1" not in known and "a1:in:m2" in known and "a1:in:m3" in known
