from services.attendance.domain.closing import final_statuses, totals

ROSTER = {"a": False, "b": False, "c": False, "d": False, "e": True, "f": True, "g": True, "h": True}


def statuses():
    return final_statuses(ROSTER, on_leave={"c", "h", "outsider"}, checked_in={"a", "b", "f", "outsider"},
                          checked_out={"a", "f"})


def test_each_member_gets_exactly_one_final_status():
    assert statuses() == {
        "a": "present",     # signed in and out
        "b": "incomplete",  # signed in, never signed out
        "c": "excused",     # approved leave
        "d": "absent",      # no sign-in: automatically absent
        "e": "mobile",      # mobile member, no sign-in: takes part online
        "f": "present",     # a mobile member who came is counted like anyone
        "g": "mobile",
        "h": "excused",     # a mobile member on leave is excused
    }


def test_a_member_on_leave_who_signed_in_anyway_is_counted_by_the_sign_in():
    result = final_statuses({"x": False, "y": False}, on_leave={"x", "y"}, checked_in={"x", "y"},
                            checked_out={"x"})
    assert result == {"x": "present", "y": "incomplete"}


def test_everyone_absent_when_nobody_came():
    assert final_statuses({"x": False, "y": False}, set(), set(), set()) == {"x": "absent", "y": "absent"}


def test_an_empty_roster():
    assert final_statuses({}, set(), {"x"}, {"x"}) == {}
    assert totals({}, set(), 0, 0, 0) == {
        "roster": 0, "on_site_expected": 0, "present": 0, "incomplete": 0, "excused": 0, "absent": 0,
        "mobile": 0, "mobile_liked": 0, "reflections": 0, "photos": 0, "text_chars": 0}


def test_totals():
    result = totals(statuses(), liked={"e", "a", "g", "nobody"}, reflections=3, photos=5, text_chars=1200)
    assert result == {
        # f (mobile, came) is on site and h (mobile, on leave) excused: only e and g took part online
        "roster": 8, "on_site_expected": 6, "present": 2, "incomplete": 1, "excused": 2, "absent": 1,
        "mobile": 2, "mobile_liked": 2, "reflections": 3, "photos": 5, "text_chars": 1200,
    }
