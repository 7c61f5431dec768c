"""Exact propagator of the bucket cascade: E(D) = expm(A D).

A is lower bidiagonal with ``A[k, k] = -lam_k`` and ``A[k, k-1] = +lam_k``
(``lam_k = 1 / tau_k`` in 1/ms). Its exponential has the closed form

    E[i, j] = (prod_{m=j+1..i} D lam_m) * exp[nu_j, ..., nu_i],   nu_k = -D lam_k,

where ``exp[...]`` is a divided difference of the exponential. We evaluate it
around the centre ``c`` of the rates: ``exp[nu] = e^{-cD} sum_q h_q(mu) / (n+q)!``
with ``mu_k = D (c - lam_k)`` and ``h_q`` the complete homogeneous symmetric
polynomials. When the rates are spread (``D (lam_max - lam_min) > SPREAD_MAX``) we
evaluate ``E(D / 2^s)`` that way and square ``s`` times. Every entry of E is
non-negative, so squaring has no cancellation: entries stay accurate to a few ulp
for equal, nearly equal and widely separated time constants alike.
"""
import math

import numpy as np
from .jit import inline_kernel, kernel

SPREAD_MAX = 1.0
"""Largest scaled rate spread evaluated by the series directly (|mu| <= 1/2)."""

MAX_TERMS = 24
"""Series length that bounds the truncation error below 1e-17 for |mu| <= 1/2."""

MAX_BUCKETS = 64

INV_FACTORIAL = np.array([1.0 / math.factorial(k) for k in range(MAX_BUCKETS + MAX_TERMS + 2)])


@kernel
def series_terms(half_spread):
    """Number of series terms q = 1..Q needed for relative error < 1e-17.

    The tail after Q is below (h/2)^Q / Q! relative to the sum, which is at least
    e^(-h/2) >= 0.6 of its leading term for h/2 <= 1/2.
    """
    if half_spread == 0.0:
        return 0
    term = 1.0
    q = 0
    while q < MAX_TERMS:
        q += 1
        term *= half_spread / q
        if term < 6e-18:
            break
    return q


@kernel
def _fill_series(rates, center, D, E, h):
    """E(D) by the centred divided-difference series; needs D*spread <= SPREAD_MAX."""
    K = rates.shape[0]
    spread = 0.0
    for k in range(K):
        d = abs(center - rates[k])
        if d > spread:
            spread = d
    Q = series_terms(D * spread)
    ecd = math.exp(-center * D)
    for j in range(K):
        for i in range(j):
            E[i, j] = 0.0
        mu_j = D * (center - rates[j])
        if ecd == 0.0:
            for i in range(j, K):
                E[i, j] = 0.0
            continue
        # h_q(mu_j) = mu_j^q; the diagonal is e^{-cD} sum_q mu_j^q / q! = e^{-lam_j D}
        h[0] = 1.0
        acc = INV_FACTORIAL[Q]
        for q in range(1, Q + 1):
            h[q] = h[q - 1] * mu_j
        for q in range(Q - 1, -1, -1):
            acc = acc * mu_j + INV_FACTORIAL[q]
        E[j, j] = ecd * acc
        prod = ecd
        for i in range(j + 1, K):
            mu_i = D * (center - rates[i])
            for q in range(1, Q + 1):
                h[q] += mu_i * h[q - 1]
            prod *= D * rates[i]
            n = i - j
            acc = 0.0
            for q in range(Q, -1, -1):
                acc += h[q] * INV_FACTORIAL[n + q]
            E[i, j] = prod * acc


