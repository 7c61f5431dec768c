"""Generated data sets: the Sample / SpikeDataset container, Randman and the hidden
temporal pattern task, and detection scoring."""
import re

import numpy as np
import pytest

import eventsg as esg
from eventsg import SpecError
from eventsg.datasets import (RandomManifold, Sample, SpikeDataset, detection_scores, randman,
                              spike_time_matrix, temporal_pattern)


def refused(param, value):
    return pytest.raises(SpecError, match=rf"\b{re.escape(param)} = [^;]*{value}")


def same_dataset(a, b):
    return len(a) == len(b) and all(
        np.array_equal(x.times, y.times) and np.array_equal(x.ids, y.ids) and x.label == y.label
        for x, y in zip(a, b))


# ------------------------------------------------------------------ container

def _toy(n=10):
    return SpikeDataset([Sample.make([3.0, 1.0], [1, 0], 2, 5.0, label=k % 2) for k in range(n)],
                        n_channels=2, n_classes=2, class_names=("a", "b"), name="toy")


def test_sample_make_sorts_and_freezes():
    s = Sample.make([3.0, 1.0, 2.0], [0, 1, 2], 3, 4.0, amplitudes=[1.0, -1.0, 2.0], label=1)
    assert s.times.tolist() == [1.0, 2.0, 3.0] and s.ids.tolist() == [1, 2, 0]
    assert s.amplitudes.tolist() == [-1.0, 2.0, 1.0]
    assert s.times.dtype == np.float64 and s.ids.dtype == np.int64 and s.n_events == 3
    with pytest.raises(ValueError):
        s.times[0] = 9.0
    assert Sample.make([], [], 2, 1.0).label == -1


@pytest.mark.parametrize("kwargs, param, value", [
    (dict(ids=[0, 5]), "ids", "5"),
    (dict(ids=[0]), "ids", r"shape \(1,\)"),
    (dict(times=[1.0, 9.0]), "times", r"9\.0"),
    (dict(times=[-1.0, 1.0]), "times", r"-1\.0"),
    (dict(label=-2), "label", "-2"),
    (dict(n_channels=0), "n_channels", "0"),
    (dict(target=([0.0, 2.0, 1.0], [0.0, 1.0, 0.0])), "target", r"2\."),
    (dict(amplitudes=[1.0]), "amplitudes", r"1\."),
])
def test_sample_refuses_bad_values(kwargs, param, value):
    args = dict(times=[1.0, 2.0], ids=[0, 1], n_channels=2, duration_ms=5.0) | kwargs
    with refused(param, value):
        Sample.make(**args)


def test_sample_source_is_a_spike_source():
    s = Sample.make([2.0, 1.0], [1, 0], 3, 5.0, label=0)
    src = s.source(name="inp", coding="delta")
    assert isinstance(src, esg.SpikeSource) and src.n == 3 and src.coding == "delta"
    assert src.times.tolist() == [1.0, 2.0] and src.ids.tolist() == [0, 1] and src.name == "inp"
    assert s.source().coding == "pulse"
    esg.Network(seed=0).add(s.source())


def test_dataset_indexing_split_and_shuffle():
    ds = _toy(10)
    assert len(ds) == 10 and isinstance(ds[3], Sample) and len(list(ds)) == 10
    assert len(ds[2:5]) == 3 and ds[2:5].class_names == ("a", "b")
    assert ds[np.array([1, 3])].labels.tolist() == [1, 1]
    a, b = ds.split(0.7, seed=3)
    assert len(a) == 7 and len(b) == 3
    a2, _ = ds.split(0.7, seed=3)
    assert same_dataset(a, a2)
    assert ds.shuffled(seed=1).labels.sum() == ds.labels.sum()
    assert same_dataset(ds.shuffled(5), ds.shuffled(5))
    with refused("fraction", r"1\.5"):
        ds.split(1.5, seed=0)


def test_dataset_refuses_mismatched_samples():
    with refused("samples[0].n_channels", "3"):
        SpikeDataset([Sample.make([1.0], [0], 3, 2.0)], n_channels=2)
    with refused("samples[0].label", "4"):
        SpikeDataset([Sample.make([1.0], [0], 2, 2.0, label=4)], n_channels=2, n_classes=2)
    with refused("class_names", "a"):
        SpikeDataset([], n_channels=2, n_classes=2, class_names=("a",))


# ------------------------------------------------------------------ randman

@pytest.fixture(scope="module")
def rm():
    return randman(seed=0)


