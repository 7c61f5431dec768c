"""Fixed-step reference engine (step dt): the same propagator and neuron rules.

Step n (t = n dt): buckets propagate exactly over (t - dt, t] with the drive
constant; arrivals due at step n are applied (pulse: bucket 1 jumps; delta: the
drive jumps); input events of (t - dt, t] are emitted; every neuron is checked on
the grid and fires with the graded amplitude y - r. Delays are whole steps, at
least one. Samples are taken at the step nearest to each sample time.

With learning (``lrn`` not None) the deliveries into trained populations go
through the event queue instead of the ring, one per spike and projection, so
the learning kernels of the event engine run around each of them at its step
(docs/learning.md, "Fixed-step reference").
"""
import math

import numpy as np
from numba import njit

from .event_loop import EV_DELIVER
from .jit import kernel
from .learning import learn_after_arrival, learn_before_arrival

from .neuron import NO_SPIKE, adapted_increment, neuron_signal, spike_amplitude, spike_kind
from .propagator import fill_propagator, propagate
from .queue import ARRIVAL, queue_free, queue_pop, queue_push, queue_release, queue_top_time
from .state import (C_EVENTS, C_INPUT_POS, C_INPUTS, C_SAMPLE_POS, C_SPIKES, C_SPIKES_BUFFERED,
                    C_SYNAPTIC, ST_BUFFER_FULL, ST_DONE, ST_NONFINITE, ST_QUEUE_FULL,
                    ST_RUNAWAY_SPIKES)


@njit(cache=True)
def step_propagators(net, dt, work):
    """E(dt) of every rate set, flat; returns (E_flat, offsets)."""
    n_sets = net.rset_start.shape[0]
    offsets = np.zeros(n_sets + 1, np.int64)
    for s in range(n_sets):
        offsets[s + 1] = offsets[s] + net.rset_K[s] * net.rset_K[s]
    E_flat = np.zeros(offsets[n_sets])
    for s in range(n_sets):
        K = net.rset_K[s]
        r0 = net.rset_start[s]
        rates = net.rates[r0:r0 + K]
        E = E_flat[offsets[s]:offsets[s + 1]].reshape((K, K))
        fill_propagator(rates, net.rset_center[s], net.rset_spread[s], dt, E, work)
    return E_flat, offsets


@kernel
def _schedule(net, lrn, q, ring_pulse, ring_delta, syn_steps, n, node, amp):
    """Add a spike's contributions to the arrival ring (slot by delay steps); with
    learning, a trained projection's delivery goes to the queue (key: its step)."""
    R = ring_pulse.shape[0]
    p0 = net.node_pop[node]
    row = net.node_local[node]
    count = 0
    for k in range(net.pop_out_start[p0], net.pop_out_start[p0 + 1]):
        p = net.pop_out_proj[k]
        base = net.proj_row_start[p]
        start = net.syn_indptr[base + row]
        end = net.syn_indptr[base + row + 1]
        if lrn is not None:
            if lrn.proj_learn[p] == 1:
                if start < end:
                    queue_push(q, float(n + syn_steps[start]), ARRIVAL, EV_DELIVER, node, p,
                               start, amp, 0.0)
                continue
        pulse = net.proj_pulse[p] == 1
        for s in range(start, end):
            slot = (n + syn_steps[s]) % R
            g = net.syn_target[s]
            if pulse:
                ring_pulse[slot, g] += net.syn_weight[s] * amp
            else:
                ring_delta[slot, g] += net.syn_weight[s] * amp
            count += 1
    return count


@kernel
def _deliver_learned(net, st, lrn, q, n, t):
    """Apply the queued deliveries due at step n (time t ms), with the learning kernels."""
    while queue_top_time(q) <= n:
        due, slot = queue_pop(q)
        node = q.a[slot]
        p = q.b[slot]
        start = q.c[slot]
        amp = q.f0[slot]
        queue_release(q, slot)
        row = net.node_local[node]
        end = net.syn_indptr[net.proj_row_start[p] + row + 1]
        learn_before_arrival(net, lrn, p, row, t)
        pulse = net.proj_pulse[p] == 1
        for s in range(start, end):
            g = net.syn_target[s]
            w = net.syn_weight[s] * amp
            if pulse:
                st.z[net.nrn_bstart[g]] += w
            else:
                st.drive[g] += w
        st.ctr[C_SYNAPTIC] += end - start
        learn_after_arrival(net, st, lrn, p, row, t, amp)


