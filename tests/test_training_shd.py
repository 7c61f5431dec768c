"""A small file in the Spiking Heidelberg Digits layout trains end to end.

Two classes that differ only in which channels fire first: class 0 fires channels
0-9 early and 10-19 late, class 1 the reverse. The file is written in the SHD
layout (ragged times in seconds), read lazily sample by sample, and a read-out
trained online with cross-entropy learns to tell the classes apart.
"""
import numpy as np
import pytest

import eventsg as esg
from eventsg.errors import SpecError
from eventsg.io import SHDDataset, write_shd
from eventsg.training import Trainer, fit

N_CHANNELS = 20
DURATION = 40.0


def write_two_class_file(path, n=24, seed=0):
    rng = np.random.default_rng(seed)
    times, units, labels = [], [], []
    for k in range(n):
        label = k % 2
        early = np.arange(10) + (10 if label else 0)
        late = np.arange(10) + (0 if label else 10)
        t = np.concatenate([rng.uniform(1.0, 8.0, 10), rng.uniform(15.0, 22.0, 10)])
        times.append(t / 1000.0)                                   # SHD files hold seconds
        units.append(np.concatenate([early, late]))
        labels.append(label)
    write_shd(path, times, units, labels, n_channels=N_CHANNELS, keys=["early-low", "early-high"])
    return path


def network(seed=1):
    rng = np.random.default_rng(seed)
    net = esg.Network(seed=seed)
    inp = net.add(esg.SpikeSource(n=N_CHANNELS, times=[], ids=[], name="input"))
    out = net.add(esg.GammaPopulation(n=2, K=2, tau=[2.0, 4.0], theta=0.05, name="readout"))
    net.connect(inp, out, rng.normal(0.0, 0.05, (N_CHANNELS, 2)))
    return net


def test_shd_file_trains_end_to_end(tmp_path):
    path = write_two_class_file(tmp_path / "shd_like.h5")
    with SHDDataset(path) as ds:
        assert ds.n_channels == N_CHANNELS and ds.class_names == ["early-low", "early-high"]
        samples = ds.training_samples(DURATION)
        assert len(samples) == 24 and samples[3].label == 1
        assert samples[3].times.max() <= DURATION and samples[3].duration_ms == DURATION
        trainer = Trainer(network(), "input", "readout", loss="ce", optimizer="adam", lr=0.02,
                          window=(0.0, 12.0))
        before = fit_metrics(trainer, samples)
        history = fit(trainer, samples, epochs=3, seed=0, progress=False)
        after = fit_metrics(trainer, samples)
    assert len(history) == 3
    assert after["loss"] < 0.5 * before["loss"]
    assert before["accuracy"] < 0.9 <= after["accuracy"]


def fit_metrics(trainer, samples):
    from eventsg.training.fit import evaluate
    return evaluate(trainer, samples)


def test_training_samples_reject_bad_duration(tmp_path):
    path = write_two_class_file(tmp_path / "shd_like.h5", n=2)
    with SHDDataset(path) as ds:
        with pytest.raises(SpecError, match="duration_ms"):
            ds.training_samples(-1.0)
