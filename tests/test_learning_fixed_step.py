"""The fixed-step reference of the learning rule converges to the exact one as dt shrinks.

The fixed-step trainer (engine="clock") runs the same learning kernels with spikes
on the step grid and the segment integrals as left Riemann sums; both errors are
of first order in dt, so the weights after one epoch must approach the
event-driven ones about linearly in dt.
"""
import numpy as np
import pytest

import eventsg as esg
from eventsg.errors import SpecError
from eventsg.training import Trainer

T = 20.0
TAU = [1.0, 2.0, 4.0]


def _network(hidden, seed=3):
    rng = np.random.default_rng(seed)
    net = esg.Network(seed=seed)
    inp = net.add(esg.SpikeSource(n=4, times=[], ids=[], coding="pulse", name="inp"))
    out = net.add(esg.GammaPopulation(n=2, K=3, tau=TAU, theta=0.05,
                                      v=rng.uniform(0.2, 0.6, 3), bias=0.05, name="out"))
    if hidden:
        hid = net.add(esg.GammaPopulation(n=5, K=3, tau=TAU, theta=0.25, name="hid"))
        net.connect(inp, hid, weights=rng.uniform(0.5, 2.0, (4, 5)), delay=0.5)
        net.connect(hid, out, weights=rng.normal(0.0, 1.0, (5, 2)), delay=1.0)
    else:
        net.connect(inp, out, weights=rng.normal(0.0, 1.0, (4, 2)), delay=1.0)
    return net


def _epoch(hidden, **engine):
    """All trained parameters after one epoch of three MSE samples (inputs off the grid)."""
    net = _network(hidden)
    trainer = Trainer(net, "inp", "out", loss="mse", optimizer="sgd", lr=0.05, **engine)
    rng = np.random.default_rng(5)
    spikes = 0
    for _ in range(3):
        times = np.sort(rng.uniform(0.0, 12.0, 8))
        ids = rng.integers(0, 4, 8)
        target = (np.array([0.0, 10.0, 20.0]), rng.uniform(-0.5, 1.0, (3, 2)))
        outcome = trainer.run_sample(times, ids, T, target=target)
        spikes += outcome.spikes.get("hid", 0)
    parts = [trainer.weights(p).toarray().ravel() for p in net.projections]
    parts += [trainer.bucket_weights("out").ravel(), trainer.biases("out")]
    if hidden:
        parts += [trainer.bucket_weights("hid").ravel(), trainer.biases("hid")]
    return np.concatenate(parts), spikes


def _errors(hidden, steps):
    exact, spikes = _epoch(hidden)
    if hidden:
        assert spikes > 10          # the hidden layer takes part
    return np.array([np.max(np.abs(_epoch(hidden, engine="clock", dt=dt)[0] - exact))
                     for dt in steps])


def test_readout_weights_converge_first_order():
    steps = np.array([0.08, 0.04, 0.02, 0.01, 0.005])
    err = _errors(False, steps)
    ratios = err[:-1] / err[1:]
    assert np.all((ratios > 1.5) & (ratios < 2.8)), (err, ratios)
    assert err[-1] < 2e-4


def test_hidden_and_readout_weights_converge_first_order():
    steps = np.array([0.08, 0.04, 0.02, 0.01, 0.005, 0.0025])
    err = _errors(True, steps)
    slope = np.polyfit(np.log(steps), np.log(err), 1)[0]
    assert 0.75 < slope < 1.5, (err, slope)
    assert err[-1] < err[0] / 20


def test_clock_trainer_needs_a_step_and_the_event_trainer_none():
    net = _network(False)
    with pytest.raises(SpecError, match="dt"):
        Trainer(net, "inp", "out", engine="clock")
    with pytest.raises(SpecError, match="dt"):
        Trainer(net, "inp", "out", dt=0.1)
    with pytest.raises(SpecError, match="engine"):
        Trainer(net, "inp", "out", engine="rk4", dt=0.1)