@kernel
def _queue_room(net, q, in_step, pos, n, max_out):
    """Whether the queue can take every delivery scheduled at step n."""
    n_in = 0
    while pos + n_in < in_step.shape[0] and in_step[pos + n_in] <= n:
        n_in += 1
    return queue_free(q) > (net.nrn_K.shape[0] + n_in) * max_out


@kernel
def run_clock(net, st, rec, lrn, q, E_flat, E_off, dt, n_start, n_stop, ring_pulse, ring_delta,
              syn_steps, in_step, sample_step, max_spikes, max_out):
    """Run steps n_start .. n_stop - 1; returns (status, next step).

    ``lrn``: a learn_state.Learner (its F_DT set to dt) or None; ``q``: the event
    queue for trained deliveries; ``max_out``: most projections leaving one population.
    """
    N = net.nrn_K.shape[0]
    R = ring_pulse.shape[0]
    n_in = in_step.shape[0]
    buf = st.spk_t.shape[0]
    n_channels = net.node_pop.shape[0] - N
    for n in range(n_start, n_stop):
        if st.ctr[C_SPIKES_BUFFERED] + N >= buf:
            return ST_BUFFER_FULL, n
        if st.ctr[C_SPIKES] >= max_spikes:
            return ST_RUNAWAY_SPIKES, n
        if lrn is not None:
            if not _queue_room(net, q, in_step, st.ctr[C_INPUT_POS], n, max_out):
                return ST_QUEUE_FULL, n
        t = n * dt
        slot = n % R
        for g in range(N):
            K = net.nrn_K[g]
            b0 = net.nrn_bstart[g]
            z = st.z[b0:b0 + K]
            if n > 0:
                s = net.nrn_rset[g]
                E = E_flat[E_off[s]:E_off[s + 1]].reshape((K, K))
                propagate(z, st.drive[g], E, z)
                if st.h[g] > 0.0:
                    st.h[g] *= math.exp(-dt * net.nrn_inv_tau_h[g])
            z[0] += ring_pulse[slot, g]
            st.drive[g] += ring_delta[slot, g]
            ring_pulse[slot, g] = 0.0
            ring_delta[slot, g] = 0.0
        if lrn is not None:
            _deliver_learned(net, st, lrn, q, n, t)
        pos = st.ctr[C_INPUT_POS]
        while pos < n_in and in_step[pos] <= n:
            st.ctr[C_SYNAPTIC] += _schedule(net, lrn, q, ring_pulse, ring_delta, syn_steps, n,
                                            net.in_node[pos], net.in_amp[pos])
            st.ctr[C_INPUTS] += 1
            pos += 1
        st.ctr[C_INPUT_POS] = pos
        for g in range(N):
            K = net.nrn_K[g]
            b0 = net.nrn_bstart[g]
            x = neuron_signal(st.z[b0:b0 + K], net.v[b0:b0 + K], net.nrn_bias[g])
            if not math.isfinite(x):
                return ST_NONFINITE, n
            theta = net.nrn_theta0[g] + st.h[g]
            r = st.r[g]
            kind = spike_kind(x, r, theta)
            if kind == NO_SPIKE:
                continue
            a = spike_amplitude(kind, x, r, theta, False)
            st.r[g] = x if x > 0.0 else 0.0
            st.h[g] += adapted_increment(net.nrn_beta[g], a)
            i = st.ctr[C_SPIKES_BUFFERED]
            st.spk_t[i] = t
            st.spk_neuron[i] = g
            st.spk_amp[i] = a
            st.ctr[C_SPIKES_BUFFERED] = i + 1
            st.ctr[C_SPIKES] += 1
            st.ctr[C_SYNAPTIC] += _schedule(net, lrn, q, ring_pulse, ring_delta, syn_steps, n,
                                            n_channels + g, a)
        st.ctr[C_EVENTS] += 1
        s = st.ctr[C_SAMPLE_POS]
        while s < sample_step.shape[0] and sample_step[s] == n:
            for j in range(rec.neurons.shape[0]):
                g = rec.neurons[j]
                K = net.nrn_K[g]
                b0 = net.nrn_bstart[g]
                z = st.z[b0:b0 + K]
                rec.x[s, j] = neuron_signal(z, net.v[b0:b0 + K], net.nrn_bias[g])
                rec.r[s, j] = st.r[g]
                rec.theta[s, j] = net.nrn_theta0[g] + st.h[g]
                o = rec.zoff[j]
                for k in range(K):
                    rec.z[s, o + k] = z[k]
            s += 1
        st.ctr[C_SAMPLE_POS] = s
        st.now[0] = t
    return ST_DONE, n_stop
