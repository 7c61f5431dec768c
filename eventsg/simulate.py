"""Run a network: compile it, drive a kernel in chunks, return a SimulationResult."""
import dataclasses
import math
import time
from typing import NamedTuple

import numba
import numpy as np

from . import interrupt
from .compile import compile_network
from .engine.clock_loop import run_clock, step_propagators
from .engine.ahead import (A_EVENTS, AH_DONE, N_AHEAD_COUNTS, count_arrivals, fill_arrivals,
                           run_ahead)
from .engine.ahead_plan import ahead_plan, ahead_stats, go_ahead, with_spikes, without_inputs
from .engine.event_loop import run_events
from .engine.partition import (gather_counters, gather_recorders, grow_buffers, make_buffers,
                               neuron_owners, rebuffered, thread_networks, thread_recorders,
                               thread_shares, thread_state, unmerged_spikes, window_length)
from .engine.prediction_heap import make_prediction_heap
from .engine.queue import grow_queue, make_queue
from .engine.sync import SYNC_STRIDE, make_sync
from .engine.windows import BOARD_COLUMNS, ST_MAIN_FULL, ST_STOPPED, ST_WAIT, run_thread
from .engine.state import (C_CONTINUATIONS, C_DIRTY, C_EVENTS, C_INPUTS, C_SEARCHES, C_SPIKES,
                           C_SPIKES_BUFFERED, C_REPLACED, C_SYNAPTIC, C_UNCHECKED, ST_BUFFER_FULL,
                           ST_DONE, ST_NONFINITE, ST_QUEUE_FULL, ST_RUNAWAY_EVENTS,
                           ST_RUNAWAY_SPIKES, make_recorder, make_state)
from .errors import RunawayError, SimulationError
from .model.population import GammaPopulation
from .model.validation import check_count, check_scalar, fail
from .results import RunStats, build_result

ENGINES = ("event", "clock")

CHUNK_WALL_S = 0.05
"""Wall time (s) a kernel call of a run on one thread aims at: consecutive chunks are
run by one call while calls are shorter (merged_chunks)."""


def _progress_bar(total, enabled, desc):
    from tqdm.auto import tqdm
    disable = None if enabled is None else not enabled
    return tqdm(total=total, disable=disable, delay=0 if enabled else 2.0, desc=desc,
                unit="ms", leave=False)


def _record_setup(net, layout, sample_times, record, duration):
    owner = "run"
    if sample_times is None:
        return np.empty(0), [], ()
    times = np.asarray(sample_times, dtype=np.float64)
    if times.ndim != 1:
        fail(owner, "sample_times", f"array of shape {times.shape}", "a 1-D array of times in ms")
    if not np.all(np.isfinite(times)):
        fail(owner, "sample_times", times[~np.isfinite(times)][0], "finite")
    if times.size and (times.min() < 0 or times.max() > duration):
        bad = times[(times < 0) | (times > duration)][0]
        fail(owner, "sample_times", bad, f"in [0, duration = {duration}] ms")
    if np.any(np.diff(times) < 0):
        fail(owner, "sample_times", times, "sorted in increasing order")
    if record is None:
        pops = [p for p in net.populations if isinstance(p, GammaPopulation)]
    else:
        wanted = record if isinstance(record, (list, tuple)) else [record]
        pops = [net.population(p) for p in wanted]
        for p in pops:
            if not isinstance(p, GammaPopulation):
                fail(owner, "record", p.name, "gamma populations only (sources have no state)")
    names = {p.name for p in pops}
    neurons = []
    for name, off, n in zip(layout.names, layout.offsets, layout.sizes):
        if name in names:
            neurons.append(np.arange(off, off + n))
    neurons = np.concatenate(neurons) if neurons else np.empty(0, np.int64)
    return times, neurons, names


