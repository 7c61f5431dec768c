"""Reference twin: a slow, obvious, event-driven simulator of SpikingGamma networks.

It is written independently of the ``eventsg`` package (numpy, scipy and the
standard library only) and takes the plain spec dict of ``SPEC.md``. Units: time
in ms, signals dimensionless.

Method (correctness first, speed last):

* a ``heapq`` of arrival events keyed by ``(time, insertion counter)``;
* each neuron keeps its state ``(z, I, h, r)`` at the time it was last touched;
  its state at any later time (until the next arrival on it) is evaluated
  directly with ``scipy.linalg.expm``: ``z(t) = I 1 + expm(A (t - t_ref)) (z_ref - I 1)``
  and ``h(t) = h_ref exp(-(t - t_ref) / tau_h)``;
* between consecutive global event times, each neuron's spike conditions
  (MODEL.md section 3) are evaluated on a fine grid (step
  ``min(tau_k, tau_h) / 50``, capped to the interval); the first grid cell where
  a condition becomes true is refined with ``scipy.optimize.brentq``. The
  down-rule gate ``r > (1 + eps) theta(t)`` opens at an analytic time (theta only
  decays between spikes), which is added to the grid;
* the earliest crossing over all neurons is fired (amplitude ``+theta``,
  ``-theta`` or ``-r``), its deliveries are scheduled, and the scan goes on
  from there;
* at an arrival time all arrivals at that time are applied first (ties in
  insertion order), then every touched neuron is checked (graded amplitude
  ``y - r``); zero-delay deliveries made by these spikes are arrivals at the same
  time and are handled the same way. At ``t = 0`` every neuron is checked.

A grid scan can miss two crossings closer together than one grid step (a near
tangency); MODEL.md allows either outcome for a tangency.
"""
import heapq
import itertools
import math

import numpy as np
from scipy.linalg import expm
from scipy.optimize import brentq

GATE_EPS = 1e-9          # eps of the down-rule gate r > (1 + eps) theta
GRID_PER_TAU = 50        # grid steps per smallest time constant
_XTOL = 1e-14
_RTOL = 4.0 * np.finfo(float).eps

FLOOR, UP, DOWN = "floor", "up", "down"
_RULES = (FLOOR, UP, DOWN)   # priority order when two rules fire at the same time


# ----------------------------------------------------------------------------
# bucket cascade
# ----------------------------------------------------------------------------

def cascade_matrix(tau_row):
    """Lower-bidiagonal cascade matrix A (1/ms): A[k,k] = -1/tau_k, A[k,k-1] = 1/tau_k."""
    tau = np.asarray(tau_row, dtype=float).ravel()
    K = tau.size
    A = np.diag(-1.0 / tau)
    A[np.arange(1, K), np.arange(K - 1)] = 1.0 / tau[1:]
    return A


def bucket_state(tau_row, z0, I, D):
    """Buckets after D ms of constant drive I: ``I*1 + expm(A*D) (z0 - I*1)``.

    tau_row: the K bucket time constants (ms); z0: the K bucket values at t0;
    I: the constant input drive; D >= 0: elapsed time (ms).
    """
    if D < 0:
        raise ValueError("D must be >= 0")
    A = cascade_matrix(tau_row)
    z0 = np.asarray(z0, dtype=float).ravel()
    return I + expm(A * float(D)) @ (z0 - I)


# ----------------------------------------------------------------------------
# one SpikingGamma neuron
# ----------------------------------------------------------------------------

