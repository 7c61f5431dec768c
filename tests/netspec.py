"""Test helpers: an ``eventsg.Network`` as the plain spec dict of reference/SPEC.md,
and comparison of spike lists with readable failure messages.

The reference solvers in ``tests/reference`` never import ``eventsg``; this module
is the only bridge between the two. Spike lists are lists of ``(t_ms, i, a)``.
"""
import contextlib
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import scipy.sparse as sp

import eventsg as esg

_REF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference")
if _REF not in sys.path:
    sys.path.insert(0, _REF)
import twin  # noqa: E402  (independent reference, numpy/scipy only)


# ----------------------------------------------------------------------------
# Network -> spec dict
# ----------------------------------------------------------------------------

def _dense(m, shape):
    if sp.issparse(m):
        return np.asarray(m.toarray(), dtype=float)
    return np.broadcast_to(np.asarray(m, dtype=float), shape).copy()


def source_events(net, pop, duration, signal_encoder="twin"):
    """Input events ``[(t, i, a)]`` of a source population for a run of ``duration`` ms.

    SignalSource: encoded by the reference twin's own encoder (``"twin"``, the
    independent implementation) or by the package's (``"eventsg"``).
    """
    if isinstance(pop, esg.SignalSource):
        if signal_encoder == "twin":
            return [(float(t), int(i), float(a)) for t, i, a in
                    twin.encode_signal(pop.t, pop.values, pop.theta, duration)]
        from eventsg.compile.encode import encode_signal
        t, i, a = encode_signal(pop.t, pop.values, pop.theta, duration)
        return [(float(tt), int(ii), float(aa)) for tt, ii, aa in zip(t, i, a)]
    if isinstance(pop, esg.PoissonSource):
        t, i, a = pop.events(duration, net.population_seed(pop))
    elif isinstance(pop, esg.SpikeSource):
        t, i, a = pop.events(duration)
    else:
        raise TypeError(f"{pop!r} is not a source population")
    return [(float(tt), int(ii), float(aa)) for tt, ii, aa in zip(t, i, a)]


def network_to_spec(net, duration, signal_encoder="twin"):
    """The SPEC.md dict of ``net`` run for ``duration`` ms.

    Sources (SpikeSource, PoissonSource, SignalSource -> delta coding) become
    event lists; gamma populations get per-neuron (n, K) tau and v arrays;
    projections get dense weight and delay matrices (scalar or per-synapse delays).
    """
    spec = {"duration": float(duration), "sources": [], "populations": [], "projections": []}
    for pop in net.populations:
        if isinstance(pop, esg.GammaPopulation):
            n = pop.n
            spec["populations"].append({
                "name": pop.name, "n": n,
                "tau": np.array(pop.tau_per_neuron(), dtype=float),
                "v": np.array(pop.v_per_neuron(), dtype=float),
                "bias": np.broadcast_to(np.asarray(pop.bias, float), (n,)).copy(),
                "theta0": np.broadcast_to(np.asarray(pop.theta, float), (n,)).copy(),
                "tau_h": float(pop.tau_h),
                "beta": float(pop.beta),
            })
        else:
            spec["sources"].append({
                "name": pop.name, "n": pop.n, "coding": pop.coding,
                "events": source_events(net, pop, duration, signal_encoder),
            })
    for proj in net.projections:
        shape = (proj.pre.n, proj.post.n)
        W = _dense(proj.weights, shape)
        if proj.per_synapse_delay:
            D = _dense(proj.delay, shape)
        else:
            D = np.full(shape, float(proj.delay))
        spec["projections"].append({"pre": proj.pre.name, "post": proj.post.name,
                                    "weights": W, "delay": D})
    return spec


def result_spikes(result, pop):
    """Spikes of a gamma population of an eventsg result as ``[(t, i, a)]``."""
    s = result.spikes(pop)
    return [(float(t), int(i), float(a)) for t, i, a in zip(s.t, s.i, s.a)]


# ----------------------------------------------------------------------------
# running the twin in worker processes
# ----------------------------------------------------------------------------

