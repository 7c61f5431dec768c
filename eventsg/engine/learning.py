"""Online learning kernels (docs/learning.md): errors, segment integrals, flushes, updates.

Shared by the event-driven loop (which calls ``learn_before_arrival`` and
``learn_after_arrival`` around every delivery into a trained population, and
``learn_finish`` at the end of a sample). Neuron states between arrivals are
evaluated with the engine's own ``advance_buckets``; nothing here has a time step.
"""
import math

import numpy as np

from .jit import inline_kernel, kernel
from .learn_state import (F_BETA1, F_BETA2, F_EPS, F_LR, F_WIN_A, F_WIN_B, I_LABEL, I_LOSS,
                          I_NOUT, I_OPT, I_OUT0, I_OUT_POP, I_UPDATE, LOSS_CE, OPT_ADAM, STACK)
from .neuron import neuron_signal
from .propagator import advance_buckets, rate_set_cascade

# Gauss-Kronrod 7-15 on [-1, 1]: Kronrod abscissae (the odd ones are Gauss nodes), weights
GK_X = np.array([0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
                 0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
                 0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
                 0.207784955007898467600689403773245, 0.0])
GK_WK = np.array([0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
                  0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
                  0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
                  0.204432940075298892414161999234649, 0.209482141084727828012999174891714])
GK_WG = np.array([0.0, 0.129484966168869693270611432679082, 0.0,
                  0.279705391489276667901467771423780, 0.0, 0.381830050505118944950369775488975,
                  0.0, 0.417959183673469387755102040816327])

QUAD_RTOL = 1e-12
"""An interval is accepted when |K15 - G7| <= QUAD_RTOL * integral |f| + QUAD_NOISE * integral s
for every component, ``s`` the size of the terms whose difference makes f (rounding scale)."""
QUAD_NOISE = 1e-13
MIN_PART = 2.0 ** -40
"""Parts shorter than this fraction of an interval are accepted as they are."""


@inline_kernel
def _buckets_at(net, lrn, g, s, out):
    """Buckets of neuron g at time s (ms) >= its t_ref, into out[:K]."""
    K = net.nrn_K[g]
    b0 = net.nrn_bstart[g]
    advance_buckets(rate_set_cascade(net, net.nrn_rset[g]), lrn.zref[b0:b0 + K], lrn.iref[g],
                    s - lrn.t_ref[g], lrn.E[:K, :K], lrn.work, out[:K])


@inline_kernel
def _signal_at(net, lrn, g, s):
    """x_g(s); leaves g's buckets in lrn.zs."""
    K = net.nrn_K[g]
    b0 = net.nrn_bstart[g]
    _buckets_at(net, lrn, g, s, lrn.zs)
    return neuron_signal(lrn.zs[:K], net.v[b0:b0 + K], net.nrn_bias[g])


@inline_kernel
def _first_after(a, s):
    """First index i with a[i] > s in a sorted array (a.shape[0] if none)."""
    lo = 0
    hi = a.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        if a[mid] > s:
            hi = mid
        else:
            lo = mid + 1
    return lo


@inline_kernel
def target_at(lrn, o, s):
    """Target of read-out neuron o (local index) at s ms: piecewise linear, constant beyond the ends."""
    S = lrn.tg_t.shape[0]
    n_out = lrn.iopt[I_NOUT]
    if S == 0:
        return 0.0
    if s <= lrn.tg_t[0]:
        return lrn.tg_v[o]
    if s >= lrn.tg_t[S - 1]:
        return lrn.tg_v[(S - 1) * n_out + o]
    k = _first_after(lrn.tg_t, s) - 1
    t0 = lrn.tg_t[k]
    t1 = lrn.tg_t[k + 1]
    v0 = lrn.tg_v[k * n_out + o]
    v1 = lrn.tg_v[(k + 1) * n_out + o]
    return v0 + (v1 - v0) * ((s - t0) / (t1 - t0))


@inline_kernel
def window_weight(lrn, s):
    """w(s) = 1 / (t_b - t_a) inside the read-out window, else 0 (1/ms)."""
    a = lrn.fopt[F_WIN_A]
    b = lrn.fopt[F_WIN_B]
    if s < a or s > b:
        return 0.0
    return 1.0 / (b - a)


