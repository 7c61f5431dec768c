"""Accuracy and structure of the closed-form cascade propagator E(D) = expm(A D).

References are independent of the package: ``scipy.linalg.expm`` for the normwise
sweeps and an ``mpmath`` evaluation at 50 digits for the elementwise checks (MODEL.md
section 2 asks for about 1e-12 relative for equal, nearly equal and widely
separated time constants alike).

About the scipy reference: for a *triangular* input, scipy's expm rewrites the
sub-diagonal after every squaring with the divided difference
(exp(a) - exp(b)) / (a - b), which cancels catastrophically when two rates are
nearly equal (errors up to ~1e-6 normwise). For the nearly-equal regime we therefore
call scipy on an exactly similar, non-triangular matrix: the cascade is padded to
at least 3 buckets (E of a cascade is the leading block of E of a longer cascade)
and conjugated by a cyclic permutation, which makes scipy use its generic
Pade/squaring path. Both transformations are exact in floating point.
"""
import math

import mpmath
import numba
import numpy as np
import pytest
import scipy.linalg

from eventsg.engine.propagator import (MAX_TERMS, TABLE_LEVELS, TABLE_REPEATS, advance_buckets,
                                       advance_row, make_cascade, propagator, rate_set_cascade)

REL_TOL = 1e-12
TINY = 1e-280          # entries below this are compared absolutely
D_MIN, D_MAX = 1e-6, 1e4
TAU_MIN, TAU_MAX = 1e-2, 1e3
REGIMES = ("equal", "nearly_equal", "separated")


# ---------------------------------------------------------------- references

def generator_matrix(tau):
    """A with A[k, k] = -1/tau_k, A[k, k-1] = +1/tau_k (MODEL.md section 2)."""
    rates = 1.0 / np.asarray(tau, dtype=np.float64)
    A = np.diag(-rates)
    A[np.arange(1, rates.size), np.arange(rates.size - 1)] = rates[1:]
    return A


def scipy_reference(tau, D, regime):
    tau = np.asarray(tau, dtype=np.float64)
    if regime != "nearly_equal":
        return scipy.linalg.expm(generator_matrix(tau) * D)
    K = tau.size
    padded = np.concatenate([tau, np.full(max(0, 3 - K), tau[-1])])
    M = generator_matrix(padded) * D
    p = np.roll(np.arange(padded.size), 1)          # non-triangular after conjugation
    X = scipy.linalg.expm(M[np.ix_(p, p)])
    inv = np.argsort(p)
    return X[np.ix_(inv, inv)][:K, :K]


def mpmath_reference(tau, D, dps=50):
    """expm(A D) to ``dps`` digits *elementwise*, from the float64 tau and D as given.

    ``mpmath.expm`` stops its series on a norm criterion, so entries far below the
    largest one (e.g. 1e-65 next to 1) come out with relative errors up to ~1e-8;
    we therefore evaluate the exponential ourselves: scale D by 2^-s so that
    ||A D 2^-s|| <= 1, sum the Taylor series until every nonzero entry has
    converged to 10^-(dps-5) relative (within one power of A all paths have the
    same sign, so entries do not cancel), then square s times (all entries are
    non-negative: no cancellation, relative error grows only like 2^s 10^-dps).
    mpmath has no underflow, so entries below the float range come out exactly 0.
    """
    with mpmath.workdps(dps):
        K = len(tau)
        lam = [1 / mpmath.mpf(float(t)) for t in tau]
        Dm = mpmath.mpf(float(D))
        x = 2 * max(lam) * Dm
        s = max(0, int(mpmath.ceil(mpmath.log(x, 2)))) if x > 0 else 0
        h = Dm / mpmath.mpf(2) ** s
        zero = mpmath.mpf(0)
        M = [[zero] * K for _ in range(K)]
        for k in range(K):
            M[k][k] = -lam[k] * h
            if k:
                M[k][k - 1] = lam[k] * h

        def mul(P, Q):          # product of lower-triangular matrices
            return [[mpmath.fsum(P[i][m] * Q[m][j] for m in range(j, i + 1)) if j <= i else zero
                     for j in range(K)] for i in range(K)]

        S = [[mpmath.mpf(1) if i == j else zero for j in range(K)] for i in range(K)]
        T = [row[:] for row in S]
        eps = mpmath.mpf(10) ** (-(dps - 5))
        k = 0
        while True:
            k += 1
            T = [[e / k for e in row] for row in mul(T, M)]
            done = k >= K
            for i in range(K):
                for j in range(i + 1):
                    S[i][j] += T[i][j]
                    if T[i][j] != 0 and abs(T[i][j]) > eps * abs(S[i][j]):
                        done = False
            if done:
                break
        for _ in range(s):
            S = mul(S, S)
        return np.array([[float(e) for e in row] for row in S])


