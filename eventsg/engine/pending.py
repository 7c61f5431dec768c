"""Pending inputs of neurons with margins, kept as modal terms against one reference time.

A neuron with a margin (crossing.py) needs no check for an input that fits in it,
and nothing reads its state until an input does not fit, it is sampled, its
prediction comes due, or it fires. Such an input need not be applied at once: for a modal
cascade (z = drive + V c, each mode c_m decaying as e^{-lam_m t}) an input at t_i
adds, in modal coordinates,

    pulse w:        c += w W e_1 * e^{-lam (t - t_i)}
    drive step w:   drive += w, and c -= w W 1 * e^{-lam (t - t_i)}

which is kept as ``pend += sign * w * u * e^{lam (t_i - T)}`` (the neuron's row of
``st.lazy`` from column LAZY_PEND, beside its margins and its pending drive
steps, column LAZY_DRIVE) against one reference
time T shared by the whole network (``pend_ref[0]``). The factor
``u_m e^{lam_m (t_i - T)}`` is the same for every target of a row (all targets of
a projection share one rate set), so a delivery into a silent neuron costs K
multiply-adds and no exponential. When the neuron is next needed at time t its
buckets are advanced as usual and the pending terms added as
``V (pend * e^{-lam (t - T)})``: the same sum as applying each input in turn, with
rounding of the same order (docs/model-choices.md). T moves forward when
``lam_max (t - T)`` would exceed ``SPAN_EXPONENT``, rescaling the pending terms.
"""

import numpy as np

from .jit import inline_kernel, kernel
from .propagator import (PROP_MODAL, _modal_decays, modal4_buckets, modal4_coordinates,
                         modal4_decays)

LAZY_UP = 0
"""Column of ``st.lazy`` holding a neuron's margin above (crossing.py)."""
LAZY_DOWN = 1
"""... and below."""
LAZY_DRIVE = 2
"""... the sum of its pending drive steps ..."""
LAZY_PEND = 3
"""... and its pending modal terms: one row per neuron holds all an input writes,
one cache line for K <= 5."""

SPAN_EXPONENT = 40.0
"""Largest lam_max (t - T) of a pending factor: e^40 ~ 2e17, far from overflow."""


def pending_span(net):
    """How far (ms) deliveries may lie past the reference time before it moves."""
    modal = np.flatnonzero(np.asarray(net.rset_method) == PROP_MODAL)
    if modal.size == 0:
        return np.inf
    top = max(float(net.rates[net.rset_start[s]:net.rset_start[s] + net.rset_K[s]].max())
              for s in modal)
    return SPAN_EXPONENT / top


@inline_kernel
def _set_decays(net, s, D, out):
    """out[m] = e^{-lam_m D} for the modes of rate set s."""
    K = net.rset_K[s]
    r0 = net.rset_start[s]
    if K == 4:
        out[0], out[1], out[2], out[3] = modal4_decays(net.rates, r0, net.rset_mult,
                                                       net.rset_base[s], D)
    else:
        _modal_decays(net.rates[r0:r0 + K], net.rset_mult[r0:r0 + K], net.rset_base[s], D,
                      out[:K])


@kernel
def rebase_pending(net, st, t):
    """Move the reference time to t (ms), rescaling every neuron's pending terms."""
    shift = t - st.pend_ref[0]
    f = st.rowf[1]
    for g in range(st.has_pend.shape[0]):
        if st.has_pend[g] == 1:
            s = net.nrn_rset[g]
            _set_decays(net, s, shift, f)
            for m in range(net.rset_K[s]):
                st.lazy[g, LAZY_PEND + m] *= f[m]
    st.pend_ref[0] = t


@inline_kernel
def row_factors(net, st, s, t, pulse):
    """The factors a row delivered at t (ms) shares: u_m e^{lam_m (t - T)} (into st.rowf[0]).

    u = W e_1 for pulses, -W 1 for drive steps (rate set s). Returns the first four
    factors too (0 past K; st.rowf has at least four columns), which add_pending
    keeps in registers for K = 4: stores into the pending terms could otherwise
    alias st.rowf and force a reload of every factor at every input; and, for K = 4,
    the pending terms' decays at t (pending_decays4) as the reciprocals of
    e^{lam_m (t - T)}: four divisions instead of a second exponential (zeros
    otherwise).
    """
    if t - st.pend_ref[0] > st.pend_ref[1]:
        rebase_pending(net, st, t)
    f = st.rowf[0]
    _set_decays(net, s, st.pend_ref[0] - t, f)
    K = net.rset_K[s]
    e4 = (0.0, 0.0, 0.0, 0.0)
    if K == 4:
        e4 = (1.0 / f[0], 1.0 / f[1], 1.0 / f[2], 1.0 / f[3])
    m0 = net.rset_mstart[s]
    for m in range(K):
        row = m0 + m * K
        if pulse:
            u = net.rset_W[row]
        else:
            u = 0.0
            for j in range(m + 1):
                u -= net.rset_W[row + j]
        f[m] *= u
    for m in range(K, 4):
        f[m] = 0.0
    return (f[0], f[1], f[2], f[3]), e4


