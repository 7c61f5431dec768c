"""The learning state handed to the kernels: structure, settings and accumulators.

docs/learning.md defines every quantity. One NamedTuple of arrays; the Python
side (``eventsg.compile.learning``) builds it, the kernels only read and write it.
"""
from typing import NamedTuple

import numpy as np

# iopt indices
I_LOSS = 0        # LOSS_MSE or LOSS_CE
I_LABEL = 1       # class of the sample (cross-entropy)
I_OPT = 2         # OPT_SGD or OPT_ADAM
I_UPDATE = 3      # 1: apply updates at events; 0: only accumulate gradients
I_OUT_POP = 4     # population index of the read-out
I_OUT0 = 5        # first global neuron of the read-out
I_NOUT = 6        # read-out neurons
N_IOPT = 7

# fopt indices
F_WIN_A = 0       # read-out window start, ms
F_WIN_B = 1       # read-out window end, ms
F_LR = 2          # learning rate eta
F_BETA1 = 3       # Adam
F_BETA2 = 4
F_EPS = 5
F_DT = 6          # 0: exact segment integrals; > 0: fixed-step reference with step dt, ms
N_FOPT = 7

LOSS_MSE = 0
LOSS_CE = 1
OPT_SGD = 0
OPT_ADAM = 1

STACK = 128
"""Intervals the adaptive quadrature can hold (depth-first: about one per halving)."""


class Learner(NamedTuple):
    # structure (per population p, all populations)
    pop_first: np.ndarray      # int64 (P,) first global neuron (gamma) or 0
    pop_count: np.ndarray      # int64 (P,) neurons (gamma) or 0 (sources)
    pop_learn: np.ndarray      # int64 (P,) 1: has a path to the read-out (trained)
    sync_start: np.ndarray     # int64 (P+1,) populations integrated before p changes
    sync_pops: np.ndarray      # int64
    desc_start: np.ndarray     # int64 (P+1,) learning populations downstream of p,
    desc_pops: np.ndarray      # int64      in reverse topological order
    proj_learn: np.ndarray     # int64 (projections,) 1: target population is trained
    proj_rset: np.ndarray      # int64 (projections,) rate set of the target population
    nrn_pop: np.ndarray        # int64 (n,) population of each neuron
    in_start: np.ndarray       # int64 (n+1,) incoming synapses of each neuron (CSR)
    in_syn: np.ndarray         # int64, synapse index
    in_trace: np.ndarray       # int64, trace (projection row) of that synapse
    tr_off: np.ndarray         # int64 (rows,) offset of each trace's K numbers in tr_z
    # settings
    iopt: np.ndarray           # int64 (N_IOPT,)
    fopt: np.ndarray           # float64 (N_FOPT,)
    tg_t: np.ndarray           # float64 (S,) target sample times, ms (MSE)
    tg_v: np.ndarray           # float64 (S * n_out,) target values, row-major (S, n_out)
    brk: np.ndarray            # float64 sorted times where the error has kinks, ms
    # per neuron (docs/learning.md "State")
    t_ref: np.ndarray          # float64 (n,) time of the last arrival, ms
    t_int: np.ndarray          # float64 (n,) integrals done up to, ms
    zref: np.ndarray           # float64 (buckets,) buckets just after the last arrival
    iref: np.ndarray           # float64 (n,) drive just after the last arrival
    m0: np.ndarray             # float64 (n,) integral of delta since t_ref
    U: np.ndarray              # float64 (buckets,) integral of delta v^T E(s - t_ref)
    gain: np.ndarray           # float64 (n,) c = sum_k v_k
    # gradients since the last update, and Adam moments
    gw: np.ndarray             # float64 (synapses,)
    gv: np.ndarray             # float64 (buckets,)
    gb: np.ndarray             # float64 (n,)
    mw: np.ndarray
    sw: np.ndarray
    mv: np.ndarray
    sv: np.ndarray
    mb: np.ndarray
    sb: np.ndarray
    steps: np.ndarray          # int64 (n,) Adam steps taken by each neuron
    # traces (per projection row)
    tr_z: np.ndarray           # float64 (trace buckets,)
    tr_drive: np.ndarray       # float64 (rows,)
    tr_t: np.ndarray           # float64 (rows,) time each trace was moved to, ms
    tc_t: np.ndarray           # float64 (rows,) time of the trace copy in tc_z (-1: none)
    tc_z: np.ndarray           # float64 (trace buckets,) a trace moved to tc_t (flush cache)
    # outputs of a sample
    xint: np.ndarray           # float64 (n_out,) integral of w(t) x_o(t)
    loss: np.ndarray           # float64 (1,) integral of l(t)
    # scratch
    dl: np.ndarray             # float64 (n,) errors at one time
    xl: np.ndarray             # float64 (n,) signals at one time
    ds: np.ndarray             # float64 (n,) size of the terms of each error (rounding scale)
    zn: np.ndarray             # float64 (buckets,) buckets at one time
    f: np.ndarray              # float64 (nf,) integrand of one population at one node
    fk: np.ndarray             # Kronrod sum
    fg: np.ndarray             # Gauss sum
    fa: np.ndarray             # Kronrod sum of |f|
    fs: np.ndarray             # float64 (nf,) rounding scale of f at one node
    fn: np.ndarray             # Kronrod sum of fs
    acc: np.ndarray            # integral of the current interval
    stack: np.ndarray          # float64 (STACK, 2)
    col: np.ndarray            # float64 (Kmax,)
    E: np.ndarray              # float64 (Kmax, Kmax)
    work: np.ndarray           # float64 (Kmax, max(Kmax, MAX_TERMS + 1))


def reset_sample(lrn):
    """Zero everything that belongs to one sample (not parameters, gradients, moments)."""
    for a in (lrn.t_ref, lrn.t_int, lrn.zref, lrn.iref, lrn.m0, lrn.U, lrn.tr_z, lrn.tr_drive,
              lrn.tr_t, lrn.xint, lrn.loss):
        a[:] = 0.0
    lrn.tc_t[:] = -1.0


def zero_gradients(lrn):
    for a in (lrn.gw, lrn.gv, lrn.gb):
        a[:] = 0.0
