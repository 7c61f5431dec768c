"""Populations fed only by pulses from sources go ahead (engine/ahead.py, ahead_plan.py).

Against the one event loop (``ahead=False``): the same spikes (neurons, amplitudes),
times within 1e-9 ms, the same counts of spikes, inputs and synaptic events; with
threshold adaptation, graded spikes at t = 0, negative pulses, several cascades, a
downstream population fed by the spikes that went ahead, and on threads. The pass
itself: blocks of neurons and threads' parts give the same spikes to the last bit.
Which populations go ahead; runaway guards, the spike sink's order, bad arguments.
"""
import numpy as np
import pytest

import eventsg as esg
from eventsg.compile import compile_network
from eventsg.engine.ahead import AH_DONE
from eventsg.engine.ahead_plan import ahead_plan, go_ahead
from eventsg.engine.state import make_state
from eventsg.errors import RunawayError, SpecError
from eventsg.examples import random_sparse, two_layer_network

DURATION = 150.0


def source_fed(seed, K=4, beta=0.0, downstream_delay=0.7):
    """Poisson and spike-train pulses (some negative) -> a population with the default
    bucket weights -> a second population through delta-coded spikes."""
    rng = np.random.default_rng(seed)
    net = esg.Network(seed=seed)
    poisson = net.add(esg.PoissonSource(n=40, rate=40.0, coding="pulse", name="poisson"))
    t = np.sort(rng.uniform(0.0, DURATION, 60))
    train = net.add(esg.SpikeSource(n=5, times=t, ids=rng.integers(0, 5, t.size),
                                    amplitudes=rng.uniform(0.5, 1.5, t.size), coding="pulse",
                                    name="train"))
    n = 30
    theta = rng.uniform(0.03, 0.06, n)
    bias = rng.uniform(-0.01, 0.01, n)
    bias[0] = 1.5 * theta[0]                        # a graded spike at t = 0
    tau = np.sort(rng.uniform(1.0, 9.0, K))
    first = net.add(esg.GammaPopulation(n=n, K=K, tau=tau, theta=theta, bias=bias, beta=beta,
                                        tau_h=15.0, name="first"))
    second = net.add(esg.GammaPopulation(n=12, K=3, tau=(2.0, 3.0, 5.0), theta=0.04,
                                         name="second"))
    net.connect(poisson, first, random_sparse(40, n, 8, 0.06, 0.05, seed + 1), delay=1.0)
    w = rng.normal(0.05, 0.06, (5, n))              # some negative pulses
    net.connect(train, first, w, delay=0.5)
    net.connect(first, second, random_sparse(n, 12, 6, 0.3, 0.3, seed + 2),
                delay=downstream_delay)
    return net


def assert_same_spikes(a, b, pops=("first", "second")):
    for pop in pops:
        sa, sb = a.spikes(pop), b.spikes(pop)
        assert len(sa.t) == len(sb.t), pop
        assert np.array_equal(sa.i, sb.i), pop
        np.testing.assert_allclose(sa.t, sb.t, rtol=0, atol=1e-9, err_msg=pop)
        np.testing.assert_allclose(sa.a, sb.a, rtol=0, atol=1e-9, err_msg=pop)


@pytest.mark.parametrize("seed,K,beta", [(1, 4, 0.0), (2, 1, 0.0), (3, 2, 0.4), (4, 5, 0.2)])
def test_ahead_gives_the_one_event_loops_spikes(seed, K, beta):
    net = source_fed(seed, K=K, beta=beta)
    ahead = net.run(duration=DURATION)
    loop = net.run(duration=DURATION, ahead=False)
    assert len(ahead.spikes("first").t) > 20 and len(ahead.spikes("second").t) > 0
    assert_same_spikes(ahead, loop)
    for name in ("spikes", "synaptic_events", "input_events"):
        assert getattr(ahead.stats, name) == getattr(loop.stats, name), name
    assert ahead.stats.searches < loop.stats.searches


def test_the_benchmark_network_goes_ahead_with_the_same_spikes_on_threads():
    net, _ = two_layer_network(n_inputs=200, n_hidden=300, n_out=300, fan_out=40)
    loop = net.run(duration=100.0, ahead=False)
    one = net.run(duration=100.0)
    two = net.run(duration=100.0, threads=2)
    three = net.run(duration=100.0, threads=3)
    assert_same_spikes(one, loop, ("hidden", "output"))
    assert_same_spikes(two, loop, ("hidden", "output"))
    for pop in ("hidden", "output"):          # thread counts > 1: to the last bit
        a, b = two.spikes(pop), three.spikes(pop)
        assert np.array_equal(a.t, b.t) and np.array_equal(a.i, b.i) and np.array_equal(a.a, b.a)


def _pass(net, states, block):
    c, layout = compile_network(net, DURATION)
    plan = ahead_plan(net, c, layout)
    st = make_state(c)
    sts = [st] + [st._replace(E=st.E.copy(), work=st.work.copy(), zt=st.zt.copy(),
                              rowf=st.rowf.copy()) for _ in range(states - 1)]
    return go_ahead(c, sts, plan, DURATION, 2, 10 ** 8, block=block)


