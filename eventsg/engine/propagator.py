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
from numba import njit

SPREAD_MAX = 1.0
"""Largest scaled rate spread evaluated by the series directly (|mu| <= 1/2)."""

MAX_TERMS = 24
"""Series length that bounds the truncation error below 1e-17 for |mu| <= 1/2."""

MAX_BUCKETS = 64

INV_FACTORIAL = np.array([1.0 / math.factorial(k) for k in range(MAX_BUCKETS + MAX_TERMS + 2)])


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
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
    for _ in range(squarings):
        for i in range(K):
            for j in range(i + 1):
                acc = 0.0
                for k in range(j, i + 1):
                    acc += E[i, k] * E[k, j]
                work[i, j] = acc
        for i in range(K):
            for j in range(i + 1):
                E[i, j] = work[i, j]


@njit(cache=True)
def propagate(z, drive, E, out):
    """Buckets after the step whose propagator is E: out = drive + E (z - drive).

    z, out: (K,) bucket values (may be the same array only if K == 1);
    drive: constant input over the step.
    """
    K = z.shape[0]
    for i in range(K - 1, -1, -1):
        acc = 0.0
        for j in range(i + 1):
            acc += E[i, j] * (z[j] - drive)
        out[i] = drive + acc


@njit(cache=True)
def propagate_inplace(z, drive, E):
    """z <- drive + E (z - drive), rows from the last so each uses untouched inputs."""
    K = z.shape[0]
    for i in range(K - 1, -1, -1):
        acc = 0.0
        for j in range(i + 1):
            acc += E[i, j] * (z[j] - drive)
        z[i] = drive + acc


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


@njit(cache=True)
def buckets_at(rates, center, spread, z0, drive, D, E, work, out):
    """Buckets ``D`` ms after they were ``z0`` under constant ``drive`` (into ``out``)."""
    if D > 0.0:
        fill_propagator(rates, center, spread, D, E, work)
        propagate(z0, drive, E, out)
    else:
        for k in range(z0.shape[0]):
            out[k] = z0[k]
