"""First threshold crossing of a modal signal, decided by Laguerre's rule of signs.

Between inputs the signal of a modal cascade (z = drive + V c, mode c_m decaying
as e^{-lam_m s}) is a constant plus a sum of exponentials, and so is the margin to
a level that does not move (no threshold adaptation):

    f(s) = A_0 + sum_m q_m e^{-lam_m s},     s >= 0 ms after the point,

with f = level - x for the level above and f = x - level for the one below. When
the rates are integer multiples of one base rate (lam_m = mult_m * base, see
propagator.rate_multiples), ``u = e^{-base s}`` maps s in (0, inf) onto u in
(0, 1) and f onto the generalized polynomial ``p(u) = A_0 + sum_m q_m u^mult_m``.

Laguerre's rule (an extension of Descartes' rule of signs; Polya and Szego,
Problems and Theorems in Analysis II, part five): with the exponents in
increasing order, p has at most as many zeros in (0, 1) as there are sign changes
in its partial sums ``A_0, A_0 + q_(1), ..., A_0 + sum_m q_m = f(0)``. So from the
state at one point:

* no sign change: f never reaches 0 (the level is never reached);
* one sign change, f(0) > 0: exactly one crossing, which any converging root
  finder may look for without the care of never passing it: there is no other.

The crossing search (crossing.py) asks this first and falls back to its safe
steps when the rule leaves more than one crossing possible, or a partial sum is
too close to 0 for its sign to be trusted (rounding of the modal terms).
"""
import math

from .jit import inline_kernel, kernel
from .neuron import UP

UNDECIDED = -3
"""The rule does not decide: more than one crossing possible, or signs too close to call."""
NO_CROSSING = -1
"""Neither level is ever reached (crossing.NEVER)."""

SIGN_RTOL = 1e-11
"""A partial sum within SIGN_RTOL times the sum of the terms' sizes has no trusted sign."""

ROOT_RTOL = 8e-16
"""The root finders stop on a step shorter than ROOT_RTOL * u (a few ulp)."""

QUADRATIC_STEP = 1e-5
"""A step of at most QUADRATIC_STEP * u is in the asymptotic regime: the error it leaves
is estimated from the derivatives (_doubling_root)."""

MAX_ROOT_STEPS = 200
"""Newton (or Halley) steps with bisection fallback; bisection alone halves (0, 1) 200
times."""


@kernel
def signal_modes(V, W, v, z, drive, q):
    """q[m] = what mode m adds to x = sum_k v_k z_k now; z = drive + V c, c = W (z - drive).

    V and W: the cascade's modal matrices (K x K, lower triangular, row-major flat).
    """
    K = z.shape[0]
    for m in range(K):
        c = 0.0
        for j in range(m + 1):
            c += W[m * K + j] * (z[j] - drive)
        gain = 0.0
        for i in range(m, K):
            gain += v[i] * V[i * K + m]
        q[m] = gain * c


@inline_kernel
def _add_term(total, term, changes, tol):
    """(sign changes so far, next partial sum) once ``term`` is added to the partial sum
    ``total`` (an A0 of exactly 0 has no sign); changes -1 when the new sum is within
    tol of 0, its sign untrusted."""
    new = total + term
    if abs(new) <= tol:
        return -1, new
    if total != 0.0 and (new > 0.0) != (total > 0.0):
        return changes + 1, new
    return changes, new


@inline_kernel
def _bracketed_newton(u, p, newton_step, lo, hi):
    """One step of the root finders: (done, next u, lo, hi), with p = p(u) and the
    bracket (lo, hi) of the last points where p was negative and positive; a step
    that leaves the bracket is replaced by bisection."""
    if p > 0.0:
        hi = u
    elif p < 0.0:
        lo = u
    else:
        return True, u, lo, hi
    un = u - newton_step
    if abs(un - u) <= ROOT_RTOL * u:
        return True, un, lo, hi     # (a step below one ulp leaves un == u at a bracket end)
    if not (lo < un < hi):
        un = 0.5 * (lo + hi)
    return hi - lo <= ROOT_RTOL * hi, un, lo, hi


