"""The silence margin of the crossing search (eventsg.engine.crossing).

When ``find_crossing`` proves that a neuron never reaches a level, it returns a
margin: any later inputs whose bounds |w| sum|v| (pulses) or |dI| sum|v| (drive
steps) add up to less than it must leave the neuron silent. Checked here against
a dense evaluation of the perturbed trajectory with scipy's expm.
"""
import numpy as np
import pytest
import scipy.linalg

from eventsg.engine import crossing
from eventsg.engine import propagator as prop
from eventsg.engine.neuron import GATE_EPS


def _cascade_matrix(tau):
    lam = 1.0 / np.asarray(tau)
    return np.diag(-lam) + np.diag(lam[1:], -1)


def _trajectory(tau, v, bias, z0, drive, times):
    """x at ``times`` (ms after the state z0), by scipy's expm."""
    A = _cascade_matrix(tau)
    E = scipy.linalg.expm(A[None, :, :] * np.asarray(times, dtype=float)[:, None, None])
    return bias + (drive + E @ (z0 - drive)) @ v


def _stepped_trajectory(tau, v, bias, z0, drive, step, n):
    """x at 0, step, ..., n * step ms: expm of one step, applied n times."""
    E = scipy.linalg.expm(_cascade_matrix(tau) * step)
    dz, xs = z0 - drive, []
    for _ in range(n + 1):
        xs.append(bias + v @ (drive + dz))
        dz = E @ dz
    return np.array(xs)


def _search(tau, v, bias, theta0, z0, drive, r):
    K = len(tau)
    return crossing.find_crossing(prop.make_cascade(tau), v, bias, theta0, 1.0 / 50.0,
                                  z0, drive, r, 0.0, 0.0, 0.0, 1e9, 8,
                                  np.zeros((K, K)), np.zeros((K, max(K, prop.MAX_TERMS + 1))),
                                  np.zeros(K))


def test_perturbations_inside_the_margin_keep_the_neuron_silent():
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(400):
        K = int(rng.integers(1, 5))
        tau = np.sort(rng.uniform(0.5, 10.0, K))
        v = rng.normal(0.5, 0.5, K)
        theta0 = rng.uniform(0.05, 0.3)
        r = float(rng.choice([0.0, rng.uniform(0.0, 1.0)]))
        z0 = rng.uniform(0.0, 1.0, K)
        drive = rng.uniform(0.0, 1.0)
        bias = r - float(v @ z0) + rng.uniform(-0.5 * theta0, 0.5 * theta0)
        status, _, margin = _search(tau, v, 0.0 + bias, theta0, z0, drive, r)
        if status != crossing.NEVER or margin <= 0.0:
            continue
        checked += 1
        vabs = np.abs(v).sum()
        # spend 99% of the margin on a pulse into bucket 1 and a drive step
        share = rng.uniform(0.0, 1.0)
        w = rng.choice([-1.0, 1.0]) * 0.99 * margin * share / vabs
        dI = rng.choice([-1.0, 1.0]) * 0.99 * margin * (1.0 - share) / vabs
        z1 = z0.copy()
        z1[0] += w
        x = np.concatenate([_stepped_trajectory(tau, v, bias, z1, drive + dI, 0.05, 400),
                            _stepped_trajectory(tau, v, bias, z1, drive + dI, 10.0, 200)])
        assert np.all(x < r + theta0), "perturbed signal reached the up level"
        if r > (1.0 + GATE_EPS) * theta0:
            assert np.all(x > r - theta0), "perturbed signal reached the down level"
        elif r > 0.0:
            assert np.all(x > 0.0), "perturbed signal reached the floor"
    assert checked >= 50, f"only {checked} silent states were generated"


@pytest.mark.parametrize("outside", [1.02, 1.5])
def test_margin_is_not_far_too_small(outside):
    """The margin is tight enough to matter: a push a little beyond it can fire."""
    tau, v, theta0 = [2.0], np.array([1.0]), 0.1
    z0, drive, r = np.array([0.3]), 0.3, 0.3          # x sits at r, at rest
    status, _, margin = _search(tau, v, 0.0, theta0, z0, drive, r)
    assert status == crossing.NEVER
    assert margin == pytest.approx(theta0, rel=1e-9)
    x = _trajectory(tau, v, 0.0, z0, drive + outside * margin, [0.0, 50.0])
    assert x[-1] >= r + theta0
