"""Neurons fed only by pulses from sources, simulated ahead of the rest, one at a time.

A gamma neuron whose every input is a pulse from a source depends on nothing the run
computes: its arrivals (the sources' events through its synapses, each delayed) are
known before the run starts. Such a neuron can be simulated alone from one arrival
to the next, with the same rules and in the same order as the event loop
(event_loop.py: the arrivals at a time, then the spike rule, then a crossing search),
and its spikes handed to the event loop as input events of its node, whose
deliveries the loop then schedules like any spike's.

Alone, a neuron needs no prediction heap and no margins: between two arrivals the
search is bounded by the next one (``find_crossing`` with ``t_end`` at it). Where
the neuron's signal cannot rise without input, the bound comes cheaper still: with
bucket weights v >= 0 and ``v_k / tau_k`` non-increasing along the cascade (the
usual gamma memory with equal weights) and every bucket at or above the drive (here
0: pulses never move it),

    dx/dt = sum_k (v_k lam_k - v_{k+1} lam_{k+1}) (z_k - drive) <= 0,

since each bucket stays above the drive once it is (engine/bounds.py). x then falls
or stays. Below ``r + theta0`` it reaches no upper level (theta = theta0 + h >=
theta0); the lower level (r - theta past the gate, else the floor 0) only rises as
h decays. So x minus the lower level never rises, and a lower level is crossed
before the next arrival exactly when x at that arrival is at or below the level
there: one propagation decides the interval, and only an interval that ends at or
below the level is searched.
"""
import math

from .crossing import CONTINUE, NEVER, NONFINITE, find_crossing
from .event_loop import _neuron_views, _push_bounds
from .jit import inline_kernel, thread_kernel
from .neuron import (FLOOR, GATE_EPS, NO_SPIKE, adapted_increment, neuron_signal,
                     spike_amplitude, spike_kind)
from .propagator import PROP_MODAL, advance_buckets, modal4_at

A_SEARCHES = 0
"""Slots of ``counts``: crossing searches run ..."""
A_EVENTS = 1
"""... arrival times handled (a neuron's arrivals at one time count once) ..."""
A_ARRIVALS = 2
"""... and synaptic events (arrivals) applied."""
N_AHEAD_COUNTS = 3

AH_DONE = 0
"""run_ahead statuses: every neuron done ..."""
AH_FULL = 1
"""... the spike buffer is full: grow it and call again from the neuron returned ..."""
AH_NONFINITE = 2
"""... a neuron's state is not finite ..."""
AH_STOPPED = 4
"""... or the caller asked to stop (``stop[0]`` set)."""


@thread_kernel          # (all three without Python's lock: a run's threads share the work)
def count_arrivals(net, takes, slot, t_end, count):
    """count[slot[g]] += the arrivals at times <= t_end (ms) of each neuron g with
    slot[g] >= 0, through the projections p with takes[p] == 1."""
    _arrivals(net, takes, slot, t_end, count, count, count, count, False)


@thread_kernel
def fill_arrivals(net, takes, slot, t_end, start, fill, at, aw):
    """Each such arrival's time (ms) and size (weight x the event's amplitude) into
    ``at``, ``aw``: neuron slot i's from ``start[i]`` on, in the order of the input
    events (``fill``: a copy of ``start[:-1]``, advanced as it goes); then each
    neuron's arrivals sorted by time (stably: equal times keep that order)."""
    _arrivals(net, takes, slot, t_end, fill, fill, at, aw, True)
    for i in range(fill.shape[0]):
        _sort_by_time(at, aw, start[i], fill[i])


@inline_kernel
def _arrivals(net, takes, slot, t_end, count, fill, at, aw, write):
    for e in range(net.in_time.shape[0]):
        node = net.in_node[e]
        p0 = net.node_pop[node]
        row = net.node_local[node]
        for j in range(net.pop_out_start[p0], net.pop_out_start[p0 + 1]):
            p = net.pop_out_proj[j]
            if takes[p] == 0:
                continue
            base = net.proj_row_start[p]
            for k in range(net.syn_indptr[base + row], net.syn_indptr[base + row + 1]):
                d = net.proj_delay[p]
                if d < 0.0:
                    d = net.syn_delay[k]
                t = net.in_time[e] + d
                if t > t_end:
                    continue
                i = slot[net.syn_target[k]]
                if i < 0:
                    continue        # (a neuron of another block)
                if write:
                    at[fill[i]] = t
                    aw[fill[i]] = net.syn_weight[k] * net.in_amp[e]
                    fill[i] += 1
                else:
                    count[i] += 1


