"""The one contract between the Python API and the kernels: flat arrays.

Indexing: gamma neurons of all populations are numbered 0..n_neurons-1
("neuron" g); source channels and gamma neurons together form the emitters
("nodes"): node = channel for sources, node = n_channels + g for neuron g.
Populations (sources and gamma alike) are numbered in the order they were added.
"""
from typing import NamedTuple

import numpy as np


def kernel_array(values, dtype):
    """``values`` as a C-contiguous, writeable array of ``dtype`` (a copy only where needed).

    Numba compiles a kernel for the types of its arguments, and a read-only array
    (a user's constant, a view of one) is a type of its own: handed to a kernel, it
    would cost a second compile of the whole engine loop, minutes with a cold cache.
    Every array that reaches a kernel from the user's side goes through here.
    """
    return np.require(values, dtype, ("C", "W"))


def aligned_zeros(shape, align=64, dtype=np.float64):
    """Zeros (``dtype``, C order) whose data starts on an ``align``-byte boundary, so that
    rows of a power-of-two width never straddle a cache line."""
    n = int(np.prod(shape))
    size = np.dtype(dtype).itemsize
    buf = np.zeros(n + align // size, dtype)
    start = (-buf.ctypes.data % align) // size
    return buf[start:start + n].reshape(shape)


class CompiledNetwork(NamedTuple):
    # per gamma neuron g
    nrn_K: np.ndarray            # int64, buckets
    nrn_bstart: np.ndarray       # int64, offset into bucket arrays (z, v)
    nrn_bias: np.ndarray         # float64
    nrn_theta0: np.ndarray       # float64, > 0
    nrn_inv_tau_h: np.ndarray    # float64, 1/ms
    nrn_beta: np.ndarray         # float64, >= 0
    nrn_vpos: np.ndarray         # float64, sum_k max(v_k, 0): most a unit drive step moves x up
    nrn_vneg: np.ndarray         # float64, sum_k max(-v_k, 0): ... and down (crossing.py)
    nrn_rset: np.ndarray         # int64, index of its rate set (time constants)
    nrn_input_bounds: np.ndarray  # float64 (n, 4), most a unit input moves x up / down at any
    #                               later time: pulse (psi_pos, psi_neg of bucket 1), drive step
    #                               (nrn_vpos, nrn_vneg); one row per neuron, read at every input
    v: np.ndarray                # float64 (total buckets,), bucket weights
    psi_pos: np.ndarray          # float64, like v: most a unit in bucket j moves x up, ever
    psi_neg: np.ndarray          # float64, like v: ... and down (engine/bounds.py)
    rates: np.ndarray            # float64, 1/tau per bucket, 1/ms, laid out by rate set
    rset_start: np.ndarray       # int64 (n_rsets,), offset of each rate set into rates
    rset_K: np.ndarray           # int64 (n_rsets,)
    rset_center: np.ndarray      # float64, (max + min) / 2 of the set's rates, 1/ms
    rset_spread: np.ndarray      # float64, max - min of the set's rates, 1/ms
    rset_method: np.ndarray      # int64, propagator.PROP_* used to advance the cascade
    rset_mstart: np.ndarray      # int64, offset of the set's K*K matrices in rset_V, rset_W
    rset_V: np.ndarray           # float64, eigenbasis V (modal sets; zeros otherwise)
    rset_W: np.ndarray           # float64, V^-1
    rset_mult: np.ndarray        # int64, laid out like rates: rate / base, or 0 (see rate_multiples)
    rset_base: np.ndarray        # float64 (n_rsets,), smallest rate of the set, 1/ms
    rset_tstart: np.ndarray      # int64, offset of the set's power table in rset_table
    rset_tlen: np.ndarray        # int64, its length (0: no table; see propagator.power_table)
    rset_h: np.ndarray           # float64, the table's base step h, ms (0 without a table)
    rset_table: np.ndarray       # float64, power tables of the series sets, flattened
    # per node (emitter)
    node_pop: np.ndarray         # int64, population index
    node_local: np.ndarray       # int64, index inside its population
    # per population: outgoing projections
    pop_out_start: np.ndarray    # int64 (n_pops + 1,)
    pop_out_proj: np.ndarray     # int64, projection ids
    # per projection
    proj_pulse: np.ndarray       # int64, 1 = pulse coding, 0 = delta
    proj_delay: np.ndarray       # float64, delay in ms, or -1 for per-synapse delays
    proj_row_start: np.ndarray   # int64, offset of its rows into syn_indptr
    proj_lazy_rset: np.ndarray   # int64, the one modal rate set of all its targets, or -1:
    #                              inputs to silent targets may wait as pending modal terms
    proj_input_bounds: np.ndarray  # float64 (n_proj, 2), the nrn_input_bounds pair (up, down)
    #                              of its coding that all its targets share, or NaN
    proj_refund: np.ndarray      # int64, 1 = its drive steps may refund margins: delta coding,
    #                              every target with v >= 0 and no pulse input (crossing.py)
    # synapses, CSR per projection (rows by presynaptic local index)
    syn_indptr: np.ndarray       # int64
    syn_target: np.ndarray       # int64, global gamma neuron
    syn_weight: np.ndarray       # float64
    syn_delay: np.ndarray        # float64, ms; rows sorted by delay
    # input events of all sources, sorted by time (stable)
    in_time: np.ndarray          # float64, ms
    in_node: np.ndarray          # int64
    in_amp: np.ndarray           # float64
