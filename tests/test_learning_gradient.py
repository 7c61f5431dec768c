"""Read-out gradients of the online rule against finite differences of an independent loss.

The loss is integrated here with scipy.integrate.quad over the read-out signal,
which is evaluated from the arrivals alone with scipy.linalg.expm (tests/reference
twin): nothing of eventsg's propagator, traces or quadrature is used. The
read-out signal is linear in W, v and b given the hidden spikes (which do not
depend on the read-out), so the central differences are exact up to rounding.
"""
import numpy as np
import pytest
from scipy.integrate import quad

import eventsg as esg
from eventsg.training import Trainer

from netspec import twin

T = 20.0
DELAY_IN, DELAY_OUT = 0.5, 1.0
TAU_HID = [1.0, 2.0, 4.0]


def _network(tau_out, coding="pulse", seed=3):
    rng = np.random.default_rng(seed)
    net = esg.Network(seed=seed)
    inp = net.add(esg.SpikeSource(n=4, times=[0.0], ids=[0], coding=coding, name="inp"))
    hid = net.add(esg.GammaPopulation(n=5, K=3, tau=TAU_HID, theta=0.25, name="hid"))
    out = net.add(esg.GammaPopulation(n=2, K=len(tau_out), tau=tau_out, theta=0.05,
                                      v=rng.uniform(0.2, 0.6, len(tau_out)), bias=0.05,
                                      name="out"))
    net.connect(inp, hid, weights=rng.uniform(0.5, 2.0, (4, 5)), delay=DELAY_IN)
    net.connect(hid, out, weights=rng.normal(0.0, 1.0, (5, 2)), delay=DELAY_OUT)
    events = (np.sort(rng.uniform(0.0, 12.0, 8)), rng.integers(0, 4, 8))
    return net, inp, hid, out, events


class IndependentLoss:
    """L(W, v, b) of the read-out from the hidden spikes, by expm and quad."""

    def __init__(self, spikes, tau_out, loss, target=None, label=0, window=(0.0, T)):
        self.tau = np.asarray(tau_out, float)
        self.loss, self.target, self.label, self.window = loss, target, label, window
        self.A = twin.cascade_matrix(self.tau)
        # per hidden neuron: arrival times and the trace state just after each arrival
        self.traces = []
        for i in range(5):
            mine = spikes.i == i
            times = spikes.t[mine] + DELAY_OUT
            amps = spikes.a[mine]
            states, drive, z, t_prev = [], 0.0, np.zeros(self.tau.size), 0.0
            for t, a in zip(times, amps):
                z = twin.bucket_state(self.tau, z, drive, t - t_prev)
                drive += a
                t_prev = t
                states.append((t, z.copy(), drive))
            self.traces.append(states)
        self._memo = {}
        self.breaks = sorted({t for s in self.traces for t, _, _ in s} | set(window)
                             | (set(target[0]) if target is not None else set()))

    def trace(self, i, t):
        """Hidden neuron i's trace at t (memoised: the finite differences revisit the nodes)."""
        key = (i, t)
        if key not in self._memo:
            self._memo[key] = self._trace(i, t)
        return self._memo[key]

    def _trace(self, i, t):
        z, drive, t0 = np.zeros(self.tau.size), 0.0, 0.0
        for ta, za, da in self.traces[i]:
            if ta > t:
                break
            t0, z, drive = ta, za, da
        from scipy.linalg import expm
        return drive + expm(self.A * (t - t0)) @ (z - drive)

    def signals(self, t, W, v, b):
        e = np.array([self.trace(i, t) for i in range(5)])        # (5, K)
        return b + (e @ v.T * W).sum(axis=0)

    def __call__(self, W, v, b):
        a, bnd = self.window

        def integrand(t):
            x = self.signals(t, W, v, b)
            if self.loss == "mse":
                tg = np.array([np.interp(t, self.target[0], self.target[1][:, o]) for o in range(2)])
                return 0.5 * np.sum((x - tg) ** 2)
            m = x.max()
            return np.log(np.exp(x - m).sum()) + m - x[self.label]

        pts = [p for p in self.breaks if a < p < bnd]
        edges = [a] + pts + [bnd]
        total = sum(quad(integrand, lo, hi, epsabs=0.0, epsrel=1e-13, limit=200)[0]
                    for lo, hi in zip(edges[:-1], edges[1:]) if hi > lo)
        return total / (bnd - a)


def _fd(f, x0, idx, h):
    xp, xm = x0.copy(), x0.copy()
    xp[idx] += h
    xm[idx] -= h
    return (f(xp) - f(xm)) / (2 * h)


@pytest.mark.parametrize("tau_out,loss,coding", [
    ([2.0, 3.0, 5.0], "mse", "pulse"),
    ([2.0, 2.0, 2.0], "mse", "delta"),
    ([1.5, 4.0], "ce", "pulse"),
])
def test_readout_gradient_matches_finite_differences(tau_out, loss, coding):
    net, inp, hid, out, (times, ids) = _network(tau_out, coding)
    target = (np.array([0.0, 8.0, 16.0]), np.array([[0.0, 0.1], [0.5, 0.2], [0.1, 0.3]]))
    window = (0.0, T) if loss == "mse" else (4.0, 18.0)
    trainer = Trainer(net, inp, out, loss=loss, lr=0.0, window=window if loss == "ce" else None)
    res = trainer.run_sample(times, ids, T, target=target if loss == "mse" else None, label=1,
                             update=False)
    spikes = res.result.spikes(hid)
    assert 10 < len(spikes) < 200, "the hidden layer must spike (and the test stay quick)"
    grads = trainer.gradients()
    G_W = grads["W"][net.projections[1]].toarray()
    G_v = grads["v"]["out"]
    G_b = grads["b"]["out"]

    W0 = trainer.weights(net.projections[1]).toarray()
    v0 = np.broadcast_to(trainer.bucket_weights(out), (2, len(tau_out))).copy()
    b0 = trainer.biases(out)
    L = IndependentLoss(spikes, tau_out, loss, target=target, label=1, window=window)
    assert res.loss == pytest.approx(L(W0, v0, b0), rel=1e-9)

    checks = []
    for idx in [(0, 0), (3, 1), (4, 0)]:
        checks.append((_fd(lambda W: L(W, v0, b0), W0, idx, 1e-4), G_W[idx]))
    for idx in [(0, 0), (1, len(tau_out) - 1)]:
        checks.append((_fd(lambda v: L(W0, v, b0), v0, idx, 1e-4), G_v[idx]))
    for o in range(2):
        checks.append((_fd(lambda b: L(W0, v0, b), b0, o, 1e-4), G_b[o]))
    for fd, online in checks:
        assert abs(online - fd) <= 1e-6 * max(abs(fd), 1e-3 * np.abs(G_W).max()), (fd, online)