class _Neuron:
    """State and spike rules of one neuron; the state is stored at time t_ref."""

    def __init__(self, tau, v, bias, theta0, tau_h, beta):
        if np.any(tau <= 0) or not np.all(np.isfinite(tau)):
            raise ValueError("tau must be finite and > 0")
        if not theta0 > 0:
            raise ValueError("theta0 must be > 0")
        if beta < 0:
            raise ValueError("beta must be >= 0")
        self.adapt = beta > 0
        if self.adapt and not (0 < tau_h < math.inf):
            raise ValueError("tau_h must be finite and > 0 when beta > 0")
        self.A = cascade_matrix(tau)
        self.v, self.bias, self.theta0 = v, bias, theta0
        self.tau_h, self.beta = tau_h, beta
        scale = min(float(tau.min()), tau_h) if self.adapt else float(tau.min())
        self.step = scale / GRID_PER_TAU
        self.t_ref = 0.0
        self.z = np.zeros(tau.size)
        self.I = 0.0
        self.h = 0.0
        self.r = 0.0
        self.cache = None   # (searched up to, crossing or None) since the last change

    # --- state evaluation -------------------------------------------------
    def state(self, t):
        """Buckets z (K,) and adaptation h at time t >= t_ref, directly by expm."""
        D = t - self.t_ref
        if D == 0:
            return self.z.copy(), self.h
        z = self.I + expm(self.A * D) @ (self.z - self.I)
        h = self.h * math.exp(-D / self.tau_h) if self.adapt else 0.0
        return z, h

    def advance(self, t):
        """Move the stored state to time t (t >= t_ref)."""
        self.z, self.h = self.state(t)
        self.t_ref = t

    def x_now(self):
        return self.bias + float(self.z @ self.v)

    # --- spike rules ------------------------------------------------------
    def gate_time(self):
        """Time from which the down rule's gate r > (1+eps) theta is open (inf: never)."""
        r, th0, h = self.r, self.theta0, self.h
        if r <= 0:
            return math.inf
        if r > (1.0 + GATE_EPS) * (th0 + h):
            return -math.inf
        c = r / (1.0 + GATE_EPS) - th0     # the gate opens when h falls below c
        if not self.adapt or h <= 0 or c <= 0:
            return math.inf
        return self.t_ref + self.tau_h * math.log(h / c)

    def conditions(self, t, z, h, t_gate):
        """Rule -> g at time t with state (z, h); a rule holds when g >= 0 (-inf: inactive)."""
        x = self.bias + float(z @ self.v)
        y = max(x, 0.0)
        theta = self.theta0 + h
        r = self.r
        g = {UP: y - r - theta, FLOOR: -math.inf, DOWN: -math.inf}
        if r > 0:
            g[FLOOR] = -x
            if t >= t_gate:
                g[DOWN] = r - theta - y
        return g

    def _refine(self, rule, a, b, t_gate):
        """Root of rule's g in [a, b], g(a) < 0 <= g(b), by brentq on exact states."""
        def f(s):
            return self.conditions(s, *self.state(s), t_gate)[rule]
        fa, fb = f(a), f(b)
        if fa >= 0:
            return a
        if fb < 0:          # the grid's rounding disagreed with the exact state
            return b
        return brentq(f, a, b, xtol=_XTOL, rtol=_RTOL, maxiter=500)

    def _grid(self, t_a, t_b, t_gate):
        """(t, z, h) on a grid of [t_a, t_b] (step <= self.step, t_gate a grid point).

        Each piece starts from the exact state; inside it the state is stepped
        with expm(A * dt) (only used to bracket crossings, which are refined on
        exact states).
        """
        cuts = [t_a] + ([t_gate] if t_a < t_gate < t_b else []) + [t_b]
        for p, (p0, p1) in enumerate(zip(cuts[:-1], cuts[1:])):
            z, h = self.state(p0)
            n = max(1, math.ceil((p1 - p0) / self.step)) if p1 > p0 else 0
            if p == 0:
                yield p0, z, h
            if n == 0:
                continue
            dt = (p1 - p0) / n
            E = expm(self.A * dt)
            decay = math.exp(-dt / self.tau_h) if self.adapt else 0.0
            for i in range(1, n + 1):
                z = self.I + E @ (z - self.I)
                h = h * decay
                yield (p1 if i == n else p0 + i * dt), z, h

    def search(self, t_a, t_b):
        """First (t, rule) in [t_a, t_b] at which a spike rule holds, or None."""
        t_gate = self.gate_time()
        prev_t, prev_g = None, None
        for t, z, h in self._grid(t_a, t_b, t_gate):
            g = self.conditions(t, z, h, t_gate)
            hits = [rule for rule in _RULES if g[rule] >= 0]
            if hits and prev_t is None:
                return t, hits[0]                      # holds at the start
            if hits:
                found = []
                for rule in hits:
                    if prev_g[rule] == -math.inf:      # the gate opened at t
                        found.append((t, rule))
                    else:
                        found.append((self._refine(rule, prev_t, t, t_gate), rule))
                return min(found, key=lambda fr: (fr[0], _RULES.index(fr[1])))
            prev_t, prev_g = t, g
        return None

    def next_crossing(self, t_a, t_b):
        """Cached ``search``: valid until the neuron is touched (cache cleared)."""
        if self.cache is not None:
            done, res = self.cache
            if res is not None or t_b <= done:
                return res
            t_a = done          # the rules do not hold on [t_a, done]
        res = self.search(t_a, t_b)
        self.cache = (t_b, res)
        return res

    # --- spikes -----------------------------------------------------------
    def graded_check(self):
        """Spike amplitude at an event time (state may have jumped), or None."""
        x = self.x_now()
        y = max(x, 0.0)
        theta = self.theta0 + self.h
        r = self.r
        if x <= 0 and r > 0:
            return -r
        if y - r >= theta or (r - y >= theta and r > (1.0 + GATE_EPS) * theta):
            return y - r
        return None

    def fire(self, a, r_new):
        self.r = r_new
        self.h += self.beta * abs(a)
        self.cache = None


