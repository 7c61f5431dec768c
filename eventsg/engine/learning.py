"""Online learning kernels (docs/learning.md): errors, segment integrals, flushes, updates.

Shared by the event-driven loop and the fixed-step reference loop: both call
``learn_before_arrival`` and ``learn_after_arrival`` around every delivery into a
trained population, and ``learn_finish`` at the end of a sample. Neuron states
between arrivals are evaluated with the engine's own ``advance_buckets``. The
segment integrals are exact (adaptive quadrature, no time step) unless the
fixed-step reference sets its step (``F_DT``): then they are left Riemann sums on
its grid, the one place a step enters.
"""
import math

import numpy as np

from .jit import inline_kernel, kernel
from .learn_state import (F_BETA1, F_BETA2, F_DT, F_EPS, F_LR, F_WIN_A, F_WIN_B, I_LABEL, I_LOSS,
                          I_NOUT, I_OPT, I_OUT0, I_OUT_POP, I_UPDATE, LOSS_CE, OPT_ADAM, STACK)
from .neuron import neuron_signal
from .bounds import update_push_bounds
from .propagator import advance_buckets, advance_row, rate_set_cascade

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
MAX_PARTS = 1 << 12
"""Most parts one interval is cut into; beyond, parts are accepted as they are (a
guard against integrands that are rounding noise everywhere, which would
otherwise be halved down to MIN_PART: up to 2^40 parts)."""


@inline_kernel
def _signal_at(net, lrn, g, s):
    """x_g(s) (into lrn.xl[g]); leaves g's buckets at s in lrn.zn (g's bucket range)."""
    K = net.nrn_K[g]
    b0 = net.nrn_bstart[g]
    z = lrn.zn[b0:b0 + K]
    advance_buckets(rate_set_cascade(net, net.nrn_rset[g]), lrn.zref[b0:b0 + K], lrn.iref[g],
                    s - lrn.t_ref[g], lrn.E[:K, :K], lrn.work, z)
    x = neuron_signal(z, net.v[b0:b0 + K], net.nrn_bias[g])
    lrn.xl[g] = x
    return x


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


@inline_kernel
def state_scale(net, lrn, g):
    """Size of neuron g's bucket state since its last arrival (its rounding scale)."""
    zscale = abs(lrn.iref[g])
    b0 = net.nrn_bstart[g]
    for k in range(net.nrn_K[g]):
        zscale = max(zscale, abs(lrn.zref[b0 + k]))
    return zscale


@inline_kernel
def signal_scale(net, lrn, g):
    """Size of the terms that make x_g = v . z + b (the rounding scale of x_g)."""
    vabs = net.nrn_vpos[g] + net.nrn_vneg[g]
    return abs(net.nrn_bias[g]) + vabs * state_scale(net, lrn, g)


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
        # x is a sum of terms of size signal_scale: its rounding error is relative to that
        size = abs(x) + abs(tg) + signal_scale(net, lrn, o0 + o)
        lrn.dl[o0 + o] = w * e
        lrn.ds[o0 + o] = w * size
        loss += 0.5 * w * e * e
        scale += 0.5 * w * abs(e) * size
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


@inline_kernel
def pop_width(net, lrn, q):
    """Entries of population q's integrand: 2K + 2 per neuron, then the loss."""
    return lrn.pop_count[q] * (2 * net.nrn_K[lrn.pop_first[q]] + 2) + 1