@inline_kernel
def _sort_by_time(at, aw, lo, hi):
    """Stable insertion sort of at[lo:hi] (with aw): nearly sorted already."""
    for k in range(lo + 1, hi):
        t = at[k]
        if t >= at[k - 1]:
            continue
        w = aw[k]
        m = k
        while m > lo and at[m - 1] > t:
            at[m] = at[m - 1]
            aw[m] = aw[m - 1]
            m -= 1
        at[m] = t
        aw[m] = w


@inline_kernel
def _advance(cascade, z, drive, D, E, work, out):
    """Buckets z, D ms later, into out (the usual cascade written out, as in
    find_crossing)."""
    if D <= 0.0:
        for j in range(z.shape[0]):
            out[j] = z[j]
    elif cascade[3] == PROP_MODAL and z.shape[0] == 4:
        modal4_at(cascade[0], 0, cascade[4], cascade[5], 0, cascade[6], cascade[7], z, 0,
                  drive, D, out, 0)
    else:
        advance_buckets(cascade, z, drive, D, E, work, out)


@inline_kernel
def _lower_level(r, theta):
    """(has a lower level, the level): r - theta past the gate, 0 (the floor) below it,
    none at r = 0. As the threshold theta = theta0 + h decays the level only rises."""
    if r > (1.0 + GATE_EPS) * theta:
        return True, r - theta
    return r > 0.0, 0.0


@thread_kernel
def run_ahead(net, st, neurons, start, at, aw, t_end, max_steps, spk_t, spk_g, spk_a, counts,
              ns, first, stop):
    """Simulate neurons[first:] alone from their state in ``st`` (at its t_last) to t_end
    (ms), each with its arrivals at[start[i]:start[i + 1]] (times, sorted) and aw
    (sizes, pulses into bucket 1). Every neuron's signal must be one that cannot rise
    without input while its buckets are >= the drive (v >= 0, v / tau non-increasing:
    ahead_plan.falls_only; module docstring).

    Spikes go to spk_t, spk_g, spk_a from index ``ns``, each neuron's in time order;
    counts (N_AHEAD_COUNTS,) take what was done. Returns (status, neuron index, spikes
    written): AH_DONE; AH_FULL with the index of the neuron that did not fit and the
    spikes before it (that neuron's state is as it was: call again from it with a
    larger buffer); AH_NONFINITE with the neuron's index; AH_STOPPED, before neuron i,
    once another thread sets ``stop[0]`` (int64 array).
    """
    for i in range(first, neurons.shape[0]):
        if stop[0] != 0:
            return AH_STOPPED, i, ns
        g = neurons[i]
        z, v, cascade, E, work, zt = _neuron_views(net, st, g)
        K = z.shape[0]
        keep = (st.r[g], st.h[g], st.t_last[g])
        done = (counts[A_SEARCHES], counts[A_EVENTS], counts[A_ARRIVALS])
        for j in range(K):
            st.rowf[1, j] = z[j]            # (restored if the buffer runs out)
        status, n_new = _run_one(net, st, g, i, z, v, cascade, E, work, zt, start, at, aw,
                                 t_end, max_steps, spk_t, spk_g, spk_a, counts, ns)
        if status == AH_FULL:
            st.r[g], st.h[g], st.t_last[g] = keep
            counts[A_SEARCHES], counts[A_EVENTS], counts[A_ARRIVALS] = done
            for j in range(K):
                z[j] = st.rowf[1, j]
            return AH_FULL, i, ns
        if status == AH_NONFINITE:
            return AH_NONFINITE, i, ns
        ns = n_new
    return AH_DONE, neurons.shape[0], ns


