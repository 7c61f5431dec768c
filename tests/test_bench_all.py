"""scripts/bench_all.py: the targets table read off the benchmark scripts' CSVs.

The scripts themselves are not run here (their peers are optional extras and a
full run takes half an hour); their CSVs are written with the scripts' own
column names and read back.
"""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import bench_all  # noqa: E402
from peers import report  # noqa: E402


def _write_all(out, *, engine_rate=3.1e7, eq_speedup=36.5, large_speedup=0.45,
               silent_walls=(0.0026, 0.0025, 0.0026), train_speed=1.44):
    report.write_csv(out / "engine", "engine.csv", [
        dict(engine="event-driven", dt_ms="-", median_syn_events_per_s=engine_rate),
        dict(engine="fixed-step", dt_ms=0.1, median_syn_events_per_s=8e6)])
    report.write_csv(out / "brian2", "brian2_dt.csv", [
        dict(simulator="eventsg event-driven", dt_ms=0.0, median_err_ms=0.0, eventsg_speedup=1.0),
        dict(simulator="brian2", dt_ms=0.1, median_err_ms=0.078, eventsg_speedup=large_speedup),
        dict(simulator="brian2", dt_ms=0.01, median_err_ms=0.0077, eventsg_speedup=3.8),
        dict(simulator="brian2", dt_ms=0.001, median_err_ms=0.00076,
             eventsg_speedup=eq_speedup)])
    report.write_csv(out / "brian2", "brian2_cost.csv", [
        dict(case="base", events_rel=1.0, eventsg_rel=1.0, **{"brian2_dt0.1_rel": 1.0}),
        dict(case="duration x2", events_rel=1.98, eventsg_rel=1.84,
             **{"brian2_dt0.1_rel": 2.02})])
    report.write_csv(out / "nest", "nest.csv", [
        dict(simulator="eventsg event-driven", events_per_s=2.7e7),
        dict(simulator="NEST 1 thread", events_per_s=2.7e6)])
    report.write_csv(out / "scaling", "silent.csv", [
        dict(duration_ms=d, wall_s=w) for d, w in zip((100.0, 1e3, 1e4), silent_walls)])
    events = [6e5, 1.3e6, 2.3e6, 4.9e6, 9.7e6]
    report.write_csv(out / "scaling", "linear.csv", [
        dict(synaptic_events=e, wall_s=0.02 + 3e-8 * e) for e in events])
    report.write_csv(out / "training", "training_ratios.csv", [
        dict(dt_ms=1.0, speed_train=0.14, eventsg_traced_growth=1.0, snntorch_graph_growth=9.97),
        dict(dt_ms=0.1, speed_train=train_speed, eventsg_traced_growth=1.0,
             snntorch_graph_growth=10.0)])


def _by_target(rows):
    return {r["target"].split(",")[0].split(" (")[0]: r for r in rows}


def test_targets_read_off_the_scripts_tables(tmp_path):
    _write_all(tmp_path)
    rows = _by_target(bench_all.target_rows(tmp_path))
    assert rows["engine throughput"]["met"] == "yes"
    assert rows["engine throughput"]["measured"].startswith("31.00 M/s (3.10x")
    eq = rows["Brian2 at equal accuracy"]
    assert eq["met"] == "no" and eq["measured"].startswith("36.5x at dt = 0.001 ms")
    large = rows["Brian2 at its largest dt"]
    assert large["met"] == "no" and large["measured"].startswith("0.45x at dt = 0.1 ms")
    assert rows["cost growth: duration x2"]["measured"] == (
        "events 1.98, eventsg 1.84, Brian2 dt=0.1 2.02")
    assert rows["NEST iaf_psc_exp_ps"]["measured"] == "10.00x NEST's"
    assert rows["silent network: cost against duration"]["met"] == "yes"
    lin = rows["cost against the number of events"]
    assert lin["met"] == "yes"
    assert lin["measured"].startswith("R^2 1.0000: 30.0 ns per event + 20 ms")
    assert rows["training speed per sample vs snnTorch BPTT at dt = 0.1 ms"]["met"] == "yes"
    assert rows["training memory"]["met"] == "yes"


