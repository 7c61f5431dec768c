"""First crossings decided by Laguerre's rule of signs (engine/exponential_roots.py).

Checked against things that do not use the rule: the signs of the generalized
polynomial on a fine grid (the rule's bound), the signal evaluated with
scipy.linalg.expm and its crossing refined by scipy.optimize.brentq, and the
crossing search's own safe steps (find_crossing with the rule switched off).
"""
import math

import numpy as np
import pytest
from scipy.linalg import expm
from scipy.optimize import brentq

from eventsg.engine.crossing import CONTINUE, NEVER, find_crossing
from eventsg.engine.bounds import bucket_push_bounds
from eventsg.engine.exponential_roots import (NO_CROSSING, UNDECIDED, decide_by_signs,
                                              first_crossing, first_crossing_doubling,
                                              partial_sign_changes)
from eventsg.engine.neuron import DOWN, FLOOR, GATE_EPS, UP
from eventsg.engine.propagator import make_cascade

TAUS = {"doubling": (1.0, 2.0, 4.0, 8.0), "doubling reversed": (8.0, 4.0, 2.0, 1.0),
        "thirds": (1.0, 1.5, 3.0), "K = 6": (1.0, 2.0, 3.0, 4.0, 6.0, 12.0)}


def _generator_matrix(tau):
    """dz/dt = A (z - drive): bucket k fills from bucket k - 1 at its own rate."""
    lam = 1.0 / np.asarray(tau)
    return np.diag(-lam) + np.diag(lam[1:], -1)


def _random_case(rng, K):
    z = rng.normal(0.1, 0.2, K)
    drive = rng.choice([0.0, rng.normal(0.0, 0.05)])
    v = rng.normal(0.25, 0.15, K)
    bias = rng.choice([0.0, rng.normal(0.0, 0.02)])
    theta = rng.uniform(0.02, 0.1)
    return z, drive, v, bias, theta


def _levels(x, r, theta):
    """(up, low, low_kind or None) of the spike rules for transmitted r, or None if x
    is already at or past a level."""
    up = r + theta
    low, kind = -np.inf, None
    if r > 0.0:
        kind = DOWN if r > (1.0 + GATE_EPS) * theta else FLOOR
        low = r - theta if kind == DOWN else 0.0
    if not low < x < up:
        return None
    return up, low, kind


def _reference_crossing(A, z, drive, v, bias, up, low, low_kind, s_max):
    """(kind, s) of the first crossing on [0, s_max] from expm on a fine grid and brentq,
    with the margin's slope there; (NEVER, inf, nan) if none."""
    def x_at(s):
        return bias + v @ (drive + expm(A * s) @ (z - drive))

    # the grid by steps of expm (two step sizes), the crossing by expm at each point
    parts = (np.linspace(0.0, 2.0, 2001), np.linspace(2.0, s_max, 4001)[1:])
    grid = np.concatenate(parts)
    xs = []
    for ts in parts:
        step = expm(A * (ts[1] - ts[0]))
        y = expm(A * ts[0]) @ (z - drive)
        for _ in ts:
            xs.append(bias + v @ (drive + y))
            y = step @ y
    xs = np.array(xs)
    above = np.nonzero(xs >= up)[0]
    below = np.nonzero(xs <= low)[0] if low_kind is not None else np.array([], int)
    first_up = above[0] if above.size else grid.size
    first_low = below[0] if below.size else grid.size
    if first_up == first_low == grid.size:
        return NEVER, math.inf, math.nan
    i, level, kind = ((first_up, up, UP) if first_up < first_low else (first_low, low, low_kind))
    s = brentq(lambda s: x_at(s) - level, grid[i - 1], grid[i], xtol=1e-15, rtol=1e-15)
    h = 1e-6
    slope = (x_at(s + h) - x_at(s - h)) / (2 * h) if s > h else (x_at(s + h) - x_at(s)) / h
    return kind, s, slope


def test_laguerre_rule_bounds_the_zeros_in_the_unit_interval():
    rng = np.random.default_rng(7)
    u = np.linspace(1e-9, 1.0, 200_001)
    for _ in range(300):
        K = int(rng.integers(2, 6))
        mult = np.sort(rng.choice(np.arange(1, 13), K, replace=False))[::rng.choice([1, -1])]
        q = rng.normal(size=K) * rng.choice([1.0, 10.0], K)
        A0 = rng.normal()
        sign = rng.choice([1.0, -1.0])
        changes = partial_sign_changes(A0, q, sign, mult)
        p = A0 + sign * (q[None, :] * u[:, None] ** mult[None, :]).sum(axis=1)
        if p[-1] <= 0.0:
            assert changes == -1            # f(0) > 0 is required
            continue
        s = np.sign(p[np.abs(p) > 1e-9])
        zeros = np.count_nonzero(s[1:] != s[:-1])
        assert changes == -1 or zeros <= changes