@kernel
def fill_propagator(rates, center, spread, D, E, work):
    """Write E(D) = expm(A D) into ``E[:K, :K]``.

    rates: (K,) bucket rates 1/tau in 1/ms; center, spread: (max+min)/2 and
    max-min of the rates; D >= 0 in ms. ``work`` is scratch of shape
    (K, K) at least and (MAX_TERMS + 1,) in its first row.
    """
    K = rates.shape[0]
    squarings = 0
    scaled = D
    total = D * spread
    if total > SPREAD_MAX:
        squarings = int(math.ceil(math.log2(total / SPREAD_MAX)))
        scaled = D / (2.0 ** squarings)
    _fill_series(rates, center, scaled, E, work[0])
    for s in range(squarings):
        for i in range(K):
            for j in range(i + 1):
                acc = 0.0
                for k in range(j, i + 1):
                    acc += E[i, k] * E[k, j]
                work[i, j] = acc
        for i in range(K):
            for j in range(i + 1):
                E[i, j] = work[i, j]
        # squaring doubles the relative error of each stage: re-anchor the entries
        # that have closed forms (Al-Mohy and Higham 2009, for triangular matrices)
        _exact_two_diagonals(rates, scaled * 2.0 ** (s + 1), E)


@kernel
def _exact_two_diagonals(rates, d, E):
    """Write the exact diagonal and first subdiagonal of E(d) into E.

    ``E[k, k] = e^{-lam_k d}``; ``E[k+1, k] = lam_{k+1} (e^{-lam_k d} - e^{-lam_{k+1} d}) /
    (lam_{k+1} - lam_k)``, evaluated with expm1 so that it is accurate for any gap.
    """
    K = rates.shape[0]
    for k in range(K):
        E[k, k] = math.exp(-rates[k] * d)
    for k in range(K - 1):
        a = rates[k]
        b = rates[k + 1]
        gap = abs(b - a)
        slow = E[k, k] if a < b else E[k + 1, k + 1]
        if gap * d < 1e-300:
            E[k + 1, k] = b * d * slow
        else:
            E[k + 1, k] = b * slow * (-math.expm1(-gap * d)) / gap


@kernel
def propagate(z, drive, E, out):
    """Buckets after the step whose propagator is E: out = drive + E (z - drive).

    z, out: (K,) bucket values (may be the same array: rows are written from the
    last, each reading only entries not yet written); drive: constant input.
    """
    K = z.shape[0]
    for i in range(K - 1, -1, -1):
        acc = 0.0
        for j in range(i + 1):
            acc += E[i, j] * (z[j] - drive)
        out[i] = drive + acc


def propagator(tau, D):
    """E(D) for bucket time constants ``tau`` (ms) and elapsed time ``D`` (ms).

    A convenience wrapper of the kernel (returns a new (K, K) array).
    """
    tau = np.asarray(tau, dtype=np.float64).reshape(-1)
    if tau.size < 1 or tau.size > MAX_BUCKETS:
        raise ValueError(f"tau must have 1..{MAX_BUCKETS} entries, got {tau.size}")
    if not np.all(np.isfinite(tau)) or np.any(tau <= 0):
        raise ValueError(f"tau must be finite and > 0 ms, got {tau}")
    if not (np.isfinite(D) and D >= 0):
        raise ValueError(f"D must be finite and >= 0 ms, got {D}")
    rates = 1.0 / tau
    K = rates.size
    E = np.zeros((K, K))
    work = np.zeros((max(K, 1), max(K, MAX_TERMS + 1)))
    center = 0.5 * (rates.max() + rates.min())
    fill_propagator(rates, center, rates.max() - rates.min(), float(D), E, work)
    return E


PROP_EQUAL = 0
"""All rates equal: closed form e^{-lam D} (lam D)^n / n!."""
PROP_MODAL = 1
"""Distinct rates with a well-conditioned eigenbasis: V diag(e^{-lam D}) V^-1."""
PROP_SERIES = 2
"""Anything else: the divided-difference series of ``fill_propagator``."""

MODAL_MAX_AMPLIFICATION = 1000.0
"""Largest row sum of |V| |V^-1| for which the modal form is used (error <= this * eps)."""


def eigenbasis(rates):
    """(V, W = V^-1) of the cascade matrix for distinct rates (1/ms), by closed forms.

    Column k of V is the eigenvector of eigenvalue -rates[k]:
    ``V[i, k] = prod_{m=k+1..i} lam_m / (lam_m - lam_k)``, and
    ``W[k, j] = prod_{m=j+1..k} lam_m / (lam_{m-1} - lam_k)``.
    """
    lam = np.asarray(rates, dtype=np.float64)
    K = lam.size
    V = np.zeros((K, K))
    W = np.zeros((K, K))
    for k in range(K):
        V[k, k] = 1.0
        for i in range(k + 1, K):
            V[i, k] = V[i - 1, k] * lam[i] / (lam[i] - lam[k])
        W[k, k] = 1.0
        for j in range(k - 1, -1, -1):
            W[k, j] = W[k, j + 1] * lam[j + 1] / (lam[j] - lam[k])
    return V, W


