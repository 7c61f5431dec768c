"""Exact sigma-delta encoding of piecewise-linear signals (MODEL.md section 1 and 3;
encoder rule in eventsg/compile/encode.py: signed signal, no floor, graded spikes at
jumps, +-theta at crossings of a linear piece).

The references here are independent: closed-form crossing times of ramps, exact
rational (fractions.Fraction) solutions of s(t) = level on each linear piece, and a
dense-grid reconstruction r(t) = running sum of the amplitudes.
"""
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventsg.compile.encode import encode_signal

TIME_TOL = 1e-12


# ------------------------------------------------------------ independent helpers

def signal_value(t, values, time, side="right"):
    """s(time) of the piecewise-linear signal; constant outside [t[0], t[-1]].

    side="right": right-continuous at a jump (repeated sample time); "left": the
    limit from the left.
    """
    t = np.asarray(t, dtype=float)
    values = np.asarray(values, dtype=float)
    k = int(np.searchsorted(t, time, side=side)) - (1 if side == "right" else 0)
    if side == "right":
        if k < 0:
            return values[0]
        if k >= len(t) - 1:
            return values[-1]
        return values[k] + (values[k + 1] - values[k]) * (time - t[k]) / (t[k + 1] - t[k])
    # left: the piece (t[k-1], t[k]] that ends at or after ``time``
    if k <= 0:
        return values[0]
    if k >= len(t):
        return values[-1]
    a, b = k - 1, k
    return values[a] + (values[b] - values[a]) * (time - t[a]) / (t[b] - t[a])