# ---------------------------------------------------------------- case generators

def random_tau(rng, regime, K):
    if regime == "equal":
        return np.full(K, 10.0 ** rng.uniform(math.log10(TAU_MIN), math.log10(TAU_MAX)))
    if regime == "nearly_equal":
        base = 10.0 ** rng.uniform(math.log10(TAU_MIN), math.log10(TAU_MAX))
        gap = 10.0 ** rng.uniform(-12, -4)           # relative gaps 1e-12 .. 1e-4
        return base * (1.0 + gap * rng.uniform(-1.0, 1.0, K))
    return 10.0 ** rng.uniform(math.log10(TAU_MIN), math.log10(TAU_MAX), K)


def random_D(rng, tau):
    """Half log-uniform over [D_MIN, D_MAX], half scaled to the slowest bucket
    (so that most cases are not fully underflowed)."""
    if rng.random() < 0.5:
        return 10.0 ** rng.uniform(math.log10(D_MIN), math.log10(D_MAX))
    D = float(np.max(tau)) * 10.0 ** rng.uniform(-4, 2.5)
    return float(min(max(D, D_MIN), D_MAX))


def cases(regime, n, seed, K_max=16):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        K = int(rng.integers(1, K_max + 1))
        tau = random_tau(rng, regime, K)
        out.append((tau, random_D(rng, tau)))
    return out


def normwise_error(E, X):
    scale = np.abs(X).max()
    diff = np.abs(E - X).max()
    if scale < TINY:                      # everything underflowed: compare absolutely
        return 0.0 if diff <= TINY else math.inf
    return diff / scale


def describe(tau, D):
    return f"tau={np.array2string(np.asarray(tau), precision=17, separator=', ')}, D={D!r}"


# ---------------------------------------------------------------- accuracy

SEEDS = {"equal": 11, "nearly_equal": 12, "separated": 13}


@pytest.mark.parametrize("regime", REGIMES)
def test_normwise_matches_scipy_expm(regime):
    failures = []
    for tau, D in cases(regime, 400, SEEDS[regime]):
        E = propagator(tau, D)
        assert E.shape == (tau.size, tau.size)
        err = normwise_error(E, scipy_reference(tau, D, regime))
        if not err <= REL_TOL:
            failures.append((err, describe(tau, D)))
    failures.sort(reverse=True)
    assert not failures, (f"{len(failures)}/400 cases over {REL_TOL:g} normwise; worst: "
                          f"{failures[0][0]:.3g} at {failures[0][1]}")


@pytest.mark.parametrize("regime", REGIMES)
def test_elementwise_matches_mpmath(regime):
    failures = []
    for tau, D in cases(regime, 12, 100 + SEEDS[regime]):
        E = propagator(tau, D)
        M = mpmath_reference(tau, D)
        big = M > TINY
        rel = np.abs(E[big] - M[big]) / M[big]
        worst = rel.max()
        small_ok = np.all(np.abs(E[~big] - M[~big]) <= 1e-270)
        if not (worst <= REL_TOL and small_ok):
            failures.append((worst, small_ok, describe(tau, D)))
    failures.sort(key=lambda f: -f[0])
    assert not failures, (f"{len(failures)}/12 cases over {REL_TOL:g} elementwise; worst: "
                          f"{failures[0][0]:.3g} (small entries ok: {failures[0][1]}) at "
                          f"{failures[0][2]}")


