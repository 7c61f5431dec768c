"""Where a projection's synapses lie in a compiled network's CSR arrays.

Projection p's rows start at slot ``proj_row_start[p]`` of ``syn_indptr``; after
its last row comes one end-marker slot, then the next projection's rows.
"""
from .jit import inline_kernel


@inline_kernel
def projection_synapses(proj_row_start, syn_indptr, p):
    """(lo, hi): projection p's synapses are ``syn_*[lo:hi]`` (all its rows)."""
    if p + 1 < proj_row_start.shape[0]:
        last = proj_row_start[p + 1] - 1
    else:
        last = syn_indptr.shape[0] - 1
    return syn_indptr[proj_row_start[p]], syn_indptr[last]