def signal_values(t, values, times):
    """Right-continuous s at many times (vectorised ``signal_value``)."""
    t = np.asarray(t, dtype=float)
    values = np.asarray(values, dtype=float)
    k = np.searchsorted(t, times, side="right") - 1
    inside = (k >= 0) & (k < len(t) - 1)
    kk = np.clip(k, 0, len(t) - 2) if len(t) > 1 else np.zeros_like(k)
    out = np.where(k < 0, values[0], values[-1]).astype(float)
    if len(t) > 1:
        ta, tb = t[kk], t[kk + 1]
        va, vb = values[kk], values[kk + 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            lin = va + (vb - va) * (times - ta) / (tb - ta)
        out = np.where(inside, lin, out)
    return out


def exact_crossing_times(t, values, level, near):
    """Exact (rational) times at which a linear piece of s around time ``near``
    equals ``level``."""
    out = []
    L = Fraction(level)
    slack = 1e-9 * max(1.0, abs(near))
    for k in range(len(t) - 1):
        if not t[k] - slack <= near <= t[k + 1] + slack:
            continue
        ta, tb, sa, sb = (Fraction(float(x)) for x in (t[k], t[k + 1], values[k], values[k + 1]))
        if tb == ta or sb == sa:
            continue
        tc = ta + (L - sa) * (tb - ta) / (sb - sa)
        if ta <= tc <= tb:
            out.append(tc)
    return out


def check_encoding(t, values, theta, duration, ev_t, ev_a):
    """Assert that (ev_t, ev_a) is the sigma-delta encoding of one channel."""
    t = np.asarray(t, dtype=float)
    values = np.asarray(values, dtype=float)
    ev_t = np.asarray(ev_t)
    ev_a = np.asarray(ev_a)
    assert np.all(ev_t >= 0.0) and np.all(ev_t <= duration), "events outside [0, duration]"
    assert np.all(np.diff(ev_t) >= 0.0), "events not sorted by time"
    r_after = np.cumsum(ev_a)                        # same order of additions as a receiver
    r_before = np.concatenate([[0.0], r_after[:-1]])
    jumps = {float(t[k]) for k in range(len(t) - 1) if t[k] == t[k + 1] and t[k] > 0.0}
    for k, (tk, ak) in enumerate(zip(ev_t, ev_a)):
        if tk == 0.0 or float(tk) in jumps:
            # a graded spike where s jumps: amplitude s(t+) - r, at least theta
            # (the encoder resets its r to s(t+) at a jump, while the running sum
            # of amplitudes may differ from it by rounding: compare to ~ulps)
            s_now = signal_value(t, values, tk)
            scale = max(1.0, abs(s_now), abs(r_before[k]))
            graded_ok = abs(ak - (s_now - r_before[k])) <= 1e-13 * scale and abs(ak) >= theta
            if tk == 0.0 or abs(ak) != theta:
                assert graded_ok, (k, tk, ak, s_now, r_before[k])
            if graded_ok:
                continue
            # else: a +-theta crossing reached at the end of the piece before the jump
        # on a linear piece: exactly +-theta, at the exact crossing of the level
        assert ak == theta or ak == -theta, (k, tk, ak)
        level = r_after[k]
        candidates = exact_crossing_times(t, values, level, tk)
        assert candidates, f"event {k} at t={tk!r}: s never equals level {level!r}"
        err = min(abs(float(c - Fraction(float(tk)))) for c in candidates)
        assert err <= TIME_TOL * max(1.0, abs(tk)), (k, tk, level, err)
        # s itself (left or right limit) is on the level at the event time
        s_left = signal_value(t, values, tk, side="left")
        s_right = signal_value(t, values, tk, side="right")
        assert min(abs(s_left - level), abs(s_right - level)) <= 1e-9 * max(1.0, abs(level))

    # no crossing missed: |s - r| < theta everywhere in [0, duration] (dense grid,
    # plus every sample time and the instants around every event)
    grid = np.linspace(0.0, duration, 4001)
    extra = [x for x in t if 0.0 <= x <= duration]
    extra += [x for e in ev_t for x in (np.nextafter(e, -np.inf), e, np.nextafter(e, np.inf))
              if 0.0 <= x <= duration]
    grid = np.unique(np.concatenate([grid, extra]))
    idx = np.searchsorted(ev_t, grid, side="right")          # events at or before the point
    r_grid = np.concatenate([[0.0], r_after])[idx]
    s_grid = signal_values(t, values, grid)
    gap = np.abs(s_grid - r_grid)
    tol = theta * (1.0 + 1e-9) + 1e-12 * np.abs(s_grid)
    bad = np.flatnonzero(gap > tol)
    assert bad.size == 0, (f"|s - r| = {gap[bad[0]]!r} >= theta = {theta!r} at t = {grid[bad[0]]!r}"
                           f" (no event there)")


def channel(out, c):
    ev_t, ev_c, ev_a = out
    keep = ev_c == c
    return ev_t[keep], ev_a[keep]


# ------------------------------------------------------------ ramps: analytic times

@pytest.mark.parametrize("slope, theta, duration", [
    (1.0, 0.1, 10.0), (2.5, 0.3, 40.0), (-0.7, 0.05, 30.0), (1e-3, 1e-4, 1e3),
    (123.0, 0.5, 2.0), (-3.0, 1.0, 7.5),
])
def test_ramp_crossing_times_are_analytic(slope, theta, duration):
    t = [0.0, duration]
    values = [0.0, slope * duration]
    ev_t, ev_c, ev_a = encode_signal(t, values, theta, duration)
    n = int(np.floor(abs(slope) * duration / theta * (1 + 1e-12)))
    assert abs(len(ev_t) - n) <= 1          # the last level may sit on the end point
    k = np.arange(1, len(ev_t) + 1)
    np.testing.assert_allclose(ev_t, k * theta / abs(slope), rtol=1e-12, atol=1e-12)
    assert np.all(ev_a == np.sign(slope) * theta)
    assert np.all(ev_c == 0)
    check_encoding(t, values, theta, duration, ev_t, ev_a)


def test_ramp_starting_late_with_offset():
    """s = 0.4 until t = 2, then s = 0.4 + 0.5 (t - 2): levels are theta, 2 theta, ..."""
    theta, duration = 0.25, 10.0
    t = [2.0, 12.0]
    values = [0.4, 0.4 + 0.5 * 10.0]
    ev_t, _, ev_a = encode_signal(t, values, theta, duration)
    # r = 0, s = 0.4 >= theta at t = 0: one graded spike of 0.4, then levels 0.4 + k theta
    assert ev_t[0] == 0.0 and ev_a[0] == 0.4
    k = np.arange(1, len(ev_t))
    np.testing.assert_allclose(ev_t[1:], 2.0 + k * theta / 0.5, rtol=1e-12)
    assert len(ev_t) - 1 == int(0.5 * 8.0 / theta)
    check_encoding(t, values, theta, duration, ev_t, ev_a)


def test_crossing_exactly_at_duration_belongs_to_the_run():
    ev_t, _, ev_a = encode_signal([0.0, 10.0], [0.0, 10.0], 1.0, 3.0)
    assert np.array_equal(ev_t, [1.0, 2.0, 3.0]) and np.array_equal(ev_a, [1.0, 1.0, 1.0])


def test_events_beyond_duration_are_excluded():
    t = [0.0, 1.0, 3.0, 3.0, 8.0]
    values = [0.0, 2.0, -1.0, 4.0, 0.0]
    full = encode_signal(t, values, 0.3, 20.0)
    for duration in [0.5, 1.0, 2.9, 3.0, 5.55, 8.0]:
        part = encode_signal(t, values, 0.3, duration)
        assert np.all(part[0] <= duration)
        keep = full[0] <= duration
        # the same events, bit for bit (except possibly one whose level lies exactly
        # at the truncated end)
        n = len(part[0])
        assert keep.sum() - n in (0, 1) or n - keep.sum() in (0, 1)
        m = min(n, keep.sum())
        for a, b in zip(part, full):
            np.testing.assert_array_equal(a[:m], b[:m])
        check_encoding(t, values, 0.3, duration, part[0], part[2])


def test_signal_entirely_after_duration_gives_only_initial_spike():
    ev_t, _, ev_a = encode_signal([5.0, 6.0], [2.0, -3.0], 0.5, 4.0)
    assert np.array_equal(ev_t, [0.0]) and np.array_equal(ev_a, [2.0])


def test_constant_signal_costs_no_spikes_after_the_start():
    ev_t, _, ev_a = encode_signal([0.0, 100.0], [0.3, 0.3], 0.1, 100.0)
    assert np.array_equal(ev_t, [0.0]) and np.array_equal(ev_a, [0.3])
    ev = encode_signal([0.0, 100.0], [0.05, 0.05], 0.1, 100.0)
    assert all(len(x) == 0 for x in ev)


# ------------------------------------------------------------ jumps

def test_jumps_give_graded_spikes():
    theta = 0.5
    t = [0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0]
    values = [0.0, 0.2, 3.2, 3.2, 3.4, 3.4, -2.0, -2.0]
    ev_t, _, ev_a = encode_signal(t, values, theta, 5.0)
    # t = 1: jump to 3.2 from r = 0 -> +3.2; t = 2: 3.4 - 3.2 < theta -> none;
    # t = 3: -2.0 - 3.2 -> -5.2
    assert np.array_equal(ev_t, [1.0, 3.0])
    np.testing.assert_array_equal(ev_a, [3.2, -2.0 - 3.2])
    check_encoding(t, values, theta, 5.0, ev_t, ev_a)


@pytest.mark.parametrize("step, fires", [(0.5, True), (0.5 - 2.0 ** -40, False), (-0.5, True),
                                         (-0.5 + 2.0 ** -40, False), (0.625, True)])
def test_jump_threshold_is_inclusive(step, fires):
    """A jump fires when |s - r| >= theta, equality included."""
    t = [0.0, 1.0, 1.0, 2.0]
    values = [0.0, 0.0, step, step]
    ev_t, _, ev_a = encode_signal(t, values, 0.5, 5.0)
    if fires:
        assert np.array_equal(ev_t, [1.0]) and np.array_equal(ev_a, [step])
    else:
        assert ev_t.size == 0
    check_encoding(t, values, 0.5, 5.0, ev_t, ev_a)


@pytest.mark.parametrize("after, amplitude", [(0.5, 0.45), (0.07, None), (-0.3, -0.35)])
def test_piece_ending_on_a_level_then_jumping_sends_one_spike(after, amplitude):
    """s reaches r + theta exactly where it jumps: one spike for that instant, of
    s(t+) - r (right-continuous signal), or none if the jump lands within theta."""
    t = [0.0, 10.0, 10.0, 20.0]
    values = [0.0, 0.1, after, after]                   # levels 0.05 and 0.1 = 2 * 0.05
    ev_t, _, ev_a = encode_signal(t, values, 0.05, 30.0)
    assert np.sum(ev_t == 10.0) == (1 if amplitude is not None else 0)
    assert ev_t[0] == 5.0 and ev_a[0] == 0.05
    if amplitude is not None:
        assert ev_a[ev_t == 10.0][0] == pytest.approx(amplitude, abs=1e-15)
    check_encoding(t, values, 0.05, 30.0, ev_t, ev_a)


def test_jump_at_time_zero_and_negative_sample_times():
    ev_t, _, ev_a = encode_signal([0.0, 0.0, 1.0], [0.0, 5.0, 5.0], 1.0, 10.0)
    assert np.array_equal(ev_t, [0.0]) and np.array_equal(ev_a, [5.0])
    # pieces before t = 0 only set s(0): s(0) = 0.5 here, below theta = 1
    t, values = [-4.0, -1.0, 2.0], [10.0, -1.0, 2.0]
    ev_t, _, ev_a = encode_signal(t, values, 1.0, 3.0)
    assert ev_t.size and ev_t[0] > 0.0
    check_encoding(t, values, 1.0, 3.0, ev_t, ev_a)


# ------------------------------------------------------------ random signals

def random_signal(rng, n_samples, span, p_jump):
    t = np.sort(rng.uniform(-0.2 * span, 1.2 * span, n_samples))
    dup = rng.random(n_samples - 1) < p_jump
    t[1:][dup] = t[:-1][dup]                            # repeated times = jumps
    t = np.maximum.accumulate(t)
    values = np.cumsum(rng.normal(0.0, 1.0, n_samples))
    return t, values


@pytest.mark.parametrize("seed", range(12))
def test_random_piecewise_linear_signal(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 40))
    duration = float(10.0 ** rng.uniform(-1, 3))
    t, values = random_signal(rng, n, duration, p_jump=0.2 if seed % 2 else 0.0)
    theta = float(10.0 ** rng.uniform(-2, 0))
    ev_t, ev_c, ev_a = encode_signal(t, values, theta, duration)
    assert np.all(ev_c == 0)
    check_encoding(t, values, theta, duration, ev_t, ev_a)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2 ** 32 - 1), st.integers(2, 25), st.floats(0.05, 2.0),
       st.floats(0.5, 200.0), st.sampled_from([0.0, 0.3]))