def cascade_plan(tau):
    """How the event engine advances a cascade of time constants ``tau`` (ms).

    Returns ``(method, V, W)``: PROP_EQUAL, PROP_MODAL (with the eigenbasis) or
    PROP_SERIES; V and W are zero matrices unless the method is modal.
    """
    rates = 1.0 / np.asarray(tau, dtype=np.float64).reshape(-1)
    K = rates.size
    zeros = np.zeros((K, K))
    if np.all(rates == rates[0]):
        return PROP_EQUAL, zeros, zeros.copy()
    if np.unique(rates).size == K:
        with np.errstate(all="ignore"):
            V, W = eigenbasis(rates)
            amplification = np.max((np.abs(V) @ np.abs(W)).sum(axis=1))
        if np.isfinite(amplification) and amplification <= MODAL_MAX_AMPLIFICATION:
            return PROP_MODAL, V, W
    return PROP_SERIES, zeros, zeros.copy()


MAX_MULTIPLE = 64
"""Largest rate ratio for which e^{-lam_k D} is taken as a power of e^{-lam_min D}."""


def rate_multiples(rates):
    """(mult, base): ``rates == mult * base`` exactly, with integer 1 <= mult <= MAX_MULTIPLE.

    Then ``e^{-lam_k D} = (e^{-base D})^mult_k``: one exp and a few products
    (relative error a few ulp) instead of K exps. ``mult`` is all zeros when the
    rates are not exact multiples of their smallest one.
    """
    rates = np.asarray(rates, dtype=np.float64)
    base = float(rates.min())
    mult = np.rint(rates / base)
    if np.all(mult <= MAX_MULTIPLE) and np.all(mult * base == rates):
        return mult.astype(np.int64), base
    return np.zeros(rates.size, np.int64), base


TABLE_LEVELS = 14
"""Levels of a series cascade's power table: E(2^j h) for j < TABLE_LEVELS."""

TABLE_REPEATS = 64
"""``advance_series`` covers D < h 2^TABLE_LEVELS TABLE_REPEATS (the top level repeated)."""

SERIES_TERMS = 18
"""Taylor terms of ``advance_series`` for |s M| <= 3/4: (3/4)^19 / 19! < 1e-19."""


def power_table(rates, method=None):
    """(table, h) of a cascade advanced by the series method (``advance_series``).

    ``table`` is ``E(2^j h)`` for ``j < TABLE_LEVELS`` (each (K, K), flattened
    row-major one after the other), ``h = 1 / (2 max(rates))`` ms. Entries come from
    ``fill_propagator``: accurate to a few ulp and non-negative. Other methods (and
    single buckets) get an empty table and ``h = 0``.
    """
    rates = np.asarray(rates, dtype=np.float64).reshape(-1)
    if method is None:
        method = cascade_plan(1.0 / rates)[0]
    K = rates.size
    if method != PROP_SERIES or K < 2:
        return np.zeros(0), 0.0
    h = 0.5 / float(rates.max())
    center, spread = 0.5 * (rates.max() + rates.min()), float(rates.max() - rates.min())
    table = np.zeros((TABLE_LEVELS, K, K))
    work = np.zeros((K, max(K, MAX_TERMS + 1)))
    for j in range(TABLE_LEVELS):
        fill_propagator(rates, center, spread, h * 2.0 ** j, table[j], work)
    return table.reshape(-1), h


def make_cascade(tau):
    """The cascade tuple of ``advance_buckets`` for time constants ``tau`` (ms).

    The compiler lays out the same values in flat arrays; this helper builds one
    for a single set (tests, examples).
    """
    rates = 1.0 / np.asarray(tau, dtype=np.float64).reshape(-1)
    method, V, W = cascade_plan(1.0 / rates)
    mult, base = rate_multiples(rates)
    table, h = power_table(rates, method)
    return (rates, 0.5 * (rates.max() + rates.min()), rates.max() - rates.min(), np.int64(method),
            np.ascontiguousarray(V).reshape(-1), np.ascontiguousarray(W).reshape(-1), mult, base,
            table, h)