def run_twin(spec, grid_per_tau=None):
    """``twin.simulate(spec)``, optionally with a finer bracketing grid (steps per tau)."""
    saved = twin.GRID_PER_TAU
    if grid_per_tau is not None:
        twin.GRID_PER_TAU = grid_per_tau
    try:
        return twin.simulate(spec)
    finally:
        twin.GRID_PER_TAU = saved


@contextlib.contextmanager
def twin_pool(workers=2):
    """Worker processes for ``run_twin`` with single-threaded BLAS.

    The twin calls ``scipy.linalg.expm`` on tiny matrices tens of thousands of
    times; a multi-threaded OpenBLAS makes each call up to 100x slower on a busy
    machine. The variables must be set before numpy loads, hence fresh
    (spawned) processes.
    """
    names = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    saved = {k: os.environ.get(k) for k in names}
    os.environ.update({k: "1" for k in names})     # inherited by the workers when spawned
    try:
        with ProcessPoolExecutor(max_workers=workers,
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            yield pool
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# ----------------------------------------------------------------------------
# classification and comparison
# ----------------------------------------------------------------------------

def spike_kinds(spikes, r_tol=1e-12):
    """Per spike ``"up"`` (a > 0), ``"floor"`` (a < 0 and r is 0 afterwards) or ``"down"``.

    r is tracked per neuron as the running sum of amplitudes (the floor rule
    resets it to exactly 0; a down spike leaves r > eps * theta > 0).
    """
    r = {}
    kinds = []
    for t, i, a in spikes:
        r[i] = r.get(i, 0.0) + a
        if a > 0:
            kinds.append("up")
        elif abs(r[i]) <= r_tol:
            kinds.append("floor")
            r[i] = 0.0
        else:
            kinds.append("down")
    return kinds


def count_kinds(spikes):
    kinds = spike_kinds(spikes)
    return {k: kinds.count(k) for k in ("up", "down", "floor")}


def _by_neuron(spikes):
    out = {}
    for t, i, a in spikes:
        out.setdefault(int(i), []).append((float(t), float(a)))
    return out


def _fmt(spikes, lo, hi):
    rows = []
    for k in range(max(lo, 0), min(hi, len(spikes))):
        t, a = spikes[k]
        rows.append(f"      #{k}: t = {t:.15g}  a = {a:+.15g}")
    return "\n".join(rows) if rows else "      (none)"


def compare_spikes(got, expected, t_tol=1e-9, a_tol=1e-9, label="", got_name="eventsg",
                   expected_name="reference"):
    """Assert that two spike lists ``[(t, i, a)]`` are the same sequence per neuron.

    Order across neurons at (nearly) equal times is not compared; per neuron the
    k-th spikes must agree in time (``|dt| <= t_tol`` ms) and amplitude
    (``|da| <= a_tol``). The message names the first disagreement with context.
    Returns the largest time and amplitude differences.
    """
    g, e = _by_neuron(got), _by_neuron(expected)
    head = f"{label}: " if label else ""
    problems = []
    max_dt = max_da = 0.0
    for i in sorted(set(g) | set(e)):
        gs, es = g.get(i, []), e.get(i, [])
        n = min(len(gs), len(es))
        bad = None
        for k in range(n):
            dt = abs(gs[k][0] - es[k][0])
            da = abs(gs[k][1] - es[k][1])
            max_dt, max_da = max(max_dt, dt), max(max_da, da)
            if bad is None and not (dt <= t_tol and da <= a_tol):
                bad = k
        if bad is None and len(gs) != len(es):
            bad = n
        if bad is not None:
            k = bad
            if k < n:
                what = (f"spike #{k} differs: dt = {gs[k][0] - es[k][0]:+.3e} ms "
                        f"(tol {t_tol:g}), da = {gs[k][1] - es[k][1]:+.3e} (tol {a_tol:g})")
            else:
                what = (f"spike counts differ ({got_name} {len(gs)}, {expected_name} {len(es)}); "
                        f"first {n} agree")
            problems.append(f"  neuron {i}: {what}\n    {got_name}:\n{_fmt(gs, k - 2, k + 3)}\n"
                            f"    {expected_name}:\n{_fmt(es, k - 2, k + 3)}")
    if problems:
        raise AssertionError(f"{head}spike lists differ ({got_name}: {len(got)} spikes, "
                             f"{expected_name}: {len(expected)} spikes)\n" + "\n".join(problems))
    return max_dt, max_da


def first_divergence(got, expected, t_tol=1e-9, a_tol=1e-9):
    """Earliest time at which two spike lists disagree (per neuron), or None.

    Returns ``(t, neuron, spike index)`` of the earliest disagreement.
    """
    g, e = _by_neuron(got), _by_neuron(expected)
    best = None
    for i in set(g) | set(e):
        gs, es = g.get(i, []), e.get(i, [])
        for k in range(max(len(gs), len(es))):
            if k < len(gs) and k < len(es):
                if abs(gs[k][0] - es[k][0]) <= t_tol and abs(gs[k][1] - es[k][1]) <= a_tol:
                    continue
                t = min(gs[k][0], es[k][0])
            else:
                t = gs[k][0] if k < len(gs) else es[k][0]
            if best is None or t < best[0]:
                best = (t, i, k)
            break
    return best


# ----------------------------------------------------------------------------
# fixed-step vs exact: merging and nearest-in-time matching
# ----------------------------------------------------------------------------

def merge_floor_splits(spikes, small, gap):
    """Merge a down spike followed by a small floor spike of the same neuron.

    Near the floor a fixed-step engine may send a down spike and, a moment later,
    a floor spike of amplitude O(dt) where the exact engine sends one floor
    spike (MODEL.md section 4). A pair (down at t1, floor at t2) of one neuron
    with ``|a_floor| <= small`` and ``t2 - t1 <= gap`` becomes one floor spike at
    t2 with the summed amplitude. Returns ``(merged list, number of merges)``.
    """
    kinds = spike_kinds(spikes)
    last = {}                       # neuron -> index in out of its last spike
    out = []
    merges = 0
    for (t, i, a), kind in zip(spikes, kinds):
        j = last.get(i)
        if (kind == "floor" and j is not None and out[j][3] == "down"
                and abs(a) <= small and t - out[j][0] <= gap):
            out[j] = (t, i, out[j][2] + a, "floor")
            merges += 1
            continue
        last[i] = len(out)
        out.append((t, i, a, kind))
    return [(t, i, a) for t, i, a, _ in out], merges


def _nearest(src, dst):
    """Index into sorted ``dst`` of the element nearest to each of ``src``."""
    pos = np.searchsorted(dst, src)
    lo = np.clip(pos - 1, 0, dst.size - 1)
    hi = np.clip(pos, 0, dst.size - 1)
    return np.where(np.abs(dst[lo] - src) <= np.abs(dst[hi] - src), lo, hi)


def match_nearest(exact, approx, max_dist):
    """Mutual-nearest matching of spikes per neuron and amplitude sign.

    A spike of ``exact`` and one of ``approx`` (same neuron, same sign) are
    matched when each is the other's nearest in time and they are at most
    ``max_dist`` ms apart. Returns ``(errors, n_matched)`` with
    ``errors[k] = |t_approx - t_exact|`` of each matched pair.
    """
    ex, ap = {}, {}
    for t, i, a in exact:
        ex.setdefault((int(i), a > 0), []).append(t)
    for t, i, a in approx:
        ap.setdefault((int(i), a > 0), []).append(t)
    errors = []
    for key, te in ex.items():
        if key not in ap:
            continue
        te, ta = np.sort(te), np.sort(ap[key])
        to_a, to_e = _nearest(te, ta), _nearest(ta, te)
        for k in range(te.size):
            m = to_a[k]
            if to_e[m] == k and abs(ta[m] - te[k]) <= max_dist:
                errors.append(abs(ta[m] - te[k]))
    return np.array(errors), len(errors)
