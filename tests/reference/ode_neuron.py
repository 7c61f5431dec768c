"""Slow, independent reference for ONE SpikingGamma neuron, by numerical ODE integration.

The neuron (a gamma population with n = 1) is driven only by spike sources
(pulse or delta coding) through projections with per-synapse delays; there are
no recurrent connections. The input format is the plain spec dict of SPEC.md,
restricted to that case; the result is the neuron's spike list ``[(t, 0, a)]``.

Method (deliberately unlike the event-driven engine, which uses closed-form
propagators and a bounded-step crossing search):

* state vector ``[z_1 .. z_K, h]``; between arrivals the linear ODE

      tau_1 dz_1/dt = I - z_1,   tau_k dz_k/dt = z_(k-1) - z_k,   tau_h dh/dt = -h

  is integrated by ``scipy.integrate.solve_ivp`` (DOP853 by default) at tight
  tolerance, piecewise between arrival times;
* the spike rules are terminal event functions:
  up ``x - r - theta`` (rising), down ``r - theta - x`` (rising, only while the
  gate ``r > (1 + eps) theta`` holds; the gate opening time is analytic because
  theta only decays between spikes), floor ``x`` (falling, while ``r > 0``);
* each located event is polished with ``scipy.optimize.brentq`` on a
  re-integration from the last accepted solver step, so spike times are
  accurate to about 1e-11 ms; the spike is applied (r, h) and integration
  restarts from the polished time;
* at t = 0 and at every arrival time (after all arrivals at that time) the
  rules are checked directly (floor first, then up, then down) and a spike
  there carries the graded amplitude ``y - r`` (``-r`` at the floor).

Only numpy, scipy and the standard library are used.
"""
import math

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

GATE_EPS = 1e-9

UP, DOWN, FLOOR = "up", "down", "floor"


class _Neuron:
    """Parameters of the single neuron and the ODE right-hand side."""

    def __init__(self, pop):
        tau = np.asarray(pop["tau"], dtype=float)
        v = np.asarray(pop["v"], dtype=float)
        if tau.ndim == 2:
            if tau.shape[0] != 1:
                raise ValueError("ode_neuron handles one neuron (n = 1) only")
            tau = tau[0]
        if v.ndim == 2:
            if v.shape[0] != 1:
                raise ValueError("ode_neuron handles one neuron (n = 1) only")
            v = v[0]
        if tau.shape != v.shape or tau.ndim != 1 or tau.size < 1:
            raise ValueError("tau and v must hold K >= 1 values")
        if np.any(tau <= 0.0) or not np.all(np.isfinite(tau)):
            raise ValueError("tau must be finite and > 0")
        self.K = tau.size
        self.tau = tau
        self.v = v
        self.bias = float(np.ravel(pop["bias"])[0])
        self.theta0 = float(np.ravel(pop["theta0"])[0])
        if not self.theta0 > 0.0:
            raise ValueError("theta0 must be > 0")
        self.beta = float(pop.get("beta", 0.0) or 0.0)
        tau_h = pop.get("tau_h", None)
        tau_h = math.inf if tau_h is None else float(tau_h)
        if self.beta < 0.0:
            raise ValueError("beta must be >= 0")
        if self.beta > 0.0 and not (0.0 < tau_h < math.inf):
            raise ValueError("tau_h must be finite and > 0 when beta > 0")
        self.tau_h = tau_h
        self.inv_tau_h = 1.0 / tau_h if 0.0 < tau_h < math.inf else 0.0
        self.inv_tau = 1.0 / tau
        self.drive = 0.0
        # constant Jacobian (for implicit methods)
        n = self.K + 1
        J = np.zeros((n, n))
        for k in range(self.K):
            J[k, k] = -self.inv_tau[k]
            if k > 0:
                J[k, k - 1] = self.inv_tau[k]
        J[self.K, self.K] = -self.inv_tau_h
        self.jac = J
        self.max_step = float(np.min(tau))
        if self.inv_tau_h > 0.0:
            self.max_step = min(self.max_step, tau_h)

    def rhs(self, t, y):
        K = self.K
        dy = np.empty_like(y)
        dy[0] = (self.drive - y[0]) * self.inv_tau[0]
        if K > 1:
            dy[1:K] = (y[0:K - 1] - y[1:K]) * self.inv_tau[1:]
        dy[K] = -y[K] * self.inv_tau_h
        return dy

    def x(self, y):
        return self.bias + float(np.dot(self.v, y[:self.K]))

    def theta(self, y):
        return self.theta0 + y[self.K]


