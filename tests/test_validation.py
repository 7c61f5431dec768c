"""Every bad value is refused with a SpecError (or CompileError) whose message names
the parameter and the offending value."""
import math
import re

import numpy as np
import pytest
import scipy.sparse as sp

import eventsg as esg
from eventsg import CompileError, SpecError

G = esg.GammaPopulation
S = esg.SpikeSource


def refused(param, value, exc=SpecError):
    """pytest.raises(exc) whose message must contain ``param = <...value...>``."""
    return pytest.raises(exc, match=rf"\b{re.escape(param)} = [^;]*{value}")


@pytest.fixture
def net():
    """source0 (2 channels) and gamma1 (3 neurons, K = 2), not yet connected."""
    n = esg.Network(seed=1)
    n.add(S(n=2, times=[1.0, 2.0], ids=[0, 1]))
    n.add(G(n=3, tau=[1.0, 2.0], theta=0.1))
    return n


@pytest.fixture
def wired(net):
    src, gam = net.populations
    net.connect(src, gam, weights=np.ones((2, 3)), delay=0.5)
    return net


def test_error_classes_are_value_errors():
    assert issubclass(SpecError, ValueError) and issubclass(SpecError, esg.EventsgError)
    assert issubclass(CompileError, ValueError) and issubclass(CompileError, esg.EventsgError)


# ------------------------------------------------------------ GammaPopulation

@pytest.mark.parametrize("kwargs, param, value", [
    (dict(tau=[-1.0, 2.0]), "tau", r"-1\.0"),
    (dict(tau=[1.0, -2.5]), "tau", r"-2\.5"),
    (dict(tau=0.0, K=2), "tau", r"0\.0"),
    (dict(tau=[1.0, 0.0]), "tau", r"0\.0"),
    (dict(tau=[1.0, math.nan]), "tau", "nan"),
    (dict(tau=[math.inf, 1.0]), "tau", "inf"),
    (dict(tau=[[1.0, 2.0], [3.0, -4.0]]), "tau", r"-4\.0"),       # per neuron (n = 2)
    (dict(tau=[1.0, 2.0], K=3), "tau", r"shape \(2,\)"),
    (dict(tau=np.ones((3, 2))), "tau", r"shape \(3, 2\)"),
    (dict(theta=0.0), "theta", r"0\.0"),
    (dict(theta=-0.1), "theta", r"-0\.1"),
    (dict(theta=[0.1, -0.2]), "theta", r"-0\.2"),
    (dict(theta=math.nan), "theta", "nan"),
    (dict(theta=[0.1, 0.1, 0.1]), "theta", r"shape \(3,\)"),
    (dict(K=0), "K", "0"),
    (dict(K=65), "K", "65"),
    (dict(K=-3), "K", "-3"),
    (dict(K=2.0), "K", r"2\.0"),
    (dict(tau=np.ones(65)), "K", "65"),
    (dict(K=2, v=[1.0, math.nan]), "v", "nan"),
    (dict(K=2, v=[1.0, 2.0, 3.0]), "v", r"shape \(3,\)"),
    (dict(bias=math.nan), "bias", "nan"),
    (dict(bias=[0.0, math.inf]), "bias", "inf"),
    (dict(tau_h=0.0), "tau_h", r"0\.0"),
    (dict(tau_h=-5.0), "tau_h", r"-5\.0"),
    (dict(beta=-0.1), "beta", r"-0\.1"),
    (dict(beta=math.nan), "beta", "nan"),
    (dict(name="not valid"), "name", "not valid"),
])
def test_gamma_population_bad_values(kwargs, param, value):
    with refused(param, value):
        G(n=2, **kwargs)


@pytest.mark.parametrize("n", [0, -1, 2.5, True, "3"])
def test_gamma_population_bad_n(n):
    with refused("n", re.escape(repr(n)) if isinstance(n, str) else re.escape(str(n))):
        G(n=n)