@inline_kernel
def add_pending(net, st, g, K, w, pulse, f4):
    """Neuron g takes an input of size w as pending terms (st.rowf[0] and its first
    four factors f4, from row_factors)."""
    if K == 4:
        add_pending4(st.lazy, st.has_pend, g, w, pulse, f4)
        return
    f = st.rowf[0]
    for m in range(K):
        st.lazy[g, LAZY_PEND + m] += w * f[m]
    if not pulse:
        st.lazy[g, LAZY_DRIVE] += w
    st.has_pend[g] = 1


@inline_kernel
def add_pending4(lazy, has_pend, g, w, pulse, f4):
    """add_pending for four pending terms, on the arrays it writes (the delivery loop's
    run of inputs that fit calls it without the network and the state)."""
    lazy[g, LAZY_PEND] += w * f4[0]
    lazy[g, LAZY_PEND + 1] += w * f4[1]
    lazy[g, LAZY_PEND + 2] += w * f4[2]
    lazy[g, LAZY_PEND + 3] += w * f4[3]
    if not pulse:
        lazy[g, LAZY_DRIVE] += w
    has_pend[g] = 1


@inline_kernel
def pending_into(net, st, g, t, out, o0):
    """Add neuron g's pending inputs, as buckets at time t (ms), to out[o0:o0 + K]."""
    s = net.nrn_rset[g]
    K = net.rset_K[s]
    m0 = net.rset_mstart[s]
    c = st.rowf[1]
    _set_decays(net, s, t - st.pend_ref[0], c)
    for m in range(K):
        c[m] *= st.lazy[g, LAZY_PEND + m]
    d = st.lazy[g, LAZY_DRIVE]
    for i in range(K):
        acc = 0.0
        row = m0 + i * K
        for m in range(i + 1):
            acc += net.rset_V[row + m] * c[m]
        out[o0 + i] += d + acc


@inline_kernel
def pending_decays4(net, st, s, t):
    """e^{-lam (t - T)} of the four modes of rate set s: how much the pending terms have
    decayed by t (ms); the same for every neuron of the set (a row has them from
    row_factors)."""
    return modal4_decays(net.rates, net.rset_start[s], net.rset_mult, net.rset_base[s],
                         t - st.pend_ref[0])


@inline_kernel
def advance_flush4(net, st, g, s, D, e4):
    """Neuron g of the default cascade (K = 4 modal, rate set s), with pending inputs,
    moved from t_last to t = t_last + D (ms) and its pending inputs applied, in one modal
    sum: z = drive + pending drive + V (e^{-lam D} W (z - drive) + e^{-lam (t - T)} pend),
    with ``e4`` = pending_decays4 at t.

    The same terms as propagator.modal4_at followed by flush_pending, with one product
    by V instead of two (the last bits may differ from that order of operations).
    Leaves t_last and the threshold adaptation to the caller.
    """
    m0 = net.rset_mstart[s]
    d0, d1, d2, d3 = modal4_decays(net.rates, net.rset_start[s], net.rset_mult,
                                   net.rset_base[s], D)
    e0, e1, e2, e3 = e4
    b0 = net.nrn_bstart[g]
    lazy = st.lazy
    drive = st.drive[g]
    w0, w1, w2, w3 = modal4_coordinates(net.rset_W, m0, st.z, b0, drive)
    drive += lazy[g, LAZY_DRIVE]
    modal4_buckets(net.rset_V, m0, d0 * w0 + e0 * lazy[g, LAZY_PEND],
                   d1 * w1 + e1 * lazy[g, LAZY_PEND + 1], d2 * w2 + e2 * lazy[g, LAZY_PEND + 2],
                   d3 * w3 + e3 * lazy[g, LAZY_PEND + 3], drive, st.z, b0)
    st.drive[g] = drive
    for m in range(LAZY_PEND, LAZY_PEND + 4):
        lazy[g, m] = 0.0
    lazy[g, LAZY_DRIVE] = 0.0
    st.has_pend[g] = 0


@inline_kernel
def flush_pending(net, st, g, t):
    """Apply neuron g's pending inputs to its state, already advanced to t (ms)."""
    pending_into(net, st, g, t, st.z, net.nrn_bstart[g])
    st.drive[g] += st.lazy[g, LAZY_DRIVE]
    for m in range(net.rset_K[net.nrn_rset[g]]):
        st.lazy[g, LAZY_PEND + m] = 0.0
    st.lazy[g, LAZY_DRIVE] = 0.0
    st.has_pend[g] = 0