@inline_kernel
def rate_set_cascade(net, s):
    """The cascade tuple of ``advance_buckets`` for rate set ``s`` of a CompiledNetwork."""
    K = net.rset_K[s]
    r0 = net.rset_start[s]
    m0 = net.rset_mstart[s]
    t0 = net.rset_tstart[s]
    return (net.rates[r0:r0 + K], net.rset_center[s], net.rset_spread[s], net.rset_method[s],
            net.rset_V[m0:m0 + K * K], net.rset_W[m0:m0 + K * K], net.rset_mult[r0:r0 + K],
            net.rset_base[s], net.rset_table[t0:t0 + net.rset_tlen[s]], net.rset_h[s])


@inline_kernel
def _int_power(q, m):
    """q ** m for an integer m >= 1, by binary powering."""
    result = 1.0
    while m > 0:
        if m & 1:
            result *= q
        q *= q
        m >>= 1
    return result


@inline_kernel
def _modal_decays(rates, mult, base, D, c):
    """c[k] = e^{-rate_k D} for k < K (by integer powers of e^{-base D} when the rates
    are multiples of ``base``)."""
    K = rates.shape[0]
    if mult[0] > 0:
        q = math.exp(-base * D)
        for k in range(K):
            c[k] = _int_power(q, mult[k])
    else:
        for k in range(K):
            c[k] = math.exp(-rates[k] * D)


@inline_kernel
def _poisson_weights(x, K, p):
    """p[n] = e^{-x} x^n / n! for n < K (the equal-rate propagator's entries)."""
    if x < 700.0:
        p[0] = math.exp(-x)
        for n in range(1, K):
            p[n] = p[n - 1] * x / n
    else:
        lx = math.log(x)
        for n in range(K):
            p[n] = math.exp(-x + n * lx - math.lgamma(n + 1.0))


@inline_kernel
def modal4_decays(rates, r0, mult, base, D):
    """(e^{-rate_k D} for k < 4) of the four rates from ``rates[r0]`` (multiples in ``mult``).

    Time constants that double along the cascade take a chain of squarings: the very
    products _int_power forms, without its loops.
    """
    m0_, m1_, m2_, m3_ = mult[r0], mult[r0 + 1], mult[r0 + 2], mult[r0 + 3]
    if m0_ == 8 and m1_ == 4 and m2_ == 2 and m3_ == 1:
        d3 = math.exp(-base * D)
        d2 = d3 * d3
        d1 = d2 * d2
        d0 = d1 * d1
    elif m0_ == 1 and m1_ == 2 and m2_ == 4 and m3_ == 8:
        d0 = math.exp(-base * D)
        d1 = d0 * d0
        d2 = d1 * d1
        d3 = d2 * d2
    elif m0_ > 0:
        q = math.exp(-base * D)
        d0 = _int_power(q, m0_)
        d1 = _int_power(q, m1_)
        d2 = _int_power(q, m2_)
        d3 = _int_power(q, m3_)
    else:
        d0 = math.exp(-rates[r0] * D)
        d1 = math.exp(-rates[r0 + 1] * D)
        d2 = math.exp(-rates[r0 + 2] * D)
        d3 = math.exp(-rates[r0 + 3] * D)
    return d0, d1, d2, d3


@inline_kernel
def modal4_at(rates, r0, V, W, m0, mult, base, z, b0, drive, D, out, o0):
    """The modal form of ``advance_buckets`` written out for K = 4 (the default cascade).

    Flat arrays with offsets, so the event engine's delivery loop needs no views:
    the set's rates and multiples start at ``r0``, its V and W (row-major 4 x 4) at
    ``m0``; the buckets at ``z[b0:b0 + 4]``, written to ``out[o0:o0 + 4]`` (may be
    the same place). Same operations in the same order as the loops of the general
    case (so the same result to the last bit), without their loop and index overhead.
    """
    d0, d1, d2, d3 = modal4_decays(rates, r0, mult, base, D)
    w0, w1, w2, w3 = modal4_coordinates(W, m0, z, b0, drive)
    modal4_buckets(V, m0, d0 * w0, d1 * w1, d2 * w2, d3 * w3, drive, out, o0)


