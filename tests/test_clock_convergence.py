"""The fixed-step reference engine converges to the exact event-driven engine.

A 3-layer network (pulse sources -> gamma -> gamma -> gamma) is run with
engine="event" and with engine="clock" at dt = 0.1, 0.01, 0.001 ms. Spikes are
merged where the clock engine split one floor spike into a down spike and an
O(dt) floor spike (MODEL.md section 4), then matched per neuron and sign
(mutual nearest in time, within MATCH_WINDOW). The median spike-time error must
fall about tenfold per tenfold smaller dt, with most spikes matched.

Choices that keep the first-order convergence clean:

* every input time and every delay is a multiple of 0.1 ms, so at each dt the
  clock engine applies inputs and deliveries at exactly the right time and
  between grid points it propagates exactly: the only errors are the engine's
  own (a crossing is seen at the next grid point, and the graded amplitude
  y - r = theta + O(dt) carries that overshoot into r, so the overshoots of a
  run of same-direction spikes add up: the median error is a few dt, not dt/2).
  (Off-grid input times add an O(dt) rounding too; that is still first order.)
* bucket 1 of the first layer has weight 0, so x is continuous at a pulse:
  no graded spike exactly at an input time, where the error would be 0 at every dt;
* negative biases: excursions end in floor spikes, which reset r to exactly 0
  in both engines and so stop the overshoot from accumulating;
* time constants of 4-8 ms and a few levels per excursion, so the spikes of a
  neuron are far apart (about 10 ms) against the error at dt = 0.1 (about 0.4 ms):
  dt = 0.1 is already in the asymptotic regime and matching is unambiguous.

Prints the table (dt, median error, matched fractions, spikes).
"""
import numpy as np

import eventsg as esg
from netspec import count_kinds, match_nearest, merge_floor_splits, result_spikes

DURATION = 300.0
DTS = (0.1, 0.01, 0.001)
MATCH_WINDOW = 3.0      # ms; small against the inter-spike intervals (about 10 ms per neuron)


def three_layer_network(seed=1, per_synapse_delays=True):
    """pulse inputs (on the 0.1 ms grid) -> layer1 (K=2) -> layer2 (K=3, adaptation) -> layer3 (K=1)."""
    rng = np.random.default_rng(seed)
    net = esg.Network(seed=seed)
    n_in = 4
    grid = np.arange(1, int(DURATION * 10) - 400) / 10.0          # 0.1 ms grid
    times = rng.choice(grid, 5 * n_in, replace=False)
    src = net.add(esg.SpikeSource(n=n_in, times=times, ids=np.arange(times.size) % n_in,
                                  coding="pulse", name="inputs"))
    # bucket 1 has weight 0: x is continuous at pulse arrivals (no graded spikes
    # exactly at an input time, whose error would be exactly 0 at every dt)
    g1 = net.add(esg.GammaPopulation(n=6, K=2, tau=[6.0, 6.0], v=[0.0, 1.0], theta=0.1,
                                     bias=rng.uniform(-0.03, -0.01, 6), name="layer1"))
    g2 = net.add(esg.GammaPopulation(n=5, K=3, tau=[4.0, 6.0, 8.0], theta=0.06, beta=0.2,
                                     tau_h=40.0, bias=rng.uniform(-0.03, -0.01, 5), name="layer2"))
    g3 = net.add(esg.GammaPopulation(n=4, K=1, tau=8.0, theta=0.05,
                                     bias=rng.uniform(-0.03, -0.01, 4), name="layer3"))

    def delays(shape, one):
        if not per_synapse_delays:
            return one                                    # one delay per projection, ms
        return rng.integers(1, 41, shape) / 10.0          # 0.1 .. 4.0 ms, on the 0.1 grid

    net.connect(src, g1, rng.normal(0.45, 0.225, (n_in, 6)), delays((n_in, 6), 1.0))
    net.connect(g1, g2, rng.normal(0.3, 0.3, (6, 5)), delays((6, 5), 0.7))
    net.connect(g2, g3, rng.normal(0.3, 0.3, (5, 4)), delays((5, 4), 2.3))
    return net, (g1, g2, g3)


def _all_spikes(res, pops):
    """All gamma spikes as (t, global id, a), ids distinct across populations."""
    out, off = [], 0
    for p in pops:
        out += [(t, i + off, a) for t, i, a in result_spikes(res, p)]
        off += p.n
    out.sort(key=lambda s: s[0])
    return out


def test_clock_engine_converges_first_order():
    net, pops = three_layer_network()
    theta_min = min(float(np.min(p.theta)) for p in pops)
    exact_res = net.run(DURATION)
    exact, _ = merge_floor_splits(_all_spikes(exact_res, pops), 0.5 * theta_min, 5.0)
    kinds = count_kinds(exact)
    per_layer = [len(exact_res.spikes(p)) for p in pops]
    # the network exercises every layer and every rule
    assert min(per_layer) >= 20, per_layer
    assert kinds["up"] >= 50 and kinds["down"] >= 30 and kinds["floor"] >= 3, kinds

    rows = []
    for dt in DTS:
        approx, merges = merge_floor_splits(
            _all_spikes(net.run(DURATION, engine="clock", dt=dt), pops), 0.5 * theta_min, 5.0)
        errors, n_matched = match_nearest(exact, approx, max_dist=MATCH_WINDOW)
        rows.append((dt, float(np.median(errors)), n_matched / len(exact),
                     n_matched / max(len(approx), 1), len(approx), merges))

    print(f"\nclock vs event engine, 3-layer network, {DURATION:g} ms, "
          f"{len(exact)} exact spikes {tuple(per_layer)} ({kinds})")
    print(f"{'dt (ms)':>8} {'median |dt_spike| (ms)':>23} {'matched/exact':>14} "
          f"{'matched/clock':>14} {'clock spikes':>13} {'merged pairs':>13}")
    for dt, med, fe, fa, n, m in rows:
        print(f"{dt:>8g} {med:>23.3e} {fe:>14.3f} {fa:>14.3f} {n:>13d} {m:>13d}")

    for (dt0, med0, *_), (dt1, med1, *_) in zip(rows[:-1], rows[1:]):
        assert med1 > 0.0
        ratio = med0 / med1
        assert ratio >= 5.0, f"median error fell only {ratio:.2f}x from dt = {dt0} to {dt1}"
        assert ratio <= 20.0, f"median error fell {ratio:.2f}x from dt = {dt0} to {dt1}: not first order"
    for dt, med, fe, fa, n, m in rows:
        assert med <= 10.0 * dt, f"dt = {dt}: median error {med:.3g} ms is not a few dt"
        low = {0.1: 0.8, 0.01: 0.95, 0.001: 0.98}[dt]
        assert fe >= low and fa >= low, f"dt = {dt}: matched fractions {fe:.3f}, {fa:.3f} < {low}"
    # the split floor spikes of MODEL.md section 4 do occur and are merged
    assert sum(r[5] for r in rows) >= 1