def test_randman_is_deterministic(rm):
    again = randman(seed=0)
    assert all(same_dataset(a, b) for a, b in zip(rm, again))
    assert not same_dataset(rm[0], randman(seed=1)[0])
    small_train, _ = randman(seed=0, n_test=0)        # train does not depend on n_test
    assert same_dataset(small_train, rm[0])
    man = rm[0].meta["manifolds"][2]                   # a point's value does not depend on its batch
    x = np.random.default_rng(1).random((300, 1))
    assert np.array_equal(man(x)[:20], np.concatenate([man(x[i:i + 1]) for i in range(20)]))


def test_randman_one_spike_per_channel_inside_the_window(rm):
    train, test = rm
    assert len(train) == 1000 and len(test) == 500 and train.n_channels == 20
    for s in list(train) + list(test):
        assert np.array_equal(np.sort(s.ids), np.arange(20))
        assert s.times.min() >= 0.0 and s.times.max() <= 50.0 and s.duration_ms == 50.0
    assert np.bincount(train.labels).tolist() == [100] * 10
    shifted, _ = randman(n_train=20, n_test=0, t_offset_ms=10.0, duration_ms=30.0)
    X = spike_time_matrix(shifted)
    assert X.min() >= 10.0 and X.max() <= 40.0 and shifted[0].duration_ms == 40.0


def test_randman_manifolds_fill_the_unit_range():
    for dim in (1, 2):
        man = randman(n_classes=1, n_train=1, n_test=0, dim_manifold=dim, seed=4)[0].meta["manifolds"][0]
        assert isinstance(man, RandomManifold)
        g = np.linspace(0.0, 1.0, 2001 if dim == 1 else 151)
        x = g[:, None] if dim == 1 else np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)
        v = man(x)
        assert v.min() >= 0.0 and v.max() <= 1.0
        tol = 1e-3 if dim == 1 else 2e-2                             # grid spacing limits the check
        assert np.all(v.min(axis=0) < tol) and np.all(v.max(axis=0) > 1 - tol)


def test_randman_is_smooth(rm):
    """|t(x) - t(x')| <= L |x - x'| with L from the series' derivative bound, and
    nearby manifold points give nearby spike-time vectors."""
    train, _ = rm
    man = train.meta["manifolds"][0]
    slope = 2 * np.pi * np.sum(man.amplitude * man.weight * man.frequency, axis=(1, 2))
    lip = 50.0 * slope / (man.hi - man.lo)                     # ms per unit of x, per channel
    rng = np.random.default_rng(0)
    x = rng.random((400, 1))
    for dx in (1e-2, 1e-4, 1e-6):
        step = np.abs(man(np.clip(x + dx, 0, 1)) - man(x)) * 50.0
        assert np.all(step <= lip * dx * (1 + 1e-9) + 1e-12)
    sel = np.flatnonzero(train.labels == 0)
    coords = np.array([train[i].meta["coords"][0] for i in sel])
    X = spike_time_matrix(train[sel])
    order = np.argsort(coords)
    near = np.linalg.norm(np.diff(X[order], axis=0), axis=1) / np.diff(coords[order])
    assert near.max() <= np.linalg.norm(lip)
    far = np.linalg.norm(X[rng.integers(0, len(sel), 200)] - X[rng.integers(0, len(sel), 200)], axis=1)
    assert np.median(np.linalg.norm(np.diff(X[order], axis=0), axis=1)) < 0.1 * np.median(far)


def _one_nn(train_x, train_y, test_x):
    d = ((test_x[:, None, :] - train_x[None, :, :]) ** 2).sum(axis=-1)
    return train_y[d.argmin(axis=1)]


def test_randman_classes_are_separable_by_timing(rm):
    train, test = rm
    X, Y = spike_time_matrix(train), spike_time_matrix(test)
    acc = np.mean(_one_nn(X, train.labels, Y) == test.labels)
    assert acc > 0.9
    shuffled = np.random.default_rng(7).permutation(train.labels)
    control = np.mean(_one_nn(X, shuffled, Y) == test.labels)
    assert control < 0.2                                        # chance is 0.1
    counts = np.array([[np.sum(s.ids == c) for c in range(20)] for s in train])
    assert np.all(counts == 1)                                  # spike counts carry nothing


def test_randman_two_dimensional_and_custom_basis():
    train, test = randman(n_classes=3, n_channels=10, n_train=300, n_test=60, dim_manifold=2,
                          n_basis=3, seed=2)
    assert train[0].meta["coords"].shape == (2,)
    assert train.meta["manifolds"][0].n_basis == 3
    acc = np.mean(_one_nn(spike_time_matrix(train), train.labels, spike_time_matrix(test)) == test.labels)
    assert acc > 0.9


