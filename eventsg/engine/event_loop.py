"""The exact event-driven loop (no time step).

Order of work at one time t (documented, bit-for-bit reproducible):
1. input events at t, in their stable time order, schedule their deliveries;
2. arrivals (deliveries) at t, in insertion order: each advances its target
   exactly to t and applies the pulse (bucket 1 jumps) or delta (drive jumps);
3. once no arrival at t is left, every neuron touched at t is checked in the
   order it was first touched: a neuron whose spike rule holds fires at once
   (graded amplitude); the others get a new prediction of their next crossing;
4. predicted spikes at t fire in insertion order (their deliveries with zero
   delay are arrivals at t, and steps 2-3 repeat).
Deliveries wait in the event queue; each neuron has at most one prediction (its
next crossing, or the time its search resumes) in the prediction heap, replaced
whenever the neuron is touched. A neuron keeps margins (see crossing.py) on each
side whose level its search proved out of reach: inputs that fit in them are
applied without a check (step 3), and into a modal cascade they wait as pending
terms (pending.py) until the neuron's state is next needed. An input that does
not fit has the margins proven again from the neuron's state at its arrival
first. Inputs that fit on the side away from a prediction only delay the
predicted crossing, which then comes due as a point to search again from. Drive
steps into neurons with v >= 0 that take no pulses refund the margins (a step down
gives back room above; crossing.drive_step_fits).
Sample times record the state after everything at that time.
"""
import math

import numpy as np

from .crossing import (CONTINUE, NEVER, NONFINITE, bucket_range, find_crossing, input_fits,
                       range_margins, refund_bounds)
from .pending import (LAZY_DOWN, LAZY_UP, add_pending, add_pending4, advance_flush4, flush_pending,
                      pending_decays4, pending_into, row_factors)
from .neuron import FLOOR, NO_SPIKE, adapted_increment, neuron_signal, spike_amplitude, spike_kind
from .jit import inline_kernel, kernel
from .learning import learn_after_arrival, learn_before_arrival
from .prefetch import prefetch_item, prefetch_row
from .prediction_heap import pred_pop, pred_remove, pred_set, pred_top, pred_top_time
from .propagator import (PROP_MODAL, advance_buckets, advance_buckets_apart, modal4_at,
                         rate_set_cascade)
from .queue import ARRIVAL, SEQ, queue_free, queue_pop, queue_push, queue_release, queue_top_time
from .state import (C_CONTINUATIONS, C_DIRTY, C_EVENTS, C_INPUT_POS, C_INPUTS, C_SAMPLE_POS,
                    C_REPLACED, C_SEARCHES, C_SPIKES, C_SPIKES_BUFFERED, C_SYNAPTIC, C_UNCHECKED,
                    ST_BUFFER_FULL, ST_DONE, ST_NONFINITE, ST_QUEUE_FULL, ST_RUNAWAY_EVENTS,
                    ST_RUNAWAY_SPIKES)

EV_DELIVER = 0
"""The one kind of event in the queue: a spike reaching a projection's row."""

PREFETCH_AHEAD = 4
"""The delivery loop asks for the target rows of the synapse this many ahead."""

PREFETCH_SYNAPSES = 128
"""A delivery asks for the targets and weights of this many of its row's synapses at once."""

LINE_ITEMS = 8
"""int64 or float64 items in a 64-byte cache line."""

FIT_STREAK = 1
"""After this many inputs of a row in a row that fit, the delivery loop hands the rest
to _fit_run. It was 4 while _fit_run was a real call, whose cost made entering it
early slower where inputs that do not fit are common (a large network's onset); LLVM
now inlines it, and since it reads no per-neuron bounds, 1 measured faster on the
benchmark network and at 1e5 neurons (docs/performance-log.md, eleventh round)."""


@inline_kernel
def _neuron_views(net, st, g):
    """Neuron g's buckets, bucket weights, cascade (see advance_buckets) and scratch."""
    K = net.nrn_K[g]
    b0 = net.nrn_bstart[g]
    cascade = rate_set_cascade(net, net.nrn_rset[g])
    return st.z[b0:b0 + K], net.v[b0:b0 + K], cascade, st.E[:K, :K], st.work, st.zt[:K]