@pytest.mark.parametrize("name", list(TAUS))
def test_first_crossing_matches_expm_and_brentq(name):
    tau = np.array(TAUS[name])
    K = tau.size
    rates, _, _, method, V, W, mult, base = make_cascade(tau)[:8]
    assert mult[0] > 0
    A = _generator_matrix(tau)
    rng = np.random.default_rng(11 + K)
    decided = {UP: 0, DOWN: 0, FLOOR: 0, NEVER: 0}
    undecided = 0
    for _ in range(200):
        z, drive, v, bias, theta = _random_case(rng, K)
        x = bias + v @ z
        r = rng.choice([0.0, x + rng.uniform(-0.9, 0.9) * theta,
                        x + rng.uniform(0.0, 0.9) * theta])
        lv = _levels(x, r, theta)
        if lv is None:
            continue
        up, low, low_kind = lv
        kind, s = first_crossing(V, W, mult, base, v, z, drive, bias, up, True,
                                 low if low_kind is not None else 0.0, low_kind is not None,
                                 low_kind if low_kind is not None else FLOOR, np.zeros(K))
        if kind == UNDECIDED:
            undecided += 1
            continue
        s_max = 60.0 * tau.max()
        ref_kind, s_ref, slope = _reference_crossing(A, z, drive, v, bias, up, low, low_kind,
                                                     s_max)
        if kind == NO_CROSSING:
            assert ref_kind == NEVER
            decided[NEVER] += 1
            continue
        if s > s_max:
            assert ref_kind == NEVER
            continue
        assert kind == ref_kind
        # the crossing time is good to the rounding of the signal over its slope
        allowance = 1e-13 * (1.0 + s_ref) + 1e-14 * (1.0 + abs(up) + abs(low)) / abs(slope)
        assert abs(s - s_ref) <= allowance, (s, s_ref, slope)
        decided[kind] += 1
    # random states (bucket weights of either sign) leave the rule undecided more often
    # than a network's do; each case must still decide enough crossings to test
    assert decided[UP] + decided[DOWN] + decided[FLOOR] >= 5 and decided[NEVER] >= 1, decided
    if name == "doubling":
        assert decided[UP] >= 5 and decided[DOWN] >= 5 and undecided < sum(decided.values())


def test_doubling_cascade_written_out_matches_the_general_rule():
    rates, _, _, method, V, W, mult, base = make_cascade((1.0, 2.0, 4.0, 8.0))[:8]
    rng = np.random.default_rng(3)
    agreed = 0
    for _ in range(2000):
        z, drive, v, bias, theta = _random_case(rng, 4)
        x = bias + v @ z
        r = x + rng.uniform(-0.9, 0.9) * theta
        lv = _levels(x, r, theta)
        if lv is None:
            continue
        up, low, low_kind = lv
        args = (up, True, low if low_kind else 0.0, low_kind is not None, low_kind or FLOOR)
        k1, s1 = first_crossing(V, W, mult, base, v, z, drive, bias, *args, np.zeros(4))
        k2, s2 = first_crossing_doubling(V, W, base, v, z, drive, bias, *args)
        assert k1 == k2
        if k1 not in (UNDECIDED, NO_CROSSING):
            assert abs(s1 - s2) <= 1e-14 * (1.0 + s1)
            agreed += 1
    assert agreed > 500


def _search_to_the_end(cascade, v, z, drive, bias, theta, r, h0, t_end=500.0):
    """find_crossing resumed until it decides: (status, t)."""
    K = z.size
    psi_pos, psi_neg = np.zeros(K), np.zeros(K)
    bucket_push_bounds(v, cascade[0], psi_pos, psi_neg)
    E, work, zt = np.zeros((K, K)), np.zeros((K, 40)), np.zeros(K)
    t = 0.0
    for _ in range(100_000):
        status, t, _, _ = find_crossing(cascade, v, psi_pos, psi_neg, bias, theta, 1.0, z,
                                        drive, r, h0, 0.0, t, t_end, 64, E, work, zt)
        if status != CONTINUE:
            return status, t
    raise AssertionError("the safe steps did not decide")