def simulate(net, duration, sample_times=None, record=None, engine="event", dt=None, *,
             max_spikes=100_000_000, max_events=10_000_000_000, max_search_steps=2,
             progress=None, chunks=200, spike_buffer=1 << 18, spike_sink=None, threads=1,
             ahead=True):
    """Simulate ``net`` for ``duration`` ms.

    sample_times: sorted times in [0, duration] ms at which states are recorded
    (analytic evaluation, not re-simulation); record: gamma populations to record
    (default all). engine: "event" (exact) or "clock" (fixed step ``dt`` ms).
    max_spikes, max_events: runaway guards; exceeding one raises RunawayError whose
    ``result`` keeps everything recorded so far. max_search_steps: crossing-search
    steps before a search is resumed by a later event. progress: True / False /
    None (a bar on terminals when a run takes more than 2 s).
    spike_sink: None (keep spikes in the result) or an object with ``begin(layout)``
    and ``write(t, neuron, amplitude)`` that receives the spikes in emission order,
    in chunks of at most ``spike_buffer``, during the run (global neuron ids); the
    result then holds no spikes. ``eventsg.io.run_to_file`` streams them to HDF5.
    chunks: on one thread, the run returns to Python (Ctrl-C, the progress bar) after
    each of this many equal parts of ``duration`` at the most, merging consecutive
    parts while their kernel calls are short (``merged_chunks``).
    threads: event engine only; with more than 1, the neurons are shared out among
    that many threads, which run apart for the smallest delay between gamma
    populations at a time (engine/windows.py; it must be > 0). The result is the
    same to the last bit for any number of threads > 1; against ``threads=1`` only
    the order of deliveries that arrive at exactly the same time may differ.
    ahead: event engine only; populations fed only by pulses from sources (bucket
    weights >= 0 with v / tau non-increasing along the cascade, as by default; not
    recorded) are simulated first, neuron by neuron (engine/ahead.py), and their
    spikes reach the rest of the network as input events: the same spikes (to rounding
    in the last bits), faster. False, or with a spike_sink (whose memory stays flat in
    the spikes): every neuron in the one event loop.
    Raises SpecError for bad arguments, SimulationError when the state is not finite.
    """
    duration = check_scalar("run", "duration", duration, positive=True)
    engine, dt = check_engine("run", engine, dt)
    max_spikes = check_count("run", "max_spikes", max_spikes)
    max_events = check_count("run", "max_events", max_events)
    max_search_steps = check_count("run", "max_search_steps", max_search_steps)
    chunks = check_count("run", "chunks", chunks)
    threads = check_count("run", "threads", threads)
    if threads > 1 and engine != "event":
        fail("run", "threads", threads, "1 for engine='clock' (threads run the event engine)")
    if not isinstance(ahead, (bool, np.bool_)):
        fail("run", "ahead", ahead, "True or False")
    options = dict(sample_times=sample_times, record=record, engine=engine, dt=dt,
                   max_spikes=max_spikes, max_events=max_events,
                   max_search_steps=max_search_steps, progress=progress, chunks=chunks,
                   spike_buffer=spike_buffer, spike_sink=spike_sink, threads=threads)

    t0 = time.perf_counter()
    compiled, layout = compile_network(net, duration)
    times, neurons, record_names = _record_setup(net, layout, sample_times, record, duration)
    recorder = make_recorder(compiled, times, neurons)
    state = make_state(compiled, spike_buffer=max(spike_buffer, 2 * layout.n_neurons + 16))
    # (a streamed run keeps its memory flat in the spikes: every neuron in the event loop)
    go = ahead and engine == "event" and spike_sink is None
    first = ahead_plan(net, compiled, layout, neurons) if go else None
    loop_net = compiled
    if first is not None:
        loop_net = without_inputs(compiled, first)
        _leave_unchecked(state, first.neurons)
    if threads > 1:
        # the threads' parts of the network and their states are made here, with the rest
        # of the run's arrays: stats.compile_s, not stats.wall_s
        plan = thread_plan(loop_net, layout, state, recorder, threads, first)
    jit_s = 0.0 if first is None else _ahead_jit_seconds(compiled, state, first)
    compile_s = time.perf_counter() - t0 - jit_s

    wall = time.perf_counter()
    went = None
    if first is not None:
        went = go_ahead(compiled, plan.sts if threads > 1 else [state], first, duration,
                        max_search_steps, max_spikes)
        if went.status != AH_DONE or went.counts[A_EVENTS] >= max_events:
            # a runaway or a non-finite state: the one event loop reports it where it happens
            return simulate(net, duration, **options, ahead=False)
        loop_net = with_spikes(loop_net, went, layout.n_channels)
        if threads > 1:
            plan = plan._replace(nets=[(run_net._replace(in_time=loop_net.in_time,
                                                         in_node=loop_net.in_node,
                                                         in_amp=loop_net.in_amp), emit_net)
                                       for run_net, emit_net in plan.nets])

    spike_chunks = []
    if spike_sink is not None:
        spike_sink.begin(layout)
    take = spike_chunks.append if spike_sink is None else lambda chunk: spike_sink.write(*chunk)
    if went is not None:
        take = _with_ahead_spikes(take, went)
    flush = spike_flusher(state, take)

    run = _run_event if engine == "event" else _run_clock
    run_options = {}
    if threads > 1:
        run = _run_threads
        run_options["plan"] = plan
    loop_spikes, loop_events = max_spikes, max_events
    if went is not None:
        # the runaway guards count the ahead neurons' spikes and events from the start
        loop_spikes = max(1, max_spikes - went.t.size)
        loop_events = max(1, max_events - int(went.counts[A_EVENTS]))
    status, t_reached, loop_jit_s = run(loop_net, layout, state, recorder, duration, dt, flush,
                                        chunks, progress, loop_spikes, loop_events,
                                        max_search_steps, **run_options)
    if went is not None and status in (ST_RUNAWAY_SPIKES, ST_RUNAWAY_EVENTS):
        # the one event loop stops where the whole network's activity reaches the guards
        return simulate(net, duration, **options, ahead=False)
    wall = time.perf_counter() - wall - loop_jit_s
    jit_s += loop_jit_s
    flush()
    ctr = state.ctr
    if went is not None:
        take.rest(t_reached)
        ahead_stats(ctr, went, t_reached)
    stats = run_stats(ctr, engine, duration, dt, compile_s, jit_s, wall)
    if threads > 1:
        busy, waiting = thread_shares(plan.bufs)
        stats = dataclasses.replace(stats, thread_busy=busy, thread_wait=waiting)
    messages = {
        ST_RUNAWAY_SPIKES: f"runaway activity: {int(ctr[C_SPIKES])} spikes reached max_spikes = "
                           f"{max_spikes} at t = {t_reached:.6g} ms; raise max_spikes if this "
                           "activity is expected",
        ST_RUNAWAY_EVENTS: f"runaway activity: {int(ctr[C_EVENTS])} events reached max_events = "
                           f"{max_events} at t = {t_reached:.6g} ms; raise max_events if expected",
        ST_NONFINITE: f"the state became non-finite (NaN or inf) at t = {t_reached:.6g} ms; "
                      "check weights, biases and time constants for overflow",
    }
    kind = {ST_DONE: "ok", ST_RUNAWAY_SPIKES: "runaway", ST_RUNAWAY_EVENTS: "runaway",
            ST_NONFINITE: "nonfinite"}[status]
    result = build_result(layout, spike_chunks, recorder, record_names, stats, kind,
                          messages.get(status, ""), t_reached)
    if status in (ST_RUNAWAY_SPIKES, ST_RUNAWAY_EVENTS):
        raise RunawayError(result.message, result=result)
    if status == ST_NONFINITE:
        raise SimulationError(result.message, result=result)
    return result