@inline_kernel
def _push_bounds(net, g):
    """Neuron g's push bounds (engine/bounds.py)."""
    b0 = net.nrn_bstart[g]
    K = net.nrn_K[g]
    return net.psi_pos[b0:b0 + K], net.psi_neg[b0:b0 + K]


NO_DECAYS = (0.0, 0.0, 0.0, 0.0)
"""advance_neuron's ``e4`` where the caller has no pending decays at hand."""


@inline_kernel
def advance_neuron(net, st, g, t, e4=NO_DECAYS, have_e4=False):
    """Move neuron g's stored state exactly to time t (ms) >= its t_last.

    ``e4``: pending_decays4 of g's rate set at t where ``have_e4`` (a delivery's row
    shares them among its targets, from row_factors), else computed here when needed.
    """
    D = t - st.t_last[g]
    if D > 0.0:
        _advance_stored(net, st, g, t, D, e4, have_e4)
    if st.has_pend[g] == 1:
        flush_pending(net, st, g, t)


@inline_kernel
def _advance_stored(net, st, g, t, D, e4, have_e4):
    """advance_neuron's move of the stored state: D = t - t_last > 0 (ms); for the default
    cascade the pending inputs are applied in the same modal sum (pending.advance_flush4)."""
    s = net.nrn_rset[g]
    if net.rset_method[s] == PROP_MODAL and net.nrn_K[g] == 4:
        # the default cascade on flat arrays: no views in the delivery loop
        if st.has_pend[g] == 1:
            if not have_e4:
                e4 = pending_decays4(net, st, s, t)
            advance_flush4(net, st, g, s, D, e4)     # its pending inputs in the same sum
        else:
            b0 = net.nrn_bstart[g]
            modal4_at(net.rates, net.rset_start[s], net.rset_V, net.rset_W,
                      net.rset_mstart[s], net.rset_mult, net.rset_base[s], st.z, b0,
                      st.drive[g], D, st.z, b0)
    else:
        z, v, cascade, E, work, zt = _neuron_views(net, st, g)
        # a call: each copy of advance_neuron inlined into the engine's loops stays
        # small (compile time), and the loop around it fast (propagator.py)
        advance_buckets_apart(cascade, z, st.drive[g], D, E, work, z)
    if st.h[g] > 0.0:
        st.h[g] *= math.exp(-D * net.nrn_inv_tau_h[g])
    st.t_last[g] = t


@inline_kernel
def _refresh_margins(net, st, g):
    """Prove neuron g's margins again from its state now (advanced, nothing pending),
    by the bucket-by-bucket range of its signal (crossing.py)."""
    b0 = net.nrn_bstart[g]
    K = net.nrn_K[g]
    psi_pos, psi_neg = _push_bounds(net, g)
    x_hi, x_lo = bucket_range(st.z[b0:b0 + K], st.drive[g], net.v[b0:b0 + K], psi_pos, psi_neg,
                              net.nrn_bias[g])
    st.lazy[g, LAZY_UP], st.lazy[g, LAZY_DOWN] = range_margins(x_hi, x_lo, st.r[g],
                                                               net.nrn_theta0[g])


@inline_kernel
def _needs_check(st, g):
    """Neuron g loses its margins and is checked once the arrivals at this time are done."""
    st.lazy[g, LAZY_UP] = 0.0
    st.lazy[g, LAZY_DOWN] = 0.0
    _mark_dirty(st, g)


@inline_kernel
def _mark_dirty(st, g):
    if st.is_dirty[g] == 0:
        st.is_dirty[g] = 1
        st.dirty[st.ctr[C_DIRTY]] = g
        st.ctr[C_DIRTY] += 1