@pytest.mark.parametrize("kwargs, param, value", [
    (dict(n_classes=0), "n_classes", "0"),
    (dict(alpha=-1.0), "alpha", r"-1\.0"),
    (dict(n_basis=0), "n_basis", "0"),
    (dict(duration_ms=0.0), "duration_ms", r"0\.0"),
    (dict(dim_manifold=1.5), "dim_manifold", r"1\.5"),
    (dict(seed=-3), "seed", "-3"),
])
def test_randman_refuses_bad_values(kwargs, param, value):
    with refused(param, value):
        randman(**kwargs)


# ------------------------------------------------------------------ temporal pattern

@pytest.fixture(scope="module")
def tp():
    return temporal_pattern(n_train=20, n_test=5, occurrences=(1, 3), seed=3)


def test_temporal_pattern_is_deterministic(tp):
    again = temporal_pattern(n_train=20, n_test=5, occurrences=(1, 3), seed=3)
    assert all(same_dataset(a, b) for a, b in zip(tp, again))
    other = temporal_pattern(n_train=20, n_test=5, occurrences=(1, 3), seed=4)
    assert not same_dataset(tp[0], other[0])
    assert not np.array_equal(tp[0].meta["pattern_times"], other[0].meta["pattern_times"])


def test_occurrences_contain_the_pattern(tp):
    train, _ = tp
    p_t, p_i = train.meta["pattern_times"], train.meta["pattern_ids"]
    assert p_t.size > 0 and p_t.min() >= 0.0 and p_t.max() < 50.0
    for s in train:
        for on in s.meta["onsets"]:
            inside = (s.times >= on) & (s.times < on + 50.0)
            got = sorted(zip(s.ids[inside].tolist(), (s.times[inside] - on).tolist()))
            want = sorted(zip(p_i.tolist(), p_t.tolist()))
            # "replace": the window holds exactly the pattern (all channels are in it)
            assert len(got) == len(want)
            assert all(a[0] == b[0] and abs(a[1] - b[1]) < 1e-9 for a, b in zip(got, want))


def test_onsets_are_separated_and_inside(tp):
    for s in tp[0]:
        on, end = s.meta["onsets"], s.meta["ends"]
        assert 1 <= on.size <= 3 and s.label == 1
        assert np.allclose(end - on, 50.0) and on.min() >= 0.0 and end.max() + 10.0 <= s.duration_ms
        assert np.all(on[1:] - end[:-1] >= 50.0 - 1e-9)
        t, v = s.target
        assert np.all(np.diff(t) >= 0) and t[0] == 0.0 and t[-1] == s.duration_ms
        assert np.all(np.interp(end + 5.0, t, v) == 1.0)
        assert np.all(np.interp(on + 25.0, t, v) == 0.0)
        assert np.sum(np.diff(t) * (v[1:] + v[:-1]) / 2) == pytest.approx(10.0 * on.size)
    sizes = [s.meta["onsets"].size for s in tp[0]]
    assert set(sizes) == {1, 2, 3}
    none, _ = temporal_pattern(n_channels=5, occurrences=0, n_train=3, n_test=0)
    assert all(s.label == 0 and s.meta["onsets"].size == 0 for s in none)


def _window_mask(s, pad=0.0):
    inside = np.zeros(s.times.size, dtype=bool)
    for on in s.meta["onsets"]:
        inside |= (s.times >= on - pad) & (s.times < on + 50.0 + pad)
    return inside


def test_background_rate_is_as_configured():
    rate = 20.0
    train, _ = temporal_pattern(n_channels=100, rate_hz=rate, occurrences=2, n_train=20, n_test=0, seed=5)
    count, span = 0, 0.0
    for s in train:
        count += np.sum(~_window_mask(s))
        span += 100 * (s.duration_ms - 2 * 50.0)
    expected = rate * span * 1e-3
    assert abs(count - expected) < 4 * np.sqrt(expected)         # Poisson, 4 sigma
    total = sum(s.n_events for s in train)                        # replace keeps the mean rate
    assert total / (20 * 100 * 1.0) == pytest.approx(rate, rel=0.1)


def test_keep_adds_the_pattern_on_top_of_the_background():
    kw = dict(n_channels=50, rate_hz=10.0, spikes_per_channel=2, n_train=20, n_test=0, seed=6)
    keep, _ = temporal_pattern(background="keep", **kw)
    repl, _ = temporal_pattern(background="replace", **kw)
    n_keep = sum(np.sum(_window_mask(s)) for s in keep)
    n_repl = sum(np.sum(_window_mask(s)) for s in repl)
    assert n_repl == 20 * 2 * 50 * 2                              # exactly the pattern
    extra = 20 * 2 * 50 * 10.0 * 0.05                             # expected background inside
    assert abs(n_keep - n_repl - extra) < 4 * np.sqrt(extra)
    assert np.all(np.bincount(keep.meta["pattern_ids"], minlength=50) == 2)


