"""Small random networks: the exact event-driven engine against the reference twin
(tests/reference/twin.py: heapq of arrivals, expm states, grid scan + brentq).

Each network has 2-3 gamma populations of 2-6 neurons fed by a pulse-coded and a
delta-coded spike source (and, in some, a SignalSource), feed-forward and
recurrent projections with scalar or per-synapse delays (some exactly 0), equal or
distinct (shared or per-neuron) bucket time constants, with or without threshold
adaptation, some neurons with bias >= theta0 (a graded spike at t = 0). The spike
sequences must be identical: per neuron the same spikes, times within 1e-9 ms,
amplitudes within 1e-9.

The twin brackets crossings on a grid (step tau_min / 50) and so can miss two
crossings closer than a grid step (a near tangency; MODEL.md allows either
outcome). The test runs the twin on a 4x finer grid, which makes such a miss
improbable. A disagreement is excused (the network's test is skipped) only when
it is shown to be a near tangency: the first divergence is a pair of opposite
spikes of one neuron, less than one twin grid step apart, present in one list
while the other list continues with the spike after the pair. At most
MAX_TANGENCY_SKIPS networks may be excused.

The twin runs in spawned worker processes with single-threaded BLAS (see
netspec.twin_pool), in parallel with the engine runs.
"""
import numpy as np
import pytest

import eventsg as esg
from netspec import (compare_spikes, count_kinds, first_divergence, network_to_spec,
                     result_spikes, run_twin, twin, twin_pool)

T_TOL = 1e-9        # ms
A_TOL = 1e-9
DURATION = 30.0     # ms
N_NETWORKS = 16
MAX_TANGENCY_SKIPS = 3
GRID_PER_TAU = 4 * twin.GRID_PER_TAU
MAX_EVENTS = 1_000_000      # a stuck engine raises RunawayError instead of hanging


def random_network(seed, T=DURATION, signal=False):
    """A random SpikingGamma network (see the module docstring)."""
    rng = np.random.default_rng(seed)
    net = esg.Network(seed=seed)

    n_pul = int(rng.integers(2, 4))
    t = rng.uniform(0.0, T, int(rng.integers(3, 6)) * n_pul)
    t[:2] = np.round(t[:2], 1)          # some events on a round time
    pul = net.add(esg.SpikeSource(n=n_pul, times=t, ids=rng.integers(0, n_pul, t.size),
                                  amplitudes=rng.uniform(0.5, 1.5, t.size), coding="pulse",
                                  name="pul"))
    n_del = int(rng.integers(1, 3))
    times, ids, amps = [], [], []
    for c in range(n_del):              # a piecewise-constant level per channel
        level = 0.0
        for tc in np.sort(rng.uniform(0.0, T, 4)):
            new = rng.uniform(-0.4, 1.5)
            times.append(tc)
            ids.append(c)
            amps.append(new - level)
            level = new
    dl = net.add(esg.SpikeSource(n=n_del, times=times, ids=ids, amplitudes=amps, coding="delta",
                                 name="del"))
    inputs = [pul, dl]
    if signal:
        ts = np.linspace(0.0, T, 7)
        vals = np.cumsum(rng.normal(0.0, 0.4, (ts.size, 2)), axis=0) + rng.uniform(0, 0.5, 2)
        inputs.append(net.add(esg.SignalSource(t=ts, values=vals, theta=0.1, name="sig")))

    pops = []
    for q in range(int(rng.integers(2, 4))):
        n = int(rng.integers(2, 7))
        K = int(rng.integers(1, 5))
        if rng.random() < 0.4:
            tau = np.full(K, rng.uniform(1.5, 5.0))        # equal time constants
        else:
            tau = np.sort(rng.uniform(1.5, 8.0, K))
        if rng.random() < 0.2:                             # per-neuron time constants
            tau = tau * rng.uniform(0.8, 1.25, (n, 1))
        beta = 0.0 if rng.random() < 0.5 else float(rng.uniform(0.1, 0.5))
        theta = rng.uniform(0.05, 0.12, n)
        bias = rng.uniform(-0.04, 0.02, n)
        if rng.random() < 0.3:
            bias[0] = theta[0] * rng.uniform(1.2, 3.0)     # fires at t = 0 (graded)
        pops.append(net.add(esg.GammaPopulation(
            n=n, K=K, tau=tau, v=rng.uniform(0.2, 1.0, K), bias=bias, theta=theta, beta=beta,
            tau_h=float(rng.uniform(10.0, 40.0)), name=f"g{q}")))

    def delays(shape):
        if rng.random() < 0.4:
            return float(rng.choice([0.0, round(float(rng.uniform(0.1, 3.0)), 3)]))
        d = rng.uniform(0.1, 3.0, shape)
        d[rng.random(shape) < 0.3] = 0.0
        return d

    def weights(n_pre, n_post, mean, density=0.7):
        w = rng.normal(0.6 * mean, mean, (n_pre, n_post))
        w[rng.random((n_pre, n_post)) > density] = 0.0
        return w

    for src in inputs:
        net.connect(src, pops[0], weights(src.n, pops[0].n, 0.5), delays((src.n, pops[0].n)))
    if rng.random() < 0.5:
        net.connect(pul, pops[-1], weights(pul.n, pops[-1].n, 0.3, 0.4),
                    delays((pul.n, pops[-1].n)))
    for a, b in zip(pops[:-1], pops[1:]):
        net.connect(a, b, weights(a.n, b.n, 0.3), delays((a.n, b.n)))
    if rng.random() < 0.5:                                  # recurrent, weak
        q = int(rng.integers(0, len(pops)))
        net.connect(pops[q], pops[q], weights(pops[q].n, pops[q].n, 0.08, 0.4),
                    delays((pops[q].n, pops[q].n)))
    return net


