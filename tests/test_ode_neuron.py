"""Self-tests of the ODE reference for one SpikingGamma neuron against closed forms."""
import math
import os
import sys

import numpy as np
from scipy.optimize import brentq

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "reference"))
from ode_neuron import simulate_neuron  # noqa: E402


def _spec(tau, v, bias, theta0, coding, events, weight, delay, duration,
          beta=0.0, tau_h=50.0):
    tau = np.asarray(tau, dtype=float).reshape(1, -1)
    return {
        "duration": duration,
        "sources": [{"name": "in", "n": 1, "coding": coding, "events": events}],
        "populations": [{"name": "g", "n": 1, "tau": tau,
                         "v": np.asarray(v, dtype=float).reshape(1, -1),
                         "bias": np.array([bias]), "theta0": np.array([theta0]),
                         "tau_h": tau_h, "beta": beta}],
        "projections": [{"pre": "in", "post": "g",
                         "weights": np.array([[weight]]),
                         "delay": np.array([[delay]])}],
    }


def test_k1_constant_delta_drive_up_spikes_match_log_formula():
    tau, vv, I, theta0, d = 7.0, 1.5, 0.7, 0.1, 2.5   # v*I = 1.05 -> 10 levels
    spec = _spec([tau], [vv], 0.0, theta0, "delta", [(0.0, 0, 1.0)], I, d, 60.0)
    spikes = simulate_neuron(spec)
    levels = theta0 * np.arange(1, 11)
    expected = d - tau * np.log(1.0 - levels / (vv * I))
    assert len(spikes) == 10
    times = np.array([s[0] for s in spikes])
    amps = np.array([s[2] for s in spikes])
    assert all(s[1] == 0 for s in spikes)
    np.testing.assert_allclose(times, expected, rtol=0, atol=1e-10)
    np.testing.assert_allclose(amps, theta0, rtol=1e-12)


def test_k1_adaptation_chain_matches_closed_form():
    # up spikes with threshold adaptation: x(t) = v I (1 - exp(-t/tau)),
    # the n-th spike solves x(t) = r + theta0 + h exp(-(t - t_prev)/tau_h)
    tau, vv, I, theta0, beta, tau_h = 5.0, 1.0, 1.0, 0.08, 0.5, 20.0
    T = 80.0
    spec = _spec([tau], [vv], 0.0, theta0, "delta", [(0.0, 0, 1.0)], I, 0.0, T,
                 beta=beta, tau_h=tau_h)
    spikes = simulate_neuron(spec)
    x = lambda t: vv * I * (1.0 - math.exp(-t / tau))
    expected = []
    r, h, tp = 0.0, 0.0, 0.0
    while True:
        f = lambda t: x(t) - r - theta0 - h * math.exp(-(t - tp) / tau_h)
        if f(T) < 0.0:
            break
        ts = brentq(f, tp, T, xtol=1e-15, rtol=8.9e-16)
        a = theta0 + h * math.exp(-(ts - tp) / tau_h)
        expected.append((ts, a))
        r, h, tp = r + a, h * math.exp(-(ts - tp) / tau_h) + beta * a, ts
    assert len(expected) >= 4
    assert len(spikes) == len(expected)
    np.testing.assert_allclose([s[0] for s in spikes], [e[0] for e in expected],
                               rtol=0, atol=1e-10)
    np.testing.assert_allclose([s[2] for s in spikes], [e[1] for e in expected],
                               rtol=1e-10)


def test_equal_tau_k3_pulse_crossings_match_gamma_closed_form():
    tau, w, t0, theta0 = 4.0, 2.0, 3.0, 0.2
    v = np.array([0.2, 0.5, 1.0])
    spec = _spec([tau] * 3, v, 0.0, theta0, "pulse", [(t0, 0, 1.0)], w, 0.0, 60.0)
    spikes = simulate_neuron(spec)

    def x(t):
        u = (t - t0) / tau
        return w * math.exp(-u) * sum(v[k] * u ** k / math.factorial(k) for k in range(3))

    # jump to 0.4 at t0 (graded spike), up at 0.6 and 0.8, then down at 0.6, 0.4, 0.2;
    # afterwards r = 0.2 = theta0 closes the down gate and x > 0 forever
    u_peak = (1.0 + math.sqrt(3.4)) / 2.0
    t_peak = t0 + tau * u_peak
    expected = [(t0, 0.4)]
    for lev in (0.6, 0.8):
        expected.append((brentq(lambda t: x(t) - lev, t0, t_peak, xtol=1e-15), theta0))
    for lev in (0.6, 0.4, 0.2):
        expected.append((brentq(lambda t: x(t) - lev, t_peak, 60.0, xtol=1e-15), -theta0))
    assert len(spikes) == len(expected)
    np.testing.assert_allclose([s[0] for s in spikes], [e[0] for e in expected],
                               rtol=0, atol=1e-10)
    np.testing.assert_allclose([s[2] for s in spikes], [e[1] for e in expected],
                               rtol=1e-9, atol=1e-12)


def test_floor_rule_fires_and_ends_with_r_zero():
    tau, w, t0, bias, theta0 = 6.0, 1.0, 1.0, -0.05, 0.1
    spec = _spec([tau], [1.0], bias, theta0, "pulse", [(t0, 0, 1.0)], w, 0.0, 50.0)
    spikes = simulate_neuron(spec)
    amps = [s[2] for s in spikes]
    times = [s[0] for s in spikes]
    # graded spike at the jump (x = 0.95), nine down spikes, then the floor
    assert len(spikes) == 11
    assert times[0] == t0 and abs(amps[0] - 0.95) < 1e-15
    r_before_floor = sum(amps[:-1])
    assert 0.0 < r_before_floor < theta0      # down gate closed: only the floor can fire
    assert amps[-1] == -r_before_floor        # floor amplitude is exactly -r
    assert sum(amps) == 0.0                   # r ends at exactly 0
    assert abs(times[-1] - (t0 + tau * math.log(1.0 / -bias))) < 1e-10
    for j, t in enumerate(times[1:-1], start=1):
        level = 0.95 - 0.1 * j
        assert abs(t - (t0 + tau * math.log(1.0 / (level - bias)))) < 1e-10
