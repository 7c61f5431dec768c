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
(the caller schedules a continuation). Before stepping, where the cascade is modal
with rates that are multiples of one base rate and the threshold does not adapt,
Laguerre's rule of signs (exponential_roots.py) decides most searches at once: no
crossing, or exactly one, found by Newton's method (Halley's for the usual cascade)
without the safe steps.

A second range of x comes from the buckets one by one (engine/bounds.py): one unit
in bucket j moves x, at any later time, by at most ``psi_pos[j]`` up and
``psi_neg[j]`` down, so x stays within ``x_inf +- sum_j |z_j - I| psi[j]`` (the
sign picking psi_pos or psi_neg), with ``x_inf = b + I sum(v)``. For the usual
gamma memory (tau non-decreasing along the cascade) and v >= 0 this is exact when
all buckets are above the drive: x then never rises above its present value.
The second derivative of the buckets obeys the cascade without input as well, so
the same bounds applied to it say how far d2x/dt2 can rise and fall at any later
time; each side's step uses the tighter of that and the hull's |d2x/dt2| bound
(a decaying signal, whose d2x/dt2 is mostly positive, gets long steps down).

Margins. When the ranges at ``t_from`` itself prove that the upper level will
never be reached, the search returns by how much later inputs may push the signal
up and still reach it never (``margin_up``); likewise ``margin_down`` for the
levels below (infinite when r = 0, where no lower level exists). A side whose
level is in reach gets margin 0. These hold whatever the search then finds on the
other side. A pulse w of signed size s pushes x up by at most
``s+ psi_pos[0] + s- psi_neg[0]`` and down by at most ``s+ psi_neg[0] + s- psi_pos[0]``
(``s+ = max(s, 0)``, ``s- = max(-s, 0)``); a drive step moves every bucket by
between 0 and s, so the same holds with ``V+ = sum max(v, 0)`` and
``V- = sum max(-v, 0)`` in place of psi. The caller applies inputs whose pushes fit
in the margins without searching again (``input_fits``). An input that fits with a
push of 0 towards a side whose level is in reach (margin 0) moves x only away from
that level at every later time, so it can only delay the crossing found there: the
prediction becomes a lower bound, and the caller searches again when it comes due.

