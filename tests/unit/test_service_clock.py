from datetime import date, datetime, timezone

from servicekit.process.clock import FixedClock, ServiceClock, WallClock


def test_today_is_chinas_date_not_utcs():
    clock = FixedClock(datetime(2026, 12, 6, 17, 30, tzinfo=timezone.utc))     # 01:30 on the 7th in Beijing
    assert clock.today() == date(2026, 12, 7)
    clock.advance(hours=-2)
    assert clock.today() == date(2026, 12, 6)


def test_a_naive_moment_is_taken_as_utc():
    assert FixedClock(datetime(2026, 1, 1)).now().tzinfo is timezone.utc


def test_the_dependency_gives_the_wall_clock_unless_told_otherwise():
    class Container:
        service_name = "x"
    default, shifted = ServiceClock(), ServiceClock(lambda container: FixedClock(datetime(2030, 1, 1)))
    for provider in (default, shifted):
        provider.container = Container()
        provider.setup()
    assert isinstance(default.get_dependency(None), WallClock)
    assert abs((default.get_dependency(None).now() - datetime.now(timezone.utc)).total_seconds()) < 5
    assert shifted.get_dependency(None).now().year == 2030
