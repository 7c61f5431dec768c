"""The set-up of a run on several threads (engine/windows.py): who owns which neuron,
each thread's network, state and recorder, and putting their results together.

Plain numpy, run once per simulation; the kernels see the same array types as in
a serial run, so they compile once for both.
"""
import math
from typing import NamedTuple

import numpy as np

from ..compile.arrays import aligned_zeros, kernel_array
from .csr import projection_synapses
from .state import (C_CONTINUATIONS, C_DIRTY, C_EVENTS, C_INPUTS, C_REPLACED, C_SEARCHES,
                    C_SPIKES, C_SPIKES_BUFFERED, C_SYNAPTIC, C_UNCHECKED, N_COUNTERS,
                    make_recorder, make_state)
from .ticks import TICK_STRIDE, TK_BUSY, TK_TOTAL, TK_WAIT


def window_length(net, layout):
    """Smallest delay (ms) of a projection between gamma populations: how long the
    threads may run apart. inf if no projection leaves a gamma population."""
    shortest = math.inf
    for i, kind in enumerate(layout.kinds):
        if kind != "gamma":
            continue
        for k in range(net.pop_out_start[i], net.pop_out_start[i + 1]):
            p = int(net.pop_out_proj[k])
            if net.proj_delay[p] >= 0.0:
                shortest = min(shortest, float(net.proj_delay[p]))
                continue
            lo, hi = projection_synapses(net.proj_row_start, net.syn_indptr, p)
            if hi > lo:
                shortest = min(shortest, float(net.syn_delay[lo:hi].min()))
    return shortest


def neuron_owners(layout, threads):
    """int64 (n_neurons,): the thread of each neuron; each gamma population is cut
    into ``threads`` runs of consecutive neurons, as equal as they come."""
    owner = np.zeros(layout.n_neurons, np.int64)
    for kind, n, off in zip(layout.kinds, layout.sizes, layout.offsets):
        if kind == "gamma":
            for i, part in enumerate(np.array_split(np.arange(n), threads)):
                owner[off + part] = i
    return owner


def thread_networks(net, layout, owner, i, ahead=()):
    """(run, emit): thread i's network, with only the synapses onto its neurons
    (same rows, same order); ``run`` has no projection leaving a gamma population
    (their spikes are scheduled by the merge, from ``emit``) but those named in
    ``ahead``, whose spikes reach every thread as input events (engine/ahead.py)."""
    keep = owner[net.syn_target] == i
    upto = np.zeros(keep.size + 1, np.int64)
    np.cumsum(keep, out=upto[1:])
    emit = net._replace(syn_indptr=kernel_array(upto[net.syn_indptr], np.int64),
                        syn_target=kernel_array(net.syn_target[keep], np.int64),
                        syn_weight=kernel_array(net.syn_weight[keep], np.float64),
                        syn_delay=kernel_array(net.syn_delay[keep], np.float64))
    lists = [[] if kind == "gamma" and name not in ahead else
             list(net.pop_out_proj[net.pop_out_start[j]:net.pop_out_start[j + 1]])
             for j, (kind, name) in enumerate(zip(layout.kinds, layout.names))]
    start = np.zeros(len(lists) + 1, np.int64)
    start[1:] = np.cumsum([len(lst) for lst in lists])
    proj = np.array([p for lst in lists for p in lst], np.int64)
    run = emit._replace(pop_out_start=start, pop_out_proj=proj)
    return run, emit


class ThreadBuffers(NamedTuple):
    """Every thread's counters and spike buffer, one row per thread: the merge reads
    them all (engine/windows.py); each thread's state holds its own rows."""
    ctr: np.ndarray          # int64 (threads, N_COUNTERS)
    spk_t: np.ndarray        # float64 (threads, buf)
    spk_neuron: np.ndarray   # int64 (threads, buf)
    spk_amp: np.ndarray      # float64 (threads, buf)
    ticks: np.ndarray        # int64 (threads, TICK_STRIDE), a cache line each: where each
    #                          thread's time went, in cycle-counter ticks (engine/ticks.py)


def make_buffers(threads, buf, ctr=None, ticks=None):
    """ThreadBuffers of ``buf`` spikes a thread (keeping the counters ``ctr`` and
    ``ticks``, if given)."""
    return ThreadBuffers(np.zeros((threads, N_COUNTERS), np.int64) if ctr is None else ctr,
                         np.empty((threads, buf)), np.empty((threads, buf), np.int64),
                         np.empty((threads, buf)),
                         aligned_zeros((threads, TICK_STRIDE), dtype=np.int64)
                         if ticks is None else ticks)


