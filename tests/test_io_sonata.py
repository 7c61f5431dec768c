"""SONATA spike files: layout read back with plain h5py, windows, atomic writes."""
import h5py
import numpy as np
import pytest

import eventsg as esg
from eventsg.io import read_spikes, spike_populations, write_spikes


@pytest.fixture(scope="module")
def result():
    from eventsg.examples import two_layer_network
    net, _ = two_layer_network(n_inputs=60, n_hidden=80, n_out=60, fan_out=20, w_in=0.3,
                               w_hid=0.1, seed=3)
    res = net.run(duration=200.0)
    assert len(res.spikes("hidden")) > 100 and len(res.spikes("output")) > 20
    return res


def test_layout_is_sonata(tmp_path, result):
    path = write_spikes(tmp_path / "out.h5", result)
    with h5py.File(path, "r") as f:
        root = f["spikes"]
        assert int(root.attrs["magic"]) == 0x0A7A
        assert list(root.attrs["version"]) == [0, 1]
        for name in ("hidden", "output"):
            g = root[name]
            mapping = h5py.check_enum_dtype(g.attrs.get_id("sorting").dtype)
            assert mapping == {"none": 0, "by_id": 1, "by_time": 2}
            assert int(g.attrs["sorting"]) == 2
            assert g["timestamps"].dtype == np.float64
            assert g["node_ids"].dtype == np.uint64
            assert g["timestamps"].attrs["units"] == "ms"
            assert g["timestamps"].chunks is not None
            t = g["timestamps"][:]
            assert np.all(np.diff(t) >= 0)
            s = result.spikes(name)
            # same multiset of spikes as the run, in time order
            want = sorted(zip(s.t, s.i, s.a))
            got = sorted(zip(t, g["node_ids"][:].astype(np.int64), g["amplitudes"][:]))
            assert got == want


def test_read_back_windows_and_ids(tmp_path, result):
    path = write_spikes(tmp_path / "out.h5", result)
    assert spike_populations(path) == ["hidden", "output"]
    s = result.spikes("hidden")
    full = read_spikes(path, "hidden")
    assert len(full) == len(s)
    win = read_spikes(path, "hidden", t_start=50.0, t_stop=120.0, node_ids=[1, 2, 3, 40])
    mask = (s.t >= 50.0) & (s.t <= 120.0) & np.isin(s.i, [1, 2, 3, 40])
    assert len(win) == int(mask.sum()) > 0
    assert sorted(zip(win.t, win.i, win.a)) == sorted(zip(s.t[mask], s.i[mask], s.a[mask]))
    with pytest.raises(KeyError, match="no spike population 'nope'"):
        read_spikes(path, "nope")


@pytest.mark.parametrize("sorting", ["by_id", "none"])
def test_other_sortings(tmp_path, result, sorting):
    path = write_spikes(tmp_path / "out.h5", result, sorting=sorting)
    with h5py.File(path, "r") as f:
        g = f["spikes/output"]
        assert int(g.attrs["sorting"]) == {"by_id": 1, "none": 0}[sorting]
        ids = g["node_ids"][:]
        if sorting == "by_id":
            assert np.all(np.diff(ids.astype(np.int64)) >= 0)
    win = read_spikes(path, "output", t_start=10.0, t_stop=90.0)
    s = result.spikes("output")
    assert len(win) == int(((s.t >= 10.0) & (s.t <= 90.0)).sum())


def test_failed_write_keeps_the_previous_file(tmp_path, result, monkeypatch):
    path = tmp_path / "out.h5"
    write_spikes(path, result, populations=["hidden"])
    before = path.read_bytes()

    def broken(name):
        if name == "output":
            raise RuntimeError("disk on fire")
        return type(result).spikes(result, name)

    monkeypatch.setattr(result, "spikes", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_spikes(path, result)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.h5"]


def test_bad_sorting_is_named(tmp_path, result):
    with pytest.raises(esg.SpecError, match="sorting = 'random'"):
        write_spikes(tmp_path / "x.h5", result, sorting="random")


def test_gzip_is_available_for_h5py_readers(tmp_path, result):
    path = write_spikes(tmp_path / "z.h5", result, compression="gzip")
    with h5py.File(path, "r") as f:
        assert f["spikes/hidden/timestamps"].compression == "gzip"
    assert len(read_spikes(path, "hidden")) == len(result.spikes("hidden"))


def test_libsonata_reads_our_files(tmp_path, result):
    libsonata = pytest.importorskip("libsonata")
    path = write_spikes(tmp_path / "out.h5", result)
    reader = libsonata.SpikeReader(str(path))
    assert sorted(reader.get_population_names()) == ["hidden", "output"]
    pop = reader["hidden"]
    assert str(pop.sorting) == "by_time"
    s = result.spikes("hidden")
    got = pop.get()
    assert len(got) == len(s)
    assert sorted((int(i), float(t)) for i, t in got) == sorted(zip(s.i.tolist(), s.t.tolist()))
    sel = pop.get(node_ids=[1, 2, 3], tstart=50.0, tstop=120.0)
    mask = (s.t >= 50.0) & (s.t <= 120.0) & np.isin(s.i, [1, 2, 3])
    assert len(sel) == int(mask.sum()) > 0


def test_written_files_get_normal_permissions(tmp_path, result):
    """A new file gets 0o666 less the umask (not the temporary file's 0o600); a
    replaced file keeps its mode."""
    import os
    old = os.umask(0o022)
    try:
        path = write_spikes(tmp_path / "new.h5", result)
        assert os.stat(path).st_mode & 0o777 == 0o644
        os.chmod(path, 0o640)
        write_spikes(path, result)
        assert os.stat(path).st_mode & 0o777 == 0o640
    finally:
        os.umask(old)
