"""The snnTorch peer of the training benchmark (scripts/peers/snntorch_randman.py).

Skipped when torch or snntorch does not import. On a small Randman problem:
spikes land in the right time bins, the graph that BPTT keeps grows in
proportion to the number of time steps, and a few epochs of training lower the
loss and give accuracies and timings.
"""
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("snntorch")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from peers import snntorch_randman as peer  # noqa: E402

from eventsg.datasets import randman  # noqa: E402

SMALL = peer.Settings(hidden=16, batch=8, lr=1e-2)


@pytest.fixture(scope="module")
def data():
    torch.set_num_threads(1)
    return randman(n_classes=3, n_channels=20, n_train=48, n_test=24, duration_ms=50.0, seed=0)


def test_binning_puts_each_spike_in_its_step(data):
    train, _ = data
    bins = peer.SpikeBins(train, 20, 60.0, 0.5)
    assert bins.n_steps == 120
    x, y = bins.batch([0, 3])
    assert x.shape == (120, 2, 20)
    assert y.tolist() == [train[0].label, train[3].label]
    for b, k in enumerate([0, 3]):
        s = train[k]
        assert x[:, b].sum() == s.n_events
        steps = np.floor(s.times / 0.5).astype(int)
        assert torch.all(x[steps, b, np.array(s.ids)] == 1.0)
    stretched = peer.SpikeBins(train, 20, 600.0, 0.5, stretch=10.0)
    assert stretched.n_steps == 1200
    assert np.array_equal(stretched.steps[0], np.floor(train[0].times * 10 / 0.5).astype(int))


def test_bptt_graph_grows_with_the_time_steps(data):
    train, _ = data
    model = peer.build_model(20, 3, 1.0, SMALL)
    sizes = []
    for factor in (1.0, 4.0):
        x, y = peer.SpikeBins(train[:8], 20, 60.0 * factor, 1.0, factor).batch(range(8))
        sizes.append(peer.graph_bytes(model, x, y))
    assert sizes[1] / sizes[0] == pytest.approx(4.0, rel=0.05)


def test_training_lowers_the_loss(data):
    train, test = data
    bins = [peer.SpikeBins(d, 20, 60.0, 2.0) for d in (train[:32], test[:16])]
    history = peer.train(*bins, 3, 2.0, 3, SMALL)
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert history[-1]["loss"] < history[0]["loss"]
    for h in history:
        assert 0.0 <= h["test_accuracy"] <= 1.0 and h["train_s"] > 0 and h["test_s"] > 0
