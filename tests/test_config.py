"""TOML configs: the example configs, weight generators, input files, and a clear
error naming the key path for every kind of bad config."""
import dataclasses
import math
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import eventsg as esg
from eventsg import SpecError
from eventsg.examples import two_layer_network
from eventsg.model import connectivity as conn
from eventsg.io.config import Config, SampleGrid, load_config, run_config

CONFIGS = Path(__file__).resolve().parent.parent / "scripts" / "configs"

BASE = """\
[network]
seed = 3

[run]
duration = 20.0
sample_times = [0.0, 5.0, 10.0]

[[population]]
name = "inp"
type = "spikes"
n = 2
times = [1.0, 2.0, 3.0]
ids = [0, 1, 0]

[[population]]
name = "hid"
type = "gamma"
n = 3
K = 2
tau = [1.0, 2.0]
theta = 0.05

[[projection]]
pre = "inp"
post = "hid"
delay = 0.5
weights = {kind = "all_to_all", value = 0.8}
"""


def edited(old, new, text=BASE):
    assert old in text, old
    return text.replace(old, new, 1)


def weights_config(weights, n_pre=40, n_post=50, seed=3):
    """A config with a projection of the given weights table between two gamma layers."""
    return f"""
[network]
seed = {seed}
[run]
duration = 10.0
[[population]]
name = "a"
type = "gamma"
n = {n_pre}
[[population]]
name = "b"
type = "gamma"
n = {n_post}
[[projection]]
pre = "a"
post = "b"
weights = {weights}
"""


def built_weights(text):
    net, _ = load_config(text).build()
    return net.projections[0].weights


# ---------------------------------------------------------------- example configs

def test_demo_config_is_the_two_layer_example():
    cfg = load_config(CONFIGS / "demo.toml")
    net, kwargs = cfg.build()
    ref, _ = two_layer_network()
    assert [(p.name, type(p), p.n) for p in net.populations] == \
        [(p.name, type(p), p.n) for p in ref.populations]
    for p, q in zip(net.populations[1:], ref.populations[1:]):
        assert p.K == q.K == 4
        np.testing.assert_array_equal(p.tau, q.tau)
        for key in ("theta", "v", "bias"):
            np.testing.assert_array_equal(getattr(p, key), getattr(q, key))
        assert (p.tau_h, p.beta) == (q.tau_h, q.beta)
    p, q = net.populations[0], ref.populations[0]
    assert (p.coding, p.seed, p.t_start, p.t_stop) == (q.coding, q.seed, q.t_start, q.t_stop)
    np.testing.assert_array_equal(p.rate, q.rate)
    for a, b in zip(net.projections, ref.projections):
        assert a.delay == b.delay == 1.0
        assert (a.pre.name, a.post.name) == (b.pre.name, b.post.name)
        np.testing.assert_array_equal(a.weights.indptr, b.weights.indptr)
        np.testing.assert_array_equal(a.weights.indices, b.weights.indices)
        np.testing.assert_array_equal(a.weights.data, b.weights.data)   # same seeds: bit for bit
    assert kwargs["duration"] == 200.0 and kwargs["engine"] == "event"
    assert kwargs["record"] == ["output"] and kwargs["max_spikes"] == 100_000_000
    np.testing.assert_allclose(kwargs["sample_times"], np.arange(201.0))

    # a short run gives the example's spikes exactly
    res = net.run(duration=15.0, progress=False)
    ref_res = ref.run(duration=15.0, progress=False)
    assert res.stats.spikes == ref_res.stats.spikes > 0
    for name in ("hidden", "output"):
        for x, y in zip(res.spikes(name), ref_res.spikes(name)):
            np.testing.assert_array_equal(x, y)


def test_signal_config_runs():
    cfg = load_config(CONFIGS / "signal.toml")
    net, kwargs = cfg.build()
    sig = net.population("sig")
    assert sig.n == 2 and sig.t[0] == 0.0 and sig.t[-1] == 200.0
    np.testing.assert_allclose(sig.values[:, 0], np.sin(2 * np.pi * sig.t / 50), atol=1e-6)
    kwargs["duration"] = 40.0
    kwargs["sample_times"] = kwargs["sample_times"][kwargs["sample_times"] <= 40.0]
    res = net.run(progress=False, **kwargs)
    assert len(res.spikes("layer")) > 0
    assert res.state("layer").x.shape == (81, 20)


