"""The peer models of the benchmarks (scripts/peers) are correct.

* spike matching: known shifts and floor splits are recovered;
* Brian2 (skipped when brian2 does not import): the SpikingGamma model of
  scripts/peers/brian2_gamma.py reproduces eventsg's fixed-step reference engine
  spike for spike on a small 3-layer network (pulse inputs, delta-coded gamma ->
  gamma projections with delays, threshold adaptation, per-neuron biases), and so
  converges to the exact event-driven run: the median spike-time error falls
  about tenfold per tenfold smaller dt (slow: dt down to 0.001 ms);
* NEST (skipped when nest does not import): the iaf_psc_exp_ps reference network
  runs with precise (off-grid) spike times and counts its synaptic events.
"""
import sys
from pathlib import Path

import numpy as np
import pytest


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from peers.spike_match import concat_populations, match, merge_floor_splits  # noqa: E402

DURATION = 300.0


def small_network(seed=1):
    """The 3-layer network of the fixed-step convergence test (pulse inputs, delta-coded
    gamma -> gamma projections, adaptation, biases), with one delay per projection."""
    from test_clock_convergence import three_layer_network
    return three_layer_network(seed, per_synapse_delays=False)


def test_match_recovers_a_known_shift():
    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(0, 1000, 400))
    i = rng.integers(0, 20, t.size)
    a = np.where(rng.random(t.size) < 0.5, 0.05, -0.05)
    m = match((t, i, a), (t + 0.01, i, a), window=1.0)
    assert m.matched == t.size
    assert m.median_error_ms == pytest.approx(0.01, rel=1e-6)
    # spikes of opposite signs never match
    up = np.abs(a)
    assert match((t, i, up), (t, i, -up), window=1.0).matched == 0
    # nothing farther than the window matches
    ts, ones = np.arange(10) * 10.0, np.ones(10)
    assert match((ts, 0 * ones, ones), (ts + 2.0, 0 * ones, ones), window=1.0).matched == 0
    assert match((ts, 0 * ones, ones), (ts + 2.0, 0 * ones, ones), window=3.0).matched == 10


def test_merge_floor_split():
    # up, up, down, small floor: a split floor spike, merged into one floor spike
    t = np.array([1.0, 2.0, 3.0, 3.2])
    i = np.zeros(4, np.int64)
    t2, i2, a2, n = merge_floor_splits(t, i, np.array([0.1, 0.1, -0.19, -0.01]), 0.05, 1.0)
    assert n == 1 and len(t2) == 3 and a2[-1] == pytest.approx(-0.2) and t2[-1] == 3.2
    # up, up, down, floor of a full level: two spikes, not merged
    t3, _, _, n3 = merge_floor_splits(t, i, np.array([0.1, 0.1, -0.1, -0.1]), 0.05, 1.0)
    assert n3 == 0 and len(t3) == 4


def test_concat_populations_offsets_ids():
    t, i, a = concat_populations([([2.0, 1.0], [0, 1], [1.0, -1.0], 3), ([1.5], [0], [0.5], 2)])
    assert list(t) == [1.0, 1.5, 2.0] and list(i) == [1, 3, 0] and list(a) == [-1.0, 0.5, 1.0]


# ----------------------------------------------------------------------------
# Brian2
# ----------------------------------------------------------------------------

def _brian2():
    from peers.brian2_gamma import brian2_status
    ok, why = brian2_status()
    if not ok:
        pytest.skip(f"brian2 does not import: {why}")


def _all(res_spikes, pops):
    return concat_populations([(*res_spikes[p.name], p.n) for p in pops])


def _run_both(net, pops, dt, target):
    from peers.brian2_gamma import run_brian2
    clock = net.run(DURATION, engine="clock", dt=dt)
    b = run_brian2(net, DURATION, dt, target=target)
    return {p.name: tuple(clock.spikes(p)) for p in pops}, b


def test_brian2_reproduces_the_fixed_step_engine():
    _brian2()
    net, pops = small_network()
    clock, b = _run_both(net, pops, 0.1, target="numpy")
    assert b.ring_overflows == 0 and b.shifted_inputs == 0
    for p in pops:
        ct, ci, ca = clock[p.name]
        bt, bi, ba = b.spikes[p.name]
        assert len(ct) >= 20, (p.name, len(ct))
        assert len(bt) == len(ct), (p.name, len(bt), len(ct))
        oc, ob = np.lexsort((ct, ci)), np.lexsort((bt, bi))
        np.testing.assert_array_equal(ci[oc], bi[ob])
        np.testing.assert_allclose(bt[ob], ct[oc], atol=1e-9)
        np.testing.assert_allclose(ba[ob], ca[oc], atol=1e-9)


@pytest.mark.slow
def test_brian2_converges_to_the_event_driven_run():
    _brian2()
    net, pops = small_network()
    theta_min = min(float(np.min(p.theta)) for p in pops)
    exact = concat_populations([(*net.run(DURATION).spikes(p), p.n) for p in pops])
    rows = []
    for dt in (0.1, 0.01, 0.001):
        clock, b = _run_both(net, pops, dt, target="cython")
        got = _all(b.spikes, pops)
        ref = _all(clock, pops)
        same = match(ref, got, 3.0, merge_small=0.5 * theta_min)
        assert same.matched == same.n_exact == same.n_approx and same.median_error_ms < 1e-9
        m = match(exact, got, 3.0, merge_small=0.5 * theta_min)
        rows.append((dt, m.median_error_ms, m.matched_of_exact, m.matched_of_approx))
    print("\nBrian2 vs event-driven:", rows)
    for (dt0, e0, *_), (dt1, e1, *_) in zip(rows[:-1], rows[1:]):
        assert 5.0 <= e0 / e1 <= 20.0, f"median error fell {e0 / e1:.2f}x from dt {dt0} to {dt1}"
    dt, med, fe, fa = rows[-1]
    assert med <= 10 * dt and fe >= 0.98 and fa >= 0.98


# ----------------------------------------------------------------------------
# NEST
# ----------------------------------------------------------------------------

def test_nest_reference_network_runs_with_precise_times():
    from peers.nest_lif import nest_status, run_nest
    ok, why = nest_status()
    if not ok:
        pytest.skip(f"nest does not import: {why}")
    rng = np.random.default_rng(3)
    n_in, duration = 40, 200.0
    counts = rng.poisson(20 * duration / 1e3, n_in)
    ids = np.repeat(np.arange(n_in), counts)
    times = rng.uniform(0.05, duration, ids.size)
    r = run_nest(times, ids, n_in, duration, w_in=900.0, w_hid=300.0, n_hidden=50, n_out=50,
                 fan_out=20)
    assert r.input_events == ids.size
    assert r.hidden_spikes > 0
    # precise timing: spike times are not on the 0.1 ms grid
    off_grid = np.abs(r.hidden_times * 10 - np.round(r.hidden_times * 10)) > 1e-6
    assert off_grid.mean() > 0.5
    arrivals = np.sum(times + 0.1 + 1.0 <= duration) + np.sum(r.hidden_times + 1.0 <= duration)
    assert r.synaptic_events == 20 * arrivals
