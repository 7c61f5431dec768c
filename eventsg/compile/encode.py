"""Exact sigma-delta encoding of piecewise-linear signals (signal sources).

Rule (the choice documented in docs/model-choices.md): the encoder works on the signed
signal s(t) itself, with no ReLU and so no floor rule. r starts at 0. Where s
jumps (t = 0, or a repeated sample time) and |s - r| >= theta, one graded spike of
amplitude s - r is sent; on a linear piece, a spike of exactly +theta when s
reaches r + theta and -theta when it reaches r - theta (analytic times); r += a.
"""
import numpy as np
from numba import njit

from .arrays import kernel_array


@njit(cache=True)
def _value_at(t, values, c, time):
    """s_c(time), constant outside [t[0], t[-1]] (right-continuous at jumps)."""
    S = t.shape[0]
    if time < t[0]:
        return values[0, c]
    k = np.searchsorted(t, time, side="right") - 1
    if k >= S - 1:
        return values[S - 1, c]
    ta = t[k]
    tb = t[k + 1]
    return values[k, c] + (values[k + 1, c] - values[k, c]) * ((time - ta) / (tb - ta))


@njit(cache=True)
def _encode_channel(t, values, c, theta, duration, out_t, out_a, n, fill):
    """Events of channel c appended from index n; returns the new count."""
    r = 0.0
    s = _value_at(t, values, c, 0.0)
    if abs(s) >= theta:
        if fill:
            out_t[n] = 0.0
            out_a[n] = s
        n += 1
        r = s
    S = t.shape[0]
    at_end = 0            # crossings the previous linear piece placed exactly at its end
    end_step = 0.0
    for k in range(S - 1):
        ta = t[k]
        tb = t[k + 1]
        if tb <= 0.0 or ta > duration:
            continue
        sa = values[k, c]
        sb = values[k + 1, c]
        if tb == ta:
            # a jump at ta (> 0 here): one graded spike if the step is large enough.
            # The signal is right-continuous: a crossing that the piece before
            # reached exactly at ta is replaced by this jump's single spike.
            if at_end > 0:
                n -= at_end
                r -= at_end * end_step
                at_end = 0
            if abs(sb - r) >= theta and ta > 0.0:
                if fill:
                    out_t[n] = ta
                    out_a[n] = sb - r
                n += 1
                r = sb
            continue
        at_end = 0
        t_lo = max(ta, 0.0)
        t_hi = min(tb, duration)
        s_hi = sa + (sb - sa) * ((t_hi - ta) / (tb - ta)) if t_hi < tb else sb
        step = theta if sb > sa else -theta
        if sb == sa:
            continue
        while True:
            level = r + step
            if (step > 0.0 and level > s_hi) or (step < 0.0 and level < s_hi):
                break
            tc = ta + (level - sa) * ((tb - ta) / (sb - sa))
            tc = min(max(tc, t_lo), t_hi)
            if fill:
                out_t[n] = tc
                out_a[n] = step
            n += 1
            r = level
            if tc == tb:
                at_end += 1
                end_step = step
    return n


@njit(cache=True)
def _encode_all(t, values, theta, duration, out_t, out_c, out_a, fill):
    n = 0
    for c in range(values.shape[1]):
        start = n
        n = _encode_channel(t, values, c, theta[c], duration, out_t, out_a, n, fill)
        if fill:
            out_c[start:n] = c
    return n


def encode_signal(t, values, theta, duration):
    """Sigma-delta events of a piecewise-linear signal up to ``duration`` ms.

    t: (S,) sample times (ms, non-decreasing); values: (S,) or (S, n); theta: >0,
    scalar or (n,). Returns (times, channels, amplitudes) sorted by time (ties:
    channel order).
    """
    t = kernel_array(t, np.float64)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    values = kernel_array(values, np.float64)
    theta = kernel_array(np.broadcast_to(np.asarray(theta, np.float64), (values.shape[1],)),
                         np.float64)
    empty_t, empty_c, empty_a = np.empty(0), np.empty(0, np.int64), np.empty(0)
    count = _encode_all(t, values, theta, float(duration), empty_t, empty_c, empty_a, False)
    out_t, out_c, out_a = np.empty(count), np.empty(count, np.int64), np.empty(count)
    _encode_all(t, values, theta, float(duration), out_t, out_c, out_a, True)
    order = np.argsort(out_t, kind="stable")
    return out_t[order], out_c[order], out_a[order]
