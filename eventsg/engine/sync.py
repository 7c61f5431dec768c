"""What the engine's threads need to wait for each other (engine/windows.py): atomic
loads and stores of array elements (LLVM atomics, acquire and release), each
thread's published progress on a cache line of its own, the flags that make them
all return, and a wait loop that gives the core away when the wait is long.
"""
import platform
import sys

import llvmlite.ir as llvm_ir
import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .jit import inline_kernel

SYNC_STRIDE = 8
"""int64 slots between two threads' counters: one 64-byte cache line each."""

SPINS_BEFORE_YIELD = 64

_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686", "x86")

_sched_yield = types.ExternalFunction("SwitchToThread" if sys.platform == "win32" else
                                     "sched_yield", types.int32())


def _element_pointer(context, builder, signature, args):
    aryty = signature.args[0]
    ary = context.make_array(aryty)(context, builder, args[0])
    return cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]])


@intrinsic
def atomic_load(typingctx, arr, index):
    """arr[index] read with acquire ordering (int64 or float64 array)."""
    def codegen(context, builder, signature, args):
        ptr = _element_pointer(context, builder, signature, args)
        return builder.load_atomic(ptr, "acquire", 8)
    return arr.dtype(arr, index), codegen


@intrinsic
def atomic_store(typingctx, arr, index, value):
    """arr[index] = value with release ordering (int64 or float64 array): every write of this
    thread before it is seen by a thread that reads the value with atomic_load."""
    def codegen(context, builder, signature, args):
        ptr = _element_pointer(context, builder, signature, args)
        builder.store_atomic(args[2], ptr, "release", 8)
        return context.get_dummy_value()
    return types.void(arr, index, value), codegen


STOP_SLOT = 0
"""Slot of the flags the caller sets to ask the threads to stop (Ctrl-C) ..."""
ABORT_SLOT = 1
"""... and the one a thread sets when it needs the caller: every thread then returns."""


@intrinsic
def cpu_pause(typingctx):
    """The processor's spin-wait hint (x86 ``pause``; nothing elsewhere): a waiting thread
    leaves the core's execution units to the thread that shares the core with it."""
    def codegen(context, builder, signature, args):
        if _X86:
            fnty = llvm_ir.FunctionType(llvm_ir.VoidType(), [])
            fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.x86.sse2.pause")
            builder.call(fn, [])
        return context.get_dummy_value()
    return types.void(), codegen


@inline_kernel
def spin(spins):
    """One turn of a wait loop, the ``spins``-th: a spin-wait hint (cpu_pause), and every
    SPINS_BEFORE_YIELD turns the core given away (sched_yield), so more threads than
    cores still make progress. Returns spins + 1."""
    cpu_pause()
    if spins % SPINS_BEFORE_YIELD == SPINS_BEFORE_YIELD - 1:
        _sched_yield()
    return spins + 1


def make_flags():
    """The threads' flags (STOP_SLOT, ABORT_SLOT), on a cache line of their own."""
    return np.zeros(SYNC_STRIDE, np.int64)


def make_progress(n_threads):
    """(progress, published): float64 and int64, each thread's slot at
    ``i * SYNC_STRIDE`` (a cache line each). Progress starts at -inf (no event done)."""
    return (np.full(n_threads * SYNC_STRIDE, -np.inf),
            np.zeros(n_threads * SYNC_STRIDE, np.int64))
