"""Pending inputs (eventsg.engine.pending): inputs that fit in a silent neuron's
margins wait as modal terms against a network-wide reference time, and are added
when the neuron's state is next needed.

The same networks run with pending inputs and with every input applied at once
(the compiled projections' ``proj_lazy_rset`` set to -1, the path the engine takes
for series cascades and for learning). The two sum the same inputs in another
order, so they agree to rounding: the same spikes, times and amplitudes within
1e-10, sampled states within 1e-12 of their scale. The networks are sparse and
long (silences of many reference spans, so the reference time moves and
rescales pending terms), mix pulse and drive inputs, signs of bucket weights,
per-synapse delays, threshold adaptation, and modal cascades of K = 1..8 next
to a series cascade (equal time constants: never pending).
"""
import importlib

import numba
import numpy as np
import pytest

import eventsg as esg
from eventsg.compile import compile_network
from eventsg.engine.pending import LAZY_DRIVE, LAZY_PEND, pending_into, rebase_pending
from eventsg.engine.state import make_state

simulate_module = importlib.import_module("eventsg.simulate")   # the package exports the function
T_TOL = 1e-10
DURATION = 800.0


def _sparse(n_pre, n_post, fan_out, mean, std, seed):
    return esg.connectivity.random_sparse(n_pre, n_post, mean=mean, std=std, fan_out=fan_out,
                                          seed=seed)


def _network(K, seed):
    rng = np.random.default_rng(seed)
    net = esg.Network(seed=seed)
    # bursts of input separated by long silences
    times = np.concatenate([rng.uniform(s, s + 30.0, 40) for s in (0.0, 250.0, 600.0)])
    src = net.add(esg.SpikeSource(n=20, times=times, ids=rng.integers(0, 20, times.size),
                                  amplitudes=rng.uniform(0.5, 1.5, times.size), coding="pulse"))
    tau = np.geomspace(1.0, 8.0, K) if K > 1 else 2.0
    v = rng.normal(0.4, 0.4, K) if K > 1 else 1.0
    a = net.add(esg.GammaPopulation(n=30, K=K, tau=tau, v=v, theta=0.05, beta=0.3, tau_h=20.0))
    b = net.add(esg.GammaPopulation(n=30, K=K, tau=tau, theta=0.05, bias=0.01))
    c = net.add(esg.GammaPopulation(n=10, K=3, tau=3.0, theta=0.05))      # series: eager
    net.connect(src, a, _sparse(20, 30, 8, 0.3, 0.2, seed + 1), delay=1.0)
    conn = _sparse(30, 30, 10, 0.05, 0.1, seed + 2)
    delays = conn.copy()
    delays.data = np.round(rng.uniform(0.0, 3.0, conn.nnz), 1)
    net.connect(a, b, conn, delay=delays)
    net.connect(b, b, _sparse(30, 30, 5, -0.02, 0.05, seed + 3), delay=0.5)
    net.connect(b, c, _sparse(30, 10, 5, 0.05, 0.05, seed + 4), delay=1.5)
    return net, (a, b, c)


def _run(net, eager, monkeypatch, **kw):
    if eager:
        real = simulate_module.compile_network

        def without_pending(network, duration):
            compiled, layout = real(network, duration)
            compiled.proj_lazy_rset[:] = -1
            return compiled, layout

        monkeypatch.setattr(simulate_module, "compile_network", without_pending)
    try:
        return net.run(DURATION, **kw)
    finally:
        monkeypatch.undo()


@pytest.mark.parametrize("K", [1, 2, 4, 8])
@pytest.mark.parametrize("seed", [3, 11])
def test_pending_inputs_match_inputs_applied_at_once(K, seed, monkeypatch):
    net, pops = _network(K, seed)
    samples = np.linspace(0.0, DURATION, 801)
    lazy = _run(net, False, monkeypatch, sample_times=samples)
    eager = _run(net, True, monkeypatch, sample_times=samples)
    assert lazy.stats.spikes == eager.stats.spikes > 20
    assert lazy.stats.unchecked_inputs > 0
    for p in pops:
        sl, se = lazy.spikes(p), eager.spikes(p)
        assert np.array_equal(sl.i, se.i), p.name
        np.testing.assert_allclose(sl.t, se.t, rtol=0, atol=T_TOL)
        np.testing.assert_allclose(sl.a, se.a, rtol=0, atol=T_TOL)
        xl, xe = lazy.state(p), eager.state(p)
        for name in ("x", "z"):
            a, b = getattr(xl, name), getattr(xe, name)
            scale = 1.0 + np.abs(b).max()
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-12 * scale, err_msg=name)


