"""SHD/SSC files: layout checked with plain h5py, files from an independent writer,
seconds -> ms, one sample drives a network, sample-by-sample reads, bad files."""
import h5py
import numpy as np
import pytest

import eventsg as esg
from eventsg.io.shd import SHDDataset, write_shd

KEYS = ["zero", "one", "two", "fünf"]


def random_samples(n_samples=5, n_channels=700, seed=0):
    rng = np.random.default_rng(seed)
    times, units = [], []
    for k in range(n_samples):
        m = int(rng.integers(20, 200)) if k != 3 else 0          # sample 3 is empty
        times.append(np.sort(rng.random(m)) * 1.2)             # seconds, like SHD (< 1.4 s)
        units.append(rng.integers(0, n_channels, m))
    labels = rng.integers(0, len(KEYS), n_samples)
    return times, units, labels


@pytest.fixture
def shd_file(tmp_path):
    times, units, labels = random_samples()
    path = write_shd(tmp_path / "shd.h5", times, units, labels, keys=KEYS,
                     extra={"speaker": np.arange(5) % 2})
    return path, times, units, labels


def test_layout_read_with_plain_h5py(shd_file):
    path, times, units, labels = shd_file
    with h5py.File(path, "r") as f:
        assert set(f.keys()) == {"spikes", "labels", "extra"}
        for key, kind in (("spikes/times", "f"), ("spikes/units", "u")):
            base = h5py.check_vlen_dtype(f[key].dtype)
            assert base is not None and base.kind == kind
            assert f[key].shape == (5,)
        assert f["labels"].dtype.kind in "iu"
        np.testing.assert_array_equal(f["labels"][()], labels)
        assert [k.decode("utf-8") for k in f["extra/keys"][()]] == KEYS
        np.testing.assert_array_equal(f["extra/speaker"][()], np.arange(5) % 2)
        for k in range(5):
            np.testing.assert_array_equal(f["spikes/times"][k], times[k])
            np.testing.assert_array_equal(f["spikes/units"][k], units[k])


def test_read_back_in_ms(shd_file):
    path, times, units, labels = shd_file
    with SHDDataset(path) as ds:
        assert len(ds) == 5 and ds.n_channels == 700
        assert ds.class_names == KEYS
        np.testing.assert_array_equal(ds.labels, labels)
        np.testing.assert_array_equal(ds.extra("speaker"), np.arange(5) % 2)
        assert ds.extra("nope") is None
        for k, s in enumerate(ds):
            assert s.times_ms.dtype == np.float64 and s.units.dtype == np.int64
            assert np.all(np.diff(s.times_ms) >= 0)
            np.testing.assert_array_equal(s.times_ms, times[k] * 1000.0)
            np.testing.assert_array_equal(s.units, units[k])
            assert s.label == labels[k] and len(s) == len(times[k])
            want = times[k].max() * 1000.0 if len(times[k]) else 0.0
            assert ds.duration_ms(k) == want
        assert len(ds[3]) == 0 and ds.duration_ms(3) == 0.0
        for name in set(KEYS):
            want = np.flatnonzero(labels == KEYS.index(name))
            np.testing.assert_array_equal(ds.indices(name), want)
            np.testing.assert_array_equal(ds.indices(KEYS.index(name)), want)


def test_file_from_an_independent_writer(tmp_path):
    """A file made with plain h5py as the published ones are (float16 s, uint16 units,
    bytes keys, unsorted times, no eventsg attribute) reads with times * 1000."""
    rng = np.random.default_rng(5)
    path = tmp_path / "real_layout.h5"
    times = [rng.random(m).astype(np.float16) for m in (40, 7, 0, 90)]
    units = [rng.integers(0, 700, t.size).astype(np.uint16) for t in times]
    with h5py.File(path, "w") as f:
        f.create_dataset("spikes/times", data=np.array(times + [None], dtype=object)[:-1],
                         dtype=h5py.vlen_dtype(np.float16))
        f.create_dataset("spikes/units", data=np.array(units + [None], dtype=object)[:-1],
                         dtype=h5py.vlen_dtype(np.uint16))
        f.create_dataset("labels", data=np.array([3, 1, 0, 19], dtype=np.uint16))
        f.create_dataset("extra/keys", data=np.array([b"k%d" % i for i in range(20)]))
    with SHDDataset(path) as ds:
        assert len(ds) == 4 and ds.n_channels == 700
        assert ds.class_names == [f"k{i}" for i in range(20)]
        for k in range(4):
            s = ds.sample(k)
            order = np.argsort(times[k].astype(np.float64), kind="stable")
            np.testing.assert_array_equal(s.times_ms, times[k].astype(np.float64)[order] * 1000)
            np.testing.assert_array_equal(s.units, units[k][order])
        assert ds.sample(3).label == 19
    with SHDDataset(path, n_channels=1000) as ds:
        assert ds.n_channels == 1000 and ds.source(0).n == 1000