@pytest.mark.parametrize("tau", [(1.0, 2.0, 4.0, 8.0), (2.0,)], ids=["doubling", "one bucket"])
def test_the_rule_and_the_safe_steps_find_the_same_crossing(tau):
    """A threshold adaptation of 1e-300 switches the rule off and changes nothing else."""
    cascade = make_cascade(tau)
    rng = np.random.default_rng(5)
    compared = decided = 0
    for _ in range(300):
        z, drive, v, bias, theta = _random_case(rng, len(tau))
        v = np.abs(v)                   # (the safe steps' bounds are tight for v >= 0)
        x = bias + v @ z
        r = x + rng.uniform(-0.9, 0.9) * theta
        if _levels(x, r, theta) is None:
            continue
        by_rule = _search_to_the_end(cascade, v, z, drive, bias, theta, r, 0.0)
        by_steps = _search_to_the_end(cascade, v, z, drive, bias, theta, r, 1e-300)
        assert by_rule[0] == by_steps[0]
        # the rule itself (what the search calls), not only the search around it
        up, low, low_kind = _levels(x, r, theta)
        kind, s = decide_by_signs(cascade[4], cascade[5], cascade[6], cascade[7], v, z, drive,
                                  bias, up, True, low if low_kind else 0.0,
                                  low_kind is not None, low_kind or FLOOR, np.zeros((1, 4)))
        decided += kind != UNDECIDED
        if kind != UNDECIDED:
            assert (NEVER if kind == NO_CROSSING or s > 500.0 else kind) == by_steps[0]
        if by_rule[0] != NEVER:
            assert abs(by_rule[1] - by_steps[1]) <= 1e-12 * max(1.0, by_steps[1])
            if kind != UNDECIDED:
                assert abs(s - by_steps[1]) <= 1e-12 * max(1.0, by_steps[1])
            compared += 1
    assert compared > 50 and decided > 0.5 * compared


def _root_by_bisection(A0, a):
    """The zero in (0, 1) of A0 + a3 u + a2 u^2 + a1 u^4 + a0 u^8, bisected in long double."""
    A0, a = np.longdouble(A0), [np.longdouble(c) for c in a]
    lo, hi = np.longdouble(0.0), np.longdouble(1.0)
    for _ in range(80):
        u = (lo + hi) / 2
        p = A0 + a[3] * u + a[2] * u ** 2 + a[1] * u ** 4 + a[0] * u ** 8
        lo, hi = (u, hi) if p < 0 else (lo, u)
    return (lo + hi) / 2


@pytest.mark.parametrize("where", ["anywhere", "near u = 1", "near u = 0"])
def test_the_doubling_root_matches_a_long_double_bisection(where):
    """_doubling_root (Halley's method in a bracket) on single sign changes of the partial
    sums, with roots spread over (0, 1), crowded at 1 (crossings very soon) and near 0
    (crossings many time constants ahead)."""
    from eventsg.engine.exponential_roots import _doubling_root
    rng = np.random.default_rng(11)
    checked = 0
    for _ in range(3000):
        a = rng.normal(0.0, 1.0, 4) * rng.choice([1e-3, 1.0], 4)
        u_true = {"anywhere": rng.uniform(0.01, 0.99),
                  "near u = 1": 1.0 - 10 ** rng.uniform(-12, -3),
                  "near u = 0": 10 ** rng.uniform(-6, -2)}[where]
        # A0 puts the zero at u_true; keep only one sign change and p(1) > 0 (the contract)
        A0 = -(a[3] * u_true + a[2] * u_true ** 2 + a[1] * u_true ** 4 + a[0] * u_true ** 8)
        if not (A0 < 0.0 and A0 + a.sum() > 0.0):
            continue
        if partial_sign_changes(A0, np.array([a[3], a[2], a[1], a[0]]), 1.0,
                                np.array([1, 2, 4, 8])) != 1:
            continue
        u = _doubling_root(A0, *a)
        ref = float(_root_by_bisection(A0, a))
        slope = abs(a[3] + 2 * a[2] * ref + 4 * a[1] * ref ** 3 + 8 * a[0] * ref ** 7)
        # good to the rounding of p over its slope, and to a few ulp of u
        allowance = 4e-16 * ref + 4e-16 * (abs(A0) + np.abs(a).sum()) / slope
        assert abs(u - ref) <= allowance, (u, ref, A0, a)
        checked += 1
    assert checked > 300