class _Integrator:
    def __init__(self, neuron, method, rtol, atol):
        self.nrn = neuron
        self.method = method
        self.rtol = rtol
        self.atol = atol

    def _atol(self, y0):
        K = self.nrn.K
        zscale = max(float(np.max(np.abs(y0[:K]))), abs(self.nrn.drive))
        if not zscale > 0.0:
            zscale = 1.0
        hscale = max(abs(float(y0[K])), self.nrn.theta0)
        a = np.full(K + 1, self.atol * zscale)
        a[K] = self.atol * hscale
        return a

    def _kwargs(self, y0):
        kw = dict(method=self.method, rtol=self.rtol, atol=self._atol(y0),
                  max_step=self.nrn.max_step)
        if self.method in ("Radau", "BDF", "LSODA"):
            kw["jac"] = self.nrn.jac
        return kw

    def advance(self, t0, y0, t1):
        """State at t1 >= t0 (no events)."""
        if t1 <= t0:
            return np.array(y0, dtype=float)
        sol = solve_ivp(self.nrn.rhs, (t0, t1), y0, **self._kwargs(y0))
        if not sol.success:
            raise RuntimeError("solve_ivp failed: " + sol.message)
        return sol.y[:, -1].copy()

    def segment(self, t0, y0, t1, rules):
        """Integrate from (t0, y0) towards t1 watching ``rules``.

        ``rules`` is a list of (kind, g, direction) with g(y) the event value.
        Returns (t, y, kind) with kind None when t1 was reached without event.
        """
        if t1 <= t0:
            return t0, np.array(y0, dtype=float), None
        events = []
        for _, g, direction in rules:
            def ev(t, y, g=g):
                return g(y)
            ev.terminal = True
            ev.direction = direction
            events.append(ev)
        sol = solve_ivp(self.nrn.rhs, (t0, t1), y0, events=events or None,
                        **self._kwargs(y0))
        if not sol.success:
            raise RuntimeError("solve_ivp failed: " + sol.message)
        if sol.status != 1:
            return t1, sol.y[:, -1].copy(), None
        hit = None
        for i, te in enumerate(sol.t_events):
            if len(te) and (hit is None or te[0] < hit[1]):
                hit = (i, float(te[0]))
        i, t_e = hit
        kind, g, direction = rules[i]
        # last accepted solver step before the event (the final column is the
        # dense-output value at the event time)
        if sol.t.size >= 2:
            t_b, y_b = float(sol.t[-2]), sol.y[:, -2].copy()
        else:
            t_b, y_b = t0, np.array(y0, dtype=float)
        if t_b > t_e:
            t_b, y_b = t0, np.array(y0, dtype=float)
        t_s, y_s = self._polish(g, direction, t_b, y_b, t_e, t1)
        return t_s, y_s, kind

    def _polish(self, g, direction, t_b, y_b, t_e, t_max):
        """Refine the root of g near t_e by brentq on re-integrations from (t_b, y_b).

        (t_b, y_b) is an accepted solver step before the crossing, so g(t_b)
        lies on the pre-crossing side (or is 0).
        """
        cache = {}

        def G(t):
            if t not in cache:
                cache[t] = g(self.advance(t_b, y_b, t))
            return cache[t]

        def before(val):
            return val * direction < 0.0

        scale = max(1.0, abs(t_e))
        d = 1e-12 * scale
        lo = hi = None
        for _ in range(60):
            if lo is None:
                a = max(t_b, t_e - d)
                if a <= t_b or before(G(a)):
                    lo = a
            if hi is None:
                b = t_e + d
                if not before(G(b)):
                    hi = b
            if lo is not None and hi is not None:
                break
            d *= 4.0
        root = t_e
        if lo is not None and hi is not None and lo < hi:
            g_lo, g_hi = G(lo), G(hi)
            if g_lo == 0.0:
                root = lo
            elif g_hi == 0.0:
                root = hi
            elif g_lo * g_hi < 0.0:
                root = brentq(G, lo, hi, xtol=1e-15, rtol=8.9e-16, maxiter=200)
        root = min(root, t_max)
        return root, self.advance(t_b, y_b, root)


def _arrivals(spec, pop_name):
    """Arrivals (time, seq, kind, value) at the neuron, sorted by time, ties in insertion order."""
    sources = {s["name"]: s for s in spec.get("sources", [])}
    out = []
    seq = 0
    for proj in spec.get("projections", []):
        if proj["post"] != pop_name:
            continue
        if proj["pre"] not in sources:
            raise ValueError("ode_neuron: only spike sources may project to the neuron "
                             "(no recurrent connections)")
        src = sources[proj["pre"]]
        coding = src.get("coding", "pulse")
        if coding not in ("pulse", "delta"):
            raise ValueError("unknown coding %r" % (coding,))
        n_pre = int(src["n"])
        W = proj["weights"]
        W = np.asarray(W.toarray() if hasattr(W, "toarray") else W, dtype=float)
        if W.size != n_pre:
            raise ValueError("ode_neuron handles one neuron (n = 1) only")
        W = W.reshape(n_pre, 1)
        D = proj.get("delay", 0.0)
        D = np.asarray(D.toarray() if hasattr(D, "toarray") else D, dtype=float)
        D = np.broadcast_to(D.reshape(n_pre, 1) if D.size == n_pre else D, (n_pre, 1))
        events = list(src.get("events", []))
        order = sorted(range(len(events)), key=lambda m: float(events[m][0]))
        for m in order:
            ev = events[m]
            t = float(ev[0])
            i = int(ev[1])
            a = float(ev[2]) if len(ev) > 2 else 1.0
            w = W[i, 0]
            if w == 0.0:
                continue
            d = float(D[i, 0])
            if d < 0.0:
                raise ValueError("delays must be >= 0")
            out.append((t + d, seq, coding, w * a))
            seq += 1
    out.sort(key=lambda e: (e[0], e[1]))
    return out