@pytest.mark.parametrize("tau, D", [
    ([1000.0, 0.01], 1e4),      # D * rate spread = 1e6: many squarings
    ([100.0, 0.01], 1e3),
    ([802.0, 26.77, 0.04737], 2190.0),
])
def test_diagonal_is_exact_exponential_for_separated_rates(tau, D):
    """E[k, k] = exp(-D / tau_k) exactly (a one-line independent reference)."""
    E = propagator(tau, D)
    with mpmath.workdps(40):
        expected = np.array([float(mpmath.exp(-mpmath.mpf(D) / mpmath.mpf(t))) for t in tau])
    big = expected > TINY
    rel = np.abs(np.diag(E)[big] - expected[big]) / expected[big]
    assert rel.max() <= REL_TOL, f"diag rel. errors {rel} for {describe(tau, D)}"


def test_references_agree():
    """Sanity checks of the references: the mpmath evaluation against the gamma
    closed form and against mpmath.expm / scipy normwise."""
    for tau, D in [(np.full(9, 387.0946702640074), 1.2874761459988995e-05),
                   (np.full(6, 0.01), 1e4), (np.full(16, 1.0), 30.0)]:
        M = mpmath_reference(tau, D)
        with mpmath.workdps(50):
            x = mpmath.mpf(D) / mpmath.mpf(tau[0])
            for i in range(tau.size):
                for j in range(i + 1):
                    n = i - j
                    ref = float(mpmath.exp(-x) * x ** n / mpmath.factorial(n))
                    assert M[i, j] == pytest.approx(ref, rel=1e-15, abs=0.0)
    for tau, D in cases("separated", 4, 7, K_max=6):
        M = mpmath_reference(tau, D)
        assert normwise_error(scipy_reference(tau, D, "separated"), M) <= 1e-13
        with mpmath.workdps(40):
            A = mpmath.matrix(tau.size, tau.size)
            for k in range(tau.size):       # exact rates 1/tau, as in mpmath_reference
                A[k, k] = -mpmath.mpf(D) / mpmath.mpf(tau[k])
                if k:
                    A[k, k - 1] = mpmath.mpf(D) / mpmath.mpf(tau[k])
            X = mpmath.expm(A)
            X = np.array([[float(X[i, j]) for j in range(tau.size)] for i in range(tau.size)])
        assert normwise_error(X, M) <= 1e-15
    for tau, D in cases("nearly_equal", 4, 8, K_max=6):
        assert normwise_error(scipy_reference(tau, D, "nearly_equal"),
                              mpmath_reference(tau, D)) <= 1e-12


# ---------------------------------------------------------------- equal-tau closed form

@pytest.mark.parametrize("tau, D", [(1.0, 0.0), (1.0, 1e-6), (0.01, 3.7), (5.0, 5.0),
                                    (7.5, 42.0), (1000.0, 1e4), (0.25, 40.0), (0.01, 6.0)])
@pytest.mark.parametrize("K", [1, 2, 5, 16])
def test_equal_tau_closed_form(tau, D, K):
    """E[i, j] = exp(-D/tau) (D/tau)^(i-j) / (i-j)! for i >= j (gamma kernels)."""
    E = propagator(np.full(K, tau), D)
    with mpmath.workdps(40):
        x = mpmath.mpf(D) / mpmath.mpf(tau)
        closed = [float(mpmath.exp(-x) * x ** n / mpmath.factorial(n)) for n in range(K)]
    for i in range(K):
        for j in range(K):
            if j > i:
                assert E[i, j] == 0.0
                continue
            ref = closed[i - j]
            if ref > TINY:
                assert abs(E[i, j] - ref) <= 1e-13 * ref, (i, j, E[i, j], ref)
            else:
                assert abs(E[i, j]) <= 1e-270


# ---------------------------------------------------------------- structure

def structural_cases():
    out = []
    for regime in REGIMES:
        out += cases(regime, 150, 1000 + SEEDS[regime])
    return out