@inline_kernel      # one call site: run_ahead
def _run_one(net, st, g, i, z, v, cascade, E, work, zt, start, at, aw, t_end, max_steps,
             spk_t, spk_g, spk_a, counts, ns):
    """run_ahead for neuron g (its index i): (status, spikes written so far)."""
    psi_pos, psi_neg = _push_bounds(net, g)
    bias = net.nrn_bias[g]
    theta0 = net.nrn_theta0[g]
    inv_tau_h = net.nrn_inv_tau_h[g]
    beta = net.nrn_beta[g]
    drive = st.drive[g]
    r = st.r[g]
    h = st.h[g]
    tl = st.t_last[g]
    k = start[i]
    end = start[i + 1]
    cap = spk_t.shape[0]
    # the spike rules at the start (unless arrivals at that time come first), then
    # after each time's arrivals
    check = not (k < end and at[k] == tl)
    while True:
        if check:
            x = neuron_signal(z, v, bias)
            if not math.isfinite(x):
                return AH_NONFINITE, ns
            kind = spike_kind(x, r, theta0 + h)
            if kind != NO_SPIKE:
                if ns == cap:
                    return AH_FULL, ns
                a, r, h = _graded(kind, x, r, theta0, h, beta)
                spk_t[ns], spk_g[ns], spk_a[ns] = tl, g, a
                ns += 1
        check = True
        final = k >= end
        t_next = t_end if final else at[k]
        # crossings before the next arrival (up to t_end after the last one)
        while tl < t_next:
            if _all_at_or_above(z, drive) and neuron_signal(z, v, bias) < r + theta0:
                _advance(cascade, z, drive, t_next - tl, E, work, zt)
                h_next = h * math.exp(-(t_next - tl) * inv_tau_h) if h > 0.0 else h
                has_lower, level = _lower_level(r, theta0 + h_next)
                if not has_lower or neuron_signal(zt, v, bias) > level:
                    for j in range(z.shape[0]):
                        z[j] = zt[j]
                    h = h_next
                    tl = t_next
                    break
            counts[A_SEARCHES] += 1
            status, t, mu, md = find_crossing(cascade, v, psi_pos, psi_neg, bias, theta0,
                                              inv_tau_h, z, drive, r, h, tl, tl, t_next,
                                              max_steps, E, work, zt)
            if status == NONFINITE:
                return AH_NONFINITE, ns
            if status == NEVER or (not final and t >= t_next):
                break           # (a crossing at the arrival's time: the arrival first)
            _advance(cascade, z, drive, t - tl, E, work, z)
            if h > 0.0:
                h *= math.exp(-(t - tl) * inv_tau_h)
            tl = t
            if status == CONTINUE:
                continue
            if ns + 1 >= cap:
                return AH_FULL, ns
            theta = theta0 + h
            x = neuron_signal(z, v, bias)
            a = spike_amplitude(status, x, r, theta, True)
            r = r + a if status != FLOOR else 0.0
            h += adapted_increment(beta, a)
            spk_t[ns], spk_g[ns], spk_a[ns] = t, g, a
            ns += 1
            # the rules again at once (as the event loop checks a neuron that fired)
            kind = spike_kind(x, r, theta0 + h)
            if kind != NO_SPIKE:
                a, r, h = _graded(kind, x, r, theta0, h, beta)
                spk_t[ns], spk_g[ns], spk_a[ns] = t, g, a
                ns += 1
        if final:
            break
        # the arrivals at t_next, then the spike rules
        if tl < t_next:
            _advance(cascade, z, drive, t_next - tl, E, work, z)
            if h > 0.0:
                h *= math.exp(-(t_next - tl) * inv_tau_h)
            tl = t_next
        counts[A_EVENTS] += 1
        while k < end and at[k] == t_next:
            z[0] += aw[k]
            k += 1
            counts[A_ARRIVALS] += 1
    st.r[g] = r
    st.h[g] = h
    st.t_last[g] = tl
    return AH_DONE, ns


@inline_kernel
def _graded(kind, x, r, theta0, h, beta):
    """A spike of ``kind`` where the state jumped (as the event loop fires one at once):
    its graded amplitude y - r (or -r at the floor), and r and h after it."""
    a = spike_amplitude(kind, x, r, theta0 + h, False)
    return a, (x if x > 0.0 else 0.0), h + adapted_increment(beta, a)


@inline_kernel
def _all_at_or_above(z, drive):
    for j in range(z.shape[0]):
        if z[j] < drive:
            return False
    return True