@inline_kernel          # (see run_events: no call that passes all of net)
def _emit(net, q, node, t, amp):
    """Schedule the deliveries of a spike of ``node`` at t with amplitude amp."""
    p0 = net.node_pop[node]
    row = net.node_local[node]
    for k in range(net.pop_out_start[p0], net.pop_out_start[p0 + 1]):
        p = net.pop_out_proj[k]
        base = net.proj_row_start[p]
        start = net.syn_indptr[base + row]
        if start == net.syn_indptr[base + row + 1]:
            continue
        d = net.proj_delay[p]
        if d < 0.0:
            d = net.syn_delay[start]
        queue_push(q, t + d, ARRIVAL, EV_DELIVER, node, p, start, amp, t)


@inline_kernel
def _apply_input(net, st, g, w, pulse):
    """Neuron g, already advanced to the input's time, takes an input of size w: bucket 1
    or drive jumps."""
    if pulse:
        st.z[net.nrn_bstart[g]] += w
    else:
        st.drive[g] += w


@inline_kernel
def _prefetch_ahead(target, k, end, lazy, bounds):
    """Ask for the margin and push-bound rows of the target PREFETCH_AHEAD synapses past
    synapse k of a row ending at end (prefetch.py)."""
    if k + PREFETCH_AHEAD < end:
        ahead = target[k + PREFETCH_AHEAD]
        prefetch_row(lazy, ahead)
        prefetch_row(bounds, ahead)


@inline_kernel
def _prefetch_synapses(target, weight, start, end):
    """Ask for the cache lines of a row's targets and weights, synapses start..end (at most
    PREFETCH_SYNAPSES of them: by then the hardware prefetcher follows the stream)."""
    stop = min(end, start + PREFETCH_SYNAPSES)
    j = start
    while j < stop:
        prefetch_item(target, j)
        prefetch_item(weight, j)
        j += LINE_ITEMS
    if stop > start:
        prefetch_item(target, stop - 1)        # (the last line, where start is not aligned)
        prefetch_item(weight, stop - 1)


@kernel
def _fit_run(target, weight, k, end, amp, bound_up, bound_down, lazy, absorbed, has_pend,
             pulse, f4, shrink):
    """Inputs k, k + 1, .. of a row into targets with K = 4 pending terms that share the
    push bounds ``bound_up``, ``bound_down`` (the projection's proj_input_bounds, or
    crossing.refund_bounds of them with ``shrink``), while they fit (input_fits, then
    add_pending4 with the row's factors f4); returns the index of the first input that
    does not fit, or end.

    A loop of its own, on only the arrays it needs, apart from the delivery loop's
    slow path: each input reads and writes one row of ``lazy`` (one cache line) and
    two flags. Without the loop vectorizer it is small enough that LLVM inlines it
    into the delivery loop; kept out of line (LLVM's noinline) the benchmark network
    ran slower (docs/performance-log.md, ninth round).
    """
    while k < end:
        if k + PREFETCH_AHEAD < end:
            prefetch_row(lazy, target[k + PREFETCH_AHEAD])
        g = target[k]
        w = weight[k] * amp
        if not input_fits(lazy, g, w, bound_up, bound_down, shrink):
            return k
        add_pending4(lazy, has_pend, g, w, pulse, f4)
        absorbed[g] = 1
        k += 1
    return k