def test_lower_triangular_nonnegative_substochastic():
    for tau, D in structural_cases():
        E = propagator(tau, D)
        where = describe(tau, D)
        assert np.all(np.isfinite(E)), where
        assert np.all(np.triu(E, 1) == 0.0), where
        assert np.all(E >= 0.0), where
        row_sums = np.array([math.fsum(row) for row in E])      # exact sums of the entries
        assert np.all(row_sums <= 1.0 + 1e-15), f"row sums - 1 = {row_sums - 1} at {where}"
        # a constant state is a fixed point: z = I 1 stays; E 1 <= 1 with equality only at D=0
        assert np.all(np.diag(E) <= 1.0), where


@pytest.mark.parametrize("tau", [[1.0], [2.0, 2.0, 2.0], [0.01, 1000.0, 3.0, 3.0 + 1e-9],
                                 list(np.geomspace(0.01, 1000.0, 16))])
def test_zero_step_is_identity(tau):
    E = propagator(tau, 0.0)
    assert np.array_equal(E, np.eye(len(tau)))


def test_tiny_step_is_first_order():
    """E(D) = I + A D + O(D^2) for D -> 0 (catches a wrong sign or missing rate)."""
    tau = np.array([0.5, 2.0, 7.0, 30.0])
    D = 1e-7
    E = propagator(tau, D)
    approx = np.eye(4) + generator_matrix(tau) * D
    assert np.abs(E - approx).max() <= 4.0 * (D / tau.min()) ** 2


@pytest.mark.parametrize("regime", REGIMES)
def test_semigroup(regime):
    """E(a + b) = E(a) E(b) to 1e-13 normwise."""
    rng = np.random.default_rng(5 + SEEDS[regime])
    failures = []
    for _ in range(100):
        K = int(rng.integers(1, 17))
        tau = random_tau(rng, regime, K)
        total = random_D(rng, tau)
        a = total * rng.uniform(0.05, 0.95)
        b = total - a
        prod = propagator(tau, a) @ propagator(tau, b)
        err = normwise_error(prod, propagator(tau, a + b))
        if not err <= 1e-13:
            failures.append((err, describe(tau, a + b), a))
    failures.sort(key=lambda f: -f[0])
    assert not failures, (f"{len(failures)}/100 semigroup failures; worst {failures[0][0]:.3g} "
                          f"at {failures[0][1]}, a={failures[0][2]!r}")


def test_accepts_scalar_and_list_tau():
    assert propagator(3.0, 1.5).shape == (1, 1)
    assert propagator([3.0], 1.5)[0, 0] == pytest.approx(math.exp(-0.5), rel=1e-15)
    assert np.array_equal(propagator(np.array([1.0, 2.0]), 1.0),
                          propagator([1.0, 2.0], 1.0))


# ---------------------------------------------------------------- engine's bucket update

def _advance(tau, z0, drive, D):
    """eventsg.engine.propagator.advance_buckets, as the event engine calls it."""
    rates = 1.0 / np.asarray(tau, dtype=np.float64)
    K = rates.size
    cascade = make_cascade(1.0 / rates)
    method = cascade[3]
    out = np.zeros(K)
    advance_buckets(cascade, np.asarray(z0, dtype=np.float64), float(drive), float(D),
                    np.zeros((K, K)), np.zeros((K, max(K, MAX_TERMS + 1))), out)
    return out, int(method)


@pytest.mark.parametrize("regime", REGIMES)
def test_advance_buckets_matches_reference(regime):
    """z(D) = I + E(D) (z0 - I) by the engine's plan (equal-rate closed form, modal
    or series), to 1e-12 relative to max |z0 - I|."""
    rng = np.random.default_rng(40 + SEEDS[regime])
    n = 25 if regime == "nearly_equal" else 100
    failures, methods = [], set()
    for tau, D in cases(regime, n, 200 + SEEDS[regime], K_max=16 if regime != "nearly_equal" else 8):
        z0 = rng.normal(0.0, 1.0, tau.size)
        drive = float(rng.normal())
        out, method = _advance(tau, z0, drive, D)
        methods.add(method)
        # scipy is accurate here except for nearly equal rates: use mpmath there
        E = mpmath_reference(tau, D) if regime == "nearly_equal" else scipy_reference(tau, D, regime)
        ref = drive + E @ (z0 - drive)
        err = np.abs(out - ref).max() / np.abs(z0 - drive).max()
        if not err <= REL_TOL:
            failures.append((err, method, describe(tau, D)))
    failures.sort(key=lambda f: -f[0])
    assert not failures, f"{len(failures)}/{n} over {REL_TOL:g}; worst {failures[0]}"
    if regime == "separated":
        assert len(methods) >= 2           # both the modal and the series paths ran


