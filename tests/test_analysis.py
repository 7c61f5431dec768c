"""eventsg.analysis: measures against hand-computed spikes, numpy, scipy and Elephant;
plots write PNGs; Neo conversion; argument errors.

The hand-built case: one pulse source drives neuron 0 of a population of two (K = 1,
tau = 0.25 ms, v = 1, bias = -0.1, theta = 0.25; neuron 1 gets weight 0). A pulse
of weight 1.1 at t_k makes x = -0.1 + 1.1 exp(-(t - t_k) / tau), so neuron 0 emits,
per pulse, an up spike of +1 at t_k, down spikes of -0.25 where 1.1 exp(-s / tau)
= 0.85, 0.6, 0.35, and a floor spike of -0.25 where x = 0 (1.1 exp(-s / tau) = 0.1).
The pulses are >= 12 ms = 48 tau apart, so each starts from rest (to rounding).
"""
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import eventsg as esg
from eventsg import analysis as an

PULSES = np.array([1.0, 13.0, 40.0])
TAU, THETA, BIAS, W = 0.25, 0.25, -0.1, 1.1
T_RUN = 60.0
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def hand_network():
    net = esg.Network(seed=1)
    src = net.add(esg.SpikeSource(n=1, times=PULSES, ids=[0, 0, 0], name="drive"))
    cell = net.add(esg.GammaPopulation(n=2, K=1, tau=TAU, theta=THETA, bias=BIAS, v=1.0,
                                       name="cell"))
    net.connect(src, cell, weights=np.array([[W, 0.0]]), delay=0.0)
    return net


def expected_spikes():
    """Analytic (t, a) of neuron 0 in emission order."""
    offsets = TAU * np.log(W / np.array([0.85, 0.6, 0.35, 0.1]))
    t = np.concatenate([np.concatenate([[tk], tk + offsets]) for tk in PULSES])
    a = np.tile([1.0, -THETA, -THETA, -THETA, -THETA], PULSES.size)
    return t, a


@pytest.fixture(scope="module")
def hand():
    res = hand_network().run(T_RUN, sample_times=np.linspace(0.0, T_RUN, 1201))
    t, a = expected_spikes()
    s = res.spikes("cell")
    assert np.all(s.i == 0)
    np.testing.assert_allclose(s.t, t, rtol=0, atol=1e-9)
    np.testing.assert_allclose(s.a, a, rtol=0, atol=1e-9)
    return res


@pytest.fixture(scope="module")
def layers():
    from eventsg.examples import two_layer_network
    net, _ = two_layer_network(n_inputs=40, n_hidden=30, n_out=20, fan_out=10, w_in=0.3,
                               w_hid=0.1, seed=3)
    res = net.run(200.0, sample_times=np.linspace(0.0, 200.0, 2001))
    assert len(res.spikes("hidden")) > 300 and len(res.spikes("output")) > 20
    return res


# ----------------------------------------------------------------------------
# measures on the hand-built case
# ----------------------------------------------------------------------------

def test_rates_silence_and_spikes_per_input(hand):
    # 15 spikes of neuron 0 in 60 ms; neuron 1 silent
    np.testing.assert_array_equal(an.spike_counts(hand, "cell"), [15, 0])
    np.testing.assert_allclose(an.firing_rates(hand, "cell"), [250.0, 0.0], rtol=1e-15)
    assert an.mean_rate(hand, "cell") == pytest.approx(125.0, rel=1e-15)
    assert an.silent_fraction(hand, "cell") == 0.5
    assert an.spikes_per_input_event(hand) == 5.0
    assert an.spikes_per_input_event(hand, "cell") == 5.0


def test_signed_counts(hand):
    # per pulse: 1 up, 3 down, 1 floor
    assert an.signed_counts(hand, "cell") == an.SignedCounts(up=3, down=9, floor=3)
    np.testing.assert_array_equal(an.spike_kinds(hand, "cell"), np.tile([1, -1, -1, -1, 0], 3))


