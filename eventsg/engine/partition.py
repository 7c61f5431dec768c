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
from .sync import SYNC_STRIDE
from .ticks import TICK_STRIDE, TK_BUSY, TK_TOTAL, TK_WAIT


def window_length(net, layout):
    """Smallest delay (ms) of a projection between gamma populations: the threads'
    window (engine/windows.py). inf if no projection leaves a gamma population."""
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


PIPELINE_IMBALANCE = 1.25
"""Whole populations go to threads (neuron_owners) only where the most neurons a thread
gets is at most this many times the mean."""


def neuron_owners(layout, threads):
    """int64 (n_neurons,): the thread of each neuron. With at least as many gamma
    populations as threads, whole populations, the largest first to the thread with
    the fewest neurons, if that shares them out evenly enough (PIPELINE_IMBALANCE):
    a feed-forward chain becomes a pipeline, each thread waiting only for the threads
    that feed it (engine/windows.py), and every row reaches one thread. Else each
    gamma population is cut into ``threads`` runs of consecutive neurons, as equal as
    they come."""
    owner = np.zeros(layout.n_neurons, np.int64)
    gamma = [(n, off) for kind, n, off in zip(layout.kinds, layout.sizes, layout.offsets)
             if kind == "gamma"]
    if len(gamma) >= threads:
        load = np.zeros(threads, np.int64)
        for k in sorted(range(len(gamma)), key=lambda k: -gamma[k][0]):   # stable: ties in order
            n, off = gamma[k]
            i = int(np.argmin(load))
            owner[off:off + n] = i
            load[i] += n
        if load.max() * threads <= PIPELINE_IMBALANCE * load.sum():
            return owner
    for n, off in gamma:
        for i, part in enumerate(np.array_split(np.arange(n), threads)):
            owner[off + part] = i
    return owner


def thread_feeds(net, layout, owner, threads):
    """int64 (threads, threads): [i, j] is 1 where a synapse leads from a neuron of
    thread j onto one of thread i (thread i then waits for j, engine/windows.py), else 0."""
    feeds = np.zeros((threads, threads), np.int64)
    for q, (kind, n, off) in enumerate(zip(layout.kinds, layout.sizes, layout.offsets)):
        if kind != "gamma":
            continue
        for k in range(net.pop_out_start[q], net.pop_out_start[q + 1]):
            p = int(net.pop_out_proj[k])
            lo, hi = projection_synapses(net.proj_row_start, net.syn_indptr, p)
            if hi == lo:
                continue
            rows = net.syn_indptr[net.proj_row_start[p]:net.proj_row_start[p] + n + 1]
            src = owner[off + np.repeat(np.arange(n), np.diff(rows))]
            feeds[owner[net.syn_target[lo:hi]], src] = 1
    return feeds


def thread_networks(net, layout, owner, i):
    """(run, emit): thread i's network, with only the synapses onto its neurons
    (same rows, same order); ``run`` has no projection leaving a gamma population
    (every thread schedules their spikes from the threads' buffers, with ``emit``)."""
    keep = owner[net.syn_target] == i
    upto = np.zeros(keep.size + 1, np.int64)
    np.cumsum(keep, out=upto[1:])
    emit = net._replace(syn_indptr=kernel_array(upto[net.syn_indptr], np.int64),
                        syn_target=kernel_array(net.syn_target[keep], np.int64),
                        syn_weight=kernel_array(net.syn_weight[keep], np.float64),
                        syn_delay=kernel_array(net.syn_delay[keep], np.float64))
    lists = [[] if kind == "gamma" else
             list(net.pop_out_proj[net.pop_out_start[j]:net.pop_out_start[j + 1]])
             for j, kind in enumerate(layout.kinds)]
    start = np.zeros(len(lists) + 1, np.int64)
    start[1:] = np.cumsum([len(lst) for lst in lists])
    proj = np.array([p for lst in lists for p in lst], np.int64)
    run = emit._replace(pop_out_start=start, pop_out_proj=proj)
    return run, emit


CTR_STRIDE = 16
"""int64 slots of a thread's row of counters (N_COUNTERS used): two whole cache lines, so
that no thread's counters share a line with another's (each event writes some)."""
assert N_COUNTERS <= CTR_STRIDE