def _leave_unchecked(state, neurons):
    """Take ``neurons`` off the event loop's list of neurons to check at t = 0 (they go
    ahead, engine/ahead.py)."""
    n = int(state.ctr[C_DIRTY])
    keep = state.dirty[:n][~np.isin(state.dirty[:n], neurons)]
    state.dirty[:keep.size] = keep
    state.ctr[C_DIRTY] = keep.size
    state.is_dirty[neurons] = 0


class _with_ahead_spikes:
    """A spike taker that hands over the ahead neurons' spikes (an AheadRun) beside the
    event loop's: before each of the loop's chunks, those up to its last time; the
    rest up to the run's end with ``rest``. Each population's spikes stay in time
    order (the sink and the result take them population by population)."""

    def __init__(self, take, went):
        self.take, self.went, self.done = take, went, 0

    def _up_to(self, t):
        end = int(np.searchsorted(self.went.t, t, side="right"))
        if end > self.done:
            part = slice(self.done, end)
            self.take((self.went.t[part].copy(), self.went.neuron[part].copy(),
                       self.went.amp[part].copy()))
            self.done = end

    def __call__(self, chunk):
        if chunk[0].size:
            self._up_to(chunk[0][-1])
        self.take(chunk)

    def rest(self, t_reached):
        self._up_to(t_reached)