@kernel
def _pop_integrand(net, lrn, q, s):
    """The vector integrand of trained population q at s into lrn.f (docs/learning.md).

    Per neuron j (stride 2K + 2): [delta_j, delta_j (v_j^T E(s - t_ref_j))_m (K),
    delta_j z_j^k(s) (K), w(s) x_j(s)]; last entry: l(s) (read-out only).
    lrn.fs: the rounding scale of each entry (delta's terms in place of delta).
    """
    first = lrn.pop_first[q]
    n = lrn.pop_count[q]
    K = net.nrn_K[first]
    stride = 2 * K + 2
    f = lrn.f
    fs = lrn.fs
    loss = 0.0
    loss_scale = 0.0
    w_read = 0.0
    if q == lrn.iopt[I_OUT_POP]:
        loss, loss_scale = readout_errors(net, lrn, s)
        w_read = window_weight(lrn, s)
    else:
        errors_below(net, lrn, q, s)
        for j in range(first, first + n):
            x = _signal_at(net, lrn, j, s)
            d, scale = _backprop(net, lrn, j)
            lrn.dl[j] = d if x > 0.0 else 0.0
            lrn.ds[j] = scale if x > 0.0 else 0.0
    last = n * stride
    f[last] = loss
    fs[last] = loss_scale
    cascade = rate_set_cascade(net, net.nrn_rset[first])
    for i in range(n):
        j = first + i
        o = i * stride
        b0 = net.nrn_bstart[j]
        d = lrn.dl[j]
        ds = lrn.ds[j]
        x = lrn.xl[j]
        # rounding in the buckets is relative to the size of the state, not of each bucket
        zscale = state_scale(net, lrn, j)
        vabs = net.nrn_vpos[j] + net.nrn_vneg[j]
        f[o] = d
        fs[o] = ds
        f[o + 2 * K + 1] = w_read * x
        fs[o + 2 * K + 1] = w_read * (abs(x) + signal_scale(net, lrn, j))
        if d == 0.0 and ds == 0.0:
            for m in range(2 * K):
                f[o + 1 + m] = 0.0
                fs[o + 1 + m] = 0.0
            continue
        for k in range(K):
            zk = lrn.zn[b0 + k]
            f[o + 1 + K + k] = d * zk
            fs[o + 1 + K + k] = ds * (abs(zk) + zscale)
        row = lrn.col[:K]
        advance_row(cascade, net.v[b0:b0 + K], s - lrn.t_ref[j], lrn.E[:K, :K], lrn.work, row)
        for m in range(K):
            f[o + 1 + m] = d * row[m]
            fs[o + 1 + m] = ds * (abs(row[m]) + vabs)


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
def _gate_cut(net, lrn, q, lo, hi):
    """A time in (lo, hi) where some neuron of q opens or closes its ReLU gate, else hi."""
    before_hi = np.nextafter(hi, lo)
    for j in range(lrn.pop_first[q], lrn.pop_first[q] + lrn.pop_count[q]):
        g_lo = _gate(net, lrn, j, lo)
        if g_lo == _gate(net, lrn, j, hi):
            continue
        if _gate(net, lrn, j, before_hi) != g_lo:
            root = _gate_root(net, lrn, j, lo, hi, g_lo)
            if lo < root < hi:
                return root
    return hi


@kernel
def _integrate_interval(net, lrn, q, a, b, nf, gated):
    """Add the integral of population q's integrand over [a, b] to lrn.acc (adaptive G7-K15)."""
    stack = lrn.stack
    stack[0, 0] = a
    stack[0, 1] = b
    top = 1
    f = lrn.f
    parts = 0
    while top > 0:
        top -= 1
        parts += 1
        lo = stack[top, 0]
        hi = stack[top, 1]
        if gated and top + 2 <= STACK:
            root = _gate_cut(net, lrn, q, lo, hi)
            if root < hi:
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
                _pop_integrand(net, lrn, q, s)
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
        if ok or hi - lo <= MIN_PART * (b - a) or top + 2 > STACK or parts >= MAX_PARTS:
            for c in range(nf):
                lrn.acc[c] += half * lrn.fk[c]
        else:
            stack[top, 0] = mid
            stack[top, 1] = hi
            stack[top + 1, 0] = lo
            stack[top + 1, 1] = mid
            top += 2


@kernel
def _sum_steps(net, lrn, q, a, t, nf, dt):
    """Fixed-step reference: add dt * integrand at the grid points n dt in [a, t) to lrn.acc."""
    for n in range(int(round(a / dt)), int(round(t / dt))):
        _pop_integrand(net, lrn, q, n * dt)
        for c in range(nf):
            lrn.acc[c] += dt * lrn.f[c]