@kernel
def readout_errors(net, lrn, s):
    """Signals (lrn.xl), errors (lrn.dl) and their rounding scales (lrn.ds) of every
    read-out neuron at s; returns (l(s), rounding scale of l(s))."""
    o0 = lrn.iopt[I_OUT0]
    n_out = lrn.iopt[I_NOUT]
    w = window_weight(lrn, s)
    for o in range(n_out):
        lrn.xl[o0 + o] = _signal_at(net, lrn, o0 + o, s)
    if lrn.iopt[I_LOSS] == LOSS_CE:
        m = -math.inf
        for o in range(n_out):
            m = max(m, lrn.xl[o0 + o])
        Z = 0.0
        for o in range(n_out):
            Z += math.exp(lrn.xl[o0 + o] - m)
        c = lrn.iopt[I_LABEL]
        for o in range(n_out):
            p = math.exp(lrn.xl[o0 + o] - m) / Z
            lrn.dl[o0 + o] = w * (p - (1.0 if o == c else 0.0))
            lrn.ds[o0 + o] = w
        lz = math.log(Z)
        return w * (lz + m - lrn.xl[o0 + c]), w * (lz + abs(m) + abs(lrn.xl[o0 + c]))
    loss = 0.0
    scale = 0.0
    for o in range(n_out):
        x = lrn.xl[o0 + o]
        tg = target_at(lrn, o, s)
        e = x - tg
        lrn.dl[o0 + o] = w * e
        lrn.ds[o0 + o] = w * (abs(x) + abs(tg))
        loss += 0.5 * w * e * e
        scale += 0.5 * w * abs(e) * (abs(x) + abs(tg))
    return loss, scale


@inline_kernel
def _backprop(net, lrn, g):
    """sum over g's outgoing synapses of W_gl c_l delta_l (lrn.dl of the targets), and the
    same sum of absolute values with the targets' rounding scales."""
    n = net.nrn_K.shape[0]
    node = net.node_pop.shape[0] - n + g
    p0 = net.node_pop[node]
    row = net.node_local[node]
    acc = 0.0
    scale = 0.0
    for k in range(net.pop_out_start[p0], net.pop_out_start[p0 + 1]):
        p = net.pop_out_proj[k]
        base = net.proj_row_start[p]
        for s in range(net.syn_indptr[base + row], net.syn_indptr[base + row + 1]):
            t = net.syn_target[s]
            wc = net.syn_weight[s] * lrn.gain[t]
            acc += wc * lrn.dl[t]
            scale += abs(wc) * lrn.ds[t]
    return acc, scale


@kernel
def errors_below(net, lrn, P, s):
    """Errors at s of every trained population downstream of P (into lrn.dl, lrn.ds)."""
    for k in range(lrn.desc_start[P], lrn.desc_start[P + 1]):
        q = lrn.desc_pops[k]
        if q == lrn.iopt[I_OUT_POP]:
            readout_errors(net, lrn, s)
            continue
        for g in range(lrn.pop_first[q], lrn.pop_first[q] + lrn.pop_count[q]):
            x = _signal_at(net, lrn, g, s)
            d, scale = _backprop(net, lrn, g)
            lrn.dl[g] = d if x > 0.0 else 0.0
            lrn.ds[g] = scale if x > 0.0 else 0.0


