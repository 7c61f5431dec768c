"""Run files: everything of a run in one HDF5 file, streamed, atomic, and enough to redo it."""
import os
import tracemalloc

import h5py
import numpy as np
import pytest
import scipy.sparse as sp

import eventsg as esg
from eventsg.errors import RunawayError, SpecError
from eventsg.io import (describe_run, load_config_text, load_network, load_result, load_run,
                        read_spikes, run_to_file, save_run, write_spikes)
from eventsg.io import runfile
from eventsg.examples import two_layer_network


def small_net(seed=3, n_hidden=80):
    net, _ = two_layer_network(n_inputs=60, n_hidden=n_hidden, n_out=60, fan_out=20, w_in=0.3,
                               w_hid=0.1, seed=seed)
    return net


def mixed_net():
    """Every kind of population and projection option, to check the description round trip."""
    net = esg.Network(seed=11)
    src = net.add(esg.SpikeSource(n=3, times=[1.0, 2.5, 4.0, 4.0], ids=[0, 2, 1, 0],
                                  amplitudes=[1.0, -0.5, 2.0, 0.25], coding="delta", name="ev"))
    poi = net.add(esg.PoissonSource(n=4, rate=[50.0, 20.0, 0.0, 80.0], t_stop=30.0, name="poi"))
    sig = net.add(esg.SignalSource(t=[0.0, 10.0, 20.0], values=[[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]],
                                   theta=[0.05, 0.1], name="sig"))
    g1 = net.add(esg.GammaPopulation(n=5, tau=np.linspace(1.0, 3.0, 15).reshape(5, 3), theta=0.02,
                                     bias=np.linspace(-0.1, 0.1, 5), beta=0.3, tau_h=20.0,
                                     name="g1"))
    g2 = net.add(esg.GammaPopulation(n=4, K=2, tau=[2.0, 4.0], v=[[1.0, 0.5]] * 4, theta=0.03,
                                     name="g2"))
    rng = np.random.default_rng(0)
    net.connect(src, g1, rng.normal(0.3, 0.1, (3, 5)), delay=0.5)
    net.connect(poi, g1, sp.random(4, 5, density=0.6, random_state=1, format="csr") * 0.5,
                delay=1.0)
    W = rng.normal(0.4, 0.1, (2, 5))
    net.connect(sig, g1, W, delay=rng.uniform(0.0, 2.0, (2, 5)))
    net.connect(g1, g2, rng.normal(0.2, 0.2, (5, 4)))
    return net


def assert_same_spikes(a, b):
    for name in a.populations:
        x, y = a.spikes(name), b.spikes(name)
        assert np.array_equal(x.t, y.t) and np.array_equal(x.i, y.i) and np.array_equal(x.a, y.a)


def test_network_description_round_trip(tmp_path):
    net = mixed_net()
    res = run_to_file(net, tmp_path / "run.h5", 40.0)
    back = load_network(tmp_path / "run.h5")
    assert back.seed == net.seed
    assert [p.name for p in back.populations] == [p.name for p in net.populations]
    for p, q in zip(net.populations, back.populations):
        assert type(p) is type(q)
        for key, value in vars(p).items():
            other = getattr(q, key)
            if isinstance(value, np.ndarray) or isinstance(other, np.ndarray):
                assert np.array_equal(np.asarray(value), np.asarray(other)), (p.name, key)
            else:
                assert value == other, (p.name, key)
    for p, q in zip(net.projections, back.projections):
        assert (p.pre.name, p.post.name) == (q.pre.name, q.post.name)
        assert (p.weights != q.weights).nnz == 0
        if p.per_synapse_delay:
            assert np.array_equal(p.delay.data, q.delay.data)
        else:
            assert p.delay == q.delay
    assert_same_spikes(res, back.run(40.0))


@pytest.mark.parametrize("engine,dt", [("event", None), ("clock", 0.05)])
def test_file_alone_reproduces_the_run(tmp_path, engine, dt):
    times = np.linspace(0.0, 150.0, 31)
    res = run_to_file(small_net(), tmp_path / "run.h5", 150.0, sample_times=times, engine=engine,
                      dt=dt, record=["hidden"])
    net, duration, options = load_run(tmp_path / "run.h5")
    assert duration == 150.0 and options["engine"] == engine and options["dt"] == dt
    again = net.run(duration, **options)
    assert_same_spikes(res, again)
    assert np.array_equal(res.state("hidden").z, again.state("hidden").z)
    with pytest.raises(KeyError):
        again.state("output")


def test_streamed_spikes_equal_in_memory_run(tmp_path):
    # (a streamed run keeps every neuron in the event loop: simulate's ``ahead``)
    memory = small_net().run(200.0, ahead=False)
    streamed = run_to_file(small_net(), tmp_path / "run.h5", 200.0, spike_buffer=64)
    assert isinstance(streamed._spikes, runfile.FileSpikes)
    assert_same_spikes(memory, streamed)
    with h5py.File(tmp_path / "run.h5", "r") as f:
        for name in ("hidden", "output"):
            g = f["spikes"][name]
            assert int(g.attrs["sorting"]) == 2                    # by_time
            assert np.all(np.diff(g["timestamps"][:]) >= 0)
            assert g["timestamps"].chunks is not None