def test_gamma_population_good_values_are_kept():
    p = G(n=2, tau=[1.0, 3.0], theta=[0.1, 0.2], bias=0.5, v=[1.0, -1.0])
    assert p.K == 2 and np.array_equal(p.tau, [1.0, 3.0])
    assert np.array_equal(p.theta, [0.1, 0.2]) and np.array_equal(p.bias, [0.5, 0.5])
    assert np.array_equal(p.v_per_neuron(), [[1.0, -1.0], [1.0, -1.0]])
    assert np.array_equal(G(n=2, K=4).v_per_neuron(), np.full((2, 4), 0.25))   # default 1/K
    assert G(n=1, K=64).K == 64 and G(n=1, K=1).K == 1               # both ends of [1, 64]


# ------------------------------------------------------------ SpikeSource

@pytest.mark.parametrize("kwargs, param, value", [
    (dict(times=[1.0, -1.0], ids=[0, 1]), "times", r"-1\.0"),
    (dict(times=[1.0, -1e-9], ids=[0, 1]), "times", r"-1e-09"),
    (dict(times=[1.0, math.nan], ids=[0, 1]), "times", "nan"),
    (dict(times=[math.inf, 1.0], ids=[0, 1]), "times", "inf"),
    (dict(times=[1.0, 2.0], ids=[0, 2]), "ids", "2"),
    (dict(times=[1.0, 2.0], ids=[-1, 0]), "ids", "-1"),
    (dict(times=[1.0, 2.0], ids=[0, 7]), "ids", "7"),
    (dict(times=[1.0, 2.0], ids=[0]), "ids", r"shape \(1,\)"),
    (dict(times=[1.0, 2.0], ids=[0.5, 1]), "ids", r"0\.5"),
    (dict(times=[1.0, 2.0], ids=[0, 1], amplitudes=[1.0, math.nan]), "amplitudes", "nan"),
    (dict(times=[1.0, 2.0], ids=[0, 1], amplitudes=[1.0, 1.0, 1.0]), "amplitudes",
     r"shape \(3,\)"),
    (dict(times=[1.0, 2.0], ids=[0, 1], coding="rate"), "coding", "rate"),
    (dict(times=[1.0, 2.0], ids=[0, 1], coding="Pulse"), "coding", "Pulse"),
])
def test_spike_source_bad_values(kwargs, param, value):
    with refused(param, value):
        S(n=2, **kwargs)


def test_spike_source_unsorted_times_are_accepted_and_sorted_stably():
    s = S(n=3, times=[3.0, 1.0, 2.0, 1.0, 0.0], ids=[0, 1, 2, 0, 2],
          amplitudes=[1.0, 2.0, 3.0, 4.0, 5.0], coding="delta")
    assert np.array_equal(s.times, [0.0, 1.0, 1.0, 2.0, 3.0])
    assert np.array_equal(s.ids, [2, 1, 0, 2, 0])                  # ties keep input order
    assert np.array_equal(s.amplitudes, [5.0, 2.0, 4.0, 3.0, 1.0])
    t, i, a = s.events(2.0)                  # events at exactly the duration belong to it
    assert np.array_equal(t, [0.0, 1.0, 1.0, 2.0]) and np.array_equal(i, [2, 1, 0, 2])
    assert np.array_equal(a, [5.0, 2.0, 4.0, 3.0])


def test_spike_source_integer_valued_float_ids_are_accepted():
    s = S(n=2, times=[0.0, 1.0], ids=[1.0, 0.0])
    assert s.ids.dtype == np.int64 and np.array_equal(s.ids, [1, 0])


@pytest.mark.parametrize("kwargs, param, value", [
    (dict(rate=-1.0), "rate", r"-1\.0"),
    (dict(rate=math.nan), "rate", "nan"),
    (dict(rate=1.0, coding="x"), "coding", "x"),
    (dict(rate=1.0, seed=-3), "seed", "-3"),
    (dict(rate=1.0, t_start=-2.0), "t_start", r"-2\.0"),
    (dict(rate=1.0, t_stop=math.nan), "t_stop", "nan"),
])
def test_poisson_source_bad_values(kwargs, param, value):
    with refused(param, value):
        esg.PoissonSource(n=2, **kwargs)


