"""Software prefetch: a hint that part of an array will soon be read (and written).

The delivery loop reads, for every synapse, two rows indexed by the target neuron
(its margins and pending terms, its push bounds): random accesses whose latency
the loop otherwise waits for. Asking for the rows of a target a few synapses ahead
lets those loads overlap with the work on the synapses before it. The row's own
targets and weights are a stream the hardware prefetcher only picks up after a few
misses; a delivery asks for all of their cache lines when it starts. A prefetch is
only a hint (LLVM's ``llvm.prefetch``): it never faults, and it changes no result.
"""
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_READ = 0
"""llvm.prefetch's rw argument: 0, the data will only be read (PREFETCH) ..."""
_READ_WRITE = 1
"""... 1, it will be written too (PREFETCHW)."""
_KEEP = 3
"""Its locality argument: 3, keep the line in every cache level."""
_DATA = 1
"""Its cache-type argument: 1, the data cache."""


def _prefetch_codegen(rw):
    """Code of a hint for the item of a C-contiguous array at the given indices
    (the intrinsic's arguments: the array, then one integer per dimension, whose
    remaining indices are 0)."""
    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        arr = context.make_array(array_type)(context, builder, args[0])
        inds = [context.cast(builder, a, t, types.intp)
                for a, t in zip(args[1:], signature.args[1:])]
        inds += [context.get_constant(types.intp, 0)] * (array_type.ndim - len(inds))
        ptr = cgutils.get_item_pointer2(
            context, builder, data=arr.data, shape=cgutils.unpack_tuple(builder, arr.shape),
            strides=cgutils.unpack_tuple(builder, arr.strides), layout=array_type.layout,
            inds=inds, wraparound=False, boundscheck=False)
        byte_ptr = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32])
        fn = builder.module.declare_intrinsic("llvm.prefetch", [byte_ptr], fnty)
        builder.call(fn, [builder.bitcast(ptr, byte_ptr), ir.Constant(i32, rw),
                          ir.Constant(i32, _KEEP), ir.Constant(i32, _DATA)])
        return context.get_dummy_value()
    return codegen


def _addressable(array, index, ndim):
    return (isinstance(array, types.Array) and array.ndim == ndim and array.layout == "C"
            and isinstance(index, types.Integer))


@intrinsic
def prefetch_row(typingctx, array, row):
    """Hint that ``array[row]`` (a C-contiguous 2-D array, row < array.shape[0]) will be
    read and written soon. No bounds check: the caller passes a valid row."""
    if not _addressable(array, row, 2):
        return None
    return types.void(array, row), _prefetch_codegen(_READ_WRITE)


@intrinsic
def prefetch_item(typingctx, array, index):
    """Hint that ``array[index]`` (a C-contiguous 1-D array, index < array.shape[0]) will
    be read soon. No bounds check: the caller passes a valid index."""
    if not _addressable(array, index, 1):
        return None
    return types.void(array, index), _prefetch_codegen(_READ)