def test_targets_flip_with_the_measurements(tmp_path):
    _write_all(tmp_path, engine_rate=9e6, eq_speedup=60.0, large_speedup=1.3,
               silent_walls=(0.002, 0.02, 0.2), train_speed=0.8)
    rows = _by_target(bench_all.target_rows(tmp_path))
    assert rows["engine throughput"]["met"] == "no"
    assert rows["Brian2 at equal accuracy"]["met"] == "yes"
    assert rows["Brian2 at its largest dt"]["met"] == "yes"
    assert rows["silent network: cost against duration"]["met"] == "no"
    assert rows["training speed per sample vs snnTorch BPTT at dt = 0.1 ms"]["met"] == "no"


def test_a_benchmark_that_did_not_run_is_named_not_measured(tmp_path):
    _write_all(tmp_path)
    for name in ("brian2_dt.csv", "brian2_cost.csv"):
        (tmp_path / "brian2" / name).unlink()
    rows = bench_all.target_rows(tmp_path)
    brian = [r for r in rows if r["target"].startswith("Brian2")]
    assert len(brian) == 2 and all(r["measured"] == "not measured" for r in brian)
    assert not any(r["target"].startswith("cost growth") for r in rows)


def _write_paired(out, rows):
    report.write_csv(out / "brian2", "brian2_paired_summary.csv", [
        dict(dt_ms=0.1, eventsg_threads=n, rounds=20, median_ratio=m, ci_low=lo, ci_high=hi,
             confidence=0.95, share_faster=f, met=lo > 1.0) for n, m, lo, hi, f in rows])


def test_paired_rounds_decide_the_largest_dt_target_by_their_interval(tmp_path):
    """With paired rounds, the target at the largest dt holds only where the interval of
    eventsg's fastest setting (the highest median ratio) lies above 1, whatever the
    medians of the main table say."""
    _write_all(tmp_path, large_speedup=1.3)
    _write_paired(tmp_path, [(1, 0.62, 0.58, 0.66, 0.0), (2, 1.08, 0.97, 1.15, 0.65)])
    large = _by_target(bench_all.target_rows(tmp_path))["Brian2 at its largest dt"]
    assert large["met"] == "no"
    assert large["goal"] == "> 1x faster (paired rounds: the 95 % interval above 1)"
    assert large["measured"].startswith("1.30x at dt = 0.1 ms")
    assert large["measured"].endswith("paired rounds, eventsg on 2 threads: median 1.08x, "
                                      "95 % interval 0.97 to 1.15, faster in 13 of 20 rounds")
    assert large["source"].endswith("brian2/brian2_paired_summary.csv")
    _write_paired(tmp_path, [(1, 0.9, 0.85, 0.95, 0.1), (2, 1.2, 1.05, 1.3, 0.9)])
    assert _by_target(bench_all.target_rows(tmp_path))["Brian2 at its largest dt"]["met"] == "yes"


def test_each_sides_fastest_run_is_compared(tmp_path):
    """With runs on one thread and on two, per dt the fastest Brian2 run (the least
    speed-up over it) counts; the note names the threads and the one-thread ratio."""
    _write_all(tmp_path)
    report.write_csv(tmp_path / "brian2", "brian2_dt.csv", [
        dict(simulator="eventsg event-driven", threads=1, dt_ms=0.0, run_s=0.16,
             median_err_ms=0.0, eventsg_speedup="-", speedup_1thread=1.0),
        dict(simulator="eventsg event-driven", threads=2, dt_ms=0.0, run_s=0.1,
             median_err_ms=0.0, eventsg_speedup="-", speedup_1thread=1.6),
        dict(simulator="brian2", threads=1, dt_ms=0.1, run_s=0.08, median_err_ms=0.078,
             eventsg_speedup=0.8, speedup_1thread=0.5),
        dict(simulator="brian2", threads=2, dt_ms=0.1, run_s=0.07, median_err_ms=0.078,
             eventsg_speedup=0.7, speedup_1thread=0.44),
        dict(simulator="brian2", threads=1, dt_ms=0.001, run_s=5.9, median_err_ms=0.00076,
             eventsg_speedup=59.0, speedup_1thread=36.9),
        dict(simulator="brian2", threads=2, dt_ms=0.001, run_s=14.0, median_err_ms=0.00076,
             eventsg_speedup=140.0, speedup_1thread=87.5)])
    rows = _by_target(bench_all.target_rows(tmp_path))
    eq = rows["Brian2 at equal accuracy"]
    assert eq["met"] == "yes" and eq["measured"].startswith("59.0x at dt = 0.001 ms")
    assert "eventsg on 2, Brian2 on 1 threads; one thread each: 36.9x" in eq["measured"]
    large = rows["Brian2 at its largest dt"]
    assert large["met"] == "no" and large["measured"].startswith("0.70x at dt = 0.1 ms")
    assert "Brian2 on 2 threads; one thread each: 0.5x" in large["measured"]