def test_run_config_and_run_kwargs_are_a_plain_fresh_dict():
    cfg = load_config(BASE)
    _, kw1 = cfg.build()
    kw1["output"] = "somewhere.h5"           # the caller may extend it
    _, kw2 = cfg.build()
    assert type(kw2) is dict and "output" not in kw2
    res = run_config(cfg, progress=False)
    assert res.stats.duration_ms == 20.0 and len(res.spikes("hid")) > 0
    np.testing.assert_array_equal(res.state("hid").t, [0.0, 5.0, 10.0])
    assert run_config(BASE, progress=False).stats.spikes == res.stats.spikes


def test_text_is_kept_verbatim_and_reloads_equal(tmp_path):
    text = (CONFIGS / "demo.toml").read_text()
    cfg = load_config(CONFIGS / "demo.toml")
    assert cfg.text == text
    assert cfg.source_path.name == "demo.toml" and cfg.source_path.is_absolute()
    again = load_config(cfg.text)
    assert again.text == text and again.source_path is None
    assert again.network == cfg.network and again.run == cfg.run and again.output == cfg.output
    copy = tmp_path / "copy.toml"
    copy.write_text(cfg.text)
    assert load_config(str(copy)).network == cfg.network
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.text = "x"                      # frozen


def test_per_synapse_delays_and_output_section(tmp_path):
    text = edited("delay = 0.5", "delay = [[0.5, 1.0, 1.5], [2.0, 2.5, 3.0]]")
    net, _ = load_config(text).build()
    np.testing.assert_array_equal(net.projections[0].delay.toarray(), [[0.5, 1.0, 1.5], [2.0, 2.5, 3.0]])
    path = tmp_path / "out.toml"
    path.write_text(BASE + '\n[output]\npath = "results/run.h5"\nstates = false\n')
    cfg = load_config(str(path))
    assert cfg.output.path == tmp_path / "results" / "run.h5" and cfg.output.states is False
    assert load_config(BASE).output.path is None and load_config(BASE).output.states is True


def test_sample_grid_includes_stop_and_stays_inside():
    np.testing.assert_allclose(SampleGrid(0.0, 1.0, step=0.1).times(), np.linspace(0, 1, 11))
    assert SampleGrid(0.0, 1.0, step=0.1).times()[-1] <= 1.0
    np.testing.assert_allclose(SampleGrid(2.0, 4.0, num=3).times(), [2.0, 3.0, 4.0])
    assert SampleGrid(0.0, 1.0, step=0.3).times()[-1] == pytest.approx(0.9)


def test_defaults_and_clock_engine():
    cfg = load_config(edited("duration = 20.0", 'duration = 20.0\nengine = "clock"\ndt = 0.01'))
    _, kw = cfg.build()
    assert kw["engine"] == "clock" and kw["dt"] == 0.01
    net, kw = load_config(edited("sample_times = [0.0, 5.0, 10.0]\n", "")).build()
    assert "sample_times" not in kw and "record" not in kw and net.seed == 3


# ---------------------------------------------------------------- weights

@pytest.mark.parametrize("weights", [
    '{kind = "random_sparse", density = 0.2, mean = 0.1, std = 0.05}',
    '{kind = "random_sparse", fan_out = 7, mean = 0.1, std = 0.05}',
    '{kind = "dense_normal", mean = 0.0, std = 1.0}',
    '{kind = "uniform", low = -1.0, high = 1.0, density = 0.5}',
])
def test_weights_are_deterministic_per_seed(weights):
    def dense(text):
        W = built_weights(text)
        return W.toarray()
    with_seed = weights[:-1] + ", seed = 11}"
    a, b = dense(weights_config(with_seed)), dense(weights_config(with_seed))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, dense(weights_config(with_seed.replace("11", "12"))))
    # no seed: derived from the network seed and the projection's index
    d1, d2 = dense(weights_config(weights)), dense(weights_config(weights))
    np.testing.assert_array_equal(d1, d2)
    assert not np.array_equal(d1, dense(weights_config(weights, seed=4)))
    cfg = load_config(weights_config(weights))
    assert cfg.network.projections[0].weights.kwargs["seed"] == conn.projection_seed(3, 0)


def test_projection_seeds_differ_from_population_seeds():
    net = esg.Network(seed=5)
    src = net.add(esg.PoissonSource(n=1, rate=1.0))
    assert conn.projection_seed(5, 0) != net.population_seed(src)
    assert conn.projection_seed(5, 0) != conn.projection_seed(5, 1)


