"""The scaling benchmark (scripts/bench_scaling.py) on tiny settings: every table is
written, each time is the median of its repeats, and the rows describe the runs."""
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import bench_scaling  # noqa: E402


class _Stats:
    def __init__(self, wall_s):
        self.wall_s = wall_s


class _Result:
    def __init__(self, wall_s):
        self.stats = _Stats(wall_s)


class _ScriptedNet:
    """Returns the given wall times in turn."""

    def __init__(self, walls):
        self.walls = list(walls)

    def run(self, duration):
        return _Result(self.walls.pop(0))


def test_timed_runs_reports_median_and_best():
    wall, best, stats = bench_scaling.timed_runs(_ScriptedNet([0.5, 0.2, 0.9]), 10.0, 3)
    assert (wall, best, stats.wall_s) == (0.5, 0.2, 0.9)


class _LoggedNet:
    """Returns wall time ``duration / 1000`` plus the round's offset, and logs the order."""

    def __init__(self):
        self.order = []

    def run(self, duration):
        self.order.append(duration)
        return _Result(duration / 1000.0 + 0.01 * (len(self.order) - 1))


def test_interleaved_runs_run_every_duration_once_a_round_in_alternating_order():
    net = _LoggedNet()
    out = bench_scaling.interleaved_runs(net, [10.0, 20.0, 30.0], 3)
    assert net.order == [10.0, 20.0, 30.0, 30.0, 20.0, 10.0, 10.0, 20.0, 30.0]
    # 10 ms ran as calls 0, 5, 6: walls 0.01 + (0, 0.05, 0.06)
    wall, best, stats = out[10.0]
    assert (round(wall, 12), round(best, 12), round(stats.wall_s, 12)) == (0.06, 0.01, 0.07)
    assert list(out) == [10.0, 20.0, 30.0]


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_tables_from_a_short_run(tmp_path):
    bench_scaling.main(["--sizes", "400", "--ks", "2", "--events", "2e4", "--k-duration", "20",
                        "--silent", "10,100", "--linear", "10,20", "--repeats", "2",
                        "--out", str(tmp_path)])
    for name in ("scaling_size.csv", "scaling_k.csv", "silent.csv", "linear.csv"):
        rows = _rows(tmp_path / name)
        assert rows, name
        for row in rows:
            assert 0.0 < float(row["best_wall_s"]) <= float(row["wall_s"]), (name, row)
    (size,) = _rows(tmp_path / "scaling_size.csv")
    assert int(size["n"]) == 400 and int(size["synaptic_events"]) > 0
    assert int(size["threads"]) == 2        # the default: the size runs on two threads too
    assert 0.0 < float(size["best_wall_s_threads"]) <= float(size["wall_s_threads"])
    assert abs(float(size["speedup_threads"]) * float(size["wall_s_threads"])
               - float(size["wall_s"])) < 1e-4 * float(size["wall_s"])
    # (the CSV keeps six significant digits)
    assert abs(float(size["events_per_s"]) * float(size["wall_s"])
               - int(size["synaptic_events"])) < 1e-4 * int(size["synaptic_events"])
    (k_row,) = _rows(tmp_path / "scaling_k.csv")
    assert int(k_row["K"]) == 2 and float(k_row["duration_ms"]) == 20.0
    assert [int(r["synaptic_events"]) for r in _rows(tmp_path / "silent.csv")] == [0, 0]
    assert (tmp_path / "scaling_size.png").stat().st_size > 0
