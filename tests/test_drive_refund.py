"""Margins that drive steps refund (crossing.drive_step_fits) against dense trajectories.

From margins proven for the free trajectory (its range over all later times, by
scipy's expm on a fine grid), every run of drive steps that drive_step_fits takes
must keep the signal inside the levels at all later times, for any positive time
constants and bucket weights v >= 0 (bounds.py: each bucket's step response never
falls). The runs are built so that the refund matters: steps up that follow steps
down, which the additive rule (input_fits) would not take.

The network level: proj_refund marks the delta projections whose targets have v >= 0
and take no pulses.
"""
import numpy as np
import pytest
import scipy.linalg

import eventsg as eg
from eventsg.compile.compiler import compile_network
from eventsg.engine.crossing import drive_step_fits, input_fits, refund_bounds

HORIZON = 300.0
"""ms after the last step that the trajectories are followed (the longest tau is 12 ms)."""


def _cascade(tau):
    lam = 1.0 / np.asarray(tau, float)
    return np.diag(-lam) + np.diag(lam[1:], -1)


def _trajectory(A, v, z0, drive0, steps, n_grid=400):
    """x on a grid after each step (times, sizes) and up to HORIZON past the last one,
    and the free range (min, max of x without the steps over [0, HORIZON])."""
    K = len(v)
    ones = np.ones(K)

    def segment(z, drive, D):
        s = np.concatenate([np.linspace(0.0, D, n_grid), [D]])
        E = scipy.linalg.expm(A[None] * s[:, None, None])
        zs = drive * ones + np.einsum("skj,j->sk", E, z - drive * ones)
        return zs @ v, zs[-1]

    free, _ = segment(z0, drive0, HORIZON)
    xs = []
    z, drive, t = z0.copy(), drive0, 0.0
    for t_i, size in steps:
        x, z = segment(z, drive, t_i - t)
        xs.append(x)
        drive += size
        t = t_i
    x, _ = segment(z, drive, HORIZON)
    xs.append(x)
    return np.concatenate(xs), free.min(), free.max()


@pytest.mark.parametrize("seed", range(12))
def test_taken_steps_never_reach_a_level(seed):
    rng = np.random.default_rng(seed)
    K = int(rng.integers(1, 6))
    tau = rng.uniform(0.5, 12.0, K)
    v = rng.uniform(0.0, 1.0, K)
    A = _cascade(tau)
    z0 = rng.normal(0.0, 1.0, K)
    drive0 = float(rng.normal())
    times = np.cumsum(rng.exponential(0.7, 60))
    gain = float(v.sum())
    # pairs: a step down, then a step up that undoes part or all of it (refunds matter)
    down = -np.abs(rng.normal(0.0, 0.1, 30)) / gain
    sizes = np.column_stack([down, -down * rng.uniform(0.3, 1.0, 30)]).ravel()
    _, x_lo, x_hi = _trajectory(A, v, z0, drive0, [])
    # levels a little outside the free range; the up margin 0 in a third of the cases
    up_margin = 0.0 if seed % 3 == 0 else float(rng.uniform(0.0, 0.5))
    down_margin = float(rng.uniform(1.0, 2.0))
    up_level, low_level = x_hi + up_margin, x_lo - down_margin
    margins = np.array([[up_margin, down_margin]])
    additive = margins.copy()
    taken = []
    refund_only = 0
    for t_i, s in zip(times, sizes):
        if not drive_step_fits(margins, 0, s, gain):
            break
        taken.append((t_i, s))
        if not input_fits(additive, 0, s, gain, 0.0):
            refund_only += 1
    assert len(taken) == len(times)         # every partial sum within the margins
    assert refund_only > 0                  # steps the additive rule would not take
    x, _, _ = _trajectory(A, v, z0, drive0, taken)
    tol = 1e-9 * (1.0 + np.abs(x).max())
    assert x.max() <= up_level + tol
    assert x.min() >= low_level - tol
    # one more step past what is left above does not fit
    assert not drive_step_fits(margins, 0, margins[0, 0] / gain * (1 + 1e-9) + 1e-12, gain)


def test_refund_follows_the_partial_sums():
    """A margin of 0 above takes steps up that undo steps down; the margins left are
    gain times the distance of the partial sum from its extremes; a step past one fails
    and changes nothing."""
    gain = 0.75
    margins = np.array([[0.0, 1.0]])
    for s in (-0.2, 0.1, 0.09, -0.3, 0.25, 0.05):     # partial sums down to -0.31, now -0.01
        assert drive_step_fits(margins, 0, s, gain)
    assert margins[0, 0] == pytest.approx(gain * 0.01, rel=1e-12)
    assert margins[0, 1] == pytest.approx(1.0 - gain * 0.31 + gain * 0.30, rel=1e-12)
    before = margins.copy()
    assert not drive_step_fits(margins, 0, 0.01 + 1e-9, gain)
    np.testing.assert_array_equal(margins, before)
    assert drive_step_fits(margins, 0, 0.01 - 1e-9, gain)
    inf = np.array([[0.5, np.inf]])
    assert drive_step_fits(inf, 0, -3.0, gain) and inf[0, 1] == np.inf


def test_refunding_projections():
    net = eg.Network(seed=0)
    sig = net.add(eg.SpikeSource(n=1, times=[1.0], ids=[0], coding="delta", name="sig"))
    pul = net.add(eg.SpikeSource(n=1, times=[1.0], ids=[0], coding="pulse", name="pul"))
    a = net.add(eg.GammaPopulation(n=3, K=4, name="a"))
    b = net.add(eg.GammaPopulation(n=3, K=4, name="b"))
    c = net.add(eg.GammaPopulation(n=3, K=2, v=[1.0, -0.5], name="c"))
    net.connect(sig, a, np.ones((1, 3)))        # delta, v >= 0, no pulses: refunds
    net.connect(sig, b, np.ones((1, 3)))        # b also takes pulses: no
    net.connect(pul, b, np.ones((1, 3)))
    net.connect(a, c, np.ones((3, 3)))          # a bucket weight < 0: no
    compiled, _ = compile_network(net, 10.0)
    assert compiled.proj_refund.tolist() == [1, 0, 0, 0]


def test_bounds_without_refund_are_the_plain_ones():
    """refund_bounds with refund 0 gives the bounds it was given and shrink 1 (the
    delivery loop takes every input through it), to the last bit; with refund 1, the
    guarded signed bounds."""
    rng = np.random.default_rng(7)
    for gain in rng.uniform(0.0, 3.0, 200):
        bound_neg = float(rng.uniform(0.0, 1.0))
        assert refund_bounds(gain, bound_neg, 0.0) == (gain, bound_neg, 1.0)
        up, down, shrink = refund_bounds(gain, 0.0, 1.0)
        assert up > gain and -gain < down < 0.0 and shrink < 1.0