@kernel
def partial_sign_changes(A0, q, sign, mult):
    """Sign changes of the partial sums of A0, sign * q (modes by increasing ``mult``),
    or -1 when a partial sum is too close to 0 to trust its sign (SIGN_RTOL).

    ``mult`` must be strictly monotone (its order along the cascade either way). An
    A0 of exactly 0 is skipped: p(u) / u^mult_min has the same zeros in (0, 1).
    """
    K = q.shape[0]
    scale = abs(A0)
    for m in range(K):
        scale += abs(q[m])
    tol = SIGN_RTOL * scale
    step = 1 if mult[0] < mult[K - 1] else -1
    m = 0 if step == 1 else K - 1
    if A0 != 0.0 and abs(A0) <= tol:
        return -1
    changes, total = 0, A0
    for _ in range(K):
        changes, total = _add_term(total, sign * q[m], changes, tol)
        m += step
        if changes < 0:
            return -1
    return changes if total > 0.0 else -1   # f(0) > 0 is the caller's; rounding may differ


@inline_kernel
def _poly(A0, q, sign, mult, u):
    """(p(u), p'(u)) for p(u) = A0 + sign * sum_m q_m u^mult_m, u > 0 (the tau-doubling
    cascade has its own root finder, _doubling_root)."""
    K = q.shape[0]
    p = A0
    du = 0.0
    for m in range(K):
        power = 1.0                 # u^mult, by binary powering
        base = u
        e = mult[m]
        while e > 0:
            if e & 1:
                power *= base
            base *= base
            e >>= 1
        term = sign * q[m] * power
        p += term
        du += term * mult[m]
    return p, du / u


@kernel
def unique_root(A0, q, sign, mult):
    """The one zero u in (0, 1) of p(u) = A0 + sign * sum_m q_m u^mult_m, given p(1) > 0
    and a single sign change of the partial sums (so p < 0 near 0 and one zero).

    Newton's method, kept inside the bracket of the last points where p was negative
    and positive (bisection when a step leaves it), from u = 1 (s = 0).
    """
    lo = 0.0
    hi = 1.0
    u = 1.0
    for _ in range(MAX_ROOT_STEPS):
        p, dp = _poly(A0, q, sign, mult, u)
        done, u, lo, hi = _bracketed_newton(u, p, p / dp if dp != 0.0 else 2.0, lo, hi)
        if done:
            return u
    return u


@inline_kernel
def first_crossing(V, W, mult, base, v, z, drive, bias, up_level, up_open, low_level,
                   low_open, low_kind, q):
    """(kind, s): the first crossing after the point whose buckets are ``z`` (drive
    ``drive``, bias ``bias``), s ms later, decided by Laguerre's rule; or
    (NO_CROSSING, inf), or (UNDECIDED, nan) for the safe-step search to decide.

    ``up_level`` / ``low_level``: the levels (the lower one of kind ``low_kind``,
    DOWN or FLOOR), considered only where ``*_open`` (a side proven out of reach by
    the caller's ranges is not looked at). The signal is below up_level and above
    low_level now. ``q``: scratch of length K. Needs mult > 0 (rates that are
    multiples of ``base``, strictly monotone along the cascade).
    """
    K = z.shape[0]
    for k in range(1, K):
        if (mult[k] > mult[k - 1]) != (mult[1] > mult[0]) or mult[k] == mult[k - 1]:
            return UNDECIDED, math.nan
    signal_modes(V, W, v, z, drive, q)
    x_inf = bias
    for k in range(K):
        x_inf += v[k] * drive
    up_changes = 0
    if up_open:
        up_changes = partial_sign_changes(up_level - x_inf, q, -1.0, mult)
        if up_changes < 0 or up_changes > 1:
            return UNDECIDED, math.nan
    low_changes = 0
    if low_open:
        low_changes = partial_sign_changes(x_inf - low_level, q, 1.0, mult)
        if low_changes < 0 or low_changes > 1:
            return UNDECIDED, math.nan
    if up_changes + low_changes == 0:
        return NO_CROSSING, math.inf
    if up_changes + low_changes > 1:
        return UNDECIDED, math.nan      # one crossing on each side: which comes first
    if up_changes == 1:
        kind = UP
        u = unique_root(up_level - x_inf, q, -1.0, mult)
    else:
        kind = low_kind
        u = unique_root(x_inf - low_level, q, 1.0, mult)
    if u <= 0.0:
        return kind, math.inf           # beyond any time a double can hold
    return kind, -math.log(u) / base