@pytest.mark.parametrize("kwargs, param, value", [
    (dict(t=[0.0, 2.0, 1.0], values=[0.0, 1.0, 2.0], theta=0.1), "t", r"2\. 1\."),
    (dict(t=[0.0, math.nan], values=[0.0, 1.0], theta=0.1), "t", "nan"),
    (dict(t=[], values=[], theta=0.1), "t", r"\[\]"),
    (dict(t=[0.0, 1.0, 2.0], values=[0.0, 1.0, 2.0], theta=0.0), "theta", r"0\.0"),
    (dict(t=[0.0, 1.0, 2.0], values=[0.0, 1.0, 2.0], theta=-1.0), "theta", r"-1\.0"),
    (dict(t=[0.0, 1.0], values=np.zeros((2, 3)), theta=[0.1, 0.2]), "theta", r"shape \(2,\)"),
    (dict(t=[0.0, 1.0, 2.0], values=[0.0, math.nan, 2.0], theta=0.1), "values", "nan"),
    (dict(t=[0.0, 1.0, 2.0], values=[0.0, 1.0], theta=0.1), "values", r"shape \(2, 1\)"),
])
def test_signal_source_bad_values(kwargs, param, value):
    with refused(param, value):
        esg.SignalSource(**kwargs)


# ------------------------------------------------------------ projections and network

@pytest.mark.parametrize("weights, param, value", [
    (np.array([[1.0, math.nan, 0.0], [0.0, 0.0, 0.0]]), "weights", "nan"),
    (np.array([[1.0, 0.0, 0.0], [0.0, -math.inf, 0.0]]), "weights", "-inf"),
    (sp.csr_matrix(np.array([[1.0, math.inf, 0.0], [0.0, 0.0, 0.0]])), "weights", "inf"),
    (np.ones((3, 2)), "weights", r"shape \(3, 2\)"),
    (np.ones((2,)), "weights", r"shape \(2,\)"),
    (sp.csr_matrix(np.ones((3, 2))), "weights", r"shape \(3, 2\)"),
    ("abc", "weights", "abc"),
])
def test_bad_weights(net, weights, param, value):
    src, gam = net.populations
    with refused(param, value):
        net.connect(src, gam, weights=weights)
    assert net.projections == []


@pytest.mark.parametrize("delay, value", [
    (-1.0, r"-1\.0"),
    (-1e-12, r"-1e-12"),
    (math.nan, "nan"),
    (math.inf, "inf"),
    ("1", "1"),
    (np.array([[1.0, 1.0, 1.0], [1.0, -2.0, 1.0]]), r"-2\.0"),
    (np.array([[1.0, 1.0, math.nan], [1.0, 1.0, 1.0]]), "nan"),
    (np.ones((3, 2)), r"shape \(3, 2\)"),
    (sp.csr_matrix(np.array([[1.0, 1.0, 1.0], [1.0, 0.0, 1.0]])), r"synapse \(1, 1\)"),
])
def test_bad_delay(net, delay, value):
    src, gam = net.populations
    with refused("delay", value):
        net.connect(src, gam, weights=np.ones((2, 3)), delay=delay)


def test_negative_delay_off_the_synapse_pattern_is_ignored(net):
    """Per-synapse delays only matter where there is a synapse (weight != 0)."""
    src, gam = net.populations
    W = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 2.0]])
    D = np.array([[0.5, -7.0, math.nan], [-1.0, -1.0, 1.5]])
    proj = net.connect(src, gam, weights=W, delay=D)
    assert np.array_equal(proj.delay.data, [0.5, 1.5])


def test_projection_target_must_be_gamma(net):
    src, gam = net.populations
    with refused("post", "SpikeSource"):
        net.connect(gam, src, weights=np.ones((3, 2)))


@pytest.mark.parametrize("role", ["pre", "post"])
def test_connect_population_not_added(net, role):
    src, gam = net.populations
    if role == "pre":
        pre, post = S(n=2, times=[], ids=[], name="stray"), gam
    else:
        pre, post = src, G(n=3, K=2, name="stray")
    with refused(role, "stray"):
        net.connect(pre, post, weights=np.ones((2, 3)))
    assert net.projections == []