@kernel
def _integrand(net, lrn, j, s):
    """The vector integrand of neuron j at s (docs/learning.md) into lrn.f.

    f = [delta, delta * (v^T E(s - t_ref))_m (K), delta * z_k (K), l(s) share, w x_j];
    lrn.fs: the rounding scale of each entry (delta's terms in place of delta).
    """
    K = net.nrn_K[j]
    b0 = net.nrn_bstart[j]
    P = lrn.nrn_pop[j]
    f = lrn.f
    fs = lrn.fs
    loss = 0.0
    loss_scale = 0.0
    wx = 0.0
    w_read = 0.0
    if P == lrn.iopt[I_OUT_POP]:
        o0 = lrn.iopt[I_OUT0]
        if lrn.iopt[I_LOSS] == LOSS_CE:
            l_all, l_scale = readout_errors(net, lrn, s)
            if j == o0:
                loss = l_all
                loss_scale = l_scale
            d = lrn.dl[j]
            ds = lrn.ds[j]
            x = _signal_at(net, lrn, j, s)
        else:
            x = _signal_at(net, lrn, j, s)
            w = window_weight(lrn, s)
            tg = target_at(lrn, j - o0, s)
            e = x - tg
            d = w * e
            ds = w * (abs(x) + abs(tg))
            loss = 0.5 * w * e * e
            loss_scale = 0.5 * w * abs(e) * (abs(x) + abs(tg))
        w_read = window_weight(lrn, s)
        wx = w_read * x
    else:
        errors_below(net, lrn, P, s)
        x = _signal_at(net, lrn, j, s)
        d, ds = _backprop(net, lrn, j)
        if x <= 0.0:
            d = 0.0
            ds = 0.0
    f[0] = d
    fs[0] = ds
    f[2 * K + 1] = loss
    fs[2 * K + 1] = loss_scale
    # rounding in the buckets is relative to the size of the state, not of each bucket
    zscale = abs(lrn.iref[j])
    for k in range(K):
        zscale = max(zscale, abs(lrn.zref[b0 + k]))
    vabs = net.nrn_vabs[j]
    f[2 * K + 2] = wx
    fs[2 * K + 2] = w_read * (abs(x) + abs(net.nrn_bias[j]) + vabs * zscale)
    if d == 0.0 and ds == 0.0:
        for m in range(2 * K):
            f[1 + m] = 0.0
            fs[1 + m] = 0.0
        return
    for k in range(K):
        f[1 + K + k] = d * lrn.zs[k]
        fs[1 + K + k] = ds * (abs(lrn.zs[k]) + zscale)
    D = s - lrn.t_ref[j]
    cascade = rate_set_cascade(net, net.nrn_rset[j])
    for m in range(K):
        for k in range(K):
            lrn.unit[k] = 0.0
        lrn.unit[m] = 1.0
        advance_buckets(cascade, lrn.unit[:K], 0.0, D, lrn.E[:K, :K], lrn.work, lrn.col[:K])
        u = 0.0
        for k in range(m, K):
            u += net.v[b0 + k] * lrn.col[k]
        f[1 + m] = d * u
        fs[1 + m] = ds * (abs(u) + vabs)


@inline_kernel
def _gate(net, lrn, j, s):
    return _signal_at(net, lrn, j, s) > 0.0


@kernel
def _gate_root(net, lrn, j, lo, hi, gate_lo):
    """Where [x_j > 0] switches in (lo, hi), by bisection down to adjacent floats."""
    while True:
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            return hi
        if _gate(net, lrn, j, mid) == gate_lo:
            lo = mid
        else:
            hi = mid


@kernel
def _integrate_interval(net, lrn, j, a, b, nf, gated):
    """Add the integral of neuron j's integrand over [a, b] to lrn.acc (adaptive G7-K15)."""
    stack = lrn.stack
    stack[0, 0] = a
    stack[0, 1] = b
    top = 1
    f = lrn.f
    while top > 0:
        top -= 1
        lo = stack[top, 0]
        hi = stack[top, 1]
        if gated and top + 2 <= STACK:
            g_lo = _gate(net, lrn, j, lo)
            if g_lo != _gate(net, lrn, j, hi):
                root = _gate_root(net, lrn, j, lo, hi, g_lo)
                if lo < root < hi:
                    stack[top, 0] = root
                    stack[top, 1] = hi
                    stack[top + 1, 0] = lo
                    stack[top + 1, 1] = root
                    top += 2
                    continue
        half = 0.5 * (hi - lo)
        mid = 0.5 * (hi + lo)
        for c in range(nf):
            lrn.fk[c] = 0.0
            lrn.fg[c] = 0.0
            lrn.fa[c] = 0.0
            lrn.fn[c] = 0.0
        for i in range(8):
            for sign in range(2):
                if i == 7 and sign == 1:
                    break
                s = mid + half * GK_X[i] if sign == 0 else mid - half * GK_X[i]
                _integrand(net, lrn, j, s)
                for c in range(nf):
                    lrn.fk[c] += GK_WK[i] * f[c]
                    lrn.fg[c] += GK_WG[i] * f[c]
                    lrn.fa[c] += GK_WK[i] * abs(f[c])
                    lrn.fn[c] += GK_WK[i] * lrn.fs[c]
        ok = True
        for c in range(nf):
            if abs(lrn.fk[c] - lrn.fg[c]) > QUAD_RTOL * lrn.fa[c] + QUAD_NOISE * lrn.fn[c] + 1e-300:
                ok = False
                break
        if ok or hi - lo <= MIN_PART * (b - a) or top + 2 > STACK:
            for c in range(nf):
                lrn.acc[c] += half * lrn.fk[c]
        else:
            stack[top, 0] = mid
            stack[top, 1] = hi
            stack[top + 1, 0] = lo
            stack[top + 1, 1] = mid
            top += 2