# ----------------------------------------------------------------------------
# network
# ----------------------------------------------------------------------------

def _dense(w):
    return np.asarray(w.toarray() if hasattr(w, "toarray") else w, dtype=float)


def _build_population(pop):
    n = int(pop["n"])
    tau = np.asarray(pop["tau"], dtype=float)
    K = tau.shape[-1]
    tau = np.broadcast_to(tau, (n, K))
    v = np.broadcast_to(np.asarray(pop["v"], dtype=float), (n, K))
    bias = np.broadcast_to(np.asarray(pop.get("bias", 0.0), dtype=float), (n,))
    theta0 = np.broadcast_to(np.asarray(pop["theta0"], dtype=float), (n,))
    beta = np.broadcast_to(np.asarray(pop.get("beta", 0.0) or 0.0, dtype=float), (n,))
    tau_h = pop.get("tau_h", None)
    tau_h = np.broadcast_to(np.asarray(math.inf if tau_h is None else tau_h,
                                       dtype=float), (n,))
    return [_Neuron(tau[j].copy(), v[j].copy(), float(bias[j]), float(theta0[j]),
                    float(tau_h[j]), float(beta[j])) for j in range(n)]


def simulate(spec):
    """Spikes of every gamma population of ``spec`` (SPEC.md's plain dict).

    Returns ``{population name: [(t_ms, neuron index, amplitude), ...]}`` in
    emission order (time ascending).
    """
    T = float(spec["duration"])
    sources = {s["name"]: s for s in spec.get("sources", [])}
    pops = list(spec.get("populations", []))
    pop_index = {p["name"]: q for q, p in enumerate(pops)}
    neurons = [_build_population(p) for p in pops]
    out = {p["name"]: [] for p in pops}

    heap = []
    counter = itertools.count()

    def push(t_arr, q, j, coding, value):
        if t_arr <= T:
            heapq.heappush(heap, (t_arr, next(counter), q, j, coding, value))

    # projections, grouped by presynaptic name
    outgoing = {}
    for proj in spec.get("projections", []):
        pre, post = proj["pre"], proj["post"]
        if post not in pop_index:
            raise ValueError("projection target %r is not a gamma population" % (post,))
        if pre in sources:
            n_pre, coding = int(sources[pre]["n"]), sources[pre].get("coding", "pulse")
            if coding not in ("pulse", "delta"):
                raise ValueError("unknown coding %r" % (coding,))
        elif pre in pop_index:
            n_pre, coding = int(pops[pop_index[pre]]["n"]), "delta"
        else:
            raise ValueError("unknown projection source %r" % (pre,))
        n_post = len(neurons[pop_index[post]])
        W = _dense(proj["weights"]).reshape(n_pre, n_post)
        d = np.broadcast_to(_dense(proj.get("delay", 0.0)), (n_pre, n_post))
        if np.any(d < 0):
            raise ValueError("delays must be >= 0")
        outgoing.setdefault(pre, []).append((pop_index[post], W, d, coding))

    def deliver(pre, t, i, a):
        for q, W, d, coding in outgoing.get(pre, []):
            for j in np.flatnonzero(W[i]):
                push(t + float(d[i, j]), q, int(j), coding, float(W[i, j]) * a)

    # source events, each source's events in time order (ties in list order)
    for name, src in sources.items():
        evs = [(float(e[0]), int(e[1]), float(e[2]) if len(e) > 2 else 1.0)
               for e in src.get("events", [])]
        if any(t < 0 for t, _, _ in evs):
            raise ValueError("event times must be >= 0")
        for t, i, a in sorted(evs, key=lambda e: e[0]):
            deliver(name, t, i, a)

    def emit(q, j, t, a):
        out[pops[q]["name"]].append((float(t), int(j), float(a)))
        deliver(pops[q]["name"], t, j, a)

    def process_time(t, to_check):
        """Apply all arrivals at t, then check touched neurons; repeat for zero delays."""
        while True:
            while heap and heap[0][0] <= t:
                _, _, q, j, coding, value = heapq.heappop(heap)
                nrn = neurons[q][j]
                nrn.advance(t)
                if coding == "pulse":
                    nrn.z[0] += value
                else:
                    nrn.I += value
                nrn.cache = None
                to_check.add((q, j))
            if not to_check:
                return
            for q, j in sorted(to_check):
                nrn = neurons[q][j]
                nrn.advance(t)
                a = nrn.graded_check()
                if a is not None:
                    nrn.fire(a, max(nrn.x_now(), 0.0))
                    emit(q, j, t, a)
            to_check = set()

    all_ids = [(q, j) for q in range(len(neurons)) for j in range(len(neurons[q]))]
    t = 0.0
    process_time(0.0, set(all_ids))
    while True:
        t_arr = heap[0][0] if heap else math.inf
        t_end = min(t_arr, T)
        best = None
        for q, j in all_ids:
            c = neurons[q][j].next_crossing(t, t_end)
            if c is not None and (best is None or c[0] < best[0]):
                best = (c[0], c[1], q, j)
        if best is not None and best[0] < t_arr:     # arrivals at t_arr go first
            t, rule, q, j = best
            nrn = neurons[q][j]
            nrn.advance(t)
            theta = nrn.theta0 + nrn.h
            if rule == UP:
                a, r_new = theta, nrn.r + theta
            elif rule == DOWN:
                a, r_new = -theta, nrn.r - theta
            else:
                a, r_new = -nrn.r, 0.0
            nrn.fire(a, r_new)
            emit(q, j, t, a)
            continue
        if t_arr > T:
            break
        t = t_arr
        process_time(t, set())
    return out