@inline_kernel
def _doubling_root(A0, a0, a1, a2, a3):
    """The one zero u in (0, 1) of A0 + a3 u + a2 u^2 + a1 u^4 + a0 u^8 (unique_root for
    the usual cascade, tau doubling: multiples 8, 4, 2, 1), all in registers.

    Halley's method (cubic convergence; p' and p'' from the same powers), kept inside
    the bracket of the last points where p was negative and positive (bisection when
    a step leaves it), from the secant between u = 0 (p = A0 < 0) and u = 1
    (p = f(0) > 0).
    """
    lo = 0.0
    hi = 1.0
    u = A0 / (A0 - (A0 + a3 + a2 + a1 + a0))
    if not (0.0 < u < 1.0):
        u = 0.5
    for _ in range(MAX_ROOT_STEPS):
        u2 = u * u
        u4 = u2 * u2
        t3 = a3 * u
        t2 = a2 * u2
        t1 = a1 * u4
        t0 = a0 * (u4 * u4)
        p = A0 + t3 + t2 + t1 + t0
        slope_u = t3 + 2.0 * t2 + 4.0 * t1 + 8.0 * t0         # u p'(u)
        bend = 2.0 * t2 + 12.0 * t1 + 56.0 * t0               # u^2 p''(u)
        den = 2.0 * slope_u * slope_u - p * bend
        step = 2.0 * p * slope_u * u / den if den != 0.0 else 2.0
        done, un, lo, hi = _bracketed_newton(u, p, step, lo, hi)
        if done:
            return un
        if abs(step) <= QUADRATIC_STEP * u and un == u - step:
            # the error Halley's step leaves is (p''^2 / (4 p'^2) - p''' / (6 p')) step^3
            # to first order (u^3 p''' = 24 t1 + 336 t0): within half the tolerance, the
            # stepped point is the root (one evaluation fewer than the step test)
            r = abs(step) / u
            lead = abs(3.0 * bend * bend - 2.0 * (24.0 * t1 + 336.0 * t0) * slope_u)
            if lead * r * r * r <= 6.0 * ROOT_RTOL * slope_u * slope_u:
                return un
        u = un
    return u


@inline_kernel
def doubling_cascade4(K, mult):
    """True for the usual cascade written out below: K = 4 with rate multiples 8, 4, 2, 1
    (time constants doubling along it)."""
    return K == 4 and mult[0] == 8 and mult[1] == 4 and mult[2] == 2 and mult[3] == 1


@inline_kernel
def _side_changes4(A0, b0, b1, b2, b3, tol):
    """partial_sign_changes for four terms already in increasing order and signed."""
    changes, total = (0, A0) if A0 == 0.0 or abs(A0) > tol else (-1, A0)
    for term in (b0, b1, b2, b3):
        if changes >= 0:
            changes, total = _add_term(total, term, changes, tol)
    return changes if total > 0.0 else -1