def test_random_signal_hypothesis(seed, n, theta, duration, p_jump):
    rng = np.random.default_rng(seed)
    t, values = random_signal(rng, n, duration, p_jump)
    ev_t, _, ev_a = encode_signal(t, values, theta, duration)
    check_encoding(t, values, theta, duration, ev_t, ev_a)


def test_multiple_channels():
    rng = np.random.default_rng(42)
    n_ch = 5
    t = np.sort(rng.uniform(0.0, 50.0, 30))
    t[10] = t[9]                                          # a jump shared by all channels
    values = np.cumsum(rng.normal(0.0, 1.0, (30, n_ch)), axis=0)
    theta = np.array([0.1, 0.2, 0.05, 1.0, 0.3])
    out = encode_signal(t, values, theta, 45.0)
    ev_t, ev_c, ev_a = out
    assert set(np.unique(ev_c)) <= set(range(n_ch))
    # sorted by time, ties in channel order
    order = np.lexsort((ev_c, ev_t))
    assert np.array_equal(order, np.arange(len(ev_t)))
    for c in range(n_ch):
        ct, ca = channel(out, c)
        # each channel is encoded as if it were alone, with its own theta
        single = encode_signal(t, values[:, c], theta[c], 45.0)
        np.testing.assert_array_equal(ct, single[0])
        np.testing.assert_array_equal(ca, single[2])
        check_encoding(t, values[:, c], theta[c], 45.0, ct, ca)
    # a scalar theta is shared by all channels
    out2 = encode_signal(t, values, 0.2, 45.0)
    np.testing.assert_array_equal(channel(out2, 1)[0], channel(out, 1)[0])


def test_equal_times_across_channels_are_in_channel_order():
    t = [0.0, 1.0, 1.0, 2.0]
    values = [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]
    ev_t, ev_c, ev_a = encode_signal(t, values, 0.5, 5.0)
    assert np.array_equal(ev_t, [1.0, 1.0, 1.0])
    assert np.array_equal(ev_c, [0, 1, 2]) and np.array_equal(ev_a, [1.0, 2.0, 3.0])