@pytest.mark.parametrize("K", [6, 8])
def test_modal_form_for_geometric_time_constants(K):
    """Geometric tau 1..8 ms: eigenbasis amplification 42 (K = 6) and 302 (K = 8),
    below MODAL_MAX_AMPLIFICATION, so the fast modal form runs; still within 1e-12
    of a 50-digit mpmath expm, elementwise relative to max |z0 - I|."""
    rng = np.random.default_rng(K)
    tau = np.geomspace(1.0, 8.0, K)
    for D in (1e-3, 0.1, 1.0, 10.0, 100.0, 1000.0):
        z0, drive = rng.normal(0.0, 1.0, K), float(rng.normal())
        out, method = _advance(tau, z0, drive, D)
        assert method == 1                                       # PROP_MODAL
        ref = drive + mpmath_reference(tau, D) @ (z0 - drive)
        assert np.abs(out - ref).max() <= REL_TOL * np.abs(z0 - drive).max()


@pytest.mark.parametrize("tau", [[1.0, 2.0, 4.0, 8.0], [8.0, 4.0, 2.0, 1.0], [0.5, 1.5, 3.0, 6.0],
                                 [1.0, 1.7, 3.1, 5.3]])
def test_four_bucket_modal_updates_match_reference(tau):
    """The written-out K = 4 modal update: doubling time constants (a chain of
    squarings, both orders), other exact multiples (binary powering) and unrelated
    rates (four exponentials), within 1e-12 of a 50-digit mpmath expm."""
    rng = np.random.default_rng(4)
    for D in (1e-4, 0.3, 1.0, 7.0, 40.0):
        z0, drive = rng.normal(0.0, 1.0, 4), float(rng.normal())
        out, method = _advance(tau, z0, drive, D)
        assert method == 1
        ref = drive + mpmath_reference(tau, D) @ (z0 - drive)
        assert np.abs(out - ref).max() <= REL_TOL * np.abs(z0 - drive).max(), D


def test_series_power_table_for_sixteen_geometric_time_constants():
    """K = 16, tau 1..8 ms: the eigenbasis is too ill-conditioned for the modal form,
    so the series method advances by its power table (E(2^j h) products, then a
    Taylor remainder); within 1e-12 of a 50-digit mpmath expm, including steps that
    are exact multiples of h, and beyond the table's range (squaring takes over)."""
    rng = np.random.default_rng(16)
    tau = np.geomspace(1.0, 8.0, 16)
    cascade = make_cascade(tau)
    h = cascade[9]
    assert int(cascade[3]) == 2 and cascade[8].size == TABLE_LEVELS * 16 * 16 and h == 0.5
    for D in (1e-7, 0.2, h, 3 * h, 1.0 + 1e-9, 7.3, 100.0, 4096.0 * h + 0.1,
              h * 2.0 ** TABLE_LEVELS * TABLE_REPEATS * 1.5):
        z0, drive = rng.normal(0.0, 1.0, 16), float(rng.normal())
        out, method = _advance(tau, z0, drive, D)
        ref = drive + mpmath_reference(tau, D, dps=40) @ (z0 - drive)
        assert np.abs(out - ref).max() <= REL_TOL * np.abs(z0 - drive).max(), D