def test_float16_times_like_the_published_files(tmp_path):
    times, units, labels = random_samples(3, seed=2)
    path = write_shd(tmp_path / "f16.h5", times, units, labels, time_dtype="float16")
    with h5py.File(path, "r") as f:
        assert h5py.check_vlen_dtype(f["spikes/times"].dtype) == np.float16
        raw = [f["spikes/times"][k] for k in range(3)]
    with SHDDataset(path) as ds:
        assert ds.class_names is None
        for k in range(3):
            np.testing.assert_array_equal(ds.sample(k).times_ms,
                                          np.sort(raw[k].astype(np.float64)) * 1000.0)
            # float16 keeps about 3 decimal digits: within 1 ms of the float64 times
            assert np.max(np.abs(ds.sample(k).times_ms - times[k] * 1000)) < 1.0


def test_sample_drives_a_network(shd_file):
    path, times, units, labels = shd_file
    with SHDDataset(path) as ds:
        src = ds.source(1, name="shd", t_offset=2.0)
        assert isinstance(src, esg.SpikeSource) and src.n == 700 and src.coding == "pulse"
        np.testing.assert_array_equal(src.times, times[1] * 1000.0 + 2.0)
        assert ds.source(1, coding="delta").coding == "delta"
    net = esg.Network(seed=1)
    net.add(src)
    hid = net.add(esg.GammaPopulation(n=4, K=2, tau=[2.0, 8.0], theta=0.05, name="hid"))
    w = np.random.default_rng(1).normal(0.0, 0.5, (700, 4))
    net.connect(src, hid, weights=w, delay=1.0)
    res = net.run(duration=src.times.max() + 10.0)
    assert res.stats.input_events == len(times[1]) > 0
    assert len(res.spikes(hid)) > 0


def test_reading_a_sample_reads_only_that_sample(shd_file, monkeypatch):
    path = shd_file[0]
    reads = []
    original = h5py.Dataset.__getitem__

    def spy(self, selection, *args, **kwargs):
        reads.append((self.name, selection))
        return original(self, selection, *args, **kwargs)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
    with SHDDataset(path) as ds:
        assert not any(name.startswith("/spikes") for name, _ in reads)   # opening reads none
        reads.clear()
        ds.sample(2)
        ds.duration_ms(4)
        ds.source(2)
    spikes = [(name, sel) for name, sel in reads if name.startswith("/spikes")]
    assert spikes and {sel for _, sel in spikes} <= {2, 4}
    assert {(n, s) for n, s in spikes} >= {("/spikes/times", 2), ("/spikes/units", 2),
                                           ("/spikes/times", 4)}


def test_a_bad_sample_does_not_stop_the_others(tmp_path):
    """Sample 1 has a unit outside 700 channels and sample 2 mismatched arrays: the
    others still read, and those two raise errors naming them."""
    times, units, labels = random_samples(4, n_channels=700, seed=3)
    units[1] = units[1].copy()
    units[1][-1] = 900
    path = write_shd(tmp_path / "bad.h5", times, units, labels, n_channels=1000)
    with h5py.File(path, "r+") as f:
        f["spikes/units"][2] = np.arange(3, dtype=np.uint16)            # 3 units, more times
    with SHDDataset(path, n_channels=700) as ds:
        np.testing.assert_array_equal(ds.sample(0).units, units[0])
        np.testing.assert_array_equal(ds.sample(3).units, units[3])
        with pytest.raises(esg.SpecError, match=r"sample 1 has unit 900; units must be in "
                                                r"\[0, 700\)"):
            ds.sample(1)
        with pytest.raises(esg.SpecError, match="sample 2 has .* spike times but 3 units"):
            ds.sample(2)
    with SHDDataset(path) as ds:                        # the file's own n_channels (1000)
        assert ds.n_channels == 1000 and ds.sample(1).units.max() == 900