@inline_kernel
def first_crossing_doubling(V, W, base, v, z, drive, bias, up_level, up_open, low_level,
                            low_open, low_kind):
    """first_crossing for K = 4 with rate multiples 8, 4, 2, 1 (tau doubling along the
    cascade), written out: the modes, both sides' signs and the root in registers."""
    y0 = z[0] - drive
    y1 = z[1] - drive
    y2 = z[2] - drive
    y3 = z[3] - drive
    c0 = W[0] * y0
    c1 = W[4] * y0 + W[5] * y1
    c2 = W[8] * y0 + W[9] * y1 + W[10] * y2
    c3 = W[12] * y0 + W[13] * y1 + W[14] * y2 + W[15] * y3
    q0 = (v[0] * V[0] + v[1] * V[4] + v[2] * V[8] + v[3] * V[12]) * c0
    q1 = (v[1] * V[5] + v[2] * V[9] + v[3] * V[13]) * c1
    q2 = (v[2] * V[10] + v[3] * V[14]) * c2
    q3 = v[3] * V[15] * c3
    x_inf = bias + (v[0] + v[1] + v[2] + v[3]) * drive
    up_changes = 0
    tol = SIGN_RTOL * (abs(q0) + abs(q1) + abs(q2) + abs(q3))
    if up_open:
        A = up_level - x_inf
        up_changes = _side_changes4(A, -q3, -q2, -q1, -q0, tol + SIGN_RTOL * abs(A))
        if up_changes < 0 or up_changes > 1:
            return UNDECIDED, math.nan
    low_changes = 0
    if low_open:
        A = x_inf - low_level
        low_changes = _side_changes4(A, q3, q2, q1, q0, tol + SIGN_RTOL * abs(A))
        if low_changes < 0 or low_changes > 1:
            return UNDECIDED, math.nan
    if up_changes + low_changes == 0:
        return NO_CROSSING, math.inf
    if up_changes + low_changes > 1:
        return UNDECIDED, math.nan
    if up_changes == 1:
        kind = UP
        u = _doubling_root(up_level - x_inf, -q0, -q1, -q2, -q3)
    else:
        kind = low_kind
        u = _doubling_root(x_inf - low_level, q0, q1, q2, q3)
    if u <= 0.0:
        return kind, math.inf
    return kind, -math.log(u) / base


@inline_kernel
def _one_mode_crossing(q, x_inf, rate, up_level, up_open, low_level, low_open, low_kind):
    """first_crossing for one bucket, x = x_inf + q e^{-rate s}: one partial sum past
    A0 on each side, so at most one crossing, at u = e^{-rate s} = -A0 / (sign q)."""
    kind = NO_CROSSING
    u = 0.0
    for side in range(2):
        if side == 0 and not up_open or side == 1 and not low_open:
            continue
        A0, sign = (up_level - x_inf, -1.0) if side == 0 else (x_inf - low_level, 1.0)
        if A0 != 0.0 and abs(A0) <= SIGN_RTOL * (abs(A0) + abs(q)) or A0 + sign * q <= 0.0:
            return UNDECIDED, math.nan      # sign of A0 untrusted, or f(0) > 0 disputed
        if A0 < 0.0:
            kind = UP if side == 0 else low_kind
            u = -A0 / (sign * q)
    if kind == NO_CROSSING:
        return NO_CROSSING, math.inf
    return kind, -math.log(u) / rate


@kernel
def decide_by_signs(V, W, mult, base, v, z, drive, bias, up_level, up_open, low_level,
                    low_open, low_kind, work):
    """first_crossing, written out for the usual cascade (K = 4, multiples 8, 4, 2, 1)
    and for one bucket (any method: V and W are not needed): the one call the
    crossing search makes (its loop stays small; ``work``: scratch with a row of at
    least K)."""
    if z.shape[0] == 1:
        return _one_mode_crossing(v[0] * (z[0] - drive), bias + v[0] * drive, base * mult[0],
                                  up_level, up_open, low_level, low_open, low_kind)
    if doubling_cascade4(z.shape[0], mult):
        return first_crossing_doubling(V, W, base, v, z, drive, bias, up_level, up_open,
                                       low_level, low_open, low_kind)
    return first_crossing(V, W, mult, base, v, z, drive, bias, up_level, up_open, low_level,
                          low_open, low_kind, work[0][:z.shape[0]])
