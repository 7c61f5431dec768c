"""The kernels' decorator: compiled without the loop vectorizer, other Numba code untouched."""
import re

import numpy as np
from numba import njit
from numba.core import config

from eventsg.engine.jit import KernelDispatcher, _kernel_decorator
from eventsg.engine import event_loop


def _scaled_add(a, x, y):
    """y += a x, element by element (a loop LLVM vectorizes when allowed)."""
    for i in range(x.shape[0]):
        y[i] += a * x[i]


def _vector_loops(dispatcher):
    """How many vectorized loop bodies the dispatcher's one compiled version has."""
    (ir,) = dispatcher.inspect_llvm().values()
    return len(re.findall(r"^vector\.body[\w.]*:", ir, re.M))


def test_kernels_compile_without_loop_vectorizer():
    plain = njit(cache=False)(_scaled_add)
    quiet = _kernel_decorator(cache=False, _nrt=False)(_scaled_add)
    assert isinstance(quiet, KernelDispatcher)
    x = np.arange(1000.0)
    y_plain = np.linspace(0.0, 1.0, 1000)
    y_quiet = y_plain.copy()
    plain(0.5, x, y_plain)
    quiet(0.5, x, y_quiet)
    np.testing.assert_array_equal(y_quiet, y_plain)
    assert _vector_loops(plain) > 0         # this LLVM vectorizes the loop when allowed
    assert _vector_loops(quiet) == 0


def test_setting_restored_for_other_numba_code():
    before = config.LOOP_VECTORIZE
    quiet = _kernel_decorator(cache=False, _nrt=False)(_scaled_add)
    quiet(2.0, np.ones(64), np.zeros(64))
    assert config.LOOP_VECTORIZE == before
    plain = njit(cache=False)(_scaled_add)
    plain(2.0, np.ones(64), np.zeros(64))
    assert _vector_loops(plain) > 0


def test_engine_kernels_use_the_dispatcher():
    assert isinstance(event_loop.run_events, KernelDispatcher)
    assert isinstance(event_loop.advance_neuron, KernelDispatcher)
