"""The exact event-driven loop on several threads, window by window.

A spike of a neuron reaches another neuron no sooner than ``window`` ms later
(the smallest delay of a projection between gamma populations). So within a
window of that length the neurons of different threads cannot affect each other:
each thread runs the serial loop (event_loop.run_events) on its own part of the
neurons, with its own event queue, prediction heap and spike buffer, and the rows
of every projection cut down to the synapses onto its neurons (partition.py).
Every thread reads the input events itself. At the end of a window the threads
meet (sync.barrier), and each schedules the spikes of all threads into its own
queue in the order (time, neuron); thread 0 copies them, in that order, into the
main state's spike buffer. A neuron then sees the same inputs in the same order
whatever the number of threads, so results are the same to the last bit for any
number of threads (docs/model-choices.md: at equal times, deliveries of spikes
from different neurons arrive in the order of the neurons, not in the order the
serial loop fired them).

What the threads share is read and written between barriers only (see
run_thread). A thread that needs the caller (a full queue or buffer, a stop)
makes all of them return at the same barrier, with nothing of the window's merge
done; called again, each runs its window to its end again, which does nothing
where it was already done, and goes on.
"""
import numpy as np
from numba import njit

from .event_loop import _emit, run_events
from .pending import rebase_pending
from .queue import queue_free
from .state import (C_EVENTS, C_INPUTS, C_SPIKES, C_SPIKES_BUFFERED, ST_DONE, ST_QUEUE_FULL,
                    ST_RUNAWAY_EVENTS, ST_RUNAWAY_SPIKES)
from .sync import SYNC_STRIDE, atomic_load, barrier

ST_WAIT = 100
"""Returned by the threads that stopped because another one needs the caller."""
ST_MAIN_FULL = 101
"""The main spike buffer cannot take the window's spikes: flush it and call again."""
ST_STOPPED = 102
"""The caller asked the threads to stop (the slot past the barrier's counters)."""

B_RUN = 0
"""Columns of ``board``: each thread's status from its window's run ..."""
B_MERGE = 1
"""... whether its queue has room for the window's spikes ..."""
B_STOP = 2
"""... and (thread 0's row) whether the caller asked to stop."""
BOARD_COLUMNS = 3


@njit(cache=True, nogil=True)
def run_thread(i, net_run, net_emit, st, q, ph, rec, main, bufs, sync, board, wend, window,
               t_end, t_stop, max_steps, max_spikes, max_events, max_out):
    """Thread i: run its neurons window by window to ``t_stop`` (ms); returns a status.

    ``net_run``: its network without projections leaving gamma populations (the
    merge schedules those spikes, from ``net_emit``); ``st``, ``q``, ``ph``, ``rec``:
    its state, queue, prediction heap and recorder; ``bufs``: every thread's
    counters and spike buffer (partition.ThreadBuffers; ``st`` holds row i of
    them); ``main``: the state whose spike buffer and counters take the merged
    spikes; ``sync``: the barrier's counters (sync.make_sync), the slot past
    them set to ask for a stop; ``board``: int64 (threads, BOARD_COLUMNS);
    ``wend``: float64 (threads,), where each thread's window ends.
    """
    T = bufs.ctr.shape[0]
    while True:
        t_win = min(wend[i], t_stop)
        if t_win - st.pend_ref[0] > st.pend_ref[1]:
            # at the window's start, so that no thread moves it within a window
            rebase_pending(net_run, st, max(st.pend_ref[0], t_win - window))
        board[i, B_RUN] = run_events(net_run, st, q, ph, rec, None, t_end, t_win, max_steps,
                                     max_spikes, max_events, max_out)
        if i == 0:
            board[0, B_STOP] = atomic_load(sync, T * SYNC_STRIDE)
        barrier(sync, i, T)
        # every thread's run of the window is done: read the board and the counters
        for j in range(T):
            if board[j, B_RUN] != ST_DONE:
                return board[i, B_RUN] if board[i, B_RUN] != ST_DONE else ST_WAIT
        stop = board[0, B_STOP] != 0
        n_new = 0
        spikes = 0
        events = 0
        for j in range(T):
            n_new += bufs.ctr[j, C_SPIKES_BUFFERED]
            spikes += bufs.ctr[j, C_SPIKES]
            events += bufs.ctr[j, C_EVENTS]
        events -= (T - 1) * bufs.ctr[0, C_INPUTS]       # each thread read every input
        base = main.ctr[C_SPIKES_BUFFERED]
        main_full = base + n_new > main.spk_t.shape[0]
        room = queue_free(q) >= n_new * max_out + max_out + 2
        board[i, B_MERGE] = ST_DONE if room else ST_QUEUE_FULL
        barrier(sync, i, T)
        for j in range(T):
            if board[j, B_MERGE] != ST_DONE:
                return board[i, B_MERGE] if board[i, B_MERGE] != ST_DONE else ST_WAIT
        if main_full:
            return ST_MAIN_FULL
        order, t, g, a = _merged_spikes(bufs, n_new)
        if i == 0:
            for k in range(n_new):
                main.spk_t[base + k] = t[order[k]]
                main.spk_neuron[base + k] = g[order[k]]
                main.spk_amp[base + k] = a[order[k]]
            main.ctr[C_SPIKES_BUFFERED] = base + n_new
            main.ctr[C_SPIKES] = spikes
            main.ctr[C_EVENTS] = events
            main.now[0] = t_win
        first_node = net_emit.node_pop.shape[0] - net_emit.nrn_K.shape[0]
        for k in range(n_new):
            j = order[k]
            _emit(net_emit, q, first_node + g[j], t[j], a[j])
        barrier(sync, i, T)
        # everyone has read every buffer
        st.ctr[C_SPIKES_BUFFERED] = 0
        if spikes >= max_spikes:
            return ST_RUNAWAY_SPIKES
        if events >= max_events:
            return ST_RUNAWAY_EVENTS
        if stop:
            return ST_STOPPED
        if t_win >= t_stop:
            return ST_DONE
        wend[i] = t_win + window


@njit(cache=True, nogil=True)
def _merged_spikes(bufs, n_new):
    """(order, t, neuron, amplitude): the threads' buffered spikes one after another,
    and the order that sorts them by (time, neuron)."""
    t = np.empty(n_new)
    g = np.empty(n_new, np.int64)
    a = np.empty(n_new)
    n = 0
    for j in range(bufs.ctr.shape[0]):
        m = bufs.ctr[j, C_SPIKES_BUFFERED]
        t[n:n + m] = bufs.spk_t[j, :m]
        g[n:n + m] = bufs.spk_neuron[j, :m]
        a[n:n + m] = bufs.spk_amp[j, :m]
        n += m
    by_neuron = np.argsort(g, kind="mergesort")
    order = by_neuron[np.argsort(t[by_neuron], kind="mergesort")]
    return order, t, g, a