def test_random_sparse_density_statistics():
    W = conn.random_sparse(400, 500, density=0.1, mean=0.05, std=0.01, seed=1)
    assert sp.isspmatrix_csr(W) and W.shape == (400, 500)
    assert abs(W.nnz / (400 * 500) - 0.1) < 0.005
    assert abs(W.data.mean() - 0.05) < 0.001 and abs(W.data.std() - 0.01) < 0.001
    rows = np.diff(W.indptr)
    assert rows.std() == pytest.approx(math.sqrt(500 * 0.1 * 0.9), rel=0.15)   # binomial rows
    assert W.has_canonical_format                   # sorted, no duplicate synapses


def test_random_sparse_fan_out_is_the_example_generator():
    W = conn.random_sparse(30, 60, fan_out=10, mean=0.2, std=0.1, seed=9)
    assert np.all(np.diff(W.tocsr().indptr) == 10)
    np.testing.assert_array_equal(W.toarray(), esg.examples.random_sparse(30, 60, 10, 0.2, 0.1, 9)
                                  .toarray())
    assert conn.random_sparse(3, 5, fan_out=50, mean=1.0, seed=0).nnz == 15     # capped at n_post
    big = conn.random_sparse(3, 5000, fan_out=4, mean=1.0, seed=0)              # choice branch
    assert np.all(np.diff(big.indptr) == 4)


def test_dense_normal_uniform_one_to_one_all_to_all():
    D = conn.dense_normal(300, 200, mean=0.5, std=2.0, seed=2)
    assert D.shape == (300, 200) and abs(D.mean() - 0.5) < 0.03 and abs(D.std() - 2.0) < 0.03
    U = conn.uniform(300, 200, low=-1.0, high=3.0, seed=2)
    assert U.min() >= -1.0 and U.max() < 3.0 and abs(U.mean() - 1.0) < 0.03
    Us = conn.uniform(300, 200, low=1.0, high=2.0, density=0.25, seed=2)
    assert abs(Us.nnz / 60000 - 0.25) < 0.01 and Us.data.min() >= 1.0
    I = conn.one_to_one(6, 6, value=0.5)
    np.testing.assert_array_equal(I.toarray(), 0.5 * np.eye(6))
    A = built_weights(weights_config('{kind = "all_to_all", value = -0.25}', 3, 4))
    np.testing.assert_array_equal(A.toarray(), np.full((3, 4), -0.25))
    O = built_weights(weights_config('{kind = "one_to_one"}', 5, 5))
    np.testing.assert_array_equal(O.toarray(), np.eye(5))


def test_explicit_and_file_weights(tmp_path):
    W = built_weights(weights_config("[[0.0, 1.5], [-2.0, 0.0]]", 2, 2))
    np.testing.assert_array_equal(W.toarray(), [[0.0, 1.5], [-2.0, 0.0]])
    assert W.nnz == 2
    dense = np.arange(12.0).reshape(3, 4)
    np.save(tmp_path / "w.npy", dense)
    np.savez(tmp_path / "wd.npz", weights=dense)
    sp.save_npz(tmp_path / "ws.npz", sp.csr_matrix(dense))
    for name in ("w.npy", "wd.npz", "ws.npz"):
        path = tmp_path / "net.toml"
        path.write_text(weights_config(f'{{kind = "file", file = "{name}"}}', 3, 4))
        net, _ = load_config(path).build()           # resolved next to the config
        np.testing.assert_array_equal(net.projections[0].weights.toarray(), dense)


# ---------------------------------------------------------------- inputs