def test_streaming_memory_does_not_grow_with_spikes(tmp_path):
    net = small_net()
    run_to_file(net, tmp_path / "warm.h5", 20.0)                   # compile outside the count

    def peak(duration):
        tracemalloc.start()
        res = run_to_file(small_net(), tmp_path / f"r{duration}.h5", duration, spike_buffer=256)
        size = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return size, sum(res.spike_count(p) for p in res.populations)

    short, long = peak(100.0), peak(800.0)
    assert long[1] > 5 * short[1]                                  # many more spikes ...
    assert long[0] < 1.5 * short[0]                                # ... in the same memory


def test_run_file_contents(tmp_path):
    text = "[network]\nseed = 3\n# a config\n"
    res = run_to_file(small_net(), tmp_path / "run.h5", 100.0, sample_times=[0.0, 50.0, 100.0],
                      config=text)
    with h5py.File(tmp_path / "run.h5", "r") as f:
        assert f.attrs["format"] == "eventsg-run"
        assert f.attrs["eventsg_version"] == esg.__version__
        assert int(f.attrs["seed"]) == 3
        assert int(f["stats"].attrs["spikes"]) == res.stats.spikes
        st = f["states"]["hidden"]
        assert st["z"].shape == (3, 80, 4) and st["x"].shape == (3, 80)
        assert np.array_equal(st["y"][:], np.maximum(st["x"][:], 0.0))
        assert f["run"].attrs["status"] == "ok"
    assert load_config_text(tmp_path / "run.h5") == text
    back = load_result(tmp_path / "run.h5")
    assert back.stats == res.stats
    assert back.populations == res.populations and back.sources == res.sources
    assert np.array_equal(back.state("output").r, res.state("output").r)
    assert_same_spikes(res, back)
    info = describe_run(tmp_path / "run.h5")
    assert "status: ok" in info and f"{res.spike_count('hidden')} spikes" in info


def test_save_run_of_an_in_memory_result(tmp_path):
    net = small_net()
    res = net.run(120.0, sample_times=[10.0, 60.0])
    save_run(tmp_path / "saved.h5", res, net, run_options={"sample_times": [10.0, 60.0]})
    net2, duration, options = load_run(tmp_path / "saved.h5")
    assert duration == 120.0
    assert_same_spikes(res, net2.run(duration, **options))


def test_runaway_run_keeps_a_marked_file(tmp_path):
    path = tmp_path / "run.h5"
    with pytest.raises(RunawayError) as info:
        run_to_file(small_net(), path, 200.0, max_spikes=300, spike_buffer=64)
    res = info.value.result
    assert res.status == "runaway" and "max_spikes" in res.message
    assert os.path.exists(path)
    back = load_result(path)
    assert back.status == "runaway" and back.t_reached < 200.0
    assert sum(back.spike_count(p) for p in back.populations) >= 300
    assert_same_spikes(res, back)
    assert "runaway" in describe_run(path)


def test_interrupted_run_leaves_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "run.h5"
    run_to_file(small_net(), path, 50.0)
    before = path.read_bytes()
    calls = []

    def interrupt(self, *args):
        calls.append(1)
        raise KeyboardInterrupt

    monkeypatch.setattr(runfile.SpikeStream, "write", interrupt)
    with pytest.raises(KeyboardInterrupt):
        run_to_file(small_net(), path, 200.0, spike_buffer=64)
    assert calls and path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["run.h5"]               # no temporary left behind


def test_windows_and_id_ranges(tmp_path):
    res = small_net().run(200.0)
    s = res.spikes("hidden")
    for sorting in ("by_time", "by_id", "none"):
        path = write_spikes(tmp_path / f"{sorting}.h5", res, sorting=sorting)
        for ids in (range(10, 30), (10, 30), np.array([3, 5, 70])):
            got = read_spikes(path, "hidden", t_start=40.0, t_stop=160.0, node_ids=ids)
            wanted = np.arange(10, 30) if not isinstance(ids, np.ndarray) else ids
            mask = (s.t >= 40.0) & (s.t <= 160.0) & np.isin(s.i, wanted)
            assert sorted(zip(got.t, got.i, got.a)) == sorted(zip(s.t[mask], s.i[mask], s.a[mask]))
            assert mask.sum() > 0
    with pytest.raises(SpecError, match="node_ids"):
        read_spikes(path, "hidden", node_ids=[0.5])


def test_not_a_run_file(tmp_path):
    res = small_net().run(20.0)
    path = write_spikes(tmp_path / "spikes.h5", res)
    with pytest.raises(SpecError, match="not an eventsg run file"):
        load_network(path)
    assert "SONATA spike file" in describe_run(path)


def test_libsonata_reads_a_run_file(tmp_path):
    libsonata = pytest.importorskip("libsonata")
    res = run_to_file(small_net(), tmp_path / "run.h5", 150.0, sample_times=[0.0, 10.0])
    reader = libsonata.SpikeReader(str(tmp_path / "run.h5"))
    assert sorted(reader.get_population_names()) == ["hidden", "output"]
    for name in ("hidden", "output"):
        pop = reader[name]
        assert pop.sorting == "by_time"
        got = sorted((t, int(i)) for i, t in pop.get())
        s = res.spikes(name)
        assert got == sorted(zip(s.t.tolist(), s.i.tolist()))
