"""The event engine on several threads (engine/windows.py, engine/partition.py).

Against the serial engine (threads=1): the same spikes (neurons, signs), times and
amplitudes within 1e-12 relative, the same sampled states; across thread counts
> 1: the same run to the last bit. Random networks with recurrent projections,
per-synapse delays, zero input delays, delta-coded and signal inputs, threshold
adaptation and graded spikes at t = 0; the growth paths of the threads' queues and
buffers and of the main spike buffer; bad arguments; Ctrl-C.
"""
import threading
import time

import numpy as np
import pytest

import eventsg as esg
from eventsg import interrupt
from eventsg.compile import compile_network
from eventsg.engine.partition import neuron_owners, thread_networks, window_length
from eventsg.engine.sync import SYNC_STRIDE, barrier, make_sync
from eventsg.errors import RunawayError, SpecError
from eventsg.examples import two_layer_network
from test_cli import SMALL_CONFIG

DURATION = 60.0


def random_network(seed, T=DURATION):
    """Sources -> 2-3 gamma populations, recurrent in some; delays between gamma
    populations >= 0.3 ms (per synapse in some), inputs with some zero delays."""
    rng = np.random.default_rng(seed)
    net = esg.Network(seed=seed)
    n_pul = 6
    t = rng.uniform(0.0, T, 40)
    pul = net.add(esg.SpikeSource(n=n_pul, times=t, ids=rng.integers(0, n_pul, t.size),
                                  amplitudes=rng.uniform(0.5, 1.5, t.size), coding="pulse",
                                  name="pul"))
    steps = np.sort(rng.uniform(0.0, T, 8))
    dl = net.add(esg.SpikeSource(n=2, times=steps, ids=rng.integers(0, 2, steps.size),
                                 amplitudes=rng.uniform(-0.4, 0.6, steps.size), coding="delta",
                                 name="del"))
    ts = np.linspace(0.0, T, 7)
    sig = net.add(esg.SignalSource(t=ts, values=np.abs(rng.normal(0.3, 0.4, (ts.size, 2))),
                                   theta=0.1, name="sig"))
    pops = []
    for q in range(int(rng.integers(2, 4))):
        n = int(rng.integers(5, 13))
        K = int(rng.integers(1, 5))
        tau = np.sort(rng.uniform(1.5, 8.0, K)) if rng.random() < 0.6 else np.full(K, 3.0)
        theta = rng.uniform(0.05, 0.12, n)
        bias = rng.uniform(-0.04, 0.02, n)
        bias[0] = theta[0] * 1.5                     # a graded spike at t = 0
        pops.append(net.add(esg.GammaPopulation(
            n=n, K=K, tau=tau, v=rng.uniform(0.2, 1.0, K), bias=bias, theta=theta,
            beta=0.0 if q == 0 else 0.3, tau_h=20.0, name=f"g{q}")))

    def weights(n_pre, n_post, mean, density=0.7):
        w = rng.normal(0.6 * mean, mean, (n_pre, n_post))
        w[rng.random((n_pre, n_post)) > density] = 0.0
        return w

    def delays(shape):
        if rng.random() < 0.5:
            return float(rng.uniform(0.3, 2.0))
        return rng.uniform(0.3, 2.0, shape)

    for src in (pul, dl, sig):
        net.connect(src, pops[0], weights(src.n, pops[0].n, 0.5), 0.0 if src is dl else 0.5)
    for a, b in zip(pops[:-1], pops[1:]):
        net.connect(a, b, weights(a.n, b.n, 0.3), delays((a.n, b.n)))
    q = int(rng.integers(0, len(pops)))
    net.connect(pops[q], pops[q], weights(pops[q].n, pops[q].n, 0.08, 0.4),
                delays((pops[q].n, pops[q].n)))
    return net