@inline_kernel
def modal4_coordinates(W, m0, z, b0, drive):
    """W (z - drive) for K = 4: the modal coordinates of buckets ``z[b0:b0 + 4]`` (W
    row-major 4 x 4 from ``m0``, lower triangular), summed as the general case's loops."""
    y0 = z[b0] - drive
    y1 = z[b0 + 1] - drive
    y2 = z[b0 + 2] - drive
    y3 = z[b0 + 3] - drive
    return (0.0 + W[m0] * y0,
            0.0 + W[m0 + 4] * y0 + W[m0 + 5] * y1,
            0.0 + W[m0 + 8] * y0 + W[m0 + 9] * y1 + W[m0 + 10] * y2,
            0.0 + W[m0 + 12] * y0 + W[m0 + 13] * y1 + W[m0 + 14] * y2 + W[m0 + 15] * y3)


@inline_kernel
def modal4_buckets(V, m0, c0, c1, c2, c3, drive, out, o0):
    """out[o0:o0 + 4] = drive + V c for K = 4 (V row-major 4 x 4 from ``m0``, lower
    triangular), summed as the general case's loops."""
    out[o0 + 3] = drive + (0.0 + V[m0 + 12] * c0 + V[m0 + 13] * c1 + V[m0 + 14] * c2
                           + V[m0 + 15] * c3)
    out[o0 + 2] = drive + (0.0 + V[m0 + 8] * c0 + V[m0 + 9] * c1 + V[m0 + 10] * c2)
    out[o0 + 1] = drive + (0.0 + V[m0 + 4] * c0 + V[m0 + 5] * c1)
    out[o0] = drive + (0.0 + V[m0] * c0)


@inline_kernel
def advance_buckets(cascade, z0, drive, D, E, work, out):
    """Buckets ``D`` ms after they were ``z0`` under constant ``drive`` (into ``out``).

    ``cascade = (rates, center, spread, method, V, W, mult, base, table, h)`` as laid
    out by the compiler (see ``make_cascade``; V and W flattened row-major to (K*K,),
    ``table`` and ``h`` as ``power_table`` gives them);
    E and work are scratch as for ``fill_propagator``.
    ``out`` may be ``z0`` itself.
    """
    rates, center, spread, method, V, W, mult, base, table, h = cascade
    K = z0.shape[0]
    if D <= 0.0:
        for k in range(K):
            out[k] = z0[k]
        return
    if method == PROP_MODAL and K == 4:
        modal4_at(rates, 0, V, W, 0, mult, base, z0, 0, drive, D, out, 0)
    elif method == PROP_MODAL:
        # c = diag(e^{-lam D}) W (z0 - drive), then out = drive + V c. The decays go
        # into c first, so that the products below have no branch on the method.
        c = work[0]
        _modal_decays(rates, mult, base, D, c)
        for k in range(K):
            acc = 0.0
            row = k * K
            for j in range(k + 1):
                acc += W[row + j] * (z0[j] - drive)
            c[k] *= acc
        for i in range(K - 1, -1, -1):
            acc = 0.0
            row = i * K
            for k in range(i + 1):
                acc += V[row + k] * c[k]
            out[i] = drive + acc
    elif method == PROP_EQUAL:
        p = work[0]
        _poisson_weights(rates[0] * D, K, p)
        for i in range(K - 1, -1, -1):
            acc = 0.0
            for j in range(i + 1):
                acc += p[i - j] * (z0[j] - drive)
            out[i] = drive + acc
    elif table.shape[0] > 0 and D < h * 2.0 ** TABLE_LEVELS * TABLE_REPEATS:
        advance_series(rates, center, table, h, z0, drive, D, work, out)
    else:
        fill_propagator(rates, center, spread, D, E, work)
        propagate(z0, drive, E, out)