def _ahead_jit_seconds(net, state, plan):
    """Compile the ahead pass's kernels (or load them from Numba's cache); seconds taken."""
    one = plan.neurons[:1]
    empty = np.zeros(0)
    ints = np.zeros(2, np.int64)
    slot = np.full(net.nrn_K.shape[0], -1, np.int64)
    counts = np.zeros(N_AHEAD_COUNTS, np.int64)
    return (_jit_seconds(count_arrivals, net, plan.takes, slot, 0.0, ints)
            + _jit_seconds(fill_arrivals, net, plan.takes, slot, 0.0, ints, ints, empty,
                           empty)
            + _jit_seconds(run_ahead, net, state, one, ints, empty, empty, 0.0, 1, empty, ints,
                           empty, counts, 0, 0, ints))


def check_engine(owner, engine, dt):
    """(engine, dt) checked: a step dt (ms) for the fixed-step "clock" engine, none for "event"."""
    if engine not in ENGINES:
        fail(owner, "engine", engine, "one of " + ", ".join(map(repr, ENGINES)))
    if engine == "clock":
        if dt is None:
            fail(owner, "dt", dt, "a step in ms (> 0) for engine='clock'")
        return engine, check_scalar(owner, "dt", dt, positive=True)
    if dt is not None:
        fail(owner, "dt", dt, "None for engine='event' (the event-driven engine has no time step)")
    return engine, None


def spike_flusher(state, take):
    """A function that hands the engine's buffered spikes to ``take((t, neuron, amp))``
    (copies, emission order) and empties the buffer."""
    def flush():
        n = int(state.ctr[C_SPIKES_BUFFERED])
        if n:
            take((state.spk_t[:n].copy(), state.spk_neuron[:n].copy(), state.spk_amp[:n].copy()))
            state.ctr[C_SPIKES_BUFFERED] = 0
    return flush


def run_stats(ctr, engine, duration, dt, compile_s, jit_s, wall_s):
    """RunStats from the engine's counters ``ctr`` and the timings (s)."""
    return RunStats(engine=engine, duration_ms=duration, dt_ms=dt, events=int(ctr[C_EVENTS]),
                    replaced_predictions=int(ctr[C_REPLACED]), synaptic_events=int(ctr[C_SYNAPTIC]),
                    spikes=int(ctr[C_SPIKES]), input_events=int(ctr[C_INPUTS]),
                    searches=int(ctr[C_SEARCHES]), continuations=int(ctr[C_CONTINUATIONS]),
                    compile_s=compile_s, jit_s=jit_s, wall_s=wall_s,
                    unchecked_inputs=int(ctr[C_UNCHECKED]))


def _jit_seconds(kernel, *args):
    """Compile ``kernel`` for these arguments (or load it from Numba's cache); seconds taken.

    Typing the arguments costs about 10 ms: callers that run the same kernel again
    with arguments of the same types pass ``warm=True`` to their runner and skip it.
    """
    if not hasattr(kernel, "compile"):      # NUMBA_DISABLE_JIT=1: a plain Python function
        return 0.0
    t0 = time.perf_counter()
    kernel.compile(tuple(numba.typeof(a) for a in args))
    return time.perf_counter() - t0


def merged_chunks(chunks, target_s=CHUNK_WALL_S):
    """The chunk numbers (1 .. ``chunks``) after which a run returns to Python to check
    interrupts and move its progress bar, merging consecutive chunks into one kernel
    call while calls take less than ``target_s`` (s): the span doubles after a call
    shorter than half of it and halves after one longer than twice it. Every call
    costs the kernel's dispatch (about 12 us with the arrays of a network and its
    state), 2 % of the benchmark network's run in 200 fixed chunks."""
    done, span = 0, 1
    while done < chunks:
        started = time.perf_counter()
        done = min(done + span, chunks)
        yield done
        elapsed = time.perf_counter() - started
        if elapsed < 0.5 * target_s:
            span *= 2
        elif elapsed > 2.0 * target_s and span > 1:
            span //= 2


