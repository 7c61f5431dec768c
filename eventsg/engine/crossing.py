"""Exact search for a neuron's next threshold crossing between events.

From a point ``t`` the search knows x, dx/dt and bounds valid for all later
times (MODEL.md section 2): every bucket stays in the hull of the drive and the
buckets at ``t``, and dz/dt obeys the same cascade with zero input, so it stays in
the hull of 0 and dz/dt at ``t``. That gives the range of x and of dx/dt, and a
bound on |d2x/dt2|. With the threshold's own exact derivatives, the margin ``g``
to each level satisfies ``g(t+s) >= g + g' s - G s^2 / 2``; the search steps to the
first root of that lower bound, so it never passes a crossing, and converges to a
crossing quadratically from below. It stops when a level is out of reach forever
(proof by the ranges), when it passes ``t_end``, or after ``max_steps`` steps
(the caller schedules a continuation).

When the ranges at ``t_from`` itself prove that no level will ever be reached,
the search also returns by how much the signal could be pushed up, and by how
much down, at all later times and still reach none (two margins; the one below
is infinite when r = 0, where no lower level exists). A pulse ``w`` or a drive
step ``dI`` of size s moves every bucket, at every later time, by an amount
between 0 and s (the propagator is non-negative with row sums <= 1), so it moves
x up by at most ``s+ V+ + s- V-`` and down by at most ``s+ V- + s- V+``, with
``s+ = max(s, 0)``, ``s- = max(-s, 0)``, ``V+ = sum max(v, 0)`` and
``V- = sum max(-v, 0)``. The caller can apply inputs whose pushes fit in the
margins without searching again (``input_fits``); with v >= 0, excitatory input
never spends the margin below, nor inhibitory input the margin above.
"""
import math

from .jit import inline_kernel

from .neuron import DOWN, FLOOR, GATE_EPS, UP
from .propagator import advance_buckets

NEVER = -1
"""No crossing in [t, t_end]."""
CONTINUE = 0
"""Not decided yet; resume the search at the returned time."""
NONFINITE = -2
"""The state is not finite (NaN or inf)."""

TIME_RTOL = 1e-14
"""A step shorter than TIME_RTOL * max(1, t) ms ends the search at a crossing."""


@inline_kernel
def safe_step(g, g1, g2):
    """Largest s with g + g1*s - g2*s*s/2 > 0 on [0, s) for g > 0, g2 >= 0."""
    if g2 <= 0.0:
        if g1 >= 0.0:
            return math.inf
        return g / (-g1)
    disc = math.sqrt(g1 * g1 + 2.0 * g2 * g)
    if g1 <= 0.0:
        return 2.0 * g / (disc - g1)
    return (g1 + disc) / g2


