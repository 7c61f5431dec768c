"""What the engine's threads need to wait for each other: atomic loads and stores of
int64 array elements (LLVM atomics, acquire and release), and a barrier on them.

The barrier keeps one counter per thread, each on a cache line of its own (slot
``i * SYNC_STRIDE``): a thread arriving raises its own counter and waits until
every counter has reached it. Nothing is ever reset, so the same array serves
every barrier of a run, across calls. A waiting thread spins, and gives its core
away (``sched_yield``) when the wait is long, so more threads than cores still
make progress.
"""
import sys

import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .jit import inline_kernel

SYNC_STRIDE = 8
"""int64 slots between two threads' counters: one 64-byte cache line each."""

SPINS_BEFORE_YIELD = 64

_sched_yield = types.ExternalFunction("SwitchToThread" if sys.platform == "win32" else
                                     "sched_yield", types.int32())


def _element_pointer(context, builder, signature, args):
    aryty = signature.args[0]
    ary = context.make_array(aryty)(context, builder, args[0])
    return cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]])


@intrinsic
def atomic_load(typingctx, arr, index):
    """arr[index] read with acquire ordering (int64 array)."""
    def codegen(context, builder, signature, args):
        ptr = _element_pointer(context, builder, signature, args)
        return builder.load_atomic(ptr, "acquire", 8)
    return arr.dtype(arr, index), codegen


@intrinsic
def atomic_store(typingctx, arr, index, value):
    """arr[index] = value with release ordering (int64 array): every write of this
    thread before it is seen by a thread that reads the value with atomic_load."""
    def codegen(context, builder, signature, args):
        ptr = _element_pointer(context, builder, signature, args)
        builder.store_atomic(args[2], ptr, "release", 8)
        return context.get_dummy_value()
    return types.void(arr, index, value), codegen


@inline_kernel
def barrier(sync, i, n_threads):
    """Thread i of n_threads waits here until all have arrived (module docstring)."""
    gen = sync[i * SYNC_STRIDE] + 1
    atomic_store(sync, i * SYNC_STRIDE, gen)
    for j in range(n_threads):
        spins = 0
        while atomic_load(sync, j * SYNC_STRIDE) < gen:
            spins += 1
            if spins > SPINS_BEFORE_YIELD:
                _sched_yield()


def make_sync(n_threads):
    """The counters of a barrier for ``n_threads`` threads, and one slot past them."""
    return np.zeros((n_threads + 1) * SYNC_STRIDE, np.int64)
