"""Read-only inputs do not make kernels of a type of their own.

Numba compiles a kernel once for each type of its arguments, and a read-only array is
a type of its own: a user's constant (or a view of one) reaching a kernel would cost
a second compile of the whole engine loop, minutes with a cold cache. Every path from
the user's arrays to the kernels must therefore hand over writeable copies.
"""
import numba
import numpy as np

import eventsg as esg
from eventsg.compile.arrays import kernel_array
from eventsg.compile.compiler import compile_network
from eventsg.compile.encode import _encode_all, encode_signal
from eventsg.compile.learning import build_learner, set_sample
from eventsg.engine.event_loop import run_events
from eventsg.engine.state import make_recorder


def _frozen(values, dtype=np.float64):
    a = np.array(values, dtype=dtype)
    a.flags.writeable = False
    return a


def _network(freeze):
    arr = _frozen if freeze else (lambda values, dtype=np.float64: np.array(values, dtype))
    net = esg.Network(seed=1)
    inp = net.add(esg.SpikeSource(n=3, times=arr([1.0, 2.0, 2.5]), ids=arr([0, 2, 1], np.int64),
                                  name="inp"))
    sig = net.add(esg.SignalSource(t=arr([0.0, 5.0, 10.0]),
                                   values=arr([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]]),
                                   theta=0.2, name="sig"))
    hid = net.add(esg.GammaPopulation(n=4, K=3, tau=arr([1.0, 2.0, 4.0]), theta=arr([0.1] * 4),
                                      v=arr([0.5, 0.3, 0.2]), bias=arr([0.0] * 4), name="hid"))
    out = net.add(esg.GammaPopulation(n=2, K=3, tau=arr([1.0, 2.0, 4.0]), theta=0.05,
                                      name="out"))
    net.connect(inp, hid, weights=arr(np.full((3, 4), 0.8)), delay=1.0)
    side = net.add(esg.GammaPopulation(n=2, K=2, tau=arr([1.0, 3.0]), name="side"))
    net.connect(sig, hid, weights=arr(np.full((2, 4), 0.3)), delay=0.5)
    net.connect(hid, out, weights=arr(np.full((4, 2), 0.4)), delay=1.0)
    net.connect(sig, side, weights=arr(np.full((2, 2), 0.3)), delay=arr([[0.5, 1.0], [1.5, 2.0]]))
    return net


def test_kernel_array_copies_only_what_a_kernel_cannot_take():
    a = np.arange(4.0)
    assert kernel_array(a, np.float64) is a
    frozen = _frozen([1.0, 2.0])
    copy = kernel_array(frozen, np.float64)
    assert copy.flags.writeable and copy.flags.c_contiguous
    np.testing.assert_array_equal(copy, frozen)
    strided = kernel_array(np.arange(6.0)[::2], np.int64)
    assert strided.dtype == np.int64 and strided.flags.c_contiguous


def test_compiled_network_recorder_and_learner_have_one_type_for_read_only_inputs():
    types = []
    for freeze in (False, True):
        net = _network(freeze)
        compiled, layout = compile_network(net, 20.0)
        recorder = make_recorder(compiled, _frozen([1.0, 5.0]) if freeze else [1.0, 5.0],
                                 _frozen([0, 3], np.int64) if freeze else [0, 3])
        learner = build_learner(net, compiled, layout, "out")
        target = (_frozen([0.0, 10.0]), _frozen([[0.0, 0.5], [1.0, 0.0]])) if freeze else \
            ([0.0, 10.0], [[0.0, 0.5], [1.0, 0.0]])
        learner = set_sample(learner, 20.0, target=target)
        types.append([numba.typeof(x) for x in (compiled, recorder, learner)])
    for plain, frozen in zip(*types):
        assert plain == frozen
    # the check itself sees read-only fields as a type of their own
    assert numba.typeof(_frozen([1.0])) != numba.typeof(np.array([1.0]))


def _read_only_parts(numba_type):
    """Read-only arrays anywhere in a (nested) Numba type."""
    if isinstance(numba_type, numba.types.Array):
        return [] if numba_type.mutable else [numba_type]
    return [p for t in getattr(numba_type, "types", ()) for p in _read_only_parts(t)]


def test_encoding_a_read_only_signal_compiles_no_second_kernel():
    t = [0.0, 4.0, 8.0]
    values = [[0.0, 1.0], [2.0, -1.0], [0.5, 0.0]]
    plain = encode_signal(np.array(t), np.array(values), np.array([0.3, 0.3]), 10.0)
    frozen = encode_signal(_frozen(t), _frozen(values), _frozen([0.3, 0.3]), 10.0)
    for signature in _encode_all.signatures:
        assert _read_only_parts(numba.types.Tuple(signature)) == []
    for a, b in zip(plain, frozen):
        np.testing.assert_array_equal(a, b)


def test_a_run_from_read_only_inputs_compiles_no_second_event_loop():
    net = _network(freeze=True)
    result = net.run(duration=20.0, sample_times=_frozen([2.0, 8.0]), record=["hid"])
    assert result.stats.spikes > 0
    for signature in run_events.signatures:
        assert _read_only_parts(numba.types.Tuple(signature)) == []