@inline_kernel          # a call would pass every array of the cascade as a struct of seven words
def find_crossing(cascade, v, bias, theta0, inv_tau_h,
                  z0, drive, r, h0, t0, t_from, t_end, max_steps, E, work, zt):
    """First time in [t_from, t_end] at which a spike rule holds.

    ``cascade``: the neuron's bucket time constants as for
    ``propagator.advance_buckets``. The neuron's state is ``z0`` (buckets), ``drive`` and threshold adaptation
    ``h0`` at time ``t0`` (ms), with ``r`` transmitted. Returns ``(status, t)``:
    status UP / DOWN / FLOOR with the crossing time, NEVER, CONTINUE with the time
    to resume from, or NONFINITE; and the margins above and below (see the module
    docstring; 0 when there is no proof).
    """
    K = z0.shape[0]
    rates = cascade[0]
    t = t_from
    for _ in range(max_steps):
        D = t - t0
        advance_buckets(cascade, z0, drive, D, E, work, zt)
        h = h0 * math.exp(-D * inv_tau_h) if h0 > 0.0 else 0.0
        theta = theta0 + h
        dtheta = -h * inv_tau_h
        theta_curv = h * inv_tau_h * inv_tau_h

        x = bias
        dx = 0.0
        zmin = drive
        zmax = drive
        umin = 0.0
        umax = 0.0
        gain_rate = 0.0
        prev = drive
        for k in range(K):
            zk = zt[k]
            x += v[k] * zk
            u = (prev - zk) * rates[k]
            dx += v[k] * u
            zmin = min(zmin, zk)
            zmax = max(zmax, zk)
            umin = min(umin, u)
            umax = max(umax, u)
            gain_rate += abs(v[k]) * rates[k]
            prev = zk
        if not (math.isfinite(x) and math.isfinite(dx)):
            return NONFINITE, t, 0.0, 0.0
        x_hi = bias
        x_lo = bias
        dx_hi = 0.0
        dx_lo = 0.0
        for k in range(K):
            a = v[k] * zmin
            b = v[k] * zmax
            x_hi += max(a, b)
            x_lo += min(a, b)
            a = v[k] * umin
            b = v[k] * umax
            dx_hi += max(a, b)
            dx_lo += min(a, b)
        if dx_hi <= 0.0 and x < x_hi:
            x_hi = x
        if dx_lo >= 0.0 and x > x_lo:
            x_lo = x
        curv = (umax - umin) * gain_rate

        up_level = r + theta
        if x >= up_level:
            return UP, t, 0.0, 0.0
        has_lower = r > 0.0
        gate_open = r > (1.0 + GATE_EPS) * theta
        if has_lower:
            lower = r - theta if gate_open else 0.0
            if x <= lower:
                return (DOWN if gate_open else FLOOR), t, 0.0, 0.0

        up_open = x_hi >= r + theta0
        low_open = False
        if has_lower:
            if r > (1.0 + GATE_EPS) * theta0:
                low_open = x_lo <= r - theta0
            else:
                # only the floor: x must get below 0. A signal whose lowest possible
                # value is 0 only approaches it (e.g. decay to a zero drive), and
                # searching on would end in a spurious floor spike where exp underflows
                low_open = x_lo < 0.0
        if not up_open and not low_open:
            if t != t_from:
                # proven from a later point only: the steps before it leave no margin
                return NEVER, t, 0.0, 0.0
            # keep well clear of rounding in the state updates the margins will cover
            slack = 1e-12 * (1.0 + abs(r) + theta0 + abs(x_hi) + abs(x_lo))
            margin_up = max(r + theta0 - x_hi - slack, 0.0)
            margin_down = math.inf
            if has_lower:
                low = x_lo - (r - theta0) if r > (1.0 + GATE_EPS) * theta0 else x_lo
                margin_down = max(low - slack, 0.0)
            return NEVER, t, margin_up, margin_down

        step = math.inf
        limiter = NEVER
        if up_open:
            step = safe_step(up_level - x, dtheta - dx, curv + theta_curv)
            limiter = UP
        if low_open:
            if gate_open:
                s = safe_step(x - lower, dx + dtheta, curv + theta_curv)
            else:
                s = safe_step(x, dx, curv)
            if s < step:
                step = s
                limiter = DOWN if gate_open else FLOOR
            if not gate_open and h > 0.0 and r > (1.0 + GATE_EPS) * theta0:
                # the down rule switches on when theta decays to r / (1 + eps)
                # Rounding may put it a hair in the past: never step backwards. Step
                # past it by enough that h visibly decays (D / tau_h >= 2 ulp): the
                # caller re-bases h at each continuation, and a smaller step would
                # leave h, and so the closed gate, unchanged forever.
                s_gate = max(0.0, math.log(h / (r / (1.0 + GATE_EPS) - theta0)) / inv_tau_h)
                s_gate += 4e-16 * (max(1.0, abs(t)) + s_gate) + 4.5e-16 / inv_tau_h
                if s_gate < step:
                    step = s_gate
                    limiter = CONTINUE
        if t + step > t_end:
            return NEVER, t, 0.0, 0.0
        if limiter != CONTINUE and step <= TIME_RTOL * max(1.0, abs(t)):
            # converged from below onto the crossing of the nearest level
            return limiter, t + step, 0.0, 0.0
        t += step
    return CONTINUE, t, 0.0, 0.0


@inline_kernel
def input_fits(margins, g, s, v_pos, v_neg):
    """Spend neuron g's margins (``margins[g, 0]`` above, ``margins[g, 1]`` below) on an
    input of signed size s; False, spending nothing, if it does not fit.

    v_pos, v_neg: the neuron's sum max(v, 0) and sum max(-v, 0).
    """
    if s >= 0.0:
        up = s * v_pos
        down = s * v_neg
    else:
        up = -s * v_neg
        down = -s * v_pos
    if margins[g, 0] > up and margins[g, 1] > down:
        margins[g, 0] -= up
        margins[g, 1] -= down
        return True
    return False