def spikes_by_neuron(res, net):
    """{population: (neurons, times, amplitudes)} sorted by (neuron, time)."""
    out = {}
    for p in net.populations:
        if isinstance(p, esg.GammaPopulation):
            t, i, a = res.spikes(p.name)
            o = np.lexsort((t, i))
            out[p.name] = (i[o], t[o], a[o])
    return out


def assert_bitwise_equal(ra, rb, net):
    for name, (i, t, a) in spikes_by_neuron(ra, net).items():
        j, u, b = spikes_by_neuron(rb, net)[name]
        assert np.array_equal(i, j) and np.array_equal(t, u) and np.array_equal(a, b), name
    for name in ra.populations:
        try:
            ra.state(name)
        except KeyError:        # no sample times
            continue
        for field in ("x", "r", "theta", "z"):
            assert np.array_equal(getattr(ra.state(name), field),
                                  getattr(rb.state(name), field)), (name, field)


@pytest.mark.parametrize("seed", range(6))
def test_threads_match_the_serial_engine(seed):
    net = random_network(seed)
    times = np.linspace(0.0, DURATION, 61)
    serial = net.run(DURATION, sample_times=times, max_events=1_000_000)
    two = net.run(DURATION, sample_times=times, threads=2, max_events=1_000_000)
    three = net.run(DURATION, sample_times=times, threads=3, max_events=1_000_000)
    assert serial.stats.spikes > 20
    assert_bitwise_equal(two, three, net)
    assert two.stats.spikes == serial.stats.spikes
    assert two.stats.searches == three.stats.searches
    assert two.stats.synaptic_events == serial.stats.synaptic_events
    for name, (i, t, a) in spikes_by_neuron(serial, net).items():
        j, u, b = spikes_by_neuron(two, net)[name]
        assert np.array_equal(i, j), name
        np.testing.assert_allclose(u, t, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
    for name in serial.populations:
        np.testing.assert_allclose(two.state(name).x, serial.state(name).x,
                                   rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(two.state(name).z, serial.state(name).z,
                                   rtol=1e-10, atol=1e-12)


def test_spikes_come_in_time_order_and_stream_to_a_sink():
    net = random_network(11)
    got = []

    class Sink:
        def begin(self, layout):
            self.n = layout.n_neurons

        def write(self, t, neuron, amp):
            got.append((t, neuron, amp))

    res = net.run(DURATION, threads=2, spike_sink=Sink(), spike_buffer=16)
    t = np.concatenate([c[0] for c in got])
    g = np.concatenate([c[1] for c in got])
    assert t.size == res.stats.spikes > 20
    assert np.all(np.diff(t) >= 0.0)
    same = np.diff(t) == 0.0
    assert np.all(np.diff(g)[same] > 0)          # equal times: by neuron


def test_growing_thread_queues_and_buffers_changes_nothing(monkeypatch):
    import importlib
    sim = importlib.import_module("eventsg.simulate")
    net = two_layer_network(n_inputs=100, n_hidden=200, n_out=200, fan_out=100, rate_hz=40.0)[0]
    ref = net.run(50.0, threads=2)
    monkeypatch.setattr(sim, "_thread_sizes", lambda layout, owner, threads: (16, 4))
    small = net.run(50.0, threads=2, spike_buffer=16)
    assert ref.stats.spikes > 500
    assert_bitwise_equal(ref, small, net)


def test_a_feed_forward_network_runs_in_one_window():
    net = esg.Network(seed=3)
    src = net.add(esg.PoissonSource(n=20, rate=200.0, name="in"))
    g = net.add(esg.GammaPopulation(n=30, K=3, tau=[1.0, 2.0, 4.0], theta=0.05, name="g"))
    net.connect(src, g, np.random.default_rng(0).uniform(0.0, 0.3, (20, 30)), delay=0.0)
    compiled, layout = compile_network(net, 100.0)
    assert window_length(compiled, layout) == np.inf
    a = net.run(100.0)
    b = net.run(100.0, threads=2)
    assert a.stats.spikes == b.stats.spikes > 50
    assert np.array_equal(np.sort(a.spikes("g")[0]), np.sort(b.spikes("g")[0]))


def test_window_is_the_smallest_delay_between_gamma_populations():
    net = random_network(4)
    compiled, layout = compile_network(net, DURATION)
    expected = min(
        float(np.min(p.delay.data)) if p.per_synapse_delay else float(p.delay)
        for p in net.projections if isinstance(p.pre, esg.GammaPopulation))
    assert window_length(compiled, layout) == expected


def test_each_thread_gets_exactly_the_synapses_onto_its_neurons():
    net = random_network(5)
    compiled, layout = compile_network(net, DURATION)
    owner = neuron_owners(layout, 3)
    parts = [thread_networks(compiled, layout, owner, i)[1] for i in range(3)]
    rows = compiled.syn_indptr.size - 1
    for r in range(rows):
        lo, hi = compiled.syn_indptr[r], compiled.syn_indptr[r + 1]
        if hi < lo:
            continue            # the end marker between projections
        whole = list(zip(compiled.syn_target[lo:hi], compiled.syn_weight[lo:hi]))
        for i, p in enumerate(parts):
            a, b = p.syn_indptr[r], p.syn_indptr[r + 1]
            mine = list(zip(p.syn_target[a:b], p.syn_weight[a:b]))
            assert mine == [s for s in whole if owner[s[0]] == i]


def test_zero_delay_between_gamma_populations_is_refused():
    net = esg.Network(seed=1)
    src = net.add(esg.PoissonSource(n=5, rate=50.0, name="in"))
    a = net.add(esg.GammaPopulation(n=4, K=2, tau=[1.0, 2.0], theta=0.05, name="a"))
    b = net.add(esg.GammaPopulation(n=4, K=2, tau=[1.0, 2.0], theta=0.05, name="b"))
    net.connect(src, a, np.full((5, 4), 0.2), delay=1.0)
    net.connect(a, b, np.full((4, 4), 0.2), delay=0.0)
    with pytest.raises(SpecError, match="threads"):
        net.run(10.0, threads=2)


@pytest.mark.parametrize("kwargs", [dict(threads=0), dict(threads=1.5),
                                    dict(threads=2, engine="clock", dt=0.1)])
def test_bad_thread_arguments_name_the_parameter(kwargs):
    net = random_network(0)
    with pytest.raises(SpecError, match="threads"):
        net.run(10.0, **kwargs)


def test_runaway_stops_every_thread_and_keeps_the_spikes():
    net = two_layer_network(n_inputs=100, n_hidden=200, n_out=200, fan_out=100, rate_hz=40.0)[0]
    with pytest.raises(RunawayError) as err:
        net.run(200.0, threads=2, max_spikes=300)
    res = err.value.result
    assert res.status == "runaway"
    assert 300 <= res.stats.spikes == sum(res.spikes(p)[0].size for p in ("hidden", "output"))


def test_runaway_within_a_window_keeps_its_spikes():
    """Each thread alone passes max_spikes at t = 0, before any merge: the spikes it
    buffered are kept all the same, in (time, neuron) order."""
    net = esg.Network(seed=2)
    g = net.add(esg.GammaPopulation(n=200, K=2, tau=[1.0, 2.0], theta=0.05, bias=0.1,
                                    name="g"))
    net.connect(g, g, np.full((200, 200), 1e-4), delay=1.0)
    with pytest.raises(RunawayError) as err:
        net.run(10.0, threads=2, max_spikes=50)
    res = err.value.result
    s = res.spikes("g")
    assert res.stats.spikes == s.t.size == 200
    assert np.all(s.t == 0.0) and np.array_equal(s.i, np.arange(200))


def test_ctrl_c_stops_the_threads():
    """Ctrl-C (a pending deferred interrupt) reaches the caller at the first check,
    0.1 s in, and the threads stop at their next window's end instead of running
    on: the run takes a fraction of an uninterrupted one (about 10 s simulated)."""
    net = two_layer_network()[0]
    net.run(20.0, threads=2)                 # compile or load the kernels
    t0 = time.perf_counter()
    net.run(10_000.0, threads=2)
    whole = time.perf_counter() - t0
    interrupt._pending[0] = True
    try:
        t0 = time.perf_counter()
        with pytest.raises(KeyboardInterrupt):
            net.run(10_000.0, threads=2)
        stopped = time.perf_counter() - t0
    finally:
        interrupt._pending[0] = False
    assert stopped < 0.5 * whole


def test_barrier_keeps_threads_in_step():
    T, rounds = 3, 2000
    sync = make_sync(T)
    seen = np.zeros((T, rounds), np.int64)
    counts = np.zeros(T * SYNC_STRIDE, np.int64)

    from numba import njit

    @njit(nogil=True)
    def work(i, T, rounds, sync, counts, seen):
        for k in range(rounds):
            counts[i * SYNC_STRIDE] = k + 1
            barrier(sync, i, T)
            low = k + 1
            for j in range(T):
                low = min(low, counts[j * SYNC_STRIDE])
            seen[i, k] = low
            barrier(sync, i, T)

    work(0, 1, 1, make_sync(1), counts, seen)
    counts[:] = 0
    threads = [threading.Thread(target=work, args=(i, T, rounds, sync, counts, seen))
               for i in range(T)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert np.array_equal(seen, np.broadcast_to(np.arange(1, rounds + 1), (T, rounds)))


RECURRENT_CONFIG = SMALL_CONFIG.format(duration=60.0).replace(
    "duration = 60.0", "duration = 60.0\nthreads = 2") + """
[[projection]]
pre = "hidden"
post = "hidden"
delay = 0.5
weights = { kind = "random_sparse", density = 0.2, mean = 0.02, std = 0.05, seed = 3 }
"""
"""tests/test_cli.py's config, on two threads, with a recurrent projection."""


def test_config_and_command_line_take_threads(tmp_path):
    from eventsg.cli import main
    from eventsg.io import load_result, load_run
    config = tmp_path / "rec.toml"
    config.write_text(RECURRENT_CONFIG)
    two, three = tmp_path / "two.h5", tmp_path / "three.h5"
    assert main(["run", str(config), "-o", str(two), "-q"]) == 0
    assert main(["run", str(config), "-o", str(three), "-q", "--threads", "3"]) == 0
    a, b = load_result(two), load_result(three)
    assert a.spike_count("hidden") > 100
    assert np.array_equal(a.spikes("hidden").t, b.spikes("hidden").t)
    net, duration, options = load_run(two)              # the file alone redoes the run
    assert options["threads"] == 2
    serial = net.run(duration)
    assert np.array_equal(np.sort(serial.spikes("hidden").i), np.sort(a.spikes("hidden").i))
    bad = tmp_path / "bad.toml"
    bad.write_text(RECURRENT_CONFIG.replace("threads = 2", "threads = 0"))
    assert main(["run", str(bad), "-o", str(tmp_path / "x.h5"), "-q"]) == 2


def test_the_threads_set_up_counts_as_set_up_not_as_run_time(monkeypatch):
    """Cutting the network into the threads' parts happens before the run's clock starts:
    in stats.compile_s, as compile_network does, not in stats.wall_s."""
    import sys
    simulate_module = sys.modules["eventsg.simulate"]
    net, _ = two_layer_network(n_inputs=20, n_hidden=30, n_out=30, fan_out=5)
    net.run(duration=5.0, threads=2)               # kernels compiled or loaded

    def slow_thread_networks(*args):
        time.sleep(0.25)
        return thread_networks(*args)
    monkeypatch.setattr(simulate_module, "thread_networks", slow_thread_networks)
    stats = net.run(duration=5.0, threads=2).stats
    assert stats.compile_s >= 0.5
    assert stats.wall_s < 0.25