Drive steps that refund. Where a neuron's bucket weights are all >= 0 and it takes
no pulses (engine/bounds.py, ``proj_refund``), the steps S_n = s_1 + .. + s_n of its
drive since the margins were proven move x by at most sum(v) max(0, max_n S_n) up and
sum(v) max(0, -min_n S_n) down at any later time: each bucket's step response
never falls, so the sum of the steps' responses is a weighted mean of the partial
sums (summation by parts). A step down then refunds the margin above, and a step up
the one below (``drive_step_fits``): the margins stay >= 0 exactly while every partial
sum fits, and a step up that only undoes steps down since the proof fits a margin
of 0 (the prediction becomes a lower bound, as above).
"""
import math

from .jit import inline_kernel

from .exponential_roots import (NO_CROSSING, UNDECIDED, decide_by_signs, doubling_cascade4,
                                first_crossing_doubling)
from .neuron import DOWN, FLOOR, GATE_EPS, UP
from .propagator import PROP_MODAL, advance_buckets_apart, modal4_at

NEVER = -1
"""No crossing in [t, t_end]."""
CONTINUE = 0
"""Not decided yet; resume the search at the returned time."""
NONFINITE = -2
"""The state is not finite (NaN or inf)."""

TIME_RTOL = 1e-14
"""A step shorter than TIME_RTOL * max(1, t) ms ends the search at a crossing."""


@inline_kernel
def signed_pushes(s, bound_pos, bound_neg):
    """Most s units (signed) with push bounds bound_pos, bound_neg move x (up, down).

    Without a branch on the sign (inputs of either sign arrive in random order): one
    of the two parts is 0, so the result is the same product to the last bit.
    """
    s_pos = max(s, 0.0)
    s_neg = max(-s, 0.0)
    return s_pos * bound_pos + s_neg * bound_neg, s_pos * bound_neg + s_neg * bound_pos


@inline_kernel
def bucket_range(z, drive, v, psi_pos, psi_neg, bias):
    """(x_hi, x_lo): the range of x at all later times without input, bucket by bucket
    (module docstring), widened by its own rounding."""
    x_inf = bias
    push_up = 0.0
    push_down = 0.0
    for k in range(z.shape[0]):
        x_inf += v[k] * drive
        up, down = signed_pushes(z[k] - drive, psi_pos[k], psi_neg[k])
        push_up += up
        push_down += down
    pad = 1e-15 * (abs(x_inf) + push_up + push_down + abs(bias))
    return x_inf + push_up + pad, x_inf - push_down - pad


@inline_kernel
def range_margins(x_hi, x_lo, r, theta0):
    """(margin_up, margin_down) left by a range [x_lo, x_hi] of x at all later times
    (module docstring): 0 on a side whose level is in reach, inf below when r = 0."""
    # keep well clear of rounding in the state updates the margins will cover
    slack = 1e-12 * (1.0 + abs(r) + theta0 + abs(x_hi) + abs(x_lo))
    margin_up = max(r + theta0 - x_hi - slack, 0.0)
    if r <= 0.0:
        return margin_up, math.inf
    if r > (1.0 + GATE_EPS) * theta0:
        return margin_up, max(x_lo - (r - theta0) - slack, 0.0)
    return margin_up, max(x_lo - slack, 0.0)


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


@inline_kernel
def latest_crossing(g, g1, g2):
    """Smallest s >= 0 with g + g1*s + g2*s*s/2 <= 0 for g > 0, g2 >= 0 (inf if none):
    a margin g whose second derivative never exceeds g2 is 0 by then at the latest."""
    if g1 >= 0.0:
        return math.inf
    if g2 <= 0.0:
        return g / (-g1)
    disc = g1 * g1 - 2.0 * g2 * g
    if disc < 0.0:
        return math.inf
    return 2.0 * g / (math.sqrt(disc) - g1)


@inline_kernel
def _curvature_bounds(zt, drive, v, rates, psi_pos, psi_neg, umin, umax):
    """(curv_up, curv_down): most x'' can rise, and fall, at any later time from buckets
    ``zt`` (the hull's bound and the bucket-by-bucket one, the tighter of the two;
    ``umin``, ``umax``: the range of the buckets' rates of change, with 0)."""
    gain_rate = 0.0
    prev = drive
    bend_up = 0.0
    bend_down = 0.0
    u_prev = 0.0
    for k in range(zt.shape[0]):
        zk = zt[k]
        u = (prev - zk) * rates[k]
        gain_rate += abs(v[k]) * rates[k]
        prev = zk
        # d2z/dt2 follows the cascade without input too: x'' is bounded like x
        up, down = signed_pushes((u_prev - u) * rates[k], psi_pos[k], psi_neg[k])
        bend_up += up
        bend_down += down
        u_prev = u
    curv = (umax - umin) * gain_rate
    return min(curv, bend_up * (1.0 + 1e-12)), min(curv, bend_down * (1.0 + 1e-12))


@inline_kernel          # a call would pass every array of the cascade as a struct of seven words
def find_crossing(cascade, v, psi_pos, psi_neg, bias, theta0, inv_tau_h,
                  z0, drive, r, h0, t0, t_from, t_end, max_steps, E, work, zt):
    """First time in [t_from, t_end] at which a spike rule holds.

    ``cascade``: the neuron's bucket time constants as for
    ``propagator.advance_buckets``; ``psi_pos``, ``psi_neg``: its push bounds
    (engine/bounds.py). The neuron's state is ``z0`` (buckets), ``drive`` and threshold adaptation
    ``h0`` at time ``t0`` (ms), with ``r`` transmitted. Returns ``(status, t)``:
    status UP / DOWN / FLOOR with the crossing time, NEVER, CONTINUE with the time
    to resume from, or NONFINITE; and the margins above and below, proven at t_from
    (see the module docstring; 0 where there is no proof).
    """
    K = z0.shape[0]
    rates = cascade[0]
    t = t_from
    margin_up = 0.0
    margin_down = 0.0
    # fixed levels, and a modal cascade with rates that are multiples of one base or a
    # single bucket: Laguerre's rule first
    by_signs = h0 <= 0.0 and cascade[6][0] > 0 and (cascade[3] == PROP_MODAL or K == 1)
    for _ in range(max_steps):
        D = t - t0
        # the default cascade inline, the others by a call: inlined whole, their code
        # slowed this loop although it never ran here (202 -> 150 ns for two points)
        if D <= 0.0:
            for j in range(K):
                zt[j] = z0[j]
        elif cascade[3] == PROP_MODAL and K == 4:
            modal4_at(cascade[0], 0, cascade[4], cascade[5], 0, cascade[6], cascade[7], z0, 0,
                      drive, D, zt, 0)
        else:
            advance_buckets_apart(cascade, z0, drive, D, E, work, zt)
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
        psi_hi, psi_lo = bucket_range(zt, drive, v, psi_pos, psi_neg, bias)
        x_hi = min(x_hi, psi_hi)
        x_lo = max(x_lo, psi_lo)

        up_level = r + theta
        if x >= up_level:
            return UP, t, margin_up, margin_down
        has_lower = r > 0.0
        gate_open = r > (1.0 + GATE_EPS) * theta
        if has_lower:
            lower = r - theta if gate_open else 0.0
            if x <= lower:
                return (DOWN if gate_open else FLOOR), t, margin_up, margin_down

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
        if t == t_from:
            margin_up, margin_down = range_margins(x_hi, x_lo, r, theta0)
        if not up_open and not low_open:
            return NEVER, t, margin_up, margin_down
        if by_signs and t == t_from:
            low_level = 0.0
            low_kind = FLOOR
            if has_lower:
                low_level = lower
                low_kind = DOWN if gate_open else FLOOR
            mult = cascade[6]
            if doubling_cascade4(K, mult):
                # the usual cascade inline: a call passes every array as a struct
                # (about 30 ns of a 270 ns search)
                kind, s = first_crossing_doubling(cascade[4], cascade[5], cascade[7], v, zt,
                                                  drive, bias, up_level, up_open, low_level,
                                                  low_open, low_kind)
            else:
                kind, s = decide_by_signs(cascade[4], cascade[5], mult, cascade[7], v, zt,
                                          drive, bias, up_level, up_open, low_level, low_open,
                                          low_kind, work)
            if kind == NO_CROSSING or (kind != UNDECIDED and t + s > t_end):
                return NEVER, t, margin_up, margin_down
            if kind != UNDECIDED:
                return kind, t + s, margin_up, margin_down

        # (not needed where Laguerre's rule decided: the safe steps' curvature bounds)
        curv_up, curv_down = _curvature_bounds(zt, drive, v, rates, psi_pos, psi_neg, umin, umax)
        step = math.inf
        limiter = NEVER
        step_other = math.inf        # the nearest of the candidates not chosen
        # the chosen margin, its slope, and how far its second derivative can rise
        lim_g, lim_g1, lim_rise = 0.0, 0.0, 0.0
        if up_open:
            lim_g, lim_g1, lim_rise = up_level - x, dtheta - dx, curv_down + theta_curv
            step = safe_step(lim_g, lim_g1, curv_up + theta_curv)
            limiter = UP
        if low_open:
            if gate_open:
                g, g1 = x - lower, dx + dtheta
                fall, rise = curv_down + theta_curv, curv_up + theta_curv
            else:
                g, g1, fall, rise = x, dx, curv_down, curv_up
            s = safe_step(g, g1, fall)
            if s < step:
                step_other = step
                step = s
                limiter = DOWN if gate_open else FLOOR
                lim_g, lim_g1, lim_rise = g, g1, rise
            else:
                step_other = s
            if not gate_open and h > 0.0 and r > (1.0 + GATE_EPS) * theta0:
                # the down rule switches on when theta decays to r / (1 + eps)
                # Rounding may put it a hair in the past: never step backwards. Step
                # past it by enough that h visibly decays (D / tau_h >= 2 ulp): the
                # caller re-bases h at each continuation, and a smaller step would
                # leave h, and so the closed gate, unchanged forever.
                s_gate = max(0.0, math.log(h / (r / (1.0 + GATE_EPS) - theta0)) / inv_tau_h)
                s_gate += 4e-16 * (max(1.0, abs(t)) + s_gate) + 4.5e-16 / inv_tau_h
                if s_gate < step:
                    step_other = step
                    step = s_gate
                    limiter = CONTINUE
                else:
                    step_other = min(step_other, s_gate)
        if t + step > t_end:
            return NEVER, t, margin_up, margin_down
        tol = TIME_RTOL * max(1.0, abs(t))
        if limiter != CONTINUE and step <= tol:
            # converged from below onto the crossing of the nearest level
            return limiter, t + step, margin_up, margin_down
        # the level is reached by the first root of the margin's upper bound at the
        # latest: once that is within the tolerance of the step, the step ends on the
        # crossing (one evaluation fewer than converging further), unless another
        # candidate (a crossing on the other side, the gate) could come first
        step_hi = latest_crossing(lim_g, lim_g1, lim_rise) if limiter != CONTINUE else math.inf
        if step_hi - step <= tol and step_hi <= step_other and t + step_hi <= t_end:
            return limiter, t + step, margin_up, margin_down
        t += step
    return CONTINUE, t, margin_up, margin_down


REFUND_GUARD = 2.0 ** -50
"""Where drive steps refund, each step is charged this share of its size more (and
refunded this share less), and each new margin shrunk by this share: rounding never
grows a margin that steps of both signs keep moving."""


@inline_kernel
def input_fits(margins, g, s, bound_pos, bound_neg, shrink=1.0):
    """Spend neuron g's margins (``margins[g, 0]`` above, ``margins[g, 1]`` below) on an
    input of signed size s; False, spending nothing, if it does not fit.

    bound_pos, bound_neg: most a unit input moves x up and down at any later time
    (``psi_pos[0]``, ``psi_neg[0]`` for a pulse; sum max(v, 0), sum max(-v, 0) for a
    drive step). A push of 0 fits a margin of 0 (module docstring). Drive steps that
    refund pass refund_bounds of these instead: a negative bound_neg refunds, and
    ``shrink`` < 1 guards the margins against rounding (1.0: exact subtraction).
    """
    up, down = signed_pushes(s, bound_pos, bound_neg)
    new_up = (margins[g, 0] - up) * shrink
    new_down = (margins[g, 1] - down) * shrink
    if new_up >= 0.0 and new_down >= 0.0:
        margins[g, 0] = new_up
        margins[g, 1] = new_down
        return True
    return False


@inline_kernel
def refund_bounds(bound_pos, bound_neg, refund):
    """(bound_pos, bound_neg, shrink) for input_fits, without a branch: with ``refund``
    1.0, a drive step into a neuron whose steps refund (bound_pos = sum(v), every
    v >= 0, so bound_neg = 0) moves the margin above by bound_pos * s and the one below
    by -bound_pos * s (module docstring), each charged REFUND_GUARD more or refunded
    that much less; with ``refund`` 0.0, the bounds as given and shrink 1.0, to the
    last bit."""
    guard = refund * REFUND_GUARD
    return (bound_pos * (1.0 + guard),
            (1.0 - refund) * bound_neg - refund * (bound_pos * (1.0 - guard)), 1.0 - guard)


@inline_kernel
def drive_step_fits(margins, g, s, gain):
    """input_fits for a drive step of signed size s into neuron g whose steps refund
    (``gain``: sum(v), every v >= 0): the margin above falls by gain * s and the one
    below rises by it; False, changing nothing, if either would fall below 0. An
    infinite margin stays infinite."""
    bound_pos, bound_neg, shrink = refund_bounds(gain, 0.0, 1.0)
    return input_fits(margins, g, s, bound_pos, bound_neg, shrink)