def _run_event(net, layout, state, recorder, duration, dt, flush, chunks, progress,
               max_spikes, max_events, max_steps, learner=None, warm=False):
    queue = [make_queue(max(1024, 4 * layout.n_neurons))]
    predictions = make_prediction_heap(layout.n_neurons)
    jit_s = 0.0 if warm else _jit_seconds(run_events, net, state, queue[0], predictions, recorder,
                                          learner, duration, duration, max_steps, max_spikes,
                                          max_events, layout.max_out)
    status = ST_DONE
    with _progress_bar(duration, progress, "eventsg run") as bar:
        done = 0.0
        for k in merged_chunks(chunks):
            t_stop = duration if k == chunks else duration * k / chunks
            while True:
                status = run_events(net, state, queue[0], predictions, recorder, learner,
                                    duration, t_stop, max_steps, max_spikes, max_events,
                                    layout.max_out)
                if status == ST_QUEUE_FULL:
                    queue[0] = grow_queue(queue[0])
                elif status == ST_BUFFER_FULL:
                    flush()
                else:
                    break
            if status != ST_DONE:
                return status, float(state.now[0]), jit_s
            interrupt.check()
            bar.update(t_stop - done)
            done = t_stop
    return status, duration, jit_s


class ThreadPlan(NamedTuple):
    """What a run on several threads needs besides the network's own arrays."""
    window: float         # ms the threads run apart (smallest delay between gamma populations)
    nets: list            # per thread: (its network, the network its merge emits with)
    bufs: object          # every thread's counters and spike buffer (partition.ThreadBuffers)
    sts: list             # per thread: its engine state
    qs: list              # per thread: its event queue
    phs: list             # per thread: its prediction heap
    parts: list           # per thread: (its recorder, the run recorder's columns it fills)
    sync: np.ndarray      # the barrier's counters (sync.make_sync)
    board: np.ndarray     # int64 (threads, BOARD_COLUMNS) (windows.py)
    wend: np.ndarray      # float64 (threads,): where each thread's window ends, ms


def thread_plan(net, layout, state, recorder, threads, ahead=None):
    """The neurons shared out among ``threads`` threads, with each one's network, state,
    queue, heap and recorder (engine/partition.py); checks that the threads can run.
    ``ahead``: an AheadPlan, whose neurons no thread runs."""
    window = window_length(net, layout)
    if not window > 0.0:
        fail("run", "threads", threads, "1 when a projection between gamma populations has a "
             f"delay of {window} ms (threads need every such delay > 0)")
    owner = neuron_owners(layout, threads)
    names = ()
    if ahead is not None:
        owner[ahead.neurons] = -1
        names = ahead.populations
    queue_size, buffer_size = _thread_sizes(layout, owner, threads)
    bufs = make_buffers(threads, buffer_size)
    return ThreadPlan(
        window=window,
        nets=[thread_networks(net, layout, owner, i, names) for i in range(threads)],
        bufs=bufs, sts=[thread_state(net, state, bufs, i, owner) for i in range(threads)],
        qs=[make_queue(queue_size) for _ in range(threads)],
        phs=[make_prediction_heap(layout.n_neurons) for _ in range(threads)],
        parts=thread_recorders(net, recorder, owner, threads), sync=make_sync(threads),
        board=np.zeros((threads, BOARD_COLUMNS), np.int64), wend=np.full(threads, window))


def _run_threads(net, layout, state, recorder, duration, dt, flush, chunks, progress,
                 max_spikes, max_events, max_steps, plan, warm=False):
    """_run_event on the threads of ``plan`` (thread_plan; engine/windows.py), the
    calling thread keeping the progress bar and the interrupts."""
    threads = len(plan.sts)
    window, nets, parts, sync, board, wend = (plan.window, plan.nets, plan.parts, plan.sync,
                                              plan.board, plan.wend)
    bufs, sts, qs, phs = plan.bufs, list(plan.sts), list(plan.qs), plan.phs

    def args(i):
        return (i, nets[i][0], nets[i][1], sts[i], qs[i], phs[i], parts[i][0], state, bufs, sync,
                board, wend, window, duration, duration, max_steps, max_spikes, max_events,
                layout.max_out)
    jit_s = 0.0 if warm else _jit_seconds(run_thread, *args(0))
    status = ST_DONE
    try:
        with _progress_bar(duration, progress, "eventsg run") as bar:
            while True:
                codes = _launch(run_thread, [args(i) for i in range(threads)], sync, bar, sts)
                for i, code in enumerate(codes):
                    if code == ST_QUEUE_FULL:
                        qs[i] = grow_queue(qs[i])
                if ST_BUFFER_FULL in codes:
                    bufs = grow_buffers(bufs)
                    sts = [rebuffered(st, bufs, i) for i, st in enumerate(sts)]
                if ST_MAIN_FULL in codes:
                    flush()
                stops = [c for c in codes if c not in (ST_DONE, ST_WAIT, ST_QUEUE_FULL,
                                                       ST_BUFFER_FULL, ST_MAIN_FULL)]
                if stops:
                    status = stops[0]
                    break
                if all(c == ST_DONE for c in codes):
                    break
    finally:
        gather_recorders(recorder, parts)
        gather_counters(state, bufs)
        state.now[0] = max(float(st.now[0]) for st in sts)
    _keep_unmerged(state, bufs, flush)
    if status == ST_STOPPED:
        raise KeyboardInterrupt
    if status != ST_DONE:
        return status, float(state.now[0]), jit_s
    return status, duration, jit_s


