"""The silence margins of the crossing search (eventsg.engine.crossing).

When ``find_crossing`` proves that a neuron never reaches a level, it returns a
margin for that side: how far later inputs may push the signal up (or down) and
still reach it never. An input of signed size s pushes x up by at most
s+ P+ + s- P- and down by at most s+ P- + s- P+, where P+- are the push bounds of
bucket 1 (engine/bounds.py) for a pulse and the sums of the positive and negative
bucket weights for a drive step; ``input_fits`` spends the margins by those
amounts. A side whose level is in reach has margin 0: inputs that push only away
from it fit, and can only delay the crossing the search predicted there.
Checked here against a dense evaluation of the perturbed trajectory with scipy's
expm, with inputs at random later times.
"""
import numpy as np
import pytest
import scipy.linalg

from eventsg.engine import bounds, crossing
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


def _psi(tau, v):
    psi_pos, psi_neg = np.zeros(len(v)), np.zeros(len(v))
    bounds.bucket_push_bounds(np.asarray(v, float), 1.0 / np.asarray(tau, float), psi_pos,
                              psi_neg)
    return psi_pos, psi_neg


def _search(tau, v, bias, theta0, z0, drive, r, max_steps=8, t_end=1e9):
    K = len(tau)
    psi_pos, psi_neg = _psi(tau, v)
    return crossing.find_crossing(prop.make_cascade(tau), v, psi_pos, psi_neg, bias, theta0,
                                  1.0 / 50.0, z0, drive, r, 0.0, 0.0, 0.0, t_end, max_steps,
                                  np.zeros((K, K)), np.zeros((K, max(K, prop.MAX_TERMS + 1))),
                                  np.zeros(K))


def _pushes(s, kind, tau, v):
    """Most an input of signed size s moves x up, and down (the module docstring)."""
    if kind == "pulse":
        psi_pos, psi_neg = _psi(tau, v)
        b_pos, b_neg = psi_pos[0], psi_neg[0]
    else:
        b_pos, b_neg = np.maximum(v, 0.0).sum(), np.maximum(-v, 0.0).sum()
    sp, sm = max(s, 0.0), max(-s, 0.0)
    return sp * b_pos + sm * b_neg, sp * b_neg + sm * b_pos


def _perturbed_signal(tau, v, bias, z0, drive, inputs, t_max, step):
    """x on a grid of ``step`` ms from 0 to t_max, with ``inputs`` = [(t, kind, s)]
    applied at grid times (kind "pulse": bucket 1 jumps by s; "drive": drive jumps)."""
    E = scipy.linalg.expm(_cascade_matrix(tau) * step)
    z, d, xs = z0.astype(float).copy(), drive, []
    at = {int(round(t / step)): (kind, s_) for t, kind, s_ in inputs}
    for i in range(int(round(t_max / step)) + 1):
        if i in at:
            kind, s_ = at[i]
            if kind == "pulse":
                z[0] += s_
            else:
                d += s_
        xs.append(bias + v @ z)
        z = d + E @ (z - d)
    return np.array(xs)


@pytest.mark.parametrize("order", ["sorted tau", "any tau"])
@pytest.mark.parametrize("v_sign", ["mixed", "non-negative"])
def test_perturbations_inside_the_margins_keep_the_neuron_silent(v_sign, order):
    rng = np.random.default_rng((7 if v_sign == "mixed" else 8) + (order == "any tau"))
    checked = 0
    for _ in range(300):
        K = int(rng.integers(1, 5))
        tau = rng.uniform(0.5, 10.0, K)
        if order == "sorted tau":
            tau = np.sort(tau)
        v = rng.normal(0.5, 0.5, K)
        if v_sign == "non-negative":
            v = np.abs(v)
        theta0 = rng.uniform(0.05, 0.3)
        r = float(rng.choice([0.0, rng.uniform(0.0, 1.0)]))
        z0 = rng.uniform(0.0, 1.0, K)
        drive = rng.uniform(0.0, 1.0)
        bias = r - float(v @ z0) + rng.uniform(-0.5 * theta0, 0.5 * theta0)
        status, _, up, down = _search(tau, v, 0.0 + bias, theta0, z0, drive, r)
        if status != crossing.NEVER or up <= 0.0 or down <= 0.0:
            continue
        if r == 0.0:
            assert down == np.inf, "no level below when r = 0"
        checked += 1
        # random inputs at later grid times; keep those that fit, as input_fits does,
        # aiming to spend each margin almost whole
        inputs, left = [], [up, down]
        for t in np.sort(rng.choice(np.arange(1, 400), 6, replace=False)) * 0.05:
            sign = rng.choice([-1.0, 1.0])
            kind = rng.choice(["pulse", "drive"])
            room = min(left[0] if sign > 0 else left[1], 10.0)
            size = sign * rng.uniform(0.3, 1.0) * room / max(np.abs(v).sum(), 1e-12)
            if kind == "pulse":
                size *= np.abs(v).sum() / max(_psi(tau, v)[0][0] + _psi(tau, v)[1][0], 1e-12)
            push_up, push_down = _pushes(size, kind, tau, v)
            if push_up < left[0] and push_down < left[1]:
                left = [left[0] - push_up, left[1] - push_down]
                inputs.append((t, kind, size))
        x = _perturbed_signal(tau, v, bias, z0, drive, inputs, 400 * 0.05 + 100.0, 0.05)
        assert np.all(x < r + theta0), "perturbed signal reached the up level"
        if r > (1.0 + GATE_EPS) * theta0:
            assert np.all(x > r - theta0), "perturbed signal reached the down level"
        elif r > 0.0:
            assert np.all(x > 0.0), "perturbed signal reached the floor"
    assert checked >= 40, f"only {checked} silent states were generated"