@numba.njit
def _pending_buckets(net, st, g, t, out):
    out[:] = 0.0
    pending_into(net, st, g, t, out, 0)


@pytest.mark.parametrize("K", [3, 4])
def test_moving_the_reference_time_keeps_the_pending_buckets(K):
    """rebase_pending rescales the terms so that they stand for the same buckets."""
    net = esg.Network(seed=2)
    src = net.add(esg.SpikeSource(n=1, times=[1.0], ids=[0]))
    pop = net.add(esg.GammaPopulation(n=3, K=K, tau=np.geomspace(1.0, 8.0, K)))
    net.connect(src, pop, np.ones((1, 3)))
    compiled, _ = compile_network(net, 100.0)
    st = make_state(compiled)
    rng = np.random.default_rng(K)
    pend = st.lazy[:, LAZY_PEND:LAZY_PEND + K]        # each neuron's pending terms
    terms = rng.normal(0.0, 1.0, pend.shape)
    st.lazy[:, LAZY_DRIVE] = rng.normal(0.0, 1.0, st.lazy.shape[0])
    st.has_pend[:] = 1
    before, after = np.zeros(K), np.zeros(K)
    for t_ref, t in ((3.0, 5.0), (5.0, 5.0), (4.5, 7.25)):
        for g in range(3):
            pend[:] = terms
            st.pend_ref[0] = 0.0
            _pending_buckets(compiled, st, g, t, before)
            rebase_pending(compiled, st, t_ref)
            assert st.pend_ref[0] == t_ref and not np.array_equal(pend, terms)
            _pending_buckets(compiled, st, g, t, after)
            np.testing.assert_allclose(after, before, rtol=1e-13, atol=1e-15)


TAU4 = np.array([1.0, 2.0, 4.0, 8.0])


def _one_neuron_run(times, w, theta, ts):
    """One K = 4 neuron taking pulse i of size w[i] at times[i] (ms), sampled at ts."""
    net = esg.Network(seed=1)
    src = net.add(esg.SpikeSource(n=times.size, times=times, ids=np.arange(times.size),
                                  amplitudes=np.ones(times.size), coding="pulse"))
    g = net.add(esg.GammaPopulation(n=1, K=4, tau=TAU4, theta=theta))
    net.connect(src, g, np.asarray(w)[:, None], delay=0.0)
    return net.run(300.0, sample_times=ts), g


def _expm_buckets(times, w, ts):
    """The buckets at ts as the superposition of each pulse's exact response (scipy)."""
    import scipy.linalg
    lam = 1.0 / TAU4
    A = np.diag(-lam) + np.diag(lam[1:], -1)
    z = np.zeros((ts.size, 4))
    for ti, wi in zip(times, w):
        after = ts >= ti
        E = scipy.linalg.expm(A[None] * (ts[after] - ti)[:, None, None])
        z[after] += wi * E[:, :, 0]
    return z


def test_pending_matches_the_exact_solution_of_one_neuron():
    """One neuron, a long train of pulses: buckets by expm superposition (scipy)."""
    rng = np.random.default_rng(5)
    times = np.sort(rng.uniform(0.0, 300.0, 200))
    w = rng.uniform(-1.0, 1.0, times.size) * 0.01
    ts = np.linspace(0.0, 300.0, 61)
    res, g = _one_neuron_run(times, w, 10.0, ts)                  # silent throughout
    assert res.stats.unchecked_inputs == times.size              # every input waits
    np.testing.assert_allclose(res.state(g).z[:, 0, :], _expm_buckets(times, w, ts), rtol=0,
                               atol=1e-14)


def test_pending_inputs_applied_when_the_neuron_moves_match_the_exact_solution():
    """Small pulses wait as pending terms, large ones do not fit: the neuron is then moved
    with its pending inputs in one modal sum (advance_flush4). Spikes do not touch the
    buckets, so they stay the expm superposition of every input (scipy)."""
    rng = np.random.default_rng(8)
    times = np.sort(rng.uniform(0.0, 300.0, 300))
    w = rng.uniform(-1.0, 1.0, times.size) * 0.004
    w[::15] = 0.4                                                  # these do not fit
    ts = np.linspace(0.0, 300.0, 301)
    res, g = _one_neuron_run(times, w, 0.05, ts)
    assert res.stats.spikes > 20
    assert times.size // 3 < res.stats.unchecked_inputs < times.size - times.size // 15
    np.testing.assert_allclose(res.state(g).z[:, 0, :], _expm_buckets(times, w, ts), rtol=0,
                               atol=1e-14)