def _keep_unmerged(state, bufs, flush):
    """A run stopped within a window keeps that window's spikes: through the main
    buffer, after the ones before them, in the merge's order."""
    t, g, a = unmerged_spikes(bufs)
    room = state.spk_t.shape[0]
    for lo in range(0, t.size, room):
        flush()
        n = min(room, t.size - lo)
        state.spk_t[:n] = t[lo:lo + n]
        state.spk_neuron[:n] = g[lo:lo + n]
        state.spk_amp[:n] = a[lo:lo + n]
        state.ctr[C_SPIKES_BUFFERED] = n


def _thread_sizes(layout, owner, threads):
    """Initial capacity of each thread's queue and spike buffer (both grow when full)."""
    return (max(1024, 4 * layout.n_neurons // threads),
            max(1024, 2 * int(np.bincount(owner[owner >= 0], minlength=threads).max()) + 16))


def _launch(kernel, arg_lists, sync, bar, sts, poll_s=0.1):
    """Run ``kernel(*args)`` for each args in its own thread; the calling thread
    updates the bar and, on Ctrl-C, asks the threads to stop (the slot past the
    barrier's counters) and re-raises once they have. Returns their statuses."""
    codes = [ST_STOPPED] * len(arg_lists)

    def work(i):
        codes[i] = int(kernel(*arg_lists[i]))

    def stop():
        sync[len(arg_lists) * SYNC_STRIDE] = 1

    def tick():
        bar.update(min(float(st.now[0]) for st in sts) - bar.n)

    interrupt.run_threads(work, len(arg_lists), stop, tick, poll_s)
    return codes


def _run_clock(net, layout, state, recorder, duration, dt, flush, chunks, progress,
               max_spikes, max_events, max_steps, learner=None, warm=False):
    n_steps = int(math.floor(duration / dt + 1e-9)) + 1
    syn_steps = np.maximum(1, np.rint(net.syn_delay / dt)).astype(np.int64)
    in_step = np.maximum(0, np.ceil(net.in_time / dt - 1e-9)).astype(np.int64)
    sample_step = np.rint(recorder.times / dt).astype(np.int64)
    R = int(syn_steps.max()) + 1 if syn_steps.size else 2
    ring_pulse = np.zeros((R, layout.n_neurons))
    ring_delta = np.zeros((R, layout.n_neurons))
    queue = [make_queue(max(1024, 4 * layout.n_neurons) if learner is not None else 16)]
    E_flat, E_off = step_propagators(net, dt, state.work)

    def step(n0, n1):
        return run_clock(net, state, recorder, learner, queue[0], E_flat, E_off, dt, n0, n1,
                         ring_pulse, ring_delta, syn_steps, in_step, sample_step, max_spikes,
                         layout.max_out)
    jit_s = 0.0 if warm else _jit_seconds(run_clock, net, state, recorder, learner, queue[0],
                                          E_flat, E_off, dt, 0, 0, ring_pulse, ring_delta,
                                          syn_steps, in_step, sample_step, max_spikes,
                                          layout.max_out)
    status = ST_DONE
    with _progress_bar(duration, progress, "eventsg run (clock)") as bar:
        n = 0
        for k in merged_chunks(chunks):
            n_stop = n_steps if k == chunks else (n_steps * k) // chunks
            while n < n_stop:
                status, n = step(n, n_stop)
                if status == ST_BUFFER_FULL:
                    flush()
                elif status == ST_QUEUE_FULL:
                    queue[0] = grow_queue(queue[0])
                elif status != ST_DONE:
                    return status, n * dt, jit_s
            interrupt.check()
            bar.update(min(n_stop * dt, duration) - bar.n)
    return status, duration, jit_s