def test_isi_cv_hand(hand):
    t, _ = expected_spikes()
    isi = np.diff(t)
    want = math.sqrt(sum((d - sum(isi) / len(isi)) ** 2 for d in isi) / len(isi)) \
        / (sum(isi) / len(isi))
    cv = an.isi_cv(hand, "cell")
    assert cv[0] == pytest.approx(want, rel=1e-9)
    assert math.isnan(cv[1])                           # no spikes: no CV
    assert an.mean_cv(hand, "cell") == pytest.approx(want, rel=1e-9)
    assert np.all(np.isnan(an.isi_cv(hand, "cell", min_spikes=16)))
    assert math.isnan(an.mean_cv(hand, "cell", min_spikes=16))


def test_population_rate_hand(hand):
    t, rate = an.population_rate(hand, "cell", bin_ms=1.0)
    np.testing.assert_allclose(t, np.arange(60) + 0.5)
    # every pulse's 5 spikes fall within 0.6 ms of it: 5 spikes / 2 neurons / 1 ms
    want = np.zeros(60)
    want[[1, 13, 40]] = 2500.0
    np.testing.assert_allclose(rate, want, rtol=1e-12)
    # 7 ms bins: the last bin [56, 60] is 4 ms wide
    t, rate = an.population_rate(hand, "cell", bin_ms=7.0)
    np.testing.assert_allclose(t, list(np.arange(8) * 7.0 + 3.5) + [58.0])
    counts = rate * 2 * np.append(np.full(8, 7.0), 4.0) * 1e-3
    np.testing.assert_allclose(counts, [5, 5, 0, 0, 0, 5, 0, 0, 0], atol=1e-12)


def test_population_rate_smoothing():
    # a constant rate stays constant up to the edges (edge correction); in the
    # interior the smoothing is scipy's Gaussian filter
    from scipy.ndimage import gaussian_filter1d
    rng = np.random.default_rng(0)
    times = np.sort(rng.uniform(0.0, 100.0, 400))
    net = esg.Network(seed=1)
    src = net.add(esg.SpikeSource(n=1, times=times, ids=np.zeros(400, int)))
    cell = net.add(esg.GammaPopulation(n=1, K=2, tau=[1.0, 2.0], theta=0.05, name="cell"))
    net.connect(src, cell, weights=np.array([[0.2]]), delay=0.5)
    res = net.run(100.0)
    _, raw = an.population_rate(res, "cell", bin_ms=0.5)
    _, smooth = an.population_rate(res, "cell", bin_ms=0.5, smooth_ms=2.0)
    ref = gaussian_filter1d(raw, sigma=4.0, mode="constant", cval=0.0, truncate=4.0)
    np.testing.assert_allclose(smooth[16:-16], ref[16:-16], rtol=1e-12)
    assert smooth.sum() == pytest.approx(raw.sum(), rel=0.05)
    assert not np.allclose(smooth, raw)


def test_reconstruction_error_hand(hand):
    st = hand.state("cell")
    s = hand.spikes("cell")
    # r rebuilt independently from the spikes (running sum of amplitudes) at the samples
    idx = np.searchsorted(s.t, st.t, side="right")
    r0 = np.concatenate([[0.0], np.cumsum(s.a)])[idx]
    np.testing.assert_allclose(st.r[:, 0], r0, atol=1e-12)
    err = np.abs(st.y - np.stack([r0, np.zeros_like(r0)], axis=1))
    e = an.reconstruction_error(hand, "cell")
    assert e.rms == pytest.approx(np.sqrt(np.mean(err ** 2)), rel=1e-9)
    assert e.max_abs == pytest.approx(err.max(), rel=1e-9)
    assert e.max_rel == pytest.approx(err.max() / THETA, rel=1e-9)
    assert 0.5 < e.max_rel <= 1.0 + 1e-12           # the sigma-delta bound, nearly reached


def test_stopped_run_uses_reached_time():
    with pytest.raises(esg.RunawayError) as info:
        hand_network().run(T_RUN, max_spikes=7)
    res = info.value.result
    assert res.status == "runaway" and res.t_reached < T_RUN / 2
    s = res.spikes("cell")
    want = np.bincount(s.i, minlength=2) / (res.t_reached * 1e-3)
    np.testing.assert_allclose(an.firing_rates(res, "cell"), want, rtol=1e-15)
    assert an.mean_rate(res, "cell") == pytest.approx(len(s) / 2 / (res.t_reached * 1e-3))
    t, rate = an.population_rate(res, "cell", bin_ms=1.0)
    edges = np.append(np.arange(math.ceil(res.t_reached)), res.t_reached)   # last bin partial
    np.testing.assert_allclose(t, 0.5 * (edges[:-1] + edges[1:]))
    counts, _ = np.histogram(s.t, bins=edges)
    np.testing.assert_allclose(rate * 2 * np.diff(edges) * 1e-3, counts, rtol=1e-12)
    assert an.spikes_per_input_event(res) == len(s) / res.stats.input_events


