"""The attendance service's one-second timer: it refreshes what the broker says about other instances
(``ServicePeers.refresh``, which the device book only reads on a scan's path), then sweeps; a failing sweep
does not stop the next tick."""
from nameko.testing.services import worker_factory

from services.attendance import sweeps
from services.attendance.service import AttendanceService


def test_each_tick_refreshes_the_peers_then_sweeps_and_survives_a_failing_sweep():
    service = worker_factory(AttendanceService)
    calls = []
    service.desk.peers.refresh.side_effect = lambda: calls.append("refresh")

    def sweep():
        calls.append("sweep")
        raise RuntimeError("store unavailable")
    service._sweep = sweep
    service.tick()
    service.tick()
    assert calls == ["refresh", "sweep", "refresh", "sweep"]


def test_a_sweep_warms_the_chains_of_the_activities_whose_rosters_it_froze(monkeypatch):
    service = worker_factory(AttendanceService)
    monkeypatch.setattr(sweeps, "freeze_due_rosters", lambda *args: ["act_b1_2026-11", "act_b2_2026-11"])
    monkeypatch.setattr(sweeps, "close_due_activities", lambda *args: [])
    assert service._sweep() == {"frozen": 2, "closed": 0}
    service.desk.chain.warm.assert_called_once_with(["act_b1_2026-11", "act_b2_2026-11"])
