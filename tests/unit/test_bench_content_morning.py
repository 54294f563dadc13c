"""The content-morning bench's breakdown of a feed's time: each window's figures are the differences of the
cumulative series read at its two edges."""
from bench.content_morning import FEED_SERIES, Bench


def reading(scale: float, cpu: dict[str, float]) -> dict:
    read = {name: (scale * 1.0, scale * 20) for name, *_ in FEED_SERIES}   # means of 50 ms, batch size 0.05
    read["request_slow"] = (scale * 15, scale * 15)                        # 15 of 20 requests within 100 ms
    read["size"] = (scale * 200, scale * 20)                               # batches of 10
    read["content_all"] = (scale * 30, scale * 30)                         # 30 s of RPCs in a 60 s window
    read.update({"cpu:" + name: (seconds, seconds) for name, seconds in cpu.items()})
    return read


def bench(samples) -> Bench:
    made = Bench.__new__(Bench)            # no processes: only what the report reads
    made.window, made.samples = 60.0, samples
    return made


def test_each_window_is_the_difference_of_its_edges(capsys):
    samples = [(0.0, reading(0, {"gateway": 10, "machine": 100})),
               (60.0, reading(1, {"gateway": 40, "machine": 190})),
               (120.0, reading(3, {"gateway": 70, "machine": 250}))]
    bench(samples).print_feed_breakdown({0: [0.1, 0.3], 1: [0.05]})
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in lines if line.strip().startswith(("0s", "60s"))]
    feed0, feed1, cpu0, cpu1 = rows
    assert feed0 == ["0s", "200.0", "50.0", "25.0%", "50.0", "50.0", "50.0", "10.0", "50.0", "0.50"]
    assert feed1[1:4] == ["50.0", "50.0", "25.0%"] and feed1[-1] == "1.00"     # twice the RPC seconds
    assert cpu0 == ["0s", "0.50", "1.50"] and cpu1 == ["60s", "0.50", "1.00"]   # gateway, then the machine


def test_a_process_gone_before_the_last_edge_is_not_a_negative_figure(capsys):
    samples = [(0.0, reading(0, {"load0": 5, "machine": 0})), (60.0, reading(1, {"load0": 0, "machine": 60}))]
    bench(samples).print_feed_breakdown({})
    row = [line.split() for line in capsys.readouterr().out.splitlines() if line.strip().startswith("0s")][-1]
    assert row == ["0s", "-", "1.00"]


def test_no_window_read_prints_nothing(capsys):
    bench([(0.0, reading(0, {"machine": 0}))]).print_feed_breakdown({})
    assert capsys.readouterr().out == ""