@kernel
def integrate_neuron(net, lrn, j, t):
    """Integrate neuron j from its t_int up to t (ms) into its accumulators."""
    a = lrn.t_int[j]
    if t <= a:
        return
    K = net.nrn_K[j]
    b0 = net.nrn_bstart[j]
    nf = 2 * K + 3
    for c in range(nf):
        lrn.acc[c] = 0.0
    readout = lrn.nrn_pop[j] == lrn.iopt[I_OUT_POP]
    k = _first_after(lrn.brk, a)
    lo = a
    while lo < t:
        hi = t
        if k < lrn.brk.shape[0] and lrn.brk[k] < t:
            hi = lrn.brk[k]
        _integrate_interval(net, lrn, j, lo, hi, nf, not readout)
        lo = hi
        k += 1
    lrn.m0[j] += lrn.acc[0]
    lrn.gb[j] += lrn.acc[0]
    for m in range(K):
        lrn.U[b0 + m] += lrn.acc[1 + m]
        lrn.gv[b0 + m] += lrn.acc[1 + K + m]
    lrn.loss[0] += lrn.acc[2 * K + 1]
    if readout:
        lrn.xint[j - lrn.iopt[I_OUT0]] += lrn.acc[2 * K + 2]
    lrn.t_int[j] = t


@kernel
def learn_sync(net, lrn, P, t):
    """Integrate population P and every trained population upstream of it up to t (ms)."""
    for k in range(lrn.sync_start[P], lrn.sync_start[P + 1]):
        q = lrn.sync_pops[k]
        for j in range(lrn.pop_first[q], lrn.pop_first[q] + lrn.pop_count[q]):
            integrate_neuron(net, lrn, j, t)


@kernel
def learn_flush(net, lrn, j):
    """Hand the accumulators since t_ref to j's incoming weight gradients; zero them."""
    K = net.nrn_K[j]
    b0 = net.nrn_bstart[j]
    m0 = lrn.m0[j]
    empty = m0 == 0.0
    for m in range(K):
        if lrn.U[b0 + m] != 0.0:
            empty = False
    if empty:
        return
    cascade = rate_set_cascade(net, net.nrn_rset[j])
    cj = lrn.gain[j]
    for idx in range(lrn.in_start[j], lrn.in_start[j + 1]):
        s = lrn.in_syn[idx]
        ti = lrn.in_trace[idx]
        off = lrn.tr_off[ti]
        r = lrn.tr_drive[ti]
        advance_buckets(cascade, lrn.tr_z[off:off + K], r, lrn.t_ref[j] - lrn.tr_t[ti],
                        lrn.E[:K, :K], lrn.work, lrn.col[:K])
        g = r * cj * m0
        for m in range(K):
            g += lrn.U[b0 + m] * (lrn.col[m] - r)
        lrn.gw[s] += g
    lrn.m0[j] = 0.0
    for m in range(K):
        lrn.U[b0 + m] = 0.0


@inline_kernel
def _opt_step(lrn, theta, g, m_arr, s_arr, i, bc1, bc2):
    """One optimizer step of parameter value theta with gradient integral g; returns the new value."""
    lr = lrn.fopt[F_LR]
    if lrn.iopt[I_OPT] != OPT_ADAM:
        return theta - lr * g
    b1 = lrn.fopt[F_BETA1]
    b2 = lrn.fopt[F_BETA2]
    m_arr[i] = b1 * m_arr[i] + (1.0 - b1) * g
    s_arr[i] = b2 * s_arr[i] + (1.0 - b2) * g * g
    return theta - lr * (m_arr[i] / bc1) / (math.sqrt(s_arr[i] / bc2) + lrn.fopt[F_EPS])