def test_pattern_fraction_and_jitter():
    train, _ = temporal_pattern(n_channels=40, pattern_fraction=0.5, spikes_per_channel=1,
                                jitter_ms=1.0, n_train=5, n_test=0, seed=8)
    chans = train.meta["pattern_channels"]
    assert chans.size == 20 and np.array_equal(np.unique(train.meta["pattern_ids"]), chans)
    p_t, p_i = train.meta["pattern_times"], train.meta["pattern_ids"]
    for s in train:
        for on in s.meta["onsets"]:
            for t, i in zip(p_t, p_i):
                near = s.times[(s.ids == i) & (np.abs(s.times - on - t) < 5.0)]
                assert near.size >= 1


@pytest.mark.parametrize("kwargs, param, value", [
    (dict(occurrences=(3, 1)), "occurrences", r"\[3 1\]"),
    (dict(occurrences=-1), "occurrences", "-1"),
    (dict(duration_ms=100.0), "duration_ms", r"100\.0"),
    (dict(target_ms=200.0), "target_ms", r"200\.0"),
    (dict(background="drop"), "background", "drop"),
    (dict(pattern_fraction=1.5), "pattern_fraction", r"1\.5"),
    (dict(rate_hz=-1.0), "rate_hz", r"-1\.0"),
])
def test_temporal_pattern_refuses_bad_values(kwargs, param, value):
    with refused(param, value):
        temporal_pattern(**kwargs)


# ------------------------------------------------------------------ detection scores

def test_detection_scores_hand_made_cases():
    true = np.array([100.0, 300.0, 500.0, 700.0])
    perfect = detection_scores(true, true, 5.0)
    assert (perfect.precision, perfect.recall, perfect.f1, perfect.median_abs_error_ms) == (1, 1, 1, 0)
    miss = detection_scores(true[[0, 1, 3]], true, 5.0)
    assert miss.precision == 1.0 and miss.recall == 0.75 and miss.f1 == pytest.approx(6 / 7)
    alarm = detection_scores(np.append(true, 400.0), true, 5.0)
    assert alarm.precision == 0.8 and alarm.recall == 1.0 and alarm.n_matched == 4
    late = detection_scores(true + np.array([1.0, 2.0, -3.0, 4.0]), true, 5.0)
    assert late.f1 == 1.0 and late.median_abs_error_ms == 2.5
    assert late.errors_ms.tolist() == [1.0, 2.0, -3.0, 4.0]
    too_late = detection_scores(true + 6.0, true, 5.0)
    assert too_late.n_matched == 0 and too_late.f1 == 0.0 and np.isnan(too_late.median_abs_error_ms)


def test_detection_matching_is_one_to_one_and_optimal():
    # greedy nearest-first would pair 2.0 with 1.5 and leave 0.0 unmatched
    s = detection_scores([1.5, 3.5], [0.0, 2.0], 1.5)
    assert s.n_matched == 2 and s.matches.tolist() == [[0, 0], [1, 1]]
    double = detection_scores([10.0, 10.5], [10.2], 1.0)         # one true event, two detections
    assert double.n_matched == 1 and double.precision == 0.5 and double.matches.tolist() == [[0, 0]]
    least = detection_scores([1.0, 2.0], [1.1, 1.9], 1.0)        # same count: least total error
    assert least.matches.tolist() == [[0, 0], [1, 1]]


def test_detection_scores_edge_cases():
    empty = detection_scores([], [], 1.0)
    assert (empty.precision, empty.recall, empty.f1) == (1.0, 1.0, 1.0)
    nothing = detection_scores([], [5.0], 1.0)
    assert (nothing.precision, nothing.recall, nothing.f1) == (1.0, 0.0, 0.0)
    exact = detection_scores([5.0, 6.0], [5.0], 0.0)
    assert exact.n_matched == 1
    with refused("tolerance_ms", r"-1\.0"):
        detection_scores([1.0], [1.0], -1.0)
    with refused("detected_times", "nan"):
        detection_scores([np.nan], [1.0], 1.0)


def test_detection_on_generated_ends(tp):
    s = tp[0][0]
    ends = s.meta["ends"]
    assert detection_scores(ends + 2.0, ends, 3.0).f1 == 1.0
    assert isinstance(s.source(name="spikes"), esg.SpikeSource)
