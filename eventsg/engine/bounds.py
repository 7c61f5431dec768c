"""How far a unit of a bucket's content can move a neuron's signal at any later time.

Column j of the propagator ``E(s) = expm(A s)`` is what one unit put into bucket j
becomes after s ms: every entry is in [0, 1] (MODEL.md section 2). Its sum, the
mass left in the buckets, obeys

    d/ds sum_k E_kj(s) = sum_{j <= k < K} E_kj(s) (lam_{k+1} - lam_k) - lam_K E_Kj(s),

so it never grows when the rates from bucket j on are non-increasing
(tau_j <= tau_{j+1} <= ..., the usual gamma memory). The unit's contribution to the
signal, ``psi_j(s) = sum_k v_k E_kj(s)``, then satisfies for every s >= 0

    psi_j(s) <= max_{k >= j} max(v_k, 0)     (rates non-increasing from j on)
    psi_j(s) <= sum_{k >= j} max(v_k, 0)     (any rates)

and the same for -psi_j with -v (``psi_neg``). With v = 1/K each, a pulse moves x
by at most w / K instead of w. crossing.py uses these bounds for the range of a
free trajectory and for how much of a silent neuron's margin an input spends.

A drive step's contribution to bucket k is its size times the bucket's step
response, which rises from 0 to 1 without ever falling (each bucket smooths the one
before it with a positive kernel). So where every v_k >= 0 a run of drive steps
moves x up by at most sum(v) times the largest partial sum of the steps, and down by
at most sum(v) times the deepest (crossing.drive_step_fits): a step down refunds
the margin above. A projection gets that rule (``proj_refund``) where it is
delta-coded and all its targets have v >= 0 and receive no pulses (a pulse's own
response rises and falls, and its push does not commute with the refund).
"""
import math

import numpy as np

from .csr import projection_synapses
from .jit import kernel


@kernel
def bucket_push_bounds(v, rates, psi_pos, psi_neg):
    """Fill psi_pos[j] >= sup_s psi_j(s) and psi_neg[j] >= sup_s -psi_j(s) (both >= 0)
    for one neuron's bucket weights v and rates (1/ms); returns (sum max(v, 0),
    sum max(-v, 0))."""
    K = v.shape[0]
    top_pos = 0.0
    top_neg = 0.0
    sum_pos = 0.0
    sum_neg = 0.0
    non_increasing = True
    for j in range(K - 1, -1, -1):
        if j < K - 1 and rates[j] < rates[j + 1]:
            non_increasing = False
        p = max(v[j], 0.0)
        n = max(-v[j], 0.0)
        top_pos = max(top_pos, p)
        top_neg = max(top_neg, n)
        sum_pos += p
        sum_neg += n
        psi_pos[j] = top_pos if non_increasing else sum_pos
        psi_neg[j] = top_neg if non_increasing else sum_neg
    return sum_pos, sum_neg


def fill_push_bounds(net):
    """bucket_push_bounds for every neuron of a compiled network: psi_pos, psi_neg,
    nrn_vpos, nrn_vneg, nrn_input_bounds, proj_input_bounds and proj_refund follow
    the bucket weights net.v."""
    _fill_push_bounds(net, np.zeros(net.nrn_K.shape[0], np.uint8))


@kernel
def _fill_push_bounds(net, takes_pulses):
    """fill_push_bounds, with ``takes_pulses`` (uint8 (n,), zeros) as scratch."""
    for g in range(net.nrn_K.shape[0]):
        update_push_bounds(net, g)
    for p in range(net.proj_pulse.shape[0]):
        if net.proj_pulse[p] == 1:
            lo, hi = projection_synapses(net.proj_row_start, net.syn_indptr, p)
            for k in range(lo, hi):
                takes_pulses[net.syn_target[k]] = 1
    for p in range(net.proj_pulse.shape[0]):
        lo, hi = projection_synapses(net.proj_row_start, net.syn_indptr, p)
        col = 0 if net.proj_pulse[p] == 1 else 2
        up = math.nan
        down = math.nan
        if hi > lo:
            up = net.nrn_input_bounds[net.syn_target[lo], col]
            down = net.nrn_input_bounds[net.syn_target[lo], col + 1]
        shared = hi > lo
        refund = net.proj_pulse[p] == 0
        # one pass over the targets decides both, ending once neither can still hold
        for k in range(lo, hi):
            if not (shared or refund):
                break
            g = net.syn_target[k]
            if net.nrn_input_bounds[g, col] != up or net.nrn_input_bounds[g, col + 1] != down:
                shared = False
            if takes_pulses[g] == 1 or net.nrn_vneg[g] != 0.0:
                refund = False
        net.proj_input_bounds[p, 0] = up if shared else math.nan
        net.proj_input_bounds[p, 1] = down if shared else math.nan
        net.proj_refund[p] = 1 if refund else 0


@kernel
def update_push_bounds(net, g):
    """Neuron g's push bounds and weight sums after a change of its bucket weights
    (every projection's shared bounds are then unknown: NaN, and none refunds, until
    fill_push_bounds)."""
    K = net.nrn_K[g]
    b0 = net.nrn_bstart[g]
    r0 = net.rset_start[net.nrn_rset[g]]
    vpos, vneg = bucket_push_bounds(net.v[b0:b0 + K], net.rates[r0:r0 + K],
                                    net.psi_pos[b0:b0 + K], net.psi_neg[b0:b0 + K])
    net.nrn_vpos[g] = vpos
    net.nrn_vneg[g] = vneg
    # the four an input reads, side by side (pulse up, down; drive step up, down)
    net.nrn_input_bounds[g, 0] = net.psi_pos[b0]
    net.nrn_input_bounds[g, 1] = net.psi_neg[b0]
    net.nrn_input_bounds[g, 2] = vpos
    net.nrn_input_bounds[g, 3] = vneg
    net.proj_input_bounds[:, :] = math.nan
    net.proj_refund[:] = 0