# ----------------------------------------------------------------------------
# signal sources
# ----------------------------------------------------------------------------

def _value_at_zero(t, s):
    """Right limit at t = 0 of the piecewise-linear signal (constant beyond the ends)."""
    k = int(np.searchsorted(t, 0.0, side="right")) - 1   # last sample with t <= 0
    if k < 0:
        return float(s[0])
    if k == t.size - 1:
        return float(s[-1])
    return float(s[k] + (s[k + 1] - s[k]) * (0.0 - t[k]) / (t[k + 1] - t[k]))


def encode_signal(t, values, theta, duration):
    """Sigma-delta events ``[(t_ms, channel, amplitude)]`` of a piecewise-linear signal.

    ``t`` (ms, non-decreasing; a repeated time is a jump) and ``values`` of shape
    ``(len(t),)`` or ``(len(t), n_channels)`` define the signal, constant beyond
    ``[t[0], t[-1]]``. ``theta`` is a scalar or one value per channel. Per
    channel: ``r = 0``; at t = 0 a spike of amplitude ``s(0)`` if
    ``|s(0)| >= theta``; then a spike of exactly ``+theta`` (``-theta``) when
    ``s - r`` reaches ``+theta`` (``-theta``), ``r += a``. Crossing times are
    analytic; events at exactly ``duration`` are included. Sorted by time, then
    channel.
    """
    t = np.asarray(t, dtype=float).ravel()
    vals = np.asarray(values, dtype=float)
    if vals.ndim == 1:
        vals = vals[:, None]
    if t.size < 1 or vals.shape[0] != t.size:
        raise ValueError("values must have len(t) rows")
    if np.any(np.diff(t) < 0):
        raise ValueError("t must be non-decreasing")
    nch = vals.shape[1]
    th = np.broadcast_to(np.asarray(theta, dtype=float), (nch,))
    if np.any(th <= 0):
        raise ValueError("theta must be > 0")
    T = float(duration)
    events = []
    for c in range(nch):
        s, theta_c = vals[:, c], float(th[c])
        s0 = _value_at_zero(t, s)
        base = 0.0
        if abs(s0) >= theta_c:
            events.append((0.0, c, s0))
            base = s0
        m = 0                               # r = base + m * theta_c
        for k in range(t.size - 1):
            ta, tb, sa, sb = t[k], t[k + 1], s[k], s[k + 1]
            if tb <= 0.0 or sa == sb:
                continue
            if ta > T:
                break
            step = 1 if sb > sa else -1
            while True:
                level = base + (m + step) * theta_c
                if (level - sb) * step > 0:          # not reached in this segment
                    break
                tc = ta + (tb - ta) * (level - sa) / (sb - sa) if tb > ta else ta
                tc = min(max(tc, ta, 0.0), tb)
                if tc > T:
                    break
                events.append((float(tc), c, step * theta_c))
                m += step
    events.sort(key=lambda e: (e[0], e[1]))
    return events


__all__ = ["simulate", "encode_signal", "bucket_state", "cascade_matrix", "GATE_EPS"]