def test_blocks_and_threads_parts_of_the_pass_give_the_same_spikes():
    net = source_fed(5, beta=0.3)
    whole = _pass(net, 1, 1 << 30)
    assert whole.status == AH_DONE and whole.t.size > 20
    for states, block in ((1, 40), (2, 1 << 30), (3, 25)):
        part = _pass(net, states, block)
        assert part.status == AH_DONE
        for name in ("t", "neuron", "amp", "counts"):
            assert np.array_equal(getattr(part, name), getattr(whole, name)), (states, block)


def _plan_names(net):
    c, layout = compile_network(net, 10.0)
    plan = ahead_plan(net, c, layout)
    return () if plan is None else plan.populations


def test_which_populations_go_ahead():
    net = source_fed(6)
    assert _plan_names(net) == ("first",)       # "second" is fed by a gamma population
    c, layout = compile_network(net, 10.0)
    first = np.arange(layout.offsets[layout.index("first")],
                      layout.offsets[layout.index("first")] + 30)
    assert ahead_plan(net, c, layout, recorded=first[3:4]) is None

    def single(v=None, tau=(1.0, 2.0, 4.0), coding="pulse"):
        n = esg.Network(seed=1)
        src = n.add(esg.PoissonSource(n=3, rate=20.0, coding=coding, name="src"))
        pop = n.add(esg.GammaPopulation(n=4, K=3, tau=tau, v=v, theta=0.05, name="pop"))
        n.connect(src, pop, np.full((3, 4), 0.1), delay=1.0)
        return n

    assert _plan_names(single()) == ("pop",)
    assert _plan_names(single(coding="delta")) == ()            # drive steps
    assert _plan_names(single(v=[0.5, -0.1, 0.3])) == ()        # a negative weight
    assert _plan_names(single(v=[0.1, 0.3, 0.6])) == ()         # v / tau rising
    assert _plan_names(single(tau=(4.0, 2.0, 1.0))) == ()       # tau falling


def test_a_recorded_population_stays_in_the_event_loop_and_samples_agree():
    net = source_fed(7)
    times = np.linspace(0.0, DURATION, 31)
    a = net.run(duration=DURATION, sample_times=times, record=["first"])
    b = net.run(duration=DURATION, sample_times=times, record=["first"], ahead=False)
    assert np.array_equal(a.spikes("first").t, b.spikes("first").t)
    assert_same_spikes(a, b, ("second",))


def test_runaway_guards_report_as_without_going_ahead():
    net = source_fed(8)
    for guard in (dict(max_spikes=25), dict(max_events=50)):
        errors = []
        for ahead in (True, False):
            with pytest.raises(RunawayError) as err:
                net.run(duration=DURATION, ahead=ahead, **guard)
            errors.append(err.value)
        assert str(errors[0]) == str(errors[1])
        assert errors[0].result.t_reached == errors[1].result.t_reached
        assert_same_spikes(errors[0].result, errors[1].result)


class _Sink:
    def begin(self, layout):
        self.chunks = []

    def write(self, t, neuron, amplitude):
        self.chunks.append((t, neuron, amplitude))


def test_a_streamed_run_keeps_every_neuron_in_the_event_loop():
    """With a spike sink nothing goes ahead (the ahead spikes would be held in memory
    until the run's end): the sink gets the spikes of ahead=False, in time order."""
    net = source_fed(9, downstream_delay=0.0)
    sink = _Sink()
    res = net.run(duration=DURATION, spike_sink=sink, spike_buffer=16)
    loop = net.run(duration=DURATION, ahead=False)
    assert res.stats.searches == loop.stats.searches
    t, g, a = (np.concatenate([c[j] for c in sink.chunks]) for j in range(3))
    assert t.size == loop.stats.spikes == res.stats.spikes
    assert np.all(np.diff(t) >= 0.0)
    for pop, off, n in (("first", 0, 30), ("second", 30, 12)):
        mine = (g >= off) & (g < off + n)
        assert np.array_equal(t[mine], loop.spikes(pop).t)
        assert np.array_equal(g[mine] - off, loop.spikes(pop).i)


def test_ahead_must_be_a_bool():
    net = source_fed(10)
    with pytest.raises(SpecError, match="ahead"):
        net.run(duration=10.0, ahead="yes")


def test_configs_take_ahead_as_a_flag():
    from eventsg.io.config import load_config
    from test_cli import SMALL_CONFIG
    text = SMALL_CONFIG.format(duration=30.0)
    spec = load_config(text.replace("[run]\n", "[run]\nahead = false\n"))
    assert dict(spec.run.options)["ahead"] is False
    with pytest.raises(SpecError, match="run.ahead"):
        load_config(text.replace("[run]\n", "[run]\nahead = 3\n"))
