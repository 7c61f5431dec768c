"""NWB export: read back with pynwb and plain h5py, every neuron's spikes in seconds."""
import datetime
import sys

import h5py
import numpy as np
import pytest

import eventsg as esg
from eventsg.io.nwb import export_nwb

pynwb = pytest.importorskip("pynwb")


@pytest.fixture(scope="module")
def result():
    net = esg.Network(seed=4)
    inp = net.add(esg.PoissonSource(n=20, rate=200.0, name="inp"))
    a = net.add(esg.GammaPopulation(n=6, K=3, tau=[1.0, 3.0, 9.0], theta=0.05, name="a"))
    b = net.add(esg.GammaPopulation(n=4, K=2, tau=[2.0, 6.0], theta=0.05, name="b"))
    w = np.random.default_rng(2).normal(0.3, 0.4, (20, 6))
    w[:, 5] = 0.0                                     # neuron a5 gets no input: silent
    net.connect(inp, a, weights=w, delay=0.5)
    net.connect(a, b, weights=np.random.default_rng(3).normal(0.2, 0.5, (6, 4)), delay=1.0)
    res = net.run(duration=100.0)
    assert len(res.spikes("a")) > 20 and len(res.spikes("b")) > 5
    assert not np.any(res.spikes("a").i == 5)
    return res


def test_units_read_back_with_pynwb(tmp_path, result):
    path = export_nwb(tmp_path / "run.nwb", result, session_description="tiny run")
    assert list(pynwb.validate(path=str(path))) == []            # valid against the NWB schema
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        f = io.read()
        assert f.session_description == "tiny run"
        assert f.session_start_time == datetime.datetime(1970, 1, 1,
                                                         tzinfo=datetime.timezone.utc)
        units = f.units
        assert len(units) == 10                                   # 6 + 4, silent ones too
        assert list(units["population"][:]) == ["a"] * 6 + ["b"] * 4
        assert list(units["neuron_id"][:]) == list(range(6)) + list(range(4))
        row = 0
        for pop in ("a", "b"):
            s = result.spikes(pop)
            for j in range(result.size(pop)):
                mine = s.i == j
                order = np.argsort(s.t[mine], kind="stable")
                got = np.asarray(units["spike_times"][row])
                np.testing.assert_array_equal(got, s.t[mine][order] / 1000.0)
                np.testing.assert_array_equal(units.get_unit_spike_times(row), got)
                np.testing.assert_array_equal(np.asarray(units["spike_amplitudes"][row]),
                                              s.a[mine][order])
                np.testing.assert_array_equal(np.asarray(units["obs_intervals"][row]),
                                              [[0.0, 0.1]])
                row += 1
        assert len(units["spike_times"][5]) == 0                  # the silent neuron


def test_layout_with_plain_h5py(tmp_path, result):
    path = export_nwb(tmp_path / "run.nwb", result, populations=["b"])
    s = result.spikes("b")
    with h5py.File(path, "r") as f:
        g = f["units"]
        ends = g["spike_times_index"][()]
        times = g["spike_times"][()]
        assert g["spike_times"].dtype == np.float64
        assert ends.shape == (4,) and ends[-1] == len(s) == times.size
        starts = np.concatenate([[0], ends[:-1]])
        for j in range(4):
            want = np.sort(s.t[s.i == j]) / 1000.0
            np.testing.assert_array_equal(times[starts[j]:ends[j]], want)
        assert [p.decode() if isinstance(p, bytes) else p for p in g["population"][()]] \
            == ["b"] * 4
        np.testing.assert_array_equal(g["neuron_id"][()], np.arange(4))


def test_identifier_and_start_time(tmp_path, result):
    p1 = export_nwb(tmp_path / "1.nwb", result)
    p2 = export_nwb(tmp_path / "2.nwb", result)
    p3 = export_nwb(tmp_path / "3.nwb", result, populations=["a"])
    start = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)
    p4 = export_nwb(tmp_path / "4.nwb", result, identifier="mine", session_start_time=start)
    ids = []
    for p in (p1, p2, p3, p4):
        with pynwb.NWBHDF5IO(str(p), "r") as io:
            f = io.read()
            ids.append(f.identifier)
            if p is p4:
                assert f.session_start_time == start
    assert ids[0] == ids[1] != ids[2] and ids[3] == "mine"
    assert ids[0].startswith("eventsg-")


def test_errors_and_atomic_write(tmp_path, result, monkeypatch):
    path = export_nwb(tmp_path / "run.nwb", result, populations=["a"])
    before = path.read_bytes()
    with pytest.raises(esg.SpecError, match="populations = \\['nope'\\] is not allowed"):
        export_nwb(path, result, populations=["nope"])
    with pytest.raises(esg.SpecError, match="populations = \\[\\] is not allowed"):
        export_nwb(path, result, populations=[])
    with pytest.raises(esg.SpecError, match="session_start_time = .* timezone-aware"):
        export_nwb(path, result, session_start_time=datetime.datetime(2024, 1, 1))

    def broken(self, *args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pynwb.NWBHDF5IO, "write", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        export_nwb(path, result)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.nwb"]


def test_missing_pynwb_says_how_to_install(tmp_path, result, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynwb", None)
    with pytest.raises(ImportError, match=r"pip install eventsg\[nwb\]"):
        export_nwb(tmp_path / "run.nwb", result)
    assert not (tmp_path / "run.nwb").exists()
