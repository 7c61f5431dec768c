"""Where the engine's threads spend their time: a cycle counter read from compiled code,
and the columns of each thread's row of tick counts (partition.ThreadBuffers.ticks).

``cycle_count`` is LLVM's ``readcyclecounter``: the time-stamp counter on x86-64 (a
constant rate on current processors, whatever the core's clock), the virtual counter
on AArch64, and 0 where the target has none. Only ratios of counts are reported
(partition.thread_shares), so its rate never needs to be known.
"""
import llvmlite.ir as llvm_ir
from numba import types
from numba.extending import intrinsic

TK_BUSY = 0
"""Ticks in the thread's windows' event loops (event_loop.run_events) ..."""
TK_WAIT = 1
"""... waiting at the barriers for the other threads ..."""
TK_TOTAL = 2
"""... and in all, from the start of each call of windows.run_thread to its return."""
TICK_STRIDE = 8
"""int64 slots a thread: its row is one 64-byte cache line of its own."""


@intrinsic
def cycle_count(typingctx):
    """The processor's cycle counter now (int64; 0 where the target has none)."""
    def codegen(context, builder, signature, args):
        fnty = llvm_ir.FunctionType(llvm_ir.IntType(64), [])
        fn = builder.module.declare_intrinsic("llvm.readcyclecounter", fnty=fnty)
        return builder.call(fn, [])
    return types.int64(), codegen
