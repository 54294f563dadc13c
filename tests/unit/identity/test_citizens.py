"""A citizen's registration rules: the phone and name checked and normalised, the phone masked in answers, the
registration counter per address (the login's rules, its own key), and its hashing bounded by the login's gate."""
import threading

import pytest

from servicekit.errors import InvalidArgument
from services.identity import passwords
from services.identity.domain import citizens, throttle


@pytest.mark.parametrize("given, phone", [("13900001111", "13900001111"), ("139 0000 1111", "13900001111"),
                                          ("139-0000-1111", "13900001111"), ("+8613900001111", "13900001111")])
def test_a_mainland_mobile_number_is_kept_as_its_eleven_digits(given, phone):
    assert citizens.registration(given, " 王阿姨 ") == citizens.Registration(phone, "王阿姨")


@pytest.mark.parametrize("phone", ["", "1390000111", "139000011112", "12900001111", "029-8888888", "1390000111a",
                                   None])
def test_anything_but_a_mainland_mobile_number_is_refused(phone):
    with pytest.raises(InvalidArgument) as refused:
        citizens.registration(phone, "王阿姨")
    assert (refused.value.code, refused.value.field) == ("PHONE_INVALID", "phone")


@pytest.mark.parametrize("name, code", [("", "REQUIRED"), ("   ", "REQUIRED"), (None, "INVALID_TYPE"),
                                        (["王"], "INVALID_TYPE"), ("王" * 31, "TOO_LONG")])
def test_a_name_is_required_and_short(name, code):
    with pytest.raises(InvalidArgument) as refused:
        citizens.registration("13900001111", name)
    assert (refused.value.code, refused.value.field) == (code, "name")


def test_a_name_of_thirty_characters_is_kept():
    assert citizens.registration("13900001111", "王" * 30).name == "王" * 30


def test_the_masked_phone_shows_its_first_three_and_last_four_digits_only():
    assert citizens.mask_phone("13900001111") == "139****1111"
    assert citizens.mask_phone("123") == "****"


def test_registrations_are_counted_per_address_on_a_counter_of_their_own():
    [counter] = throttle.registration_counters("203.0.113.7")
    assert counter.rule is throttle.REGISTRATION
    assert counter.id not in {c.id for c in throttle.counters("", "", "203.0.113.7")}      # not a login's counter
    assert throttle.registration_counters("203.0.113.7") == [counter]
    assert throttle.registration_counters("203.0.113.8") != [counter]
    # one IPv6 subscriber's network counts as one address, as for logins
    assert throttle.registration_counters("2001:db8::1") == throttle.registration_counters("2001:db8::2")
    assert throttle.registration_counters("") == []


def test_twenty_registrations_an_hour_are_free_then_each_waits_longer():
    rule, now = throttle.REGISTRATION, 1_000_000.0
    assert throttle.wait(rule, 19, now, now) == 0.0
    assert throttle.wait(rule, 20, now, now) == 5.0
    assert throttle.wait(rule, 21, now, now) == 10.0
    assert throttle.wait(rule, 40, now, now) == 300.0                   # at most five minutes
    assert throttle.wait(rule, 40, now - 3600, now) == 0.0              # forgotten an hour after the last


def test_a_registrations_hashing_shares_the_logins_bound():
    release, started = threading.Event(), threading.Semaphore(0)

    def held(function, *args):
        started.release()
        release.wait(10)
        return function(*args)

    gate = passwords.HashGate(running=1, waiting=0, offload=held)
    hashed = []
    thread = threading.Thread(target=lambda: hashed.append(gate.hash("Passw0rd!")))
    thread.start()
    assert started.acquire(timeout=10)
    with pytest.raises(passwords.GateFull):
        gate.verify(None, "Passw0rd!")          # a login waits behind the registration's hashing, and the other way
    release.set()
    thread.join(10)
    assert passwords.verify_password(hashed[0], "Passw0rd!")[0]
    assert gate.admitted == 0
