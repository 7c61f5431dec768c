"""fit: shuffled epochs, metrics, learning curve, and checkpoints that resume to the same result."""
from typing import NamedTuple

import numpy as np

import eventsg as esg
from eventsg.engine.bounds import bucket_push_bounds
from eventsg.training import Trainer, fit, plot_learning_curve
from eventsg.training.checkpoint import load_checkpoint


class Sample(NamedTuple):
    times: np.ndarray
    ids: np.ndarray
    amplitudes: np.ndarray
    label: int
    target: object
    duration_ms: float


def _problem(seed=2):
    rng = np.random.default_rng(seed)
    net = esg.Network(seed=seed)
    inp = net.add(esg.SpikeSource(n=4, times=[0.0], ids=[0], name="inp"))
    hid = net.add(esg.GammaPopulation(n=6, K=2, tau=[1.0, 3.0], theta=0.05, name="hid"))
    out = net.add(esg.GammaPopulation(n=2, K=2, tau=[2.0, 4.0], theta=0.05, name="out"))
    net.connect(inp, hid, weights=rng.uniform(0.5, 1.5, (4, 6)), delay=0.5)
    net.connect(hid, out, weights=rng.normal(0.0, 0.3, (6, 2)), delay=0.5)
    samples = []
    for k in range(6):
        label = k % 2
        ch = rng.integers(0, 2, 6) + 2 * label          # class 0: channels 0-1, class 1: 2-3
        samples.append(Sample(np.sort(rng.uniform(0.0, 8.0, 6)), ch, np.ones(6), label, None, 15.0))
    return net, inp, out, samples


def _trainer():
    net, inp, out, samples = _problem()
    return Trainer(net, inp, out, loss="ce", optimizer="adam", lr=0.01), samples


def test_fit_reports_metrics_and_resumes_to_the_same_parameters(tmp_path):
    tr, samples = _trainer()
    history = fit(tr, samples, epochs=3, seed=4, test=samples, progress=False)
    assert [h["epoch"] for h in history] == [1, 2, 3]
    for h in history:
        assert 0.0 <= h["accuracy"] <= 1.0 and np.isfinite(h["loss"])
        assert set(h["rate_hz"]) == {"hid", "out"}
        assert "test_loss" in h
    assert history[-1]["test_loss"] < history[0]["test_loss"]
    full = tr.compiled.syn_weight.copy()

    ck = tmp_path / "ck.h5"
    tr2, _ = _trainer()
    fit(tr2, samples, epochs=1, seed=4, test=samples, checkpoint=ck, progress=False)
    tr3, _ = _trainer()                                   # a fresh process, as it were
    resumed = fit(tr3, samples, epochs=3, seed=4, test=samples, checkpoint=ck, progress=False)
    assert np.array_equal(tr3.compiled.syn_weight, full)
    assert [h["loss"] for h in resumed] == [h["loss"] for h in history]
    # loading restores v, and the bounds derived from it follow (engine/bounds.py)
    tr4, _ = _trainer()
    before = tr4.compiled.psi_pos.copy()
    load_checkpoint(ck, tr4)
    net = tr4.compiled
    assert not np.array_equal(net.psi_pos, before)          # the trained v moved them
    for g, (b0, K) in enumerate(zip(net.nrn_bstart, net.nrn_K)):
        pos, neg = np.zeros(K), np.zeros(K)
        r0 = net.rset_start[net.nrn_rset[g]]
        vpos, vneg = bucket_push_bounds(net.v[b0:b0 + K], net.rates[r0:r0 + K], pos, neg)
        assert np.array_equal(net.psi_pos[b0:b0 + K], pos)
        assert np.array_equal(net.psi_neg[b0:b0 + K], neg)
        assert (net.nrn_vpos[g], net.nrn_vneg[g]) == (vpos, vneg)
        assert list(net.nrn_input_bounds[g]) == [pos[0], neg[0], vpos, vneg]
    fig = plot_learning_curve(resumed, tmp_path / "curve.png")
    assert (tmp_path / "curve.png").stat().st_size > 0
    assert fig is not None


def test_counting_spikes_instead_of_recording_them_changes_nothing_else():
    """record_spikes=False (what fit uses): the same counts, loss, read-out and weights."""
    runs = []
    for record in (True, False):
        trainer, samples = _trainer()
        outcomes = [trainer.run_sample(s.times, s.ids, s.duration_ms, label=s.label,
                                       record_spikes=record) for s in samples]
        runs.append((outcomes, trainer.weights(trainer.net.projections[0]).toarray()))
    (kept, w_kept), (counted, w_counted) = runs
    assert sum(o.spikes["hid"] for o in kept) > 0
    for a, b in zip(kept, counted):
        assert a.spikes == b.spikes
        assert a.loss == b.loss and np.array_equal(a.readout, b.readout)
        assert len(b.result.spikes("hid")) == 0 < len(a.result.spikes("hid")) or a.spikes["hid"] == 0
    assert np.array_equal(w_kept, w_counted)
