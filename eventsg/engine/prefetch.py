"""Software prefetch: a hint that a row of an array will soon be read and written.

The delivery loop reads, for every synapse, two rows indexed by the target neuron
(its margins and pending terms, its push bounds): random accesses whose latency
the loop otherwise waits for. Asking for the rows of a target a few synapses ahead
lets those loads overlap with the work on the synapses before it. A prefetch is
only a hint (LLVM's ``llvm.prefetch``): it never faults, and it changes no result.
"""
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_READ_WRITE = 1
"""llvm.prefetch's rw argument: 1, the row will be written too (PREFETCHW)."""
_KEEP = 3
"""Its locality argument: 3, keep the line in every cache level."""
_DATA = 1
"""Its cache-type argument: 1, the data cache."""


@intrinsic
def prefetch_row(typingctx, array, row):
    """Hint that ``array[row]`` (a C-contiguous 2-D array, row < array.shape[0]) will be
    read and written soon. No bounds check: the caller passes a valid row."""
    if not (isinstance(array, types.Array) and array.ndim == 2 and array.layout == "C"
            and isinstance(row, types.Integer)):
        return None
    sig = types.void(array, row)

    def codegen(context, builder, signature, args):
        array_type, row_type = signature.args
        arr = context.make_array(array_type)(context, builder, args[0])
        index = context.cast(builder, args[1], row_type, types.intp)
        zero = context.get_constant(types.intp, 0)
        ptr = cgutils.get_item_pointer2(
            context, builder, data=arr.data, shape=cgutils.unpack_tuple(builder, arr.shape),
            strides=cgutils.unpack_tuple(builder, arr.strides), layout=array_type.layout,
            inds=[index, zero], wraparound=False, boundscheck=False)
        byte_ptr = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32])
        fn = builder.module.declare_intrinsic("llvm.prefetch", [byte_ptr], fnty)
        builder.call(fn, [builder.bitcast(ptr, byte_ptr), ir.Constant(i32, _READ_WRITE),
                          ir.Constant(i32, _KEEP), ir.Constant(i32, _DATA)])
        return context.get_dummy_value()

    return sig, codegen