def _grid_step(spec, pop_name, i):
    pop = next(p for p in spec["populations"] if p["name"] == pop_name)
    scale = float(np.min(pop["tau"][i]))
    if pop["beta"] > 0:
        scale = min(scale, pop["tau_h"])
    return scale / GRID_PER_TAU


def _tangency(spec, pop, got, expected):
    """True if the first divergence in ``pop`` is a near-tangency pair (see module doc)."""
    div = first_divergence(got, expected, T_TOL, A_TOL)
    if div is None:
        return False
    _, i, k = div
    step = _grid_step(spec, pop, i)
    g = [(t, a) for t, j, a in got if j == i]
    e = [(t, a) for t, j, a in expected if j == i]
    for longer, shorter in ((g, e), (e, g)):
        if k + 1 < len(longer):
            (t1, a1), (t2, a2) = longer[k], longer[k + 1]
            nxt = shorter[k] if k < len(shorter) else None
            # an opposite pair within one grid step, after which the other list
            # goes on with the spike that follows the pair (or has no more spikes)
            if a1 * a2 < 0 and t2 - t1 < step and (
                    nxt is None or (k + 2 < len(longer) and abs(nxt[0] - longer[k + 2][0]) <= 1e-6)):
                return True
    return False


SEEDS = list(range(1000, 1000 + N_NETWORKS))


@pytest.fixture(scope="module")
def twin_runs():
    """seed -> (network, spec, future of the twin's spikes); the twin runs in workers."""
    runs = {}
    with twin_pool() as pool:
        for k, seed in enumerate(SEEDS):
            net = random_network(seed, signal=(k % 4 == 3))
            spec = network_to_spec(net, DURATION)
            runs[seed] = (net, spec, pool.submit(run_twin, spec, GRID_PER_TAU))
        yield runs


OUTCOMES = {}       # seed -> ("ok" | "tangency", spikes)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_network_matches_twin(seed, twin_runs):
    net, spec, future = twin_runs[seed]
    res = net.run(DURATION, max_events=MAX_EVENTS)
    ref = future.result()
    n_spikes = sum(len(ref[pop]) for pop in res.populations)
    assert n_spikes >= 10, f"seed {seed}: too quiet to test anything ({n_spikes} spikes)"
    for pop in res.populations:
        got = result_spikes(res, pop)
        try:
            compare_spikes(got, ref[pop], t_tol=T_TOL, a_tol=A_TOL,
                           label=f"seed {seed}, population {pop}", expected_name="twin")
        except AssertionError:
            if _tangency(spec, pop, got, ref[pop]):
                OUTCOMES[seed] = ("tangency", n_spikes)
                pytest.skip(f"seed {seed}: first divergence is a near tangency (allowed)")
            raise
    OUTCOMES[seed] = ("ok", n_spikes)


def test_random_networks_cover_every_rule(twin_runs):
    """The networks exercise every spike rule; few of them were excused as tangencies."""
    totals = {"up": 0, "down": 0, "floor": 0}
    for seed, (_, _, future) in twin_runs.items():
        for spikes in future.result().values():
            for key, val in count_kinds(spikes).items():
                totals[key] += val
    assert totals["up"] >= 100 and totals["down"] >= 30 and totals["floor"] >= 5, totals
    tangencies = sum(1 for status, _ in OUTCOMES.values() if status == "tangency")
    assert tangencies <= MAX_TANGENCY_SKIPS, f"{tangencies} near tangencies: suspicious"
