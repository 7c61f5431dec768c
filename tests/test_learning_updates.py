"""Online updates: SGD is first order in the learning rate, Adam's first steps, loss goes
down, and things outside the model (sampling grid, chunking) leave weights bit for bit."""
import numpy as np
import pytest

import eventsg as esg
from eventsg.training import Trainer

T = 30.0


def _setup(seed=5, **kw):
    rng = np.random.default_rng(seed)
    net = esg.Network(seed=seed)
    inp = net.add(esg.SpikeSource(n=4, times=[0.0], ids=[0], coding="pulse", name="inp"))
    hid = net.add(esg.GammaPopulation(n=6, K=3, tau=[1.0, 2.0, 4.0], theta=0.05, name="hid"))
    out = net.add(esg.GammaPopulation(n=2, K=2, tau=[2.0, 5.0], theta=0.05, name="out"))
    net.connect(inp, hid, weights=rng.uniform(0.5, 2.0, (4, 6)), delay=0.5)
    net.connect(hid, out, weights=rng.normal(0.0, 0.5, (6, 2)), delay=1.0)
    events = (np.sort(rng.uniform(0.0, 20.0, 16)), rng.integers(0, 4, 16))
    target = (np.array([0.0, 10.0, 25.0]), np.array([[0.0, 0.1], [0.5, 0.2], [0.1, 0.3]]))
    return net, Trainer(net, inp, out, **kw), events, target


def _params(trainer):
    net = trainer.net
    return np.concatenate([trainer.weights(p).data for p in net.projections]
                          + [trainer.bucket_weights(n).ravel() for n in ("hid", "out")]
                          + [trainer.biases(n) for n in ("hid", "out")])


def _grads(trainer):
    g = trainer.gradients()
    net = trainer.net
    return np.concatenate([g["W"][p].data for p in net.projections]
                          + [g["v"][n].ravel() for n in ("hid", "out")]
                          + [g["b"][n] for n in ("hid", "out")])


def test_sgd_moves_parameters_by_minus_lr_times_the_sample_gradient():
    net, tr, (t, i), target = _setup(lr=0.0)
    tr.run_sample(t, i, T, target=target, update=False)
    g = _grads(tr)
    assert np.abs(g).max() > 0
    steps = []
    for lr in (1e-3, 5e-4):
        net, tr, (t, i), target = _setup(lr=lr)
        p0 = _params(tr)
        tr.run_sample(t, i, T, target=target, update=True)
        steps.append(_params(tr) - p0)
    # first order: step = -lr g + O(lr^2); halving lr shrinks the O(lr^2) error fourfold
    err1 = np.abs(steps[0] + 1e-3 * g).max()
    err2 = np.abs(steps[1] + 5e-4 * g).max()
    assert err1 < 0.05 * 1e-3 * np.abs(g).max()
    assert err2 < 0.35 * err1


def test_adam_steps_are_bounded_by_the_learning_rate():
    # Adam moves a parameter by at most lr (1 - beta1) / sqrt(1 - beta2) ~ 3.2 lr per
    # step, whatever the gradient's size; SGD with the same gradients would move far more
    net, tr, (t, i), target = _setup(optimizer="adam", lr=1e-3)
    out_v0 = tr.bucket_weights("out")
    tr.run_sample(t, i, T, target=target, update=True)
    n_out = tr.learner.steps[6:8]
    change = np.abs(tr.bucket_weights("out") - out_v0)
    assert np.all(n_out > 1)
    assert np.all(change <= n_out[:, None] * 1e-3 * 3.17)
    assert np.any(change > 1e-3)


@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.05), ("adam", 2e-3)])
def test_training_lowers_the_loss(optimizer, lr):
    net, tr, (t, i), target = _setup(optimizer=optimizer, lr=lr)
    first = tr.run_sample(t, i, T, target=target, update=False).loss
    for _ in range(15):
        tr.run_sample(t, i, T, target=target, update=True)
    last = tr.run_sample(t, i, T, target=target, update=False).loss
    assert last < 0.7 * first