def test_index_errors(shd_file):
    with SHDDataset(shd_file[0]) as ds:
        for k in (-1, 5, 100):
            with pytest.raises(IndexError, match=r"sample index -?\d+ out of range; it must be in "
                                                 r"\[0, 5\)"):
                ds.sample(k)
        with pytest.raises(TypeError, match="must be an integer"):
            ds.sample(1.0)
        with pytest.raises(esg.SpecError, match="label = 'six' is not allowed"):
            ds.indices("six")
        with pytest.raises(esg.SpecError, match="t_offset = -1.0 is not allowed"):
            ds.source(0, t_offset=-1.0)
        with pytest.raises(esg.SpecError, match="coding"):
            ds.source(0, coding="rate")
    ds.close()
    ds.close()
    with pytest.raises(ValueError, match="is closed"):
        ds.sample(0)
    with pytest.raises(esg.SpecError, match="n_channels = 0 is not allowed"):
        SHDDataset(shd_file[0], n_channels=0)


def _copy_without(src, dst, drop=(), change=None):
    with h5py.File(src, "r") as f, h5py.File(dst, "w") as g:
        for key in ("spikes/times", "spikes/units", "labels"):
            if key in drop:
                continue
            data = f[key][()]
            if change and key in change:
                data = change[key](data)
            g.create_dataset(key, data=data, dtype=f[key].dtype)
    return dst


def test_bad_files(shd_file, tmp_path):
    src = shd_file[0]
    for missing in ("spikes/times", "spikes/units", "labels"):
        bad = _copy_without(src, tmp_path / f"no_{missing.replace('/', '_')}.h5", drop=(missing,))
        with pytest.raises(esg.SpecError, match=f"{bad.name}.*no dataset '{missing}'"):
            SHDDataset(bad)
    short = _copy_without(src, tmp_path / "short.h5", change={"labels": lambda a: a[:4]})
    with pytest.raises(esg.SpecError, match=r"different numbers of samples \(spikes/times: 5, "
                                            r"spikes/units: 5, labels: 4\)"):
        SHDDataset(short)
    with h5py.File(tmp_path / "flat.h5", "w") as f:
        f["spikes/times"] = np.zeros(5)
        f["spikes/units"] = np.zeros(5, dtype=np.uint16)
        f["labels"] = np.zeros(5, dtype=np.uint16)
    with pytest.raises(esg.SpecError, match="'spikes/times' has dtype float64; it must be a "
                                            "ragged"):
        SHDDataset(tmp_path / "flat.h5")
    with pytest.raises((FileNotFoundError, OSError)):
        SHDDataset(tmp_path / "absent.h5")


def test_write_errors_and_atomicity(tmp_path):
    times, units, labels = random_samples(3)
    path = write_shd(tmp_path / "x.h5", times, units, labels)
    before = path.read_bytes()
    bad_units = [u.copy() for u in units]
    bad_units[2][0] = 700
    cases = [
        (dict(units=bad_units), r"sample 2 has units outside the integers in \[0, 700\)"),
        (dict(labels=labels[:2]), "times_s has 3 samples, units 3 and labels shape"),
        (dict(times_s=[times[0], times[1], -times[2]]), "sample 2 has a time"),
        (dict(units=[units[0], units[1], units[2][:-1]]), "sample 2 has .* times but"),
        (dict(keys=["a"]), "keys; labels must be in"),
        (dict(n_channels=0), "n_channels = 0 is not allowed"),
        (dict(time_dtype="int32"), "time_dtype = 'int32' is not allowed"),
        (dict(extra={"speaker": [1, 2]}), r"extra\['speaker'\] has shape \(2,\)"),
    ]
    for change, message in cases:
        args = {**dict(times_s=times, units=units, labels=labels), **change}
        if "keys" in change:
            args["labels"] = np.array([0, 1, 0])
        with pytest.raises(esg.SpecError, match=message):
            write_shd(path, **args)
        assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.h5"]