def test_input_fits_spends_the_margins_by_sign():
    margins = np.array([[0.3, 0.2]])
    v_pos, v_neg = 0.5, 0.1
    assert crossing.input_fits(margins, 0, 0.4, v_pos, v_neg)       # up 0.2, down 0.04
    assert margins[0] == pytest.approx([0.1, 0.16])
    assert not crossing.input_fits(margins, 0, 0.4, v_pos, v_neg)   # up 0.2 > 0.1: no change
    assert margins[0] == pytest.approx([0.1, 0.16])
    assert crossing.input_fits(margins, 0, -0.3, v_pos, v_neg)      # up 0.03, down 0.15
    assert margins[0] == pytest.approx([0.07, 0.01])
    only_up = np.array([[0.1, np.inf]])                               # r = 0: no level below
    assert crossing.input_fits(only_up, 0, -1e6, 1.0, 0.0)          # inhibition is free
    assert only_up[0, 0] == 0.1


@pytest.mark.parametrize("outside", [1.02, 1.5])
def test_margin_is_not_far_too_small(outside):
    """The margins are tight enough to matter: a push a little beyond one can fire."""
    tau, v, theta0 = [2.0], np.array([1.0]), 0.1
    z0, drive, r = np.array([0.3]), 0.3, 0.3          # x sits at r, at rest
    status, _, up, down = _search(tau, v, 0.0, theta0, z0, drive, r)
    assert status == crossing.NEVER
    assert up == pytest.approx(theta0, rel=1e-9)
    assert down == pytest.approx(theta0, rel=1e-9)
    x = _trajectory(tau, v, 0.0, z0, drive + outside * up, [0.0, 50.0])
    assert x[-1] >= r + theta0
    x = _trajectory(tau, v, 0.0, z0, drive - outside * down, [0.0, 50.0])
    assert x[-1] <= r - theta0


def _first_crossing(tau, v, bias, theta0, z0, drive, r):
    """The unperturbed search run to its end: (status, time)."""
    status, t, up, down = _search(tau, v, bias, theta0, z0, drive, r, max_steps=100000)
    assert status != crossing.CONTINUE
    return status, t, up, down


@pytest.mark.parametrize("side", ["down predicted", "up predicted"])
def test_inputs_in_the_other_margin_only_delay_a_predicted_crossing(side):
    """A search that finds a crossing on one side keeps the margin of the other; inputs
    that fit in it and push only away from the crossing never reach the other side's
    level and never bring the crossing forward (v >= 0, tau non-decreasing)."""
    rng = np.random.default_rng(11 if side == "down predicted" else 12)
    step, checked, delayed = 0.02, 0, 0
    for _ in range(200):
        K = int(rng.integers(1, 5))
        tau = np.sort(rng.uniform(0.5, 6.0, K))
        v = np.abs(rng.normal(0.5, 0.5, K))
        theta0 = rng.uniform(0.05, 0.3)
        z0 = rng.uniform(0.0, 1.0, K)
        if side == "down predicted":
            r = rng.uniform(1.5 * theta0, 1.0)
            drive = 0.0
            bias = r - float(v @ z0) + rng.uniform(-0.5 * theta0, 0.5 * theta0)
        else:
            r, drive, bias = 0.0, rng.uniform(1.0, 3.0), 0.0
            z0 *= 0.5 * theta0 / max(float(v @ z0), 1e-12)
        status, t_c, up, down = _first_crossing(tau, v, bias, theta0, z0, drive, r)
        want = (crossing.DOWN, crossing.FLOOR) if side == "down predicted" else (crossing.UP,)
        room = up if side == "down predicted" else down
        if status not in want or not room > 0.0 or not 0.5 < t_c < 30.0:
            continue
        checked += 1
        sign = 1.0 if side == "down predicted" else -1.0
        inputs, left = [], min(room, 5.0)
        for t in np.sort(rng.choice(np.arange(1, int(t_c / step)), 4, replace=False)) * step:
            kind = rng.choice(["pulse", "drive"])
            size = sign * rng.uniform(0.2, 0.6) * left / v.sum()
            push_up, push_down = _pushes(size, kind, tau, v)
            toward, away = (push_down, push_up) if sign > 0 else (push_up, push_down)
            assert toward == 0.0
            if away <= left:
                left -= away
                inputs.append((t, kind, size))
        x = _perturbed_signal(tau, v, bias, z0, drive, inputs, t_c + 40.0, step)
        grid = np.arange(x.size) * step
        before = grid < t_c - 1e-9
        if side == "down predicted":
            assert np.all(x < r + theta0), "an input in the margin reached the up level"
            lower = r - theta0 if status == crossing.DOWN else 0.0
            assert np.all(x[before] > lower - 1e-9), "the down crossing came earlier"
            delayed += int(x[np.searchsorted(grid, t_c)] > lower + 1e-6)
        else:
            assert np.all(x[before] < theta0 + 1e-9), "the up crossing came earlier"
            delayed += int(x[np.searchsorted(grid, t_c)] < theta0 - 1e-6)
    assert checked >= 30, f"only {checked} states with a crossing and a margin"
    assert delayed >= checked // 2      # the inputs did move the crossing