@inline_kernel          # one call site, in run_events (see there)
def _deliver(net, st, q, lrn, t, node, p, start, amp, t_emit):
    """Apply one delivery event: all synapses of the row (or its delay group).

    With learning (``lrn`` not None; rows of trained projections have one delay)
    the learning kernels run before and after the arrival (docs/learning.md).
    """
    row = net.node_local[node]
    end = net.syn_indptr[net.proj_row_start[p] + row + 1]
    _prefetch_synapses(net.syn_target, net.syn_weight, start, end)
    if lrn is not None:
        if lrn.proj_learn[p] == 1:
            learn_before_arrival(net, lrn, p, row, t)
    uniform = net.proj_delay[p] >= 0.0
    pulse = net.proj_pulse[p] == 1
    k = start
    # (a row with one delay never reads syn_delay: one cache miss fewer per row)
    d0 = 0.0 if uniform else net.syn_delay[start]
    unchecked = 0
    lazy_set = -1
    if lrn is None:          # (pruned when learning: every input is then applied at once)
        lazy_set = net.proj_lazy_rset[p]
    K = 0
    f4 = (0.0, 0.0, 0.0, 0.0)
    e4 = NO_DECAYS
    if lazy_set >= 0:
        # (e4: how far the targets' pending terms have decayed, for their advances)
        f4, e4 = row_factors(net, st, lazy_set, t, pulse)
        K = net.rset_K[lazy_set]
    # most a unit input moves x up or down, ever (crossing.py): by bucket 1 for pulses
    col = 0 if pulse else 2
    bounds = net.nrn_input_bounds
    row_up = net.proj_input_bounds[p, 0]
    row_down = net.proj_input_bounds[p, 1]
    fast = uniform and K == 4 and not math.isnan(row_up)
    refund = 0.0            # (bucket weights may change when learning: never refund then)
    if lrn is None:
        refund = float(net.proj_refund[p])
    row_up, row_down, shrink = refund_bounds(row_up, row_down, refund)
    streak = 0          # inputs that fit in a row, here in the loop
    while k < end and (uniform or net.syn_delay[k] == d0):
        if fast and streak == FIT_STREAK:
            # inputs fit here: the ones that follow too, most likely; a call takes them
            first = k
            k = _fit_run(net.syn_target, net.syn_weight, k, end, amp, row_up, row_down,
                         st.lazy, st.absorbed, st.has_pend, pulse, f4, shrink)
            unchecked += k - first
            streak = 0
            if k == end:
                break
        _prefetch_ahead(net.syn_target, k, end, st.lazy, bounds)
        g = net.syn_target[k]
        w = net.syn_weight[k] * amp
        # an input that fits in the margins cannot make a level reachable
        # (without a branch: one inlined into this loop slowed it where few inputs fit)
        bound_pos, bound_neg, in_shrink = refund_bounds(bounds[g, col], bounds[g, col + 1],
                                                        refund)
        fits = input_fits(st.lazy, g, w, bound_pos, bound_neg, in_shrink)
        at_once = lazy_set < 0
        if not fits or at_once:
            advance_neuron(net, st, g, t, e4, K == 4)       # (one copy of it in this loop)
        if not fits and st.is_dirty[g] == 0:
            # margins proven at the last search, spent or outgrown: prove them again now
            _refresh_margins(net, st, g)
            fits = input_fits(st.lazy, g, w, bound_pos, bound_neg, in_shrink)
            at_once = True
        if fits:
            st.absorbed[g] = 1      # a prediction of g is now a lower bound
            unchecked += 1
        if fits and not at_once:
            add_pending(net, st, g, K, w, pulse, f4)    # waits as modal terms (pending.py)
            streak += 1
        else:
            streak = 0
            _apply_input(net, st, g, w, pulse)
            if not fits:
                _needs_check(st, g)
        k += 1
    st.ctr[C_SYNAPTIC] += k - start
    st.ctr[C_UNCHECKED] += unchecked
    if lrn is not None:
        if lrn.proj_learn[p] == 1 and learn_after_arrival(net, st, lrn, p, row, t, amp):
            for i in range(start, end):
                _needs_check(st, net.syn_target[i])
    if k < end:
        queue_push(q, t_emit + net.syn_delay[k], ARRIVAL, EV_DELIVER, node, p, k, amp, t_emit)