@kernel
def learn_update(net, lrn, j):
    """Apply j's incoming gradients (W, v, b) with the optimizer; returns True if updating is on."""
    if lrn.iopt[I_UPDATE] == 0:
        return False
    K = net.nrn_K[j]
    b0 = net.nrn_bstart[j]
    lrn.steps[j] += 1
    n = lrn.steps[j]
    bc1 = 1.0 - lrn.fopt[F_BETA1] ** n
    bc2 = 1.0 - lrn.fopt[F_BETA2] ** n
    for idx in range(lrn.in_start[j], lrn.in_start[j + 1]):
        s = lrn.in_syn[idx]
        net.syn_weight[s] = _opt_step(lrn, net.syn_weight[s], lrn.gw[s], lrn.mw, lrn.sw, s,
                                      bc1, bc2)
        lrn.gw[s] = 0.0
    vabs = 0.0
    gain = 0.0
    for k in range(K):
        i = b0 + k
        net.v[i] = _opt_step(lrn, net.v[i], lrn.gv[i], lrn.mv, lrn.sv, i, bc1, bc2)
        lrn.gv[i] = 0.0
        vabs += abs(net.v[i])
        gain += net.v[i]
    net.nrn_vabs[j] = vabs
    lrn.gain[j] = gain
    net.nrn_bias[j] = _opt_step(lrn, net.nrn_bias[j], lrn.gb[j], lrn.mb, lrn.sb, j, bc1, bc2)
    lrn.gb[j] = 0.0
    return True


@kernel
def learn_before_arrival(net, lrn, p, row, t):
    """Before a spike of ``row`` arrives through projection p at t: sync, flush the targets."""
    start = net.syn_indptr[net.proj_row_start[p] + row]
    end = net.syn_indptr[net.proj_row_start[p] + row + 1]
    if start == end:
        return
    learn_sync(net, lrn, lrn.nrn_pop[net.syn_target[start]], t)
    for s in range(start, end):
        learn_flush(net, lrn, net.syn_target[s])


@kernel
def learn_after_arrival(net, st, lrn, p, row, t, amp):
    """After the arrival: new references of the targets, their updates, the row's trace.

    Returns True when parameters changed (the targets must be checked again).
    """
    start = net.syn_indptr[net.proj_row_start[p] + row]
    end = net.syn_indptr[net.proj_row_start[p] + row + 1]
    changed = False
    for s in range(start, end):
        j = net.syn_target[s]
        K = net.nrn_K[j]
        b0 = net.nrn_bstart[j]
        for k in range(K):
            lrn.zref[b0 + k] = st.z[b0 + k]
        lrn.iref[j] = st.drive[j]
        lrn.t_ref[j] = t
        lrn.t_int[j] = t
        if learn_update(net, lrn, j):
            changed = True
    ti = net.proj_row_start[p] + row
    s = lrn.proj_rset[p]
    K = net.rset_K[s]
    off = lrn.tr_off[ti]
    z = lrn.tr_z[off:off + K]
    advance_buckets(rate_set_cascade(net, s), z, lrn.tr_drive[ti], t - lrn.tr_t[ti],
                    lrn.E[:K, :K], lrn.work, z)
    lrn.tr_t[ti] = t
    if net.proj_pulse[p] == 1:
        z[0] += amp
    else:
        lrn.tr_drive[ti] += amp
    return changed


@kernel
def learn_finish(net, lrn, T):
    """End of a sample at T (ms): integrate every trained neuron up to T, flush, update."""
    for q in range(lrn.pop_learn.shape[0]):
        if lrn.pop_learn[q] == 0:
            continue
        for j in range(lrn.pop_first[q], lrn.pop_first[q] + lrn.pop_count[q]):
            integrate_neuron(net, lrn, j, T)
    for q in range(lrn.pop_learn.shape[0]):
        if lrn.pop_learn[q] == 0:
            continue
        for j in range(lrn.pop_first[q], lrn.pop_first[q] + lrn.pop_count[q]):
            learn_flush(net, lrn, j)
            learn_update(net, lrn, j)
