"""The exact event-driven loop on several threads, window by window, each thread
waiting only for the threads that feed it.

A spike of a neuron reaches another neuron no sooner than ``window`` ms later
(the smallest delay of a projection between gamma populations). Each thread runs
the serial loop (event_loop.run_events) on its own part of the neurons
(partition.neuron_owners), with its own event queue, prediction heap and spike
buffer, and the rows of every projection cut down to the synapses onto its
neurons (partition.py); every thread reads the input events itself. The threads'
windows end at the same times (0, then ``window`` apart). After each, a thread
puts the window's spikes in the order (time, neuron) and publishes them and its
progress (release stores: every event at times <= its progress is done). A
thread starts its next window once every thread that feeds it
(partition.thread_feeds) has reached the end of its own last one: only spikes
fired by then can reach its neurons within the window. It first schedules them,
in the order (time, neuron), from the feeding threads' buffers. A thread that
nothing feeds never waits: on a feed-forward chain with a layer per thread, the
threads form a pipeline. When a thread schedules a delivery depends only on the
windows, not on the threads' speeds, so a neuron sees the same inputs in the same
order whatever the threads' speeds, their number and the partition: results are
the same to the last bit for any number of threads > 1 (docs/model-choices.md).
Pending terms are re-based only at window starts, the same times on every thread.

The spike buffers only grow during a call: between calls the caller takes the
spikes into the result and drops what every thread they feed has scheduled
(partition.take_spikes). A thread that needs the caller (a full queue or buffer,
a runaway, a stop) raises the abort flag and returns; the others return ST_WAIT
at their next window, or from their wait. Called again, each goes on from its
own progress.
"""
from .event_loop import _emit, run_events
from .jit import inline_kernel, kernel, thread_kernel
from .pending import rebase_pending
from .queue import queue_free
from .state import (C_EVENTS, C_INPUTS, C_SPIKES, C_SPIKES_BUFFERED, ST_DONE, ST_QUEUE_FULL,
                    ST_RUNAWAY_EVENTS, ST_RUNAWAY_SPIKES)
from .sync import ABORT_SLOT, STOP_SLOT, SYNC_STRIDE, atomic_load, atomic_store, spin
from .ticks import TK_BUSY, TK_TOTAL, TK_WAIT, cycle_count

ST_WAIT = 100
"""Returned by the threads that stopped because another one needs the caller."""
ST_STOPPED = 102
"""The caller asked the threads to stop (the flags' STOP_SLOT)."""


@thread_kernel
def run_thread(i, net_run, net_emit, st, q, ph, rec, bufs, flags, progress, published, cursor,
               feeds, wend, window, t_end, t_stop, max_steps, max_spikes, max_events,
               max_out):
    """Thread i: run its neurons to ``t_stop`` (ms); returns a status.

    ``net_run``: its network without projections leaving gamma populations (spikes are
    scheduled from the buffers, with ``net_emit``); ``st``, ``q``, ``ph``, ``rec``: its
    state, queue, prediction heap and recorder; ``bufs``: every thread's counters,
    spike buffer and tick counts (partition.ThreadBuffers; ``st`` holds row i of them);
    ``flags``: the flags (sync.make_flags); ``progress``: float64, each thread's progress
    (ms) at ``j * SYNC_STRIDE``; ``published``: int64, how many spikes of its buffer
    each thread has published, at the same places; ``cursor``: int64 (threads, >=
    threads), row i: how many spikes of each thread's buffer thread i has scheduled;
    ``feeds``: int64 (threads, threads), partition.thread_feeds; ``wend``: float64
    (threads,), where each thread's window ends (ms; the same times on every thread,
    for any number of threads).

    Where the thread's time goes is added to ``bufs.ticks[i]`` (engine/ticks.py): in
    its event loop, waiting for the others, and in all.
    """
    start = cycle_count()
    status = _run_windows(i, net_run, net_emit, st, q, ph, rec, bufs, flags, progress,
                          published, cursor, feeds, wend, window, t_end, t_stop, max_steps,
                          max_spikes, max_events, max_out)
    bufs.ticks[i, TK_TOTAL] += cycle_count() - start
    return status


@inline_kernel
def _abort(flags, status):
    """Ask every thread to return (the flags' ABORT_SLOT), and return ``status``."""
    atomic_store(flags, ABORT_SLOT, 1)
    return status


@inline_kernel
def _flag_status(flags, bufs, max_spikes, max_events):
    """ST_DONE to go on; else what the flags or the run's counters ask this thread to
    return (another thread's abort, the caller's stop, a runaway)."""
    T = bufs.ctr.shape[0]
    if atomic_load(flags, ABORT_SLOT) != 0:
        return ST_WAIT
    if atomic_load(flags, STOP_SLOT) != 0:
        return _abort(flags, ST_STOPPED)
    spikes = 0
    events = 0
    for j in range(T):
        spikes += bufs.ctr[j, C_SPIKES]
        events += bufs.ctr[j, C_EVENTS]
    events -= (T - 1) * bufs.ctr[0, C_INPUTS]       # each thread reads every input
    if spikes >= max_spikes:
        return _abort(flags, ST_RUNAWAY_SPIKES)
    if events >= max_events:
        return _abort(flags, ST_RUNAWAY_EVENTS)
    return ST_DONE


