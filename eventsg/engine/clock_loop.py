"""Fixed-step reference engine (step dt): the same propagator and neuron rules.

Step n (t = n dt): buckets propagate exactly over (t - dt, t] with the drive
constant; arrivals due at step n are applied (pulse: bucket 1 jumps; delta: the
drive jumps); input events of (t - dt, t] are emitted; every neuron is checked on
the grid and fires with the graded amplitude y - r. Delays are whole steps, at
least one. Samples are taken at the step nearest to each sample time.
"""
import math

import numpy as np
from numba import njit

from .jit import kernel

from .neuron import NO_SPIKE, adapted_increment, neuron_signal, spike_amplitude, spike_kind
from .propagator import fill_propagator, propagate
from .state import (C_EVENTS, C_INPUT_POS, C_INPUTS, C_SAMPLE_POS, C_SPIKES, C_SPIKES_BUFFERED,
                    C_SYNAPTIC, ST_BUFFER_FULL, ST_DONE, ST_NONFINITE, ST_RUNAWAY_SPIKES)


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
def _schedule(net, ring_pulse, ring_delta, syn_steps, n, node, amp):
    """Add a spike's contributions to the arrival ring (slot by delay steps)."""
    R = ring_pulse.shape[0]
    p0 = net.node_pop[node]
    row = net.node_local[node]
    count = 0
    for k in range(net.pop_out_start[p0], net.pop_out_start[p0 + 1]):
        p = net.pop_out_proj[k]
        base = net.proj_row_start[p]
        pulse = net.proj_pulse[p] == 1
        for s in range(net.syn_indptr[base + row], net.syn_indptr[base + row + 1]):
            slot = (n + syn_steps[s]) % R
            g = net.syn_target[s]
            if pulse:
                ring_pulse[slot, g] += net.syn_weight[s] * amp
            else:
                ring_delta[slot, g] += net.syn_weight[s] * amp
            count += 1
    return count


@kernel
def run_clock(net, st, rec, E_flat, E_off, dt, n_start, n_stop, ring_pulse, ring_delta,
              syn_steps, in_step, sample_step, max_spikes):
    """Run steps n_start .. n_stop - 1; returns (status, next step)."""
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
        pos = st.ctr[C_INPUT_POS]
        while pos < n_in and in_step[pos] <= n:
            st.ctr[C_SYNAPTIC] += _schedule(net, ring_pulse, ring_delta, syn_steps, n,
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
            st.ctr[C_SYNAPTIC] += _schedule(net, ring_pulse, ring_delta, syn_steps, n,
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