def cursor_rows(threads):
    """int64 (threads, a multiple of 8 >= threads), zeros: each thread's row of cursors
    (windows.run_thread) on cache lines of its own."""
    return aligned_zeros((threads, -(-threads // 8) * 8), dtype=np.int64)


class ThreadBuffers(NamedTuple):
    """Every thread's counters and spike buffer, one row per thread: every thread reads
    them all (engine/windows.py); each thread's state holds its own rows."""
    ctr: np.ndarray          # int64 (threads, CTR_STRIDE)
    spk_t: np.ndarray        # float64 (threads, buf)
    spk_neuron: np.ndarray   # int64 (threads, buf)
    spk_amp: np.ndarray      # float64 (threads, buf)
    ticks: np.ndarray        # int64 (threads, TICK_STRIDE), a cache line each: where each
    #                          thread's time went, in cycle-counter ticks (engine/ticks.py)


def make_buffers(threads, buf, ctr=None, ticks=None):
    """ThreadBuffers of ``buf`` spikes a thread (keeping the counters ``ctr`` and
    ``ticks``, if given)."""
    return ThreadBuffers(aligned_zeros((threads, CTR_STRIDE), dtype=np.int64)
                         if ctr is None else ctr,
                         np.empty((threads, buf)), np.empty((threads, buf), np.int64),
                         np.empty((threads, buf)),
                         aligned_zeros((threads, TICK_STRIDE), dtype=np.int64)
                         if ticks is None else ticks)


def thread_shares(bufs):
    """(busy, waiting): per thread, the share of the run's time (the longest thread's
    ticks.TK_TOTAL) it spent in its event loop and waiting for the others (a thread
    that returns early is neither for the rest); empty tuples where the platform
    has no cycle counter."""
    total = bufs.ticks[:, TK_TOTAL]
    if not np.all(total > 0):
        return (), ()
    run = float(total.max())
    return (tuple(float(x) for x in bufs.ticks[:, TK_BUSY] / run),
            tuple(float(x) for x in bufs.ticks[:, TK_WAIT] / run))


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


def take_spikes(bufs, published, cursor, feeds, recorded, t_upto):
    """(t, neuron, amplitude): the spikes in the threads' buffers at times <= ``t_upto``
    (ms) not taken before, in the order (time, neuron); then each buffer drops what
    is both taken and scheduled by every thread it feeds (``cursor``, ``feeds``:
    windows.run_thread), its counts (``bufs.ctr``, ``published``, ``cursor``,
    ``recorded``: int64 (threads,), how many of each buffer were taken) shifted to
    match. Call between the threads' runs only."""
    parts = []
    for j in range(bufs.ctr.shape[0]):
        n = int(bufs.ctr[j, C_SPIKES_BUFFERED])
        lo = int(recorded[j])
        hi = lo + int(np.searchsorted(bufs.spk_t[j, lo:n], t_upto, side="right"))
        parts.append((bufs.spk_t[j, lo:hi].copy(), bufs.spk_neuron[j, lo:hi].copy(),
                      bufs.spk_amp[j, lo:hi].copy()))
        recorded[j] = hi
        fed = feeds[:, j] != 0
        drop = min(hi, int(cursor[fed, j].min())) if fed.any() else hi
        if drop > 0:
            for name in ("spk_t", "spk_neuron", "spk_amp"):
                row = getattr(bufs, name)[j]
                row[:n - drop] = row[drop:n].copy()
            bufs.ctr[j, C_SPIKES_BUFFERED] = n - drop
            published[j * SYNC_STRIDE] = n - drop
            cursor[:, j] -= drop
            recorded[j] -= drop
    t, g, a = (np.concatenate(x) for x in zip(*parts))
    order = np.lexsort((g, t))
    return t[order], g[order], a[order]


def buffers_crowded(bufs):
    """True if a thread's spike buffer is more than half taken by its spikes and the room
    its event loop keeps for the neurons to check (event_loop.run_events)."""
    need = bufs.ctr[:, C_SPIKES_BUFFERED] + bufs.ctr[:, C_DIRTY] + 1
    return bool(np.any(2 * need > bufs.spk_t.shape[1]))