@inline_kernel
def feeders_done(progress, feeds, i, t):
    """True once every thread that feeds thread i (``feeds[i, j] != 0``) has done every
    event at times <= t (ms): its progress (``progress[j * SYNC_STRIDE]``) has reached t."""
    for j in range(feeds.shape[0]):
        if feeds[i, j] != 0 and atomic_load(progress, j * SYNC_STRIDE) < t:
            return False
    return True


@inline_kernel          # one call site: run_thread
def _run_windows(i, net_run, net_emit, st, q, ph, rec, bufs, flags, progress, published,
                 cursor, feeds, wend, window, t_end, t_stop, max_steps, max_spikes,
                 max_events, max_out):
    """run_thread's loop over windows (the same arguments); returns its status."""
    first_node = net_emit.node_pop.shape[0] - net_emit.nrn_K.shape[0]
    while True:
        status = _flag_status(flags, bufs, max_spikes, max_events)
        if status != ST_DONE:
            return status
        t_win = min(wend[i], t_stop)
        done = progress[i * SYNC_STRIDE]
        if done >= t_win:
            if t_win >= t_stop:
                return ST_DONE
            wend[i] = t_win + window
            continue
        if not feeders_done(progress, feeds, i, done):
            # a spike fired by `done` may reach this thread's neurons in this window
            start = cycle_count()
            spins = 0
            while not feeders_done(progress, feeds, i, done) and \
                    atomic_load(flags, ABORT_SLOT) == 0 and atomic_load(flags, STOP_SLOT) == 0:
                spins = spin(spins)
            bufs.ticks[i, TK_WAIT] += cycle_count() - start
            continue
        if not _schedule_spikes(net_emit, q, bufs, published, cursor, feeds, i, done,
                                first_node, max_out):
            return _abort(flags, ST_QUEUE_FULL)
        if t_win - st.pend_ref[0] > st.pend_ref[1]:
            # at the window's start, the same times on every thread
            rebase_pending(net_run, st, max(st.pend_ref[0], t_win - window))
        start = cycle_count()
        status = run_events(net_run, st, q, ph, rec, None, t_end, t_win, max_steps,
                            max_spikes, max_events, max_out)
        bufs.ticks[i, TK_BUSY] += cycle_count() - start
        n = st.ctr[C_SPIKES_BUFFERED]
        _order_equal_times(st.spk_t, st.spk_neuron, st.spk_amp, published[i * SYNC_STRIDE], n)
        atomic_store(published, i * SYNC_STRIDE, n)
        if status != ST_DONE:
            return _abort(flags, status)
        atomic_store(progress, i * SYNC_STRIDE, t_win)


@inline_kernel
def _schedule_spikes(net_emit, q, bufs, published, cursor, feeds, i, t_upto, first_node,
                     max_out):
    """Thread i schedules, from the buffers of the threads that feed it (each in time
    order), every published spike at times <= ``t_upto`` (ms) it has not scheduled, in
    the order (time, neuron), moving its cursors past them; False, once the queue is
    full."""
    T = bufs.ctr.shape[0]
    while True:
        pick = -1
        t_pick = 0.0
        g_pick = 0
        for j in range(T):
            if feeds[i, j] == 0:
                continue
            c = cursor[i, j]
            if c < atomic_load(published, j * SYNC_STRIDE):
                t = bufs.spk_t[j, c]
                g = bufs.spk_neuron[j, c]
                if t <= t_upto and (pick < 0 or t < t_pick or (t == t_pick and g < g_pick)):
                    pick = j
                    t_pick = t
                    g_pick = g
        if pick < 0:
            return True
        if queue_free(q) < max_out + 2:
            return False
        c = cursor[i, pick]
        _emit(net_emit, q, first_node + g_pick, t_pick, bufs.spk_amp[pick, c])
        cursor[i, pick] = c + 1


@kernel
def _order_equal_times(spk_t, spk_neuron, spk_amp, lo, hi):
    """Spikes lo..hi of a thread's buffer (in time order: the ones it fired since it last
    published) put in the order (time, neuron) where times are equal (the loop fires
    them in another), keeping a neuron's own order. The runs of equal times may reach
    back past lo into spikes after the thread's progress, which no thread has
    scheduled yet."""
    for k in range(lo + 1, hi):
        t, g, a = spk_t[k], spk_neuron[k], spk_amp[k]
        m = k
        while m > 0 and spk_t[m - 1] == t and spk_neuron[m - 1] > g:
            spk_neuron[m] = spk_neuron[m - 1]
            spk_amp[m] = spk_amp[m - 1]
            m -= 1
        spk_neuron[m] = g
        spk_amp[m] = a