def simulate_neuron(spec, *, method="DOP853", rtol=1e-13, atol=1e-15):
    """Spikes ``[(t, 0, a)]`` of the single gamma neuron described by ``spec``.

    ``spec`` is a SPEC.md dict with exactly one population (n = 1) whose
    projections all come from spike sources. ``method``, ``rtol`` and ``atol``
    go to ``scipy.integrate.solve_ivp`` (``atol`` is relative to the scale of
    the state at the start of each integration piece).
    """
    pops = spec["populations"]
    if len(pops) != 1:
        raise ValueError("ode_neuron handles exactly one gamma population")
    pop = pops[0]
    if int(pop.get("n", 1)) != 1:
        raise ValueError("ode_neuron handles one neuron (n = 1) only")
    T = float(spec["duration"])
    nrn = _Neuron(pop)
    integ = _Integrator(nrn, method, rtol, atol)
    K = nrn.K
    eps = GATE_EPS

    arrivals = [e for e in _arrivals(spec, pop["name"]) if e[0] <= T]
    spikes = []
    y = np.zeros(K + 1)
    r = 0.0
    t = 0.0

    def fire(t_s, y_s, a, r_new):
        spikes.append((float(t_s), 0, float(a)))
        y_s = y_s.copy()
        y_s[K] += nrn.beta * abs(a)
        return y_s, r_new

    def check(t_c, y_c, r_c):
        """Direct rule check at t = 0 or an arrival time; graded amplitude y - r."""
        x = nrn.x(y_c)
        th = nrn.theta(y_c)
        if x <= 0.0 and r_c > 0.0:
            return fire(t_c, y_c, -r_c, 0.0)
        yy = x if x > 0.0 else 0.0
        if yy - r_c >= th or (r_c - yy >= th and r_c > (1.0 + eps) * th):
            return fire(t_c, y_c, yy - r_c, yy)
        return y_c, r_c

    def apply_arrivals(k, t_now, y_c):
        touched = False
        while k < len(arrivals) and arrivals[k][0] <= t_now:
            _, _, coding, val = arrivals[k]
            if coding == "pulse":
                y_c[0] += val
            else:
                nrn.drive += val
            touched = True
            k += 1
        return k, touched

    # t = 0: arrivals at 0 (and any earlier) first, then the check
    k, _ = apply_arrivals(0, 0.0, y)
    y, r = check(0.0, y, r)

    while True:
        t_next = arrivals[k][0] if k < len(arrivals) else T
        # integrate continuously from t to t_next, firing at crossings
        while t < t_next:
            th0 = nrn.theta0
            h = y[K]
            rules = [(UP, lambda yy, r=r: nrn.x(yy) - r - nrn.theta(yy), 1)]
            t_stop = t_next
            gate_later = False
            if r > 0.0:
                rules.append((FLOOR, lambda yy: nrn.x(yy), -1))
                if r > (1.0 + eps) * (th0 + h):
                    rules.append((DOWN, lambda yy, r=r: r - nrn.theta(yy) - nrn.x(yy), 1))
                elif h > 0.0 and nrn.inv_tau_h > 0.0 and r / (1.0 + eps) - th0 > 0.0:
                    t_gate = t + nrn.tau_h * math.log(h / (r / (1.0 + eps) - th0))
                    if t_gate < t_next:
                        t_stop = max(t_gate, t)
                        gate_later = True
            t_s, y_s, kind = integ.segment(t, y, t_stop, rules)
            if kind is not None:
                th = nrn.theta(y_s)
                if kind == UP:
                    y, r = fire(t_s, y_s, th, r + th)
                elif kind == DOWN:
                    y, r = fire(t_s, y_s, -th, r - th)
                else:
                    y, r = fire(t_s, y_s, -r, 0.0)
                t = t_s
                continue
            t, y = t_s, y_s
            if gate_later:
                # the down rule switches on here (theta = r / (1 + eps));
                # if its level is already passed, the down spike fires now
                th_gate = r / (1.0 + eps)
                x = nrn.x(y)
                if x > 0.0 and r - x >= th_gate:
                    y, r = fire(t, y, -th_gate, r - th_gate)
                elif not r > (1.0 + eps) * nrn.theta(y):
                    # rounding: make the next piece see the gate open
                    y = y.copy()
                    y[K] = min(y[K], r / (1.0 + eps) - th0)
                    while y[K] > 0.0 and not r > (1.0 + eps) * nrn.theta(y):
                        y[K] = np.nextafter(y[K], -math.inf)
        if k >= len(arrivals):
            break
        k, touched = apply_arrivals(k, t_next, y)
        if touched:
            y, r = check(t_next, y, r)
        t = t_next
    return spikes


__all__ = ["simulate_neuron", "GATE_EPS"]