def test_duplicate_names(net):
    with refused("name", "gamma1"):
        net.add(G(n=1, name="gamma1"))           # the automatic name of the second population
    n2 = esg.Network()
    n2.add(G(n=1, name="hidden"))
    with refused("name", "hidden"):
        n2.add(S(n=1, times=[], ids=[], name="hidden"))
    assert len(n2.populations) == 1


def test_add_twice_and_add_non_population(net):
    gam = net.populations[1]
    with pytest.raises(SpecError, match="gamma1.*already added"):
        net.add(gam)
    with refused("population", "3"):
        net.add(3)
    with refused("seed", "-1"):
        esg.Network(seed=-1)


def test_network_without_gamma_population_is_a_compile_error():
    n = esg.Network()
    n.add(S(n=1, times=[0.5], ids=[0]))
    with pytest.raises(CompileError, match="GammaPopulation"):
        n.run(1.0)


# ------------------------------------------------------------ Network.run arguments

@pytest.mark.parametrize("kwargs, param, value", [
    (dict(duration=0.0), "duration", r"0\.0"),
    (dict(duration=-1.0), "duration", r"-1\.0"),
    (dict(duration=math.nan), "duration", "nan"),
    (dict(duration=math.inf), "duration", "inf"),
    (dict(duration="10"), "duration", "10"),
    (dict(duration=10.0, sample_times=[1.0, 0.5]), "sample_times", r"1\.\s+0\.5"),
    (dict(duration=10.0, sample_times=[1.0, 10.5]), "sample_times", r"10\.5"),
    (dict(duration=10.0, sample_times=[-0.5, 1.0]), "sample_times", r"-0\.5"),
    (dict(duration=10.0, sample_times=[math.nan]), "sample_times", "nan"),
    (dict(duration=10.0, sample_times=[[0.5]]), "sample_times", r"shape \(1, 1\)"),
    (dict(duration=10.0, dt=0.1), "dt", r"0\.1"),
    (dict(duration=10.0, engine="event", dt=0.25), "dt", r"0\.25"),
    (dict(duration=10.0, engine="clock"), "dt", "None"),
    (dict(duration=10.0, engine="clock", dt=0.0), "dt", r"0\.0"),
    (dict(duration=10.0, engine="clock", dt=-0.1), "dt", r"-0\.1"),
    (dict(duration=10.0, engine="clock", dt=math.nan), "dt", "nan"),
    (dict(duration=10.0, engine="rk4"), "engine", "rk4"),
    (dict(duration=10.0, engine=None), "engine", "None"),
    (dict(duration=10.0, max_spikes=0), "max_spikes", "0"),
    (dict(duration=10.0, max_events=-5), "max_events", "-5"),
    (dict(duration=10.0, max_search_steps=0), "max_search_steps", "0"),
    (dict(duration=10.0, chunks=0), "chunks", "0"),
    (dict(duration=10.0, sample_times=[1.0], record="source0"), "record", "source0"),
])
def test_run_bad_arguments(wired, kwargs, param, value):
    with refused(param, value):
        wired.run(**kwargs)


def test_run_valid_edge_arguments(wired):
    gam = wired.populations[1]
    res = wired.run(10.0, sample_times=[0.0, 5.0, 5.0, 10.0])      # ends and repeats allowed
    assert res is not None
    assert wired.run(10.0, engine="clock", dt=0.1) is not None
    assert wired.run(10.0, sample_times=[]) is not None
    assert len(res.spikes(gam).t) > 0


@pytest.mark.parametrize("key", ["max_spiks", "foo", "seed"])
def test_run_unknown_option_names_the_key(wired, key):
    with pytest.raises(TypeError, match=re.escape(repr(key))):
        wired.run(10.0, **{key: 1})


def test_run_unknown_record_population(wired):
    with pytest.raises(KeyError, match="nope"):
        wired.run(10.0, sample_times=[1.0], record="nope")
