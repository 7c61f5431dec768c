"""Mutable state of a run: neuron state, queue, buffers and counters.

Counters live in one int64 array ``ctr`` indexed by the constants below, so a
run can stop (to flush spikes, grow the queue, show progress) and resume.
"""
from typing import NamedTuple

import numpy as np

from ..compile.arrays import aligned_zeros, kernel_array
from .pending import LAZY_PEND, pending_span
from .propagator import MAX_TERMS
from .queue import EventQueue, make_queue

# ctr indices: progress
C_INPUT_POS = 0
C_SAMPLE_POS = 1
C_DIRTY = 2
C_SPIKES_BUFFERED = 3
# ctr indices: statistics
C_EVENTS = 4          # events handled (inputs, deliveries, valid predictions)
C_REPLACED = 5        # predictions replaced before they came due
C_SYNAPTIC = 6        # synaptic events delivered (one per synapse)
C_SPIKES = 7          # spikes emitted
C_INPUTS = 8          # input events read
C_SEARCHES = 9        # crossing searches started
C_CONTINUATIONS = 10  # continuation events scheduled
C_UNCHECKED = 11      # synaptic events that fit in a silent target's margins (no check)
N_COUNTERS = 12

# status returned by kernels
ST_DONE = 0           # reached t_stop
ST_QUEUE_FULL = 1     # grow the queue and call again
ST_BUFFER_FULL = 2    # take the spikes out of the buffer and call again
ST_RUNAWAY_SPIKES = 3
ST_RUNAWAY_EVENTS = 4
ST_NONFINITE = 5


class EngineState(NamedTuple):
    z: np.ndarray            # float64 (total buckets,) buckets at each neuron's t_last
    t_last: np.ndarray       # float64 (n,) time of each neuron's stored state, ms
    drive: np.ndarray        # float64 (n,) delta-coded input I
    r: np.ndarray            # float64 (n,) transmitted signal
    h: np.ndarray            # float64 (n,) threshold adaptation at t_last
    lazy: np.ndarray         # float64 (n, LAZY_PEND + Kmax, padded to a multiple of 8), one
    #                          row per neuron, read and written at every input: the push up /
    #                          down a silent neuron can take unchecked (columns LAZY_UP,
    #                          LAZY_DOWN; crossing.py), then its pending drive steps and
    #                          modal terms (LAZY_DRIVE, LAZY_PEND; pending.py)
    dirty: np.ndarray        # int64 (n,) neurons to re-check at the current time
    is_dirty: np.ndarray     # uint8 (n,)
    spk_t: np.ndarray        # float64 (buf,) spike buffer: time, ms
    spk_neuron: np.ndarray   # int64 (buf,) global neuron
    spk_amp: np.ndarray      # float64 (buf,) signed amplitude
    ctr: np.ndarray          # int64 (N_COUNTERS,)
    now: np.ndarray          # float64 (1,) current time, ms
    E: np.ndarray            # scratch (Kmax, Kmax)
    work: np.ndarray         # scratch (Kmax, max(Kmax, MAX_TERMS + 1))
    zt: np.ndarray           # scratch (Kmax,)
    has_pend: np.ndarray     # uint8 (n,) 1 while a neuron has pending inputs
    pend_ref: np.ndarray     # float64 (2,) reference time of the pending terms, ms; its span
    rowf: np.ndarray         # scratch (2, max(Kmax, 4)): a row's shared factors; flush scratch
    absorbed: np.ndarray     # uint8 (n,) 1 once an input fits in the margins since the last
    #                          search: the neuron's prediction is only a lower bound


def make_state(net, spike_buffer=1 << 16):
    """Fresh state at t = 0 for a compiled network.

    Every neuron starts marked for a check at t = 0 (model.md: the spike rules are
    checked at t = 0, so a bias >= theta0 fires at once).
    """
    n = net.nrn_K.shape[0]
    kmax = int(net.nrn_K.max()) if n else 1
    st = EngineState(
        z=np.zeros(net.v.shape[0]), t_last=np.zeros(n), drive=np.zeros(n),
        r=np.zeros(n), h=np.zeros(n), lazy=aligned_zeros((n, -(-(LAZY_PEND + kmax) // 8) * 8)),
        dirty=np.zeros(n, np.int64), is_dirty=np.zeros(n, np.uint8),
        spk_t=np.empty(spike_buffer), spk_neuron=np.empty(spike_buffer, np.int64),
        spk_amp=np.empty(spike_buffer), ctr=np.zeros(N_COUNTERS, np.int64),
        now=np.zeros(1), E=np.zeros((kmax, kmax)),
        work=np.zeros((kmax, max(kmax, MAX_TERMS + 1))), zt=np.zeros(kmax),
        has_pend=np.zeros(n, np.uint8),
        pend_ref=np.array([0.0, pending_span(net)]), rowf=np.zeros((2, max(kmax, 4))),
        absorbed=np.zeros(n, np.uint8))
    st.dirty[:] = np.arange(n)
    st.is_dirty[:] = 1
    st.ctr[C_DIRTY] = n
    return st


class Recorder(NamedTuple):
    """Where sampled states go: rows are sample times, columns recorded neurons."""
    times: np.ndarray        # float64 (S,) sorted sample times, ms
    neurons: np.ndarray      # int64 (R,) global neurons recorded
    zoff: np.ndarray         # int64 (R,) column offset of each neuron's buckets in z
    x: np.ndarray            # float64 (S, R)
    r: np.ndarray            # float64 (S, R)
    theta: np.ndarray        # float64 (S, R)
    z: np.ndarray            # float64 (S, total recorded buckets)


def make_recorder(net, times, neurons):
    times = kernel_array(times, np.float64)
    neurons = kernel_array(neurons, np.int64)
    K = net.nrn_K[neurons]
    zoff = np.zeros(neurons.size, np.int64)
    if neurons.size:
        zoff[1:] = np.cumsum(K)[:-1]
    S, R = times.size, neurons.size
    return Recorder(times, neurons, zoff, np.zeros((S, R)), np.zeros((S, R)),
                    np.zeros((S, R)), np.zeros((S, int(K.sum()))))


__all__ = ["EngineState", "EventQueue", "Recorder", "make_queue", "make_recorder", "make_state"]