@kernel
def advance_buckets_apart(cascade, z0, drive, D, E, work, out):
    """``advance_buckets`` as a call of its own, for the engine's loops: they inline only
    the default cascade's path (``modal4_at``) and call this for the others. Inlined
    whole, the other methods' code slows the loop around it even where it never runs."""
    advance_buckets(cascade, z0, drive, D, E, work, out)


@inline_kernel
def _lower_matvec(table, base, K, y):
    """y <- T y in place, T the lower-triangular K x K matrix at ``table[base:]`` (row-major)."""
    for i in range(K - 1, -1, -1):
        acc = 0.0
        row = base + i * K
        for m in range(i + 1):
            acc += table[row + m] * y[m]
        y[i] = acc


@kernel
def advance_series(rates, center, table, h, z0, drive, D, work, out):
    """``advance_buckets`` of a series cascade by its power table (see ``power_table``).

    With ``D = n h + s`` (0 <= s < h): the products ``E(2^j h)`` for the bits of n
    (non-negative matrices: no cancellation), then ``E(s) = e^{-c s} exp(s M)``,
    ``M = A + c I`` (c the centre rate), as a Taylor series applied to the vector:
    ``|s M| <= 3/4``, so 18 terms leave a truncation below 1e-19 of the input and the
    rounding of the sum within a few ulp of it. ``D < h 2^TABLE_LEVELS TABLE_REPEATS``.
    Costs O(K^2) per set bit and O(K) per term, against O(K^3) per squaring.
    """
    K = z0.shape[0]
    y = work[0]
    term = work[1]
    for k in range(K):
        y[k] = z0[k] - drive
    n = int(D / h)
    s = D - n * h
    if s < 0.0:
        s = 0.0
    for j in range(TABLE_LEVELS - 1):
        if n & 1:
            _lower_matvec(table, j * K * K, K, y)
        n >>= 1
    for _ in range(n):           # multiples of 2^(TABLE_LEVELS - 1) h
        _lower_matvec(table, (TABLE_LEVELS - 1) * K * K, K, y)
    for k in range(K):
        term[k] = y[k]
        out[k] = y[k]
    if s > 0.0:
        for q in range(1, SERIES_TERMS + 1):
            f = s / q
            for i in range(K - 1, 0, -1):
                term[i] = f * ((center - rates[i]) * term[i] + rates[i] * term[i - 1])
            term[0] = f * ((center - rates[0]) * term[0])
            for k in range(K):
                out[k] += term[k]
        decay = math.exp(-center * s)
        for k in range(K):
            out[k] = drive + decay * out[k]
    else:
        for k in range(K):
            out[k] = drive + out[k]


@inline_kernel
def advance_row(cascade, v, D, E, work, out):
    """The row vector ``v^T E(D)`` (into ``out``), E(D) the cascade's propagator over D ms.

    Used by learning: ``(v^T E(D))_m`` is how bucket weights ``v`` read a unit that
    entered bucket ``m`` D ms ago. Same cascade tuple and scratch as ``advance_buckets``;
    ``out`` must not be ``v``.
    """
    rates, center, spread, method, V, W, mult, base, table, h = cascade
    K = v.shape[0]
    if D <= 0.0:
        for m in range(K):
            out[m] = v[m]
        return
    if method == PROP_MODAL:
        # E = V diag(decay) W with V, W lower triangular
        c = work[0]
        _modal_decays(rates, mult, base, D, c)
        for k in range(K):
            acc = 0.0
            for i in range(k, K):
                acc += v[i] * V[i * K + k]
            c[k] *= acc
        for m in range(K):
            acc = 0.0
            for k in range(m, K):
                acc += c[k] * W[k * K + m]
            out[m] = acc
    elif method == PROP_EQUAL:
        # E[i, m] = p[i - m], p[n] = e^{-x} x^n / n!
        p = work[0]
        _poisson_weights(rates[0] * D, K, p)
        for m in range(K):
            acc = 0.0
            for i in range(m, K):
                acc += v[i] * p[i - m]
            out[m] = acc
    else:
        fill_propagator(rates, center, spread, D, E, work)
        for m in range(K):
            acc = 0.0
            for i in range(m, K):
                acc += v[i] * E[i, m]
            out[m] = acc
