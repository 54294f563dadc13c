"""The device book loads every activity a batch needs in one read by record id, once."""
import gc

from services.attendance.scanning import DeviceBook, record_id


class RecordsById:
    def __init__(self, records):
        self.records = {record["_id"]: record for record in records}
        self.reads = []

    def records_by_ids(self, ids, projection=None):
        self.reads.append(list(ids))
        return {i: self.records[i] for i in ids if i in self.records}


def a_record(activity_id, direction, member_id, device):
    return {"_id": record_id(activity_id, direction, member_id), "activity_id": activity_id, "member_id": member_id,
            "device_key": f"{activity_id}:{device}"}


def as_sets(users: dict) -> dict:
    """The books with each device's members as a set (the book keeps them as a tuple, once each)."""
    assert all(len(set(members)) == len(members) for book in users.values() for members in book.values())
    return {activity_id: {device: set(members) for device, members in book.items()}
            for activity_id, book in users.items()}


def test_a_batch_loads_its_activities_books_in_one_read_and_keeps_them():
    store = RecordsById([a_record("a1", "in", "m1", "d1"), a_record("a1", "in", "m2", "d1"),
                         a_record("a1", "out", "m1", "d1"), a_record("a2", "in", "m3", "d9")])
    book = DeviceBook(store)
    activities = {"a1": {"_id": "a1", "roster": {"m1": {}, "m2": {}}}, "a2": {"_id": "a2", "roster": {"m3": {}}}}
    users = book.users(activities)
    assert as_sets(users) == {"a1": {"a1:d1": {"m1", "m2"}}, "a2": {"a2:d9": {"m3"}}}
    assert len(store.reads) == 1 and set(store.reads[0]) == {record_id(a, d, m) for a, m in
                                                             (("a1", "m1"), ("a1", "m2"), ("a2", "m3"))
                                                             for d in ("in", "out")}
    book.note("a2", record_id("a2", "in", "m4"), "a2:d9", "m4")   # what this process stores joins the book
    assert as_sets(book.users({"a2": activities["a2"]})) == {"a2": {"a2:d9": {"m3", "m4"}}} and len(store.reads) == 1


def test_a_loaded_book_is_not_read_again_and_learns_what_is_noted():
    """Records never change: a loaded book learns this process's records and those another instance appended (both
    ``note``), and is never read again; a new activity's book is loaded."""
    store = RecordsById([a_record("a1", "in", "m1", "d1")])
    book = DeviceBook(store)
    activity = {"_id": "a1", "roster": {"m1": {}, "m2": {}, "m3": {}}}
    book.users({"a1": activity})
    book.note("a1", record_id("a1", "in", "m2"), "a1:d1", "m2")           # stored by this process
    book.note("a1", record_id("a1", "in", "m3"), "a1:d1", "m3")           # appended by another, read at a write
    assert as_sets(book.users({"a1": activity})) == {"a1": {"a1:d1": {"m1", "m2", "m3"}}} and len(store.reads) == 1
    book.users({"a2": {"_id": "a2", "roster": {"m9": {}}}})
    assert store.reads[-1] == [record_id("a2", d, "m9") for d in ("in", "out")]


def test_a_device_s_members_are_kept_once_each_in_nothing_the_collector_keeps_tracking():
    """A city's books hold about 160,000 devices; as sets, every full garbage collection walked them."""
    store = RecordsById([a_record("a1", "in", "m1", "d1"), a_record("a1", "out", "m1", "d1")])
    book = DeviceBook(store)
    activity = {"_id": "a1", "roster": {"m1": {}, "m2": {}}}
    book.users({"a1": activity})
    book.note("a1", record_id("a1", "in", "m2"), "a1:d1", "m2")
    book.note("a1", record_id("a1", "out", "m2"), "a1:d1", "m2")          # the same member again: kept once
    members = book.users({"a1": activity})["a1"]["a1:d1"]
    assert members == ("m1", "m2")
    gc.collect()
    assert not gc.is_tracked(members)


def test_records_stored_with_the_device_id_as_sent_join_the_book_in_the_compared_form():
    """Records stored before device ids were compared case- and width-blind keep the id as the phone sent it."""
    store = RecordsById([a_record("a1", "in", "m1", "DEV-Shared-1"), a_record("a1", "in", "m2", "ｄｅｖ－ｓｈａｒｅｄ－１"),
                         a_record("a1", "in", "m3", "d3")])
    activity = {"_id": "a1", "roster": {"m1": {}, "m2": {}, "m3": {}}}
    assert as_sets(DeviceBook(store).users({"a1": activity})) == {"a1": {"a1:dev-shared-1": {"m1", "m2"},
                                                                         "a1:d3": {"m3"}}}
