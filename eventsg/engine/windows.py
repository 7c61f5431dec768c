"""The exact event-driven loop on several threads, window by window.

A spike of a neuron reaches another neuron no sooner than ``window`` ms later
(the smallest delay of a projection between gamma populations). So within a
window of that length the neurons of different threads cannot affect each other:
each thread runs the serial loop (event_loop.run_events) on its own part of the
neurons, with its own event queue, prediction heap and spike buffer, and the rows
of every projection cut down to the synapses onto its neurons (partition.py).
Every thread reads the input events itself. At the end of a window the threads
meet (sync.barrier); thread 0 merges the spikes of all threads, in the order
(time, neuron), into the main state's spike buffer, and each thread schedules
them from there into its own queue. A neuron then sees the same inputs in the same order
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
from .event_loop import _emit, run_events
from .jit import inline_kernel, kernel, thread_kernel
from .pending import rebase_pending
from .queue import queue_free
from .state import (C_EVENTS, C_INPUTS, C_SPIKES, C_SPIKES_BUFFERED, ST_DONE, ST_QUEUE_FULL,
                    ST_RUNAWAY_EVENTS, ST_RUNAWAY_SPIKES)
from .sync import SYNC_STRIDE, atomic_load, barrier
from .ticks import TK_BUSY, TK_TOTAL, TK_WAIT, cycle_count

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
"""... (thread 0's row) whether the caller asked to stop ..."""
B_CURSOR = 3
"""... and where the merge has got to in its spike buffer."""
BOARD_COLUMNS = 4


@thread_kernel
def run_thread(i, net_run, net_emit, st, q, ph, rec, main, bufs, sync, board, wend, window,
               t_end, t_stop, max_steps, max_spikes, max_events, max_out):
    """Thread i: run its neurons window by window to ``t_stop`` (ms); returns a status.

    ``net_run``: its network without projections leaving gamma populations (the
    merge schedules those spikes, from ``net_emit``); ``st``, ``q``, ``ph``, ``rec``:
    its state, queue, prediction heap and recorder; ``bufs``: every thread's
    counters, spike buffer and tick counts (partition.ThreadBuffers; ``st`` holds
    row i of them); ``main``: the state whose spike buffer and counters take the merged
    spikes; ``sync``: the barrier's counters (sync.make_sync), the slot past
    them set to ask for a stop; ``board``: int64 (threads, BOARD_COLUMNS);
    ``wend``: float64 (threads,), where each thread's window ends.

    Where the thread's time goes is added to ``bufs.ticks[i]`` (engine/ticks.py): in
    its windows' event loops, at the barriers, and in all.
    """
    start = cycle_count()
    status = _run_windows(i, net_run, net_emit, st, q, ph, rec, main, bufs, sync, board, wend,
                          window, t_end, t_stop, max_steps, max_spikes, max_events, max_out)
    bufs.ticks[i, TK_TOTAL] += cycle_count() - start
    return status


@inline_kernel
def _wait(bufs, sync, i, T):
    """barrier(sync, i, T), its wait added to bufs.ticks[i, TK_WAIT]."""
    start = cycle_count()
    barrier(sync, i, T)
    bufs.ticks[i, TK_WAIT] += cycle_count() - start


@inline_kernel          # one call site: run_thread
def _run_windows(i, net_run, net_emit, st, q, ph, rec, main, bufs, sync, board, wend, window,
                 t_end, t_stop, max_steps, max_spikes, max_events, max_out):
    """run_thread's loop over windows (the same arguments); returns its status."""
    T = bufs.ctr.shape[0]
    while True:
        t_win = min(wend[i], t_stop)
        if t_win - st.pend_ref[0] > st.pend_ref[1]:
            # at the window's start, so that no thread moves it within a window
            rebase_pending(net_run, st, max(st.pend_ref[0], t_win - window))
        start = cycle_count()
        board[i, B_RUN] = run_events(net_run, st, q, ph, rec, None, t_end, t_win, max_steps,
                                     max_spikes, max_events, max_out)
        bufs.ticks[i, TK_BUSY] += cycle_count() - start
        if i == 0:
            board[0, B_STOP] = atomic_load(sync, T * SYNC_STRIDE)
        _wait(bufs, sync, i, T)
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
        # (partition.gather_counters puts the same sums into main's counters at the end)
        events -= (T - 1) * bufs.ctr[0, C_INPUTS]       # each thread read every input
        base = main.ctr[C_SPIKES_BUFFERED]
        main_full = base + n_new > main.spk_t.shape[0]
        room = queue_free(q) >= n_new * max_out + max_out + 2
        board[i, B_MERGE] = ST_DONE if room else ST_QUEUE_FULL
        _wait(bufs, sync, i, T)
        for j in range(T):
            if board[j, B_MERGE] != ST_DONE:
                return board[i, B_MERGE] if board[i, B_MERGE] != ST_DONE else ST_WAIT
        if main_full:
            return ST_MAIN_FULL
        if i == 0:
            _merge_spikes(bufs, board, main, base, n_new)
            main.ctr[C_SPIKES_BUFFERED] = base + n_new
            main.now[0] = t_win
        _wait(bufs, sync, i, T)
        # the merge is done: the threads' buffers are free, main's holds the spikes
        st.ctr[C_SPIKES_BUFFERED] = 0
        first_node = net_emit.node_pop.shape[0] - net_emit.nrn_K.shape[0]
        for k in range(base, base + n_new):
            _emit(net_emit, q, first_node + main.spk_neuron[k], main.spk_t[k], main.spk_amp[k])
        if spikes >= max_spikes:
            return ST_RUNAWAY_SPIKES
        if events >= max_events:
            return ST_RUNAWAY_EVENTS
        if stop:
            return ST_STOPPED
        if t_win >= t_stop:
            return ST_DONE
        wend[i] = t_win + window


@kernel
def _merge_spikes(bufs, board, main, base, n_new):
    """The threads' buffered spikes (each buffer in time order) into main's buffer from
    ``base``, in the order (time, neuron): the earliest head of the buffers at each
    step, then the runs of equal times put in the order of the neurons (a thread may
    fire them in another), keeping a neuron's own order."""
    T = bufs.ctr.shape[0]
    for j in range(T):
        board[j, B_CURSOR] = 0
    for k in range(base, base + n_new):
        pick = -1
        t_pick = 0.0
        for j in range(T):
            c = board[j, B_CURSOR]
            if c < bufs.ctr[j, C_SPIKES_BUFFERED] and (pick < 0 or bufs.spk_t[j, c] < t_pick):
                pick = j
                t_pick = bufs.spk_t[j, c]
        c = board[pick, B_CURSOR]
        main.spk_t[k] = t_pick
        main.spk_neuron[k] = bufs.spk_neuron[pick, c]
        main.spk_amp[k] = bufs.spk_amp[pick, c]
        board[pick, B_CURSOR] = c + 1
    for k in range(base + 1, base + n_new):         # insertion, within equal times only
        t, g, a = main.spk_t[k], main.spk_neuron[k], main.spk_amp[k]
        m = k
        while m > base and main.spk_t[m - 1] == t and main.spk_neuron[m - 1] > g:
            main.spk_neuron[m] = main.spk_neuron[m - 1]
            main.spk_amp[m] = main.spk_amp[m - 1]
            m -= 1
        main.spk_neuron[m] = g
        main.spk_amp[m] = a