def test_summary_and_text(hand, layers):
    table = an.summary(hand)
    assert list(table) == ["cell"]
    p = table["cell"]
    assert (p.n, p.spikes, p.up, p.down, p.floor, p.n_cv) == (2, 15, 3, 9, 3, 1)
    assert p.rate_hz == pytest.approx(125.0) and p.silent_fraction == 0.5
    assert p.max_error_rel <= 1.0 + 1e-12
    text = an.format_summary(layers)
    lines = text.splitlines()
    assert any(line.split()[0] == "hidden" for line in lines[2:])
    row = next(line for line in lines if line.split()[0] == "output").split()
    assert int(row[2]) == len(layers.spikes("output"))
    # no recorded state: the error column shows "-"
    nostate = hand_network().run(T_RUN)
    assert math.isnan(an.summary(nostate)["cell"].max_error_rel)
    assert an.format_summary(nostate).splitlines()[2].split()[-1] == "-"


# ----------------------------------------------------------------------------
# a random two-layer network: numpy, invariants, Elephant
# ----------------------------------------------------------------------------

def test_measures_against_numpy(layers):
    for pop in layers.populations:
        s = layers.spikes(pop)
        n = layers.size(pop)
        counts = np.array([np.sum(s.i == j) for j in range(n)])
        np.testing.assert_allclose(an.firing_rates(layers, pop), counts / 0.2, rtol=1e-14)
        assert an.silent_fraction(layers, pop) == np.mean(counts == 0)
        t, rate = an.population_rate(layers, pop, bin_ms=2.5)
        hist, _ = np.histogram(s.t, bins=np.linspace(0.0, 200.0, 81))
        np.testing.assert_allclose(rate, hist / n / 2.5e-3, rtol=1e-12)
        sc = an.signed_counts(layers, pop)
        assert sc.up == np.sum(s.a > 0) and sc.down + sc.floor == np.sum(s.a < 0)
        # theta = 0.05, no adaptation: up spikes carry a >= theta, down spikes a <= -theta
        # (exactly -theta at a crossing, less where a pulse makes the state jump)
        kinds = an.spike_kinds(layers, pop)
        assert np.all(s.a[kinds == 1] >= 0.05 * (1 - 1e-12))
        down = s.a[kinds == -1]
        assert np.all(down <= -0.05 * (1 - 1e-12))
        assert np.mean(np.abs(down + 0.05) <= 1e-15) > 0.9
        assert an.reconstruction_error(layers, pop).max_rel <= 1.0 + 1e-12
    total = sum(len(layers.spikes(p)) for p in layers.populations)
    assert an.spikes_per_input_event(layers) == total / layers.stats.input_events


@pytest.mark.filterwarnings("ignore::DeprecationWarning")     # quantities, inside Elephant
def test_elephant_agrees(layers):
    import quantities as pq
    from elephant.statistics import cv, isi, mean_firing_rate, time_histogram
    for pop in layers.populations:
        trains = an.to_neo(layers, pop)
        rates = an.firing_rates(layers, pop)
        cvs = an.isi_cv(layers, pop)
        checked = 0
        for j, st in enumerate(trains):
            r = mean_firing_rate(st).rescale(pq.Hz).magnitude
            assert abs(r - rates[j]) <= 1e-12 * max(1.0, rates[j])
            if len(st) >= 3:
                assert abs(cv(isi(st)) - cvs[j]) <= 1e-12
                checked += 1
            else:
                assert math.isnan(cvs[j])
        assert checked > 5
        hist = time_histogram(trains, bin_size=5.0 * pq.ms, output="rate")
        _, rate = an.population_rate(layers, pop, bin_ms=5.0)
        np.testing.assert_allclose(rate, hist.rescale(pq.Hz).magnitude.ravel(), rtol=1e-12)