@inline_kernel          # two call sites, both in run_events (see there)
def fire(net, st, q, g, t, kind, at_crossing):
    """Neuron g spikes at t (ms) by rule ``kind``; record, update r and h, emit.

    Callers pass ``at_crossing`` as ``np.bool_(...)``, a value, not a literal True or
    False (for which Numba would type, and so compile, this kernel's code twice).
    """
    advance_neuron(net, st, g, t)
    z, v, cascade, E, work, zt = _neuron_views(net, st, g)
    x = neuron_signal(z, v, net.nrn_bias[g])
    theta = net.nrn_theta0[g] + st.h[g]
    r = st.r[g]
    a = spike_amplitude(kind, x, r, theta, at_crossing)
    if at_crossing:
        st.r[g] = r + a if kind != FLOOR else 0.0
    else:
        st.r[g] = x if x > 0.0 else 0.0
    st.h[g] += adapted_increment(net.nrn_beta[g], a)
    i = st.ctr[C_SPIKES_BUFFERED]
    st.spk_t[i] = t
    st.spk_neuron[i] = g
    st.spk_amp[i] = a
    st.ctr[C_SPIKES_BUFFERED] = i + 1
    st.ctr[C_SPIKES] += 1
    _emit(net, q, net.node_pop.shape[0] - net.nrn_K.shape[0] + g, t, a)
    _needs_check(st, g)


@inline_kernel          # 1.2 M calls per benchmark second: no call passing all of net and st
def predict(net, st, q, ph, g, t_from, t_end, max_steps, resumed=False):
    """Search neuron g's next crossing from t_from; it replaces g's prediction
    (``resumed``: the one that came due, not counted as replaced).

    Returns False if the state is not finite.
    """
    z, v, cascade, E, work, zt = _neuron_views(net, st, g)
    psi_pos, psi_neg = _push_bounds(net, g)
    st.ctr[C_SEARCHES] += 1
    status, t, margin_up, margin_down = find_crossing(
        cascade, v, psi_pos, psi_neg, net.nrn_bias[g], net.nrn_theta0[g],
        net.nrn_inv_tau_h[g], z, st.drive[g], st.r[g], st.h[g], st.t_last[g], t_from, t_end,
        max_steps, E, work, zt)
    st.lazy[g, LAZY_UP] = margin_up
    st.lazy[g, LAZY_DOWN] = margin_down
    st.absorbed[g] = 0
    if status == NEVER:
        pred_remove(ph, g)
        return True
    if status == NONFINITE:
        st.lazy[g, LAZY_UP] = 0.0
        st.lazy[g, LAZY_DOWN] = 0.0
        return False
    if status == CONTINUE:
        st.ctr[C_CONTINUATIONS] += 1
    seq = q.meta[SEQ]
    q.meta[SEQ] = seq + 1
    if pred_set(ph, g, t, seq, status) and not resumed:
        st.ctr[C_REPLACED] += 1
    return True


@inline_kernel          # one call site, in run_events (see there)
def _check_dirty(net, st, q, ph, t, t_end, max_steps):
    """Step 3: check every neuron touched at t; fire or predict."""
    n_dirty = st.ctr[C_DIRTY]
    st.ctr[C_DIRTY] = 0
    for i in range(n_dirty):
        st.is_dirty[st.dirty[i]] = 0
    for i in range(n_dirty):
        g = st.dirty[i]
        z, v, cascade, E, work, zt = _neuron_views(net, st, g)
        x = neuron_signal(z, v, net.nrn_bias[g])
        if not math.isfinite(x):
            return False
        kind = spike_kind(x, st.r[g], net.nrn_theta0[g] + st.h[g])
        if kind != NO_SPIKE:
            fire(net, st, q, g, t, kind, np.bool_(False))
        elif not predict(net, st, q, ph, g, t, t_end, max_steps):
            return False
    return True


@inline_kernel
def samples_due(st, rec, t_before):
    """True if a sample time < t_before is pending (cheap test before record_samples)."""
    s = st.ctr[C_SAMPLE_POS]
    return s < rec.times.shape[0] and rec.times[s] < t_before


@kernel
def record_samples(net, st, rec, t_before):
    """Record every pending sample time < t_before (state after all events at it)."""
    S = rec.times.shape[0]
    s = st.ctr[C_SAMPLE_POS]
    while s < S and rec.times[s] < t_before:
        ts = rec.times[s]
        for j in range(rec.neurons.shape[0]):
            g = rec.neurons[j]
            z, v, cascade, E, work, zt = _neuron_views(net, st, g)
            D = ts - st.t_last[g]
            advance_buckets(cascade, z, st.drive[g], D, E, work, zt)
            if st.has_pend[g] == 1:
                pending_into(net, st, g, ts, zt, 0)
            rec.x[s, j] = neuron_signal(zt, v, net.nrn_bias[g])
            rec.r[s, j] = st.r[g]
            h = st.h[g] * math.exp(-D * net.nrn_inv_tau_h[g]) if st.h[g] > 0.0 else 0.0
            rec.theta[s, j] = net.nrn_theta0[g] + h
            o = rec.zoff[j]
            for k in range(zt.shape[0]):
                rec.z[s, o + k] = zt[k]
        s += 1
    st.ctr[C_SAMPLE_POS] = s