@pytest.mark.parametrize("regime", REGIMES)
def test_advance_row_is_v_times_expm(regime):
    """advance_row (learning's v^T E(D)) by each plan (equal, modal, series) against
    the reference expm, to 1e-12 relative to max |v|; D = 0 gives v."""
    rng = np.random.default_rng(70 + SEEDS[regime])
    failures, methods = [], set()
    for tau, D in cases(regime, 60, 300 + SEEDS[regime], K_max=8):
        K = tau.size
        cascade = make_cascade(np.asarray(tau, dtype=np.float64))
        methods.add(int(cascade[3]))
        v = rng.normal(0.0, 1.0, K)
        out = np.zeros(K)
        advance_row(cascade, v, float(D), np.zeros((K, K)), np.zeros((K, max(K, MAX_TERMS + 1))),
                    out)
        E = mpmath_reference(tau, D) if regime == "nearly_equal" else scipy_reference(tau, D, regime)
        err = np.abs(out - v @ E).max() / np.abs(v).max()
        if not err <= REL_TOL:
            failures.append((err, describe(tau, D)))
        advance_row(cascade, v, 0.0, np.zeros((K, K)), np.zeros((K, max(K, MAX_TERMS + 1))), out)
        assert np.array_equal(out, v)
    assert not failures, failures[:3]
    if regime == "separated":
        assert len(methods) >= 2


def test_advance_buckets_zero_step_and_steady_state():
    z0 = np.array([0.3, -1.2, 4.0])
    out, _ = _advance([1.0, 2.0, 3.0], z0, 0.7, 0.0)
    assert np.array_equal(out, z0)
    for tau in ([1.0, 2.0, 3.0], [2.0, 2.0, 2.0], [2.0, 2.0 + 1e-10, 2.0]):
        out, _ = _advance(tau, np.full(3, 0.7), 0.7, 5.0)
        assert np.allclose(out, 0.7, rtol=0, atol=1e-15)       # a constant input is a fixed point


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("tau", [[-1.0], [1.0, -2.0], [0.0], [1.0, 0.0], [math.nan],
                                 [1.0, math.nan], [math.inf], [-math.inf], []])
def test_bad_tau_raises(tau):
    with pytest.raises(ValueError, match="tau"):
        propagator(tau, 1.0)


def test_too_many_buckets_raises():
    with pytest.raises(ValueError, match="tau"):
        propagator(np.ones(65), 1.0)


@pytest.mark.parametrize("D", [-1.0, -1e-300, math.nan, math.inf, -math.inf])
def test_bad_step_raises(D):
    with pytest.raises(ValueError, match="D"):
        propagator([1.0, 2.0], D)


def test_power_tables_stop_at_their_budget_and_the_rest_use_squaring():
    """Neurons with their own 16 time constants each: tables are built until
    MAX_TABLE_ENTRIES (start-up and memory stay bounded); the remaining sets take
    the squaring path, which agrees with the table path to 1e-12."""
    import eventsg as esg
    from eventsg.compile import compile_network
    from eventsg.compile.compiler import MAX_TABLE_ENTRIES
    n = MAX_TABLE_ENTRIES // (TABLE_LEVELS * 16 * 16) + 5
    tau = np.geomspace(1.0, 8.0, 16) * (1.0 + 1e-3 * np.arange(n)[:, None])
    net = esg.Network(seed=0)
    net.add(esg.GammaPopulation(n=n, K=16, tau=tau, theta=0.1, name="g"))
    compiled, _ = compile_network(net, 1.0)
    tabled = compiled.rset_tlen > 0
    assert compiled.rset_table.size <= MAX_TABLE_ENTRIES
    assert tabled[0] and not tabled[-1] and tabled.sum() == n - 5
    rng = np.random.default_rng(3)
    z0, drive = rng.normal(0.0, 1.0, 16), 0.2
    work = np.zeros((16, MAX_TERMS + 1))
    for D in (0.3, 7.0, 60.0):
        out_sq, out_tab = np.zeros(16), np.zeros(16)
        size = _advance_rate_set(compiled, n - 1, z0, drive, D, np.zeros((16, 16)), work, out_sq)
        assert size == 0                                  # no table: squaring
        advance_buckets(make_cascade(tau[-1]), z0, drive, D, np.zeros((16, 16)), work, out_tab)
        assert np.abs(out_sq - out_tab).max() <= REL_TOL * np.abs(z0 - drive).max()


@numba.njit
def _advance_rate_set(net, s, z0, drive, D, E, work, out):
    """advance_buckets with rate set s of a CompiledNetwork; returns its table's size.
    (Inside compiled code: the kernels' views are not meant to be returned to Python.)"""
    cascade = rate_set_cascade(net, s)
    advance_buckets(cascade, z0, drive, D, E, work, out)
    return cascade[8].size