def thread_shares(bufs):
    """(busy, waiting): per thread, the share of its time (ticks.TK_TOTAL) in its
    windows' event loops and at the barriers; empty tuples where the platform has no
    cycle counter."""
    total = bufs.ticks[:, TK_TOTAL]
    if not np.all(total > 0):
        return (), ()
    return (tuple(float(x) for x in bufs.ticks[:, TK_BUSY] / total),
            tuple(float(x) for x in bufs.ticks[:, TK_WAIT] / total))


def grow_buffers(bufs, factor=2):
    """ThreadBuffers ``factor`` times as long, with the same content."""
    threads, buf = bufs.spk_t.shape
    new = make_buffers(threads, buf * factor, bufs.ctr, bufs.ticks)
    for name in ("spk_t", "spk_neuron", "spk_amp"):
        getattr(new, name)[:, :buf] = getattr(bufs, name)
    return new


def thread_state(net, main, bufs, i, owner):
    """Thread i's state: the per-neuron arrays of ``main`` (each thread writes only its
    own neurons' entries), row i of ``bufs``, and its own scratch and pending flags
    (a thread rescales only its own pending terms); its neurons marked for the
    check at t = 0."""
    fresh = make_state(net, spike_buffer=1)
    st = fresh._replace(z=main.z, t_last=main.t_last, drive=main.drive, r=main.r, h=main.h,
                        lazy=main.lazy, is_dirty=main.is_dirty,
                        absorbed=main.absorbed, ctr=bufs.ctr[i], spk_t=bufs.spk_t[i],
                        spk_neuron=bufs.spk_neuron[i], spk_amp=bufs.spk_amp[i])
    own = np.flatnonzero(owner == i)
    st.dirty[:] = 0
    st.dirty[:own.size] = own
    st.ctr[C_DIRTY] = own.size
    return st


def rebuffered(st, bufs, i):
    """``st`` on the rows i of new ``bufs`` (grow_buffers)."""
    return st._replace(spk_t=bufs.spk_t[i], spk_neuron=bufs.spk_neuron[i],
                       spk_amp=bufs.spk_amp[i])


def thread_recorders(net, recorder, owner, threads):
    """Per thread: (its recorder, the columns of ``recorder`` its neurons fill)."""
    out = []
    for i in range(threads):
        cols = np.flatnonzero(owner[recorder.neurons] == i)
        out.append((make_recorder(net, recorder.times, recorder.neurons[cols]), cols))
    return out


def gather_recorders(recorder, parts):
    """Copy each thread's samples into their columns of ``recorder``."""
    for rec, cols in parts:
        recorder.x[:, cols] = rec.x
        recorder.r[:, cols] = rec.r
        recorder.theta[:, cols] = rec.theta
        for j, c in enumerate(cols):
            K = (rec.zoff[j + 1] if j + 1 < rec.zoff.size else rec.z.shape[1]) - rec.zoff[j]
            recorder.z[:, recorder.zoff[c]:recorder.zoff[c] + K] = \
                rec.z[:, rec.zoff[j]:rec.zoff[j] + K]


SUMMED = (C_SYNAPTIC, C_SEARCHES, C_CONTINUATIONS, C_REPLACED, C_UNCHECKED, C_SPIKES)
"""Counters that add up over threads."""


def gather_counters(main, bufs):
    """The threads' statistics into ``main.ctr``; every thread read every input, so the
    inputs and the events they made count once."""
    for c in SUMMED:
        main.ctr[c] = bufs.ctr[:, c].sum()
    main.ctr[C_INPUTS] = bufs.ctr[0, C_INPUTS]
    repeats = (bufs.ctr.shape[0] - 1) * bufs.ctr[0, C_INPUTS]
    main.ctr[C_EVENTS] = bufs.ctr[:, C_EVENTS].sum() - repeats


def unmerged_spikes(bufs):
    """(t, neuron, amplitude) left in the threads' buffers by a run that stopped within
    a window (a runaway, a non-finite state), in the merge's order (time, neuron);
    the buffers emptied."""
    parts = [(bufs.spk_t[j, :m], bufs.spk_neuron[j, :m], bufs.spk_amp[j, :m])
             for j, m in enumerate(bufs.ctr[:, C_SPIKES_BUFFERED])]
    t, g, a = (np.concatenate(x) for x in zip(*parts))
    order = np.lexsort((g, t))
    bufs.ctr[:, C_SPIKES_BUFFERED] = 0
    return t[order], g[order], a[order]