@kernel
def integrate_population(net, lrn, q, t):
    """Integrate trained population q from its t_int up to t (ms) into its accumulators.

    Exact engine: adaptive quadrature, intervals cut at lrn.brk and at ReLU gate
    switches. Fixed-step reference (fopt[F_DT] = dt > 0): the left Riemann sum on
    the step grid.
    """
    first = lrn.pop_first[q]
    n = lrn.pop_count[q]
    a = lrn.t_int[first]
    if t <= a or n == 0:
        return
    K = net.nrn_K[first]
    nf = pop_width(net, lrn, q)
    for c in range(nf):
        lrn.acc[c] = 0.0
    readout = q == lrn.iopt[I_OUT_POP]
    dt = lrn.fopt[F_DT]
    if dt > 0.0:
        _sum_steps(net, lrn, q, a, t, nf, dt)
    else:
        k = _first_after(lrn.brk, a)
        lo = a
        while lo < t:
            hi = t
            if k < lrn.brk.shape[0] and lrn.brk[k] < t:
                hi = lrn.brk[k]
            _integrate_interval(net, lrn, q, lo, hi, nf, not readout)
            lo = hi
            k += 1
    stride = 2 * K + 2
    for i in range(n):
        j = first + i
        o = i * stride
        b0 = net.nrn_bstart[j]
        lrn.m0[j] += lrn.acc[o]
        lrn.gb[j] += lrn.acc[o]
        for m in range(K):
            lrn.U[b0 + m] += lrn.acc[o + 1 + m]
            lrn.gv[b0 + m] += lrn.acc[o + 1 + K + m]
        if readout:
            lrn.xint[j - lrn.iopt[I_OUT0]] += lrn.acc[o + 2 * K + 1]
        lrn.t_int[j] = t
    lrn.loss[0] += lrn.acc[nf - 1]


@kernel
def learn_sync(net, lrn, P, t):
    """Integrate population P and every trained population upstream of it up to t (ms)."""
    for k in range(lrn.sync_start[P], lrn.sync_start[P + 1]):
        integrate_population(net, lrn, lrn.sync_pops[k], t)


@inline_kernel
def _all_zero(a):
    for k in range(a.shape[0]):
        if a[k] != 0.0:
            return False
    return True


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
        if r == 0.0 and _all_zero(lrn.tr_z[off:off + K]):
            continue        # nothing has arrived through this row: no gradient
        e = lrn.tc_z[off:off + K]
        if lrn.tc_t[ti] != lrn.t_ref[j]:
            # the trace at t_ref, kept for the other targets flushed at the same t_ref
            advance_buckets(cascade, lrn.tr_z[off:off + K], r, lrn.t_ref[j] - lrn.tr_t[ti],
                            lrn.E[:K, :K], lrn.work, e)
            lrn.tc_t[ti] = lrn.t_ref[j]
        g = r * cj * m0
        for m in range(K):
            g += lrn.U[b0 + m] * (e[m] - r)
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
    gain = 0.0
    for k in range(K):
        i = b0 + k
        net.v[i] = _opt_step(lrn, net.v[i], lrn.gv[i], lrn.mv, lrn.sv, i, bc1, bc2)
        lrn.gv[i] = 0.0
        gain += net.v[i]
    update_push_bounds(net, j)
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
    lrn.tc_t[ti] = -1.0
    if net.proj_pulse[p] == 1:
        z[0] += amp
    else:
        lrn.tr_drive[ti] += amp
    return changed


@kernel
def learn_finish(net, lrn, T):
    """End of a sample at T (ms): integrate every trained neuron up to T, flush, update."""
    for q in range(lrn.pop_learn.shape[0]):
        if lrn.pop_learn[q] == 1:
            integrate_population(net, lrn, q, T)
    for q in range(lrn.pop_learn.shape[0]):
        if lrn.pop_learn[q] == 0:
            continue
        for j in range(lrn.pop_first[q], lrn.pop_first[q] + lrn.pop_count[q]):
            learn_flush(net, lrn, j)
            learn_update(net, lrn, j)
