"""The activity sweep of the Brian2 benchmark (scripts/bench_brian2.py), without Brian2.

Where along the sweep a speed-up target holds is read off measured rows; each
side's runs are measured once and shared by the tables that need them.
"""
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import bench_brian2  # noqa: E402

from eventsg.examples import two_layer_network  # noqa: E402


def _rows(speedups):
    """Sweep rows by falling input rate (10, 5, 2.5, ... Hz), events halving with it."""
    return [dict(input_hz=10.0 / 2 ** i, events_per_neuron_ms=2.4 / 2 ** i, **{"speedup_dt0.1": s})
            for i, s in enumerate(speedups)]


def test_target_summary_names_the_busiest_activity_that_meets_it():
    text = bench_brian2.target_summary(_rows([0.4, 0.8, 1.5, 3.0]), 0.1, 1.0)
    assert text.startswith("met up to 2.5 Hz (0.6 events per neuron and ms, 1.5x)")
    assert "missed from 5 Hz (1.2, 0.8x)" in text


def test_target_summary_when_met_everywhere_or_nowhere():
    assert "missed" not in bench_brian2.target_summary(_rows([1.2, 2.0]), 0.1, 1.0)
    text = bench_brian2.target_summary(_rows([0.3, 0.6]), 0.1, 1.0)
    assert text == "not met down to 5 Hz (1.2 events per neuron and ms)"


def test_runs_reuse_the_base_measurements_and_build_other_rates_anew():
    net, (inp, hid, out) = two_layer_network(n_inputs=50, n_hidden=40, n_out=40, fan_out=10)
    args = SimpleNamespace(duration=50.0, repeats=1, target="cpp_standalone",
                           integrator="propagator")
    base = (0.123, "result")
    peer = bench_brian2.Runs(args, net, (hid, out), *base, {0.1: "brian2 run"})
    assert peer.eventsg(peer.base_rate, 50.0) == base
    assert peer.brian2(peer.base_rate, 50.0, 0.1) == "brian2 run"
    other, pops = peer.network(peer.base_rate / 2)
    assert other is not net and [p.n for p in pops] == [1000, 1000]
    assert peer.network(peer.base_rate / 2)[0] is other


def test_half_events_rate_is_as_close_as_a_grid_of_rates():
    """The bisection for the rate at which the synaptic events halve ends at least as
    close to half as any rate of a grid, and keeps only the networks it reports."""
    args = SimpleNamespace(duration=300.0, repeats=1, target="cpp_standalone",
                           integrator="propagator", brian2_repeats=1)
    net, (inp, hid, out) = two_layer_network()
    base_events = net.run(duration=args.duration).stats.synaptic_events
    peer = bench_brian2.Runs(args, net, (hid, out), 0.0, None, {})
    rate = bench_brian2.half_events_rate(peer, peer.base_rate, args.duration, base_events)
    assert 0.0 < rate < peer.base_rate
    assert sorted(peer.nets) == sorted({peer.base_rate, rate})

    def miss(r):
        events = two_layer_network(rate_hz=r)[0].run(duration=args.duration).stats
        return abs(events.synaptic_events - base_events / 2)

    found = miss(rate)
    assert found <= 0.02 * base_events
    for r in (0.2, 0.35, 0.5, 0.65, 0.8):
        assert found <= miss(r * peer.base_rate)


class _TimedNet:
    """A stand-in network whose runs report the wall times given, in turn, and log
    (duration, threads) of every run."""

    def __init__(self, walls):
        self.walls = list(walls)
        self.calls = []

    def run(self, duration, threads=1):
        self.calls.append((duration, threads))
        wall = self.walls.pop(0) if duration != bench_brian2.WARM_UP_MS else -1.0
        return SimpleNamespace(stats=SimpleNamespace(wall_s=wall))


def test_our_runs_pool_every_series_after_an_untimed_warm_up():
    net = _TimedNet([0.30, 0.50, 0.10, 0.20])
    ours = bench_brian2.OurRuns(net, 1000.0, 2, {1: [0.40], 2: [0.90]})
    ours.sample()
    assert net.calls == [(bench_brian2.WARM_UP_MS, 1), (1000.0, 1), (1000.0, 1),
                         (bench_brian2.WARM_UP_MS, 2), (1000.0, 2), (1000.0, 2)]
    assert ours.walls == {1: [0.40, 0.30, 0.50], 2: [0.90, 0.10, 0.20]}
    assert ours.medians() == {1: 0.40, 2: 0.20}


