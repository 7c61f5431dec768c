"""The push bounds of eventsg.engine.bounds against dense impulse responses (scipy expm).

psi_j(s) = v . expm(A s) e_j is what one unit in bucket j adds to the signal s ms
later; ``bucket_push_bounds`` must bound its supremum over s >= 0 from above
(``psi_pos[j]``) and its infimum from below (``-psi_neg[j]``), for any rates.
"""
import numpy as np
import pytest
import scipy.linalg

from eventsg.engine import bounds

TIMES = np.concatenate([[0.0], np.geomspace(1e-4, 400.0, 3000)])


def _impulse_responses(tau, v):
    """psi_j(s) for s in TIMES: array (len(TIMES), K), by scipy's expm."""
    lam = 1.0 / np.asarray(tau, dtype=float)
    A = np.diag(-lam) + np.diag(lam[1:], -1)
    E = scipy.linalg.expm(A[None, :, :] * TIMES[:, None, None])
    return np.einsum("k,skj->sj", v, E)


def _bounds(tau, v):
    K = len(v)
    psi_pos, psi_neg = np.zeros(K), np.zeros(K)
    vpos, vneg = bounds.bucket_push_bounds(np.asarray(v, float), 1.0 / np.asarray(tau, float),
                                           psi_pos, psi_neg)
    return psi_pos, psi_neg, vpos, vneg


@pytest.mark.parametrize("order", ["non-decreasing tau", "any tau"])
def test_bounds_hold_for_every_bucket_and_time(order):
    rng = np.random.default_rng(3 if order == "any tau" else 4)
    tight = 0
    for _ in range(200):
        K = int(rng.integers(1, 7))
        tau = rng.uniform(0.3, 12.0, K)
        if order == "non-decreasing tau":
            tau = np.sort(tau)
        v = rng.normal(0.2, 0.6, K)
        psi = _impulse_responses(tau, v)
        psi_pos, psi_neg, vpos, vneg = _bounds(tau, v)
        assert vpos == pytest.approx(np.maximum(v, 0).sum(), rel=1e-15)
        assert vneg == pytest.approx(np.maximum(-v, 0).sum(), rel=1e-15)
        top = np.maximum(psi.max(axis=0), 0.0)
        bottom = np.maximum(-psi.min(axis=0), 0.0)
        assert np.all(top <= psi_pos * (1 + 1e-12) + 1e-15), (tau, v)
        assert np.all(bottom <= psi_neg * (1 + 1e-12) + 1e-15), (tau, v)
        # never looser than the sums of the weights they replace
        assert np.all(psi_pos <= vpos) and np.all(psi_neg <= vneg)
        tight += int(np.isclose(top[0], psi_pos[0]))
    assert tight > 20      # the bound is reached (at s = 0) in many cases


def test_gamma_memory_with_equal_weights_moves_x_by_one_weight():
    """tau non-decreasing and v = 1/K: a unit anywhere moves x by at most 1/K, ever."""
    tau, v = [1.0, 2.0, 4.0, 8.0], np.full(4, 0.25)
    psi_pos, psi_neg, vpos, vneg = _bounds(tau, v)
    assert np.all(psi_pos == 0.25) and np.all(psi_neg == 0.0)
    assert vpos == 1.0
    # reversed time constants: mass piles up in the slow last buckets, the sum is needed
    psi = _impulse_responses(tau[::-1], v)
    assert psi[:, 0].max() > 0.4        # well above the largest weight
    psi_pos, _, _, _ = _bounds(tau[::-1], v)
    assert psi_pos[0] == 1.0


def test_compiled_network_bounds_follow_its_weights():
    from eventsg.examples import two_layer_network
    from eventsg.compile.compiler import compile_network

    net, _ = two_layer_network(n_inputs=5, n_hidden=4, n_out=3, fan_out=2)
    compiled, _ = compile_network(net, 10.0)
    assert np.all(compiled.psi_pos == 0.25) and np.all(compiled.psi_neg == 0.0)
    assert np.all(compiled.nrn_vpos == 1.0) and np.all(compiled.nrn_vneg == 0.0)
    # what an input reads: pulse up / down (bucket 1), drive step up / down
    assert np.array_equal(compiled.nrn_input_bounds,
                          np.tile([0.25, 0.0, 1.0, 0.0], (compiled.nrn_K.size, 1)))
    assert compiled.nrn_input_bounds.ctypes.data % 64 == 0     # a row in one cache line


def test_a_projection_keeps_the_bounds_its_targets_share():
    """proj_input_bounds: the pair of the projection's coding where every target has
    it, NaN where targets differ, and NaN for all once a neuron's weights change."""
    import eventsg as esg
    from eventsg.compile.compiler import compile_network

    net = esg.Network(seed=1)
    src = net.add(esg.PoissonSource(n=3, rate=10.0, coding="pulse", name="in"))
    a = net.add(esg.GammaPopulation(n=4, K=4, tau=[1.0, 2.0, 4.0, 8.0], name="a"))
    v = np.tile([0.25, 0.25, 0.25, 0.25], (4, 1))
    v[3] = [0.5, -0.1, 0.3, 0.3]             # one neuron of b with weights of its own
    b = net.add(esg.GammaPopulation(n=4, K=4, tau=[1.0, 2.0, 4.0, 8.0], v=v, name="b"))
    net.connect(src, a, np.full((3, 4), 0.1), delay=1.0)
    first_three = np.full((4, 4), 0.1)
    first_three[:, 3] = 0.0                                     # (zeros: no synapse)
    net.connect(a, b, first_three, delay=1.0)
    net.connect(a, b, np.full((4, 4), 0.1), delay=1.0)         # onto all of b
    compiled, _ = compile_network(net, 10.0)
    np.testing.assert_array_equal(compiled.proj_input_bounds[0], [0.25, 0.0])   # pulses
    np.testing.assert_array_equal(compiled.proj_input_bounds[1], [1.0, 0.0])    # drive steps
    assert np.all(np.isnan(compiled.proj_input_bounds[2]))
    bounds.update_push_bounds(compiled, 0)
    assert np.all(np.isnan(compiled.proj_input_bounds))
    bounds.fill_push_bounds(compiled)
    np.testing.assert_array_equal(compiled.proj_input_bounds[1], [1.0, 0.0])