@kernel
def run_events(net, st, q, ph, rec, lrn, t_end, t_stop, max_steps, max_spikes, max_events,
               max_out):
    """Run until every event at times <= t_stop (ms) is done, or a stop status.

    Returns a status code (state.ST_*). With t_stop == t_end, samples up to t_end
    are recorded too. ``q`` holds deliveries, ``ph`` the neurons' predictions;
    ``lrn``: a learn_state.Learner, or None (no learning); ``max_out``: most
    projections leaving one population.

    The kernels this loop runs at every event (_deliver, _check_dirty, fire, _emit)
    are inlined into it: Numba passes a tuple of arrays as its words one by one, and a
    call with the network and the state copied about 530 words onto the stack (some
    250,000 such calls in a second of the benchmark network). Each has one or two call
    sites, all here, so inlining them adds little code.
    """
    n_in = net.in_time.shape[0]
    buf = st.spk_t.shape[0]
    while True:
        if queue_free(q) < max_out + 2:
            return ST_QUEUE_FULL
        if st.ctr[C_SPIKES_BUFFERED] + st.ctr[C_DIRTY] + 1 >= buf:
            return ST_BUFFER_FULL
        if st.ctr[C_SPIKES] >= max_spikes:
            return ST_RUNAWAY_SPIKES
        if st.ctr[C_EVENTS] >= max_events:
            return ST_RUNAWAY_EVENTS
        pos = st.ctr[C_INPUT_POS]
        t_in = net.in_time[pos] if pos < n_in else np.inf
        t_q = queue_top_time(q)
        t_p = pred_top_time(ph)
        now = st.now[0]
        if st.ctr[C_DIRTY] > 0 and t_in != now and t_q != now:
            # no arrival at `now` is left: check the neurons it touched
            if queue_free(q) < st.ctr[C_DIRTY] * (max_out + 1):
                return ST_QUEUE_FULL
            if not _check_dirty(net, st, q, ph, now, t_end, max_steps):
                return ST_NONFINITE
            continue
        t_next = min(t_in, t_q, t_p)
        if t_next > t_stop:
            record_samples(net, st, rec, np.nextafter(t_stop, np.inf))
            return ST_DONE
        if samples_due(st, rec, t_next):
            # a call hands over every array of net, st and rec: test first
            record_samples(net, st, rec, t_next)
        st.now[0] = t_next
        st.ctr[C_EVENTS] += 1
        if t_in <= t_q and t_in <= t_p:
            _emit(net, q, net.in_node[pos], t_in, net.in_amp[pos])
            st.ctr[C_INPUT_POS] = pos + 1
            st.ctr[C_INPUTS] += 1
        elif t_q <= t_p:
            t, slot = queue_pop(q)
            a = q.a[slot]
            b = q.b[slot]
            c = q.c[slot]
            f0 = q.f0[slot]
            f1 = q.f1[slot]
            queue_release(q, slot)
            _deliver(net, st, q, lrn, t, a, b, c, f0, f1)
        else:
            t, g, kind = pred_top(ph)
            if kind == CONTINUE or st.absorbed[g] == 1:
                # a paused search, or a crossing that inputs since may have delayed:
                # the new prediction takes the place of the one that came due
                advance_neuron(net, st, g, t)
                if not predict(net, st, q, ph, g, t, t_end, max_steps, True):
                    return ST_NONFINITE
            else:
                pred_pop(ph)
                fire(net, st, q, g, t, kind, np.bool_(True))