def test_cost_cases_run_in_interleaved_rounds_after_a_warm_up():
    a, b = _TimedNet([0.10, 0.30, 0.12]), _TimedNet([0.20, 0.21, 0.50])
    out = bench_brian2.interleaved_event_runs([(a, 100.0), (b, 200.0)], 3)
    # each case warmed up once, then rounds a b, b a, a b
    assert a.calls == [(bench_brian2.WARM_UP_MS, 1)] + [(100.0, 1)] * 3
    assert b.calls == [(bench_brian2.WARM_UP_MS, 1)] + [(200.0, 1)] * 3
    assert [w for w, _ in out] == [0.12, 0.21]
    assert out[1][1].stats.wall_s == 0.50           # the last run's result


def test_cost_cases_alternate_their_order():
    order = []

    class _Logged(_TimedNet):
        def __init__(self, name):
            super().__init__([1.0] * 4)
            self.name = name

        def run(self, duration, threads=1):
            if duration != bench_brian2.WARM_UP_MS:
                order.append(self.name)
            return super().run(duration, threads)

    bench_brian2.interleaved_event_runs([(_Logged("a"), 1.0), (_Logged("b"), 1.0)], 4)
    assert order == ["a", "b", "b", "a", "a", "b", "b", "a"]


def test_paired_rounds_run_each_thread_count_once_a_round_alternating():
    net = _TimedNet([0.30, 0.20, 0.18, 0.31, 0.29, 0.19])
    pairs = bench_brian2.PairedRounds(net, 1000.0, {1: [0.5], 2: [0.4]})
    for _ in range(3):
        pairs()
    assert net.calls == [(1000.0, 1), (1000.0, 2), (1000.0, 2), (1000.0, 1), (1000.0, 1),
                         (1000.0, 2)]
    assert pairs.walls == {1: [0.30, 0.31, 0.29], 2: [0.20, 0.18, 0.19]}
    rows = pairs.rows([0.15, 0.27, 0.19])
    assert [r["round"] for r in rows] == [1, 2, 3]
    assert rows[1]["eventsg_2thread_s"] == 0.18
    assert rows[1]["ratio_2thread"] == 0.27 / 0.18
    assert rows[2]["ratio_1thread"] == 0.19 / 0.29


def test_paired_summary_median_share_and_a_seeded_bootstrap_interval():
    brian2 = [0.10, 0.12, 0.09, 0.15, 0.11, 0.10, 0.13]
    ours = [0.12, 0.10, 0.12, 0.12, 0.12, 0.11, 0.12]
    ratios = np.array(brian2) / np.array(ours)
    median, (low, high), faster = bench_brian2.paired_summary(brian2, ours)
    assert median == np.median(ratios)
    assert faster == np.mean(ratios > 1.0) == 3 / 7
    assert ratios.min() <= low <= median <= high <= ratios.max()
    # the percentile interval of scipy's own resampling with the same generator
    again = scipy.stats.bootstrap((ratios,), np.median, method="percentile",
                                  random_state=np.random.default_rng(0)).confidence_interval
    assert (low, high) == (again.low, again.high)
    assert bench_brian2.paired_summary(brian2, ours) == (median, (low, high), faster)


def test_paired_summary_of_rounds_that_all_agree_or_of_one_round():
    assert bench_brian2.paired_summary([0.2, 0.2], [0.1, 0.1]) == (2.0, (2.0, 2.0), 1.0)
    assert bench_brian2.paired_summary([0.1], [0.2]) == (0.5, (0.5, 0.5), 0.0)
    with pytest.raises(ValueError, match="at least one round"):
        bench_brian2.paired_summary([], [])


def test_paired_table_meets_the_target_only_when_the_interval_is_above_one(tmp_path):
    args = SimpleNamespace(out=tmp_path)
    pairs = bench_brian2.PairedRounds(_TimedNet([]), 1000.0, {1: [], 2: []})
    pairs.walls = {1: [0.20, 0.21, 0.19, 0.22], 2: [0.08, 0.09, 0.08, 0.085]}
    summary = bench_brian2.paired_table(args, 0.1, pairs, [0.10, 0.11, 0.12, 0.10])
    assert [(r["eventsg_threads"], r["met"]) for r in summary] == [(1, False), (2, True)]
    assert summary[1]["ci_low"] > 1.0 and summary[0]["ci_high"] < 1.0
    assert (tmp_path / "brian2_paired.csv").exists()
    text = (tmp_path / "brian2_paired_summary.csv").read_text().splitlines()
    assert text[0].startswith("dt_ms,eventsg_threads,rounds,median_ratio,ci_low,ci_high")
    assert len(text) == 3