def test_threads_table_is_reported(tmp_path):
    _write_all(tmp_path)
    report.write_csv(tmp_path / "engine", "threads.csv", [
        dict(threads=1, median_syn_events_per_s=3e7, speedup_over_1=1.0, same_spikes="-",
             max_time_diff_ms=0.0),
        dict(threads=2, median_syn_events_per_s=5e7, speedup_over_1=1.67, same_spikes=True,
             max_time_diff_ms=1.4e-13)])
    row = _by_target(bench_all.target_rows(tmp_path))["engine on 2 threads"]
    assert row["measured"] == ("1.67x one thread; 50.00 M/s; same spikes: True "
                               "(times within 1.4e-13 ms)")
    report.write_csv(tmp_path / "engine", "threads.csv", [       # with the threads' shares
        dict(threads=2, median_syn_events_per_s=5e7, speedup_over_1=1.67, busy_share=0.881,
             barrier_share=0.0968, same_spikes=True, max_time_diff_ms=1.4e-13)])
    row = _by_target(bench_all.target_rows(tmp_path))["engine on 2 threads"]
    assert row["measured"].endswith("(times within 1.4e-13 ms); the threads waited 9.7 % of "
                                    "their time for each other")


def test_equal_accuracy_never_reached_is_said(tmp_path):
    _write_all(tmp_path)
    report.write_csv(tmp_path / "brian2", "brian2_dt.csv", [
        dict(simulator="brian2", dt_ms=0.1, median_err_ms=0.078, eventsg_speedup=0.4),
        dict(simulator="brian2", dt_ms=0.01, median_err_ms=0.0077, eventsg_speedup=3.8)])
    row = _by_target(bench_all.target_rows(tmp_path))["Brian2 at equal accuracy"]
    assert row["met"] == "-"
    assert "never fell below 0.001 ms (smallest dt 0.01 ms)" in row["measured"]


def test_linear_fit_against_a_hand_computed_case():
    slope, icpt, r2 = bench_all.linear_fit([1.0, 2.0, 3.0], [1.0, 3.0, 2.0])
    assert slope == pytest.approx(0.5) and icpt == pytest.approx(1.0)
    assert r2 == pytest.approx(0.25)


def test_cost_that_grows_faster_than_the_events_is_not_linear(tmp_path):
    _write_all(tmp_path)
    events = [6e5, 1.3e6, 2.3e6, 4.9e6, 9.7e6]
    report.write_csv(tmp_path / "scaling", "linear.csv", [
        dict(synaptic_events=e, wall_s=1e-15 * e * e) for e in events])
    row = _by_target(bench_all.target_rows(tmp_path))["cost against the number of events"]
    assert row["met"] == "no"


def test_unknown_benchmark_is_refused(capsys):
    with pytest.raises(SystemExit):
        bench_all.main(["--only", "engine,bogus"])
    assert "unknown benchmark(s) ['bogus']" in capsys.readouterr().err


def test_every_benchmark_has_a_script_and_both_settings():
    assert set(bench_all.FULL) == set(bench_all.QUICK) == set(bench_all.SCRIPTS)
    here = Path(bench_all.__file__).parent
    assert all((here / s).exists() for s in bench_all.SCRIPTS.values())


def test_csv_is_replaced_whole(tmp_path):
    report.write_csv(tmp_path, "t.csv", [dict(a=1.0)])
    report.write_csv(tmp_path, "t.csv", [dict(a=2.0), dict(a=3.0)])
    assert bench_all.read_csv(tmp_path / "t.csv") == [dict(a="2"), dict(a="3")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]