def test_sampling_grid_and_chunking_leave_weights_bit_for_bit():
    results = []
    for chunks, grid in ((1, None), (7, np.linspace(0.0, T, 301)), (3, np.linspace(0.0, T, 17))):
        net, tr, (t, i), target = _setup(optimizer="adam", lr=2e-3)
        tr.chunks = chunks
        for _ in range(3):
            tr.run_sample(t, i, T, target=target, update=True, sample_times=grid)
        results.append(_params(tr))
    assert np.array_equal(results[0], results[1])
    assert np.array_equal(results[0], results[2])


def test_training_to_a_silent_target_does_not_stall_the_quadrature():
    """MSE to a zero target drives v and b towards 0, so x is a near-cancelling sum
    whose rounding noise once kept the adaptive quadrature halving (up to 2^40
    parts): each sample must finish, with a finite, small loss."""
    rng = np.random.default_rng(0)
    net = esg.Network(seed=0)
    inp = net.add(esg.SpikeSource(n=100, times=[], ids=[], name="input"))
    out = net.add(esg.GammaPopulation(n=1, K=2, tau=[2.0, 4.0], theta=100.0, v=[0.5, 0.5],
                                      name="readout"))
    for d in np.arange(0.0, 51.0, 5.0):
        net.connect(inp, out, rng.normal(0.0, 0.1 / np.sqrt(1100), (100, 1)), delay=d)
    trainer = Trainer(net, inp, out, loss="mse", optimizer="adam", lr=1e-3)
    losses = []
    for T in (20.0, 30.0, 40.0, 50.0, 60.0, 80.0, 90.0, 100.0, 110.0, 120.0):
        n = int(4 * T)
        times, ids = np.sort(rng.random(n) * T), rng.integers(0, 100, n)
        losses.append(trainer.run_sample(times, ids, T, target=([0.0, T], [0.0, 0.0])).loss)
    assert np.all(np.isfinite(losses)) and max(losses[-3:]) < 1e-5


def test_step_targets_as_repeated_times_give_the_analytic_loss():
    """A target with a time given twice is a step. With no input, x = relu(b) is
    constant, so the time-averaged MSE is known in closed form; decreasing
    target times are refused with a message naming them."""
    net = esg.Network(seed=0)
    inp = net.add(esg.SpikeSource(n=1, times=[], ids=[], name="inp"))
    out = net.add(esg.GammaPopulation(n=1, K=1, tau=[2.0], theta=10.0, bias=0.3, name="out"))
    net.connect(inp, out, weights=[[0.5]])
    tr = Trainer(net, inp, out, loss="mse", lr=0.0)
    T, e1, e2 = 40.0, 10.0, 25.0
    target = ([0.0, e1, e1, e2, e2], [0.0, 0.0, 1.0, 1.0, 0.0])   # 1 on [e1, e2), else 0
    loss = tr.run_sample(np.zeros(0), np.zeros(0, np.int64), T, target=target, update=False).loss
    c = 0.3
    expected = 0.5 * (c ** 2 * (T - (e2 - e1)) + (c - 1.0) ** 2 * (e2 - e1)) / T
    assert loss == pytest.approx(expected, rel=1e-12)
    with pytest.raises(esg.SpecError, match=r"target.*decreasing at index 2.*non-decreasing"):
        tr.run_sample(np.zeros(0), np.zeros(0, np.int64), T, target=([0.0, 5.0, 4.0], [0, 1, 0]))


def test_generated_temporal_pattern_targets_train():
    """The temporal-pattern generator's step targets (repeated times) are accepted."""
    from eventsg.datasets import temporal_pattern
    train, _ = temporal_pattern(n_channels=5, rate_hz=20.0, duration_ms=200.0, occurrences=1,
                                n_train=1, n_test=0, seed=1)
    s = train[0]
    assert np.any(np.diff(s.target[0]) == 0)
    net = esg.Network(seed=0)
    inp = net.add(esg.SpikeSource(n=5, times=[], ids=[], name="inp"))
    out = net.add(esg.GammaPopulation(n=1, K=2, tau=[2.0, 4.0], theta=0.5, name="out"))
    net.connect(inp, out, weights=np.full((5, 1), 0.2), delay=1.0)
    tr = Trainer(net, inp, out, loss="mse", lr=0.1)
    outcome = tr.run_sample(s.times, s.ids, s.duration_ms, target=s.target)
    assert np.isfinite(outcome.loss) and outcome.loss > 0