def test_explicit_event_lists():
    text = edited("ids = [0, 1, 0]", 'ids = [0, 1, 0]\namplitudes = [1.0, -0.5, 2.0]\ncoding = "delta"')
    net, _ = load_config(text).build()
    src = net.population("inp")
    np.testing.assert_array_equal(src.times, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(src.ids, [0, 1, 0])
    np.testing.assert_array_equal(src.amplitudes, [1.0, -0.5, 2.0])
    assert src.coding == "delta"


def _with_file_source(tmp_path, table):
    path = tmp_path / "cfg.toml"
    path.write_text(edited('times = [1.0, 2.0, 3.0]\nids = [0, 1, 0]', table))
    return load_config(path).build()[0].population("inp")


def test_event_files(tmp_path):
    (tmp_path / "ev.csv").write_text("# events\nt,id,amplitude\n3.0,1,0.5\n1.0,0,2.0\n")
    src = _with_file_source(tmp_path, 'file = "ev.csv"')
    np.testing.assert_array_equal(src.times, [1.0, 3.0])           # sorted
    np.testing.assert_array_equal(src.ids, [0, 1])
    np.testing.assert_array_equal(src.amplitudes, [2.0, 0.5])
    (tmp_path / "ev2.csv").write_text("1.0,1\n2.5,0\n")            # no header, no amplitudes
    src = _with_file_source(tmp_path, 'file = "ev2.csv"')
    np.testing.assert_array_equal(src.amplitudes, [1.0, 1.0])
    np.savez(tmp_path / "ev.npz", times=[0.5, 4.0], ids=[1, 1])
    src = _with_file_source(tmp_path, 'file = "ev.npz"')
    np.testing.assert_array_equal(src.times, [0.5, 4.0])
    np.save(tmp_path / "ev.npy", np.array([[2.0, 0.0, -1.0]]))
    src = _with_file_source(tmp_path, 'file = "ev.npy"')
    np.testing.assert_array_equal(src.amplitudes, [-1.0])


def test_signal_inputs(tmp_path):
    t = np.linspace(0.0, 10.0, 11)
    np.savez(tmp_path / "s.npz", t=t, values=np.stack([t, -t], axis=1))
    sig = """
[[population]]
name = "s"
type = "signal"
theta = [0.1, 0.2]
{}
"""
    for source in ('file = "s.npz"', 't = [0.0, 10.0]\nvalues = [[0.0, 0.0], [10.0, -10.0]]'):
        path = tmp_path / "sig.toml"
        path.write_text(edited('[[projection]]\npre = "inp"', sig.replace("{}", source)
                               + '[[projection]]\npre = "s"'))
        net, _ = load_config(path).build()
        s = net.population("s")
        assert s.n == 2
        np.testing.assert_array_equal(s.theta, [0.1, 0.2])
        np.testing.assert_allclose(s.values[-1], [10.0, -10.0])


def test_shd_population(tmp_path):
    shd = pytest.importorskip("eventsg.io.shd")
    if not hasattr(shd, "write_shd"):
        pytest.skip("eventsg.io.shd has no write_shd")
    shd.write_shd(tmp_path / "d.h5", [np.array([0.001, 0.002]), np.array([0.0005])],
                  [np.array([3, 4]), np.array([1])], [0, 1], n_channels=10)
    text = """
[run]
duration = 5.0
[[population]]
name = "digits"
type = "shd"
file = "d.h5"
sample = 0
t_offset = 1.0
[[population]]
name = "hid"
type = "gamma"
n = 2
[[projection]]
pre = "digits"
post = "hid"
weights = {kind = "dense_normal", mean = 1.0, std = 0.1}
"""
    (tmp_path / "shd.toml").write_text(text)
    net, _ = load_config(tmp_path / "shd.toml").build()
    src = net.population("digits")
    assert src.n == 10 and src.coding == "pulse"
    np.testing.assert_allclose(src.times, [2.0, 3.0])
    np.testing.assert_array_equal(src.ids, [3, 4])


# ---------------------------------------------------------------- errors

BAD = [
    # (what, edit of BASE, text that must appear in the message)
    ("unknown top-level key", ("[network]", "[netwrok]"), ["unknown key netwrok", "'network'"]),
    ("unknown section key", ("duration = 20.0", "duration = 20.0\nmax_spike = 5"),
     ["unknown key run.max_spike", "did you mean 'max_spikes'"]),
    ("unknown population key", ("theta = 0.05", "theta = 0.05\ntua = 1.0"),
     ["unknown key population[1].tua", "did you mean 'tau'"]),
    ("unknown weights key", ("value = 0.8}", "value = 0.8, seeed = 1}"),
     ["unknown key projection[0].weights.seeed"]),
    ("unknown weights kind", ('"all_to_all"', '"foo"'),
     ["projection[0].weights.kind", "'foo'", "'random_sparse'"]),
    ("bad type", ("n = 3", 'n = "3"'), ["population[1].n", "'3'", "integer"]),
    ("non-integer", ("n = 3", "n = 2.5"), ["population[1].n", "2.5"]),
    ("negative tau", ("tau = [1.0, 2.0]", "tau = [1.0, -2.0]"),
     ["population[1].tau[1]", "-2.0", "> 0 (ms)"]),
    ("theta zero", ("theta = 0.05", "theta = 0.0"), ["population[1].theta", "0.0", "> 0"]),
    ("theta negative", ("theta = 0.05", "theta = -0.1"), ["population[1].theta", "-0.1"]),
    ("NaN weight", ('{kind = "all_to_all", value = 0.8}', "[[0.1, 0.2, nan], [0.1, 0.2, 0.3]]"),
     ["projection[0].weights[0][2]", "nan", "finite"]),
    ("ragged weights", ('{kind = "all_to_all", value = 0.8}', "[[0.1, 0.2, 0.3], [0.1]]"),
     ["projection[0].weights[1]", "length 3"]),
    ("unsorted sample_times", ("[0.0, 5.0, 10.0]", "[0.0, 10.0, 5.0]"),
     ["run.sample_times[2]", "5.0", "sorted"]),
    ("sample_times after duration", ("[0.0, 5.0, 10.0]", "[0.0, 50.0]"),
     ["run.sample_times[1]", "duration = 20.0"]),
    ("sample grid past duration", ("[0.0, 5.0, 10.0]", "{start = 0.0, stop = 30.0, step = 1.0}"),
     ["run.sample_times.stop", "30.0"]),
    ("sample grid without step", ("[0.0, 5.0, 10.0]", "{start = 0.0, stop = 10.0}"),
     ["run.sample_times", "step or num"]),
    ("unknown population in projection", ('pre = "inp"', 'pre = "inpt"'),
     ["projection[0].pre", "'inpt'", "'inp'"]),
    ("projection into a source", ('post = "hid"', 'post = "inp"'),
     ["projection[0].post", "gamma population"]),
    ("duplicate name", ('name = "hid"', 'name = "inp"'),
     ["population[1].name", "'inp'", "unique"]),
    ("missing required key", ("n = 3\n", ""), ["population[1].n", "required key is missing"]),
    ("missing run section", ("[run]\nduration = 20.0\nsample_times = [0.0, 5.0, 10.0]\n", ""),
     ["[run]", "required section"]),
    ("unknown population type", ('type = "gamma"', 'type = "gama"'),
     ["population[1].type", "'gama'", "'gamma'"]),
    ("clock without dt", ("duration = 20.0", 'duration = 20.0\nengine = "clock"'), ["run.dt"]),
    ("dt with the event engine", ("duration = 20.0", "duration = 20.0\ndt = 0.1"), ["run.dt", "0.1"]),
    ("negative duration", ("duration = 20.0", "duration = -1.0"), ["run.duration", "-1.0", "> 0 (ms)"]),
    ("record a source", ("sample_times = [0.0, 5.0, 10.0]", 'sample_times = [0.0]\nrecord = ["inp"]'),
     ["run.record[0]", "'inp'", "gamma"]),
    ("record without sample_times", ("sample_times = [0.0, 5.0, 10.0]", 'record = ["hid"]'),
     ["run.record", "sample_times"]),
    ("times without ids", ("ids = [0, 1, 0]\n", ""), ["population[0].ids", "required key is missing"]),
    ("ids out of range (model check)", ("ids = [0, 1, 0]", "ids = [0, 5, 0]"),
     ["population[0].ids", "5", "[0, 2)"]),
    ("tau length not K (model check)", ("tau = [1.0, 2.0]", "tau = [1.0, 2.0, 3.0]"),
     ["population[1].tau", "shape (3,)"]),
    ("negative delay", ("delay = 0.5", "delay = -0.5"), ["projection[0].delay", "-0.5", ">= 0 (ms)"]),
    ("bad coding", ("ids = [0, 1, 0]", 'ids = [0, 1, 0]\ncoding = "rate"'),
     ["population[0].coding", "'rate'", "'pulse', 'delta'"]),
    ("weights not a table", ('{kind = "all_to_all", value = 0.8}', "0.8"),
     ["projection[0].weights", "all_to_all"]),
    ("density out of range", ('{kind = "all_to_all", value = 0.8}',
                              '{kind = "random_sparse", density = 1.5, mean = 0.1}'),
     ["projection[0].weights.density", "1.5", "<= 1"]),
    ("density and fan_out", ('{kind = "all_to_all", value = 0.8}',
                             '{kind = "random_sparse", density = 0.5, fan_out = 2, mean = 0.1}'),
     ["projection[0].weights", "not both"]),
    ("weights of the wrong shape (build)", ('{kind = "all_to_all", value = 0.8}',
                                            "[[0.1, 0.2], [0.3, 0.4]]"),
     ["projection[0].weights", "(2, 3)"]),
    ("negative seed", ("seed = 3", "seed = -3"), ["network.seed", "-3"]),
    ("missing file", ('times = [1.0, 2.0, 3.0]\nids = [0, 1, 0]', 'file = "nowhere.csv"'),
     ["population[0].file", "'nowhere.csv'", "does not exist"]),
]


def _message(text):
    with pytest.raises(SpecError) as info:
        load_config(text).build()
    return str(info.value)


@pytest.mark.parametrize("what, edit, needles", BAD, ids=[b[0] for b in BAD])
def test_bad_config_names_the_key_path(what, edit, needles):
    msg = _message(edited(*edit))
    for needle in needles:
        assert needle in msg, f"{what}: {needle!r} not in {msg!r}"
    assert "\n" not in msg


def test_one_to_one_needs_equal_sizes():
    text = edited('{kind = "all_to_all", value = 0.8}', '{kind = "one_to_one"}')
    load_config(text)                             # sizes are known only when built
    msg = _message(text)
    assert "projection[0].weights" in msg and "n_pre = 2" in msg


def test_file_and_lists_together(tmp_path):
    (tmp_path / "x.csv").write_text("1.0,0\n")
    path = tmp_path / "c.toml"
    path.write_text(edited("ids = [0, 1, 0]", 'ids = [0, 1, 0]\nfile = "x.csv"'))
    msg = _message(path)
    assert "population[0]" in msg and "file or times" in msg and msg.startswith("c.toml: ")


def test_bad_data_files(tmp_path):
    (tmp_path / "ev.csv").write_text("1.0,0,1.0,9.0\n")
    path = tmp_path / "c.toml"
    path.write_text(edited('times = [1.0, 2.0, 3.0]\nids = [0, 1, 0]', 'file = "ev.csv"'))
    msg = _message(path)
    assert "population[0].file" in msg and "4 columns" in msg
    (tmp_path / "ev.csv").write_text("1.0,abc\n")
    assert "population[0].file" in _message(path)
    (tmp_path / "ev.csv").write_text("1.0,7\n")
    msg = _message(path)                           # the model's check, located at the file
    assert "population[0].file" in msg and re.search(r"ids = \S*7", msg)


def test_toml_syntax_error_names_file_and_line(tmp_path):
    path = tmp_path / "broken.toml"
    text = edited("n = 3", "n = = 3")
    line = text.splitlines().index("n = = 3") + 1
    path.write_text(text)
    with pytest.raises(SpecError, match=rf"broken\.toml is not valid TOML: .*line {line}\b"):
        load_config(path)
    with pytest.raises(SpecError, match=r"not valid TOML"):
        load_config("[run\nduration = 1.0")
    with pytest.raises(SpecError, match=r"population\[1\]|not valid TOML"):
        load_config(edited("[[projection]]", "[population]\nx = 1\n[[projection]]"))


def test_missing_config_file(tmp_path):
    with pytest.raises(SpecError, match=r"nope\.toml.*could not be read"):
        load_config(str(tmp_path / "nope.toml"))
    with pytest.raises(SpecError, match="path_or_text"):
        load_config(42)


def test_errors_from_a_file_name_the_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(edited("theta = 0.05", "theta = -1.0"))
    with pytest.raises(SpecError, match=re.escape("mine.toml: config error at population[1].theta")):
        load_config(path)


def test_config_is_frozen_and_plain():
    cfg = load_config(BASE)
    assert isinstance(cfg, Config)
    spec = cfg.network.populations[1]
    assert spec.type == "gamma" and spec.name == "hid" and spec.path == "population[1]"
    assert spec.kwargs == {"n": 3, "K": 2, "tau": (1.0, 2.0), "theta": 0.05}
    assert hash(cfg.network) == hash(load_config(BASE).network)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.name = "other"


def test_run_config_writes_a_run_file_with_its_config(tmp_path):
    from eventsg.io import load_config_text, load_result, load_run
    path = tmp_path / "small.toml"
    path.write_text(BASE + '\n[output]\npath = "out/run.h5"\n')
    res = run_config(path)
    out = tmp_path / "out" / "run.h5"
    assert load_config_text(out) == path.read_text()
    back = load_result(out)
    assert back.populations == res.populations
    net, duration, options = load_run(out)
    again = net.run(duration, **options)
    for pop in res.populations:
        assert np.array_equal(again.spikes(pop).t, res.spikes(pop).t)