def test_to_neo(hand):
    import quantities as pq
    trains = an.to_neo(hand, "cell")
    assert len(trains) == 2
    st = trains[0]
    t, a = expected_spikes()
    assert st.units == pq.ms and st.t_start == 0.0 * pq.ms
    assert float(st.t_stop.rescale(pq.ms)) == hand.t_reached
    np.testing.assert_allclose(st.magnitude, t, atol=1e-9)
    np.testing.assert_allclose(st.array_annotations["amplitude"], a, atol=1e-9)
    assert st.annotations["population"] == "cell" and st.annotations["neuron"] == 0
    assert len(trains[1]) == 0 and trains[1].annotations["neuron"] == 1
    seg = an.to_neo_segment(hand)
    assert len(seg.spiketrains) == 2


def test_to_neo_without_neo(hand, monkeypatch):
    monkeypatch.setitem(sys.modules, "neo", None)
    with pytest.raises(ImportError, match=r"pip install eventsg\[neo\]"):
        an.to_neo(hand, "cell")


# ----------------------------------------------------------------------------
# plots
# ----------------------------------------------------------------------------

def _png(fig, path):
    fig.savefig(path, dpi=60)
    assert path.stat().st_size > 2000
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_plots_write_pngs(layers, hand, tmp_path):
    _png(an.raster(layers).figure, tmp_path / "raster.png")
    _png(an.plot_population_rate(layers, smooth_ms=3.0).figure, tmp_path / "rate.png")
    _png(an.plot_neuron_state(layers, "hidden", 3).figure, tmp_path / "state.png")
    _png(an.plot_sparsity(layers).figure, tmp_path / "sparsity.png")
    fig = an.overview_figure(layers)
    assert len(fig.axes) == 3
    _png(fig, tmp_path / "overview.png")
    fig = an.overview_figure(hand_network().run(T_RUN))      # no state: raster + rate only
    assert len(fig.axes) == 2
    _png(fig, tmp_path / "overview_nostate.png")


def test_plots_draw_into_given_axes(hand):
    from matplotlib.figure import Figure
    fig = Figure()
    axes = fig.subplots(2, 2)
    assert an.raster(hand, "cell", ax=axes[0, 0]) is axes[0, 0]
    assert an.plot_population_rate(hand, ax=axes[0, 1]) is axes[0, 1]
    assert an.plot_neuron_state(hand, "cell", 0, ax=axes[1, 0]) is axes[1, 0]
    assert an.plot_sparsity(hand, ax=axes[1, 1]) is axes[1, 1]
    # the raster's two colours: 3 up spikes and 12 down/floor spikes of neuron 0
    up, down = axes[0, 0].collections[:2]
    assert len(up.get_offsets()) == 3 and len(down.get_offsets()) == 12
    # the transmitted r drawn is the running sum of the amplitudes
    r_line = [ln for ln in axes[1, 0].lines if ln.get_label() == "r (transmitted)"][0]
    _, a = expected_spikes()
    np.testing.assert_allclose(r_line.get_ydata()[1:-1], np.cumsum(a), atol=1e-9)


def test_import_does_not_load_matplotlib_or_neo():
    code = ("import sys, eventsg.analysis; "
            "print('matplotlib' in sys.modules, 'neo' in sys.modules)")
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, env=env, check=True)
    assert out.stdout.split() == ["False", "False"]


# ----------------------------------------------------------------------------
# bad arguments
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf"), "1", True])
def test_bad_bin_width(hand, bad):
    with pytest.raises(esg.SpecError, match=r"bin_ms = .* is not allowed; bin_ms must be"):
        an.population_rate(hand, "cell", bin_ms=bad)


def test_bad_arguments(hand):
    with pytest.raises(esg.SpecError, match="smooth_ms"):
        an.population_rate(hand, "cell", smooth_ms=0.0)
    with pytest.raises(esg.SpecError, match="min_spikes = 1"):
        an.isi_cv(hand, "cell", min_spikes=1)
    with pytest.raises(esg.SpecError, match=r"neuron = 2 is not allowed.*\[0, 2\)"):
        an.plot_neuron_state(hand, "cell", 2)
    with pytest.raises(esg.SpecError, match="max_neurons"):
        an.raster(hand, max_neurons=0)
    with pytest.raises(KeyError, match="nope"):
        an.mean_rate(hand, "nope")
    with pytest.raises(KeyError, match="no state recorded"):
        an.plot_neuron_state(hand_network().run(T_RUN), "cell", 0)
