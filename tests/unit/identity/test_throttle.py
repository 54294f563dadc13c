"""The login throttle's rules (services.identity.domain.throttle), on a clock the test sets."""
import pytest

from services.identity.domain import throttle
from services.identity.domain.throttle import ACCOUNT_FROM_ADDRESS, ADDRESS, Rule

RULE = Rule("test", free=3, base=1.0, cap=10.0, forget=100.0)


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now


class Counting:
    """What the store keeps for one counter, with the store's compare-and-set reduced to its rule."""

    def __init__(self, rule: Rule, clock: Clock):
        self.rule, self.clock, self.counted, self.last_at = rule, clock, 0, None

    def attempt(self) -> float:
        counted = throttle.attempts(self.rule, self.counted, self.last_at, self.clock.now)
        waiting = throttle.wait(self.rule, self.counted, self.last_at, self.clock.now)
        if waiting == 0:
            self.counted, self.last_at = counted + 1, self.clock.now
        return waiting


def test_the_first_attempts_are_free_then_each_waits_twice_as_long_up_to_the_cap():
    clock = Clock()
    counter = Counting(RULE, clock)
    assert [counter.attempt() for _ in range(3)] == [0.0, 0.0, 0.0]
    waits = []
    for _ in range(6):
        waiting = counter.attempt()
        waits.append(waiting)
        clock.now += waiting
        assert counter.attempt() == 0.0
    assert waits == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_an_attempt_before_the_wait_is_over_is_refused_and_not_counted():
    clock = Clock()
    counter = Counting(RULE, clock)
    for _ in range(3):
        counter.attempt()
    clock.now += 0.4
    assert counter.attempt() == pytest.approx(0.6)
    assert counter.attempt() == pytest.approx(0.6)      # refusals do not lengthen the wait
    assert counter.counted == 3
    clock.now += 0.6
    assert counter.attempt() == 0.0


def test_a_counter_is_forgotten_after_a_quiet_spell():
    clock = Clock()
    counter = Counting(RULE, clock)
    for _ in range(4):
        clock.now += counter.attempt()
        counter.attempt()
    clock.now += RULE.forget
    assert throttle.attempts(RULE, counter.counted, counter.last_at, clock.now) == 0
    assert [counter.attempt() for _ in range(3)] == [0.0, 0.0, 0.0]


def test_a_wait_is_never_answered_as_zero_seconds():
    assert throttle.retry_after(0.01) == 1
    assert throttle.retry_after(4.2) == 5


def test_a_name_is_counted_per_address_so_another_address_is_never_slowed():
    here = throttle.counters("hanzhong", "hanzhong_admin", "203.0.113.7")
    there = throttle.counters("hanzhong", "hanzhong_admin", "198.51.100.9")
    assert [c.rule for c in here] == [ACCOUNT_FROM_ADDRESS, ADDRESS]
    assert not {c.id for c in here} & {c.id for c in there}


def test_a_name_that_exists_and_one_that_does_not_are_counted_alike():
    real = throttle.counters("hanzhong", "hanzhong_admin", "203.0.113.7")
    unknown = throttle.counters("hanzhong", "nobody", "203.0.113.7")
    assert [c.rule for c in real] == [c.rule for c in unknown]
    assert real[1] == unknown[1]                 # one counter for the address, whatever the name
    assert real[0].id != unknown[0].id


def test_names_are_not_stored_as_typed():
    assert all("hanzhong_admin" not in c.id for c in throttle.counters("hanzhong", "hanzhong_admin", "203.0.113.7"))


def test_a_caller_inside_the_platform_has_only_the_names_counter():
    assert [c.rule for c in throttle.counters("hanzhong", "hanzhong_admin", "")] == [ACCOUNT_FROM_ADDRESS]


@pytest.mark.parametrize("address, key", [
    ("203.0.113.7", "203.0.113.7"),
    ("::ffff:203.0.113.7", "203.0.113.7"),
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
    ("unknown", "unknown"),
])
def test_addresses_are_counted_by_ipv4_address_or_ipv6_network(address, key):
    assert throttle.client_key(address) == key


def test_spraying_one_address_over_many_names_meets_the_address_counter():
    clock = Clock()
    address = Counting(ADDRESS, clock)
    assert all(address.attempt() == 0.0 for _ in range(ADDRESS.free))
    assert address.attempt() == ADDRESS.base
