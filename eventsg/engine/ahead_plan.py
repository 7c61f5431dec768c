"""The set-up of a run whose source-fed populations go ahead (engine/ahead.py): which
populations can, the network the event loop runs without their inputs, the pass over
their neurons, and their spikes as the loop's input events.

Plain numpy around the kernels, run once per simulation.
"""
from typing import NamedTuple

import numpy as np

from ..compile.arrays import kernel_array
from ..interrupt import run_threads
from .state import C_EVENTS, C_INPUTS, C_SEARCHES, C_SPIKES, C_SYNAPTIC
from .ahead import (A_ARRIVALS, A_EVENTS, A_SEARCHES, AH_DONE, AH_FULL,
                    N_AHEAD_COUNTS, count_arrivals, fill_arrivals, run_ahead)

AH_RUNAWAY = 3
"""go_ahead's status when the neurons fired max_spikes spikes."""

BLOCK_ARRIVALS = 1 << 23
"""Most arrivals held at once: the neurons go ahead in blocks of about this many
arrivals (16 bytes each), each block a pass over the input events."""


class AheadPlan(NamedTuple):
    """The neurons that go ahead and how they are fed."""
    populations: tuple        # names of the populations that go ahead
    neurons: np.ndarray       # int64, their neurons (global ids), in order
    takes: np.ndarray         # int64 (n_proj,): 1 for the projections into them


def ahead_plan(model, net, layout, recorded=()):
    """An AheadPlan for the gamma populations of ``model`` (its compiled ``net``) that
    can go ahead: fed by at least one projection, all of them from sources with pulse
    coding, bucket weights v >= 0 with v / tau non-increasing along the cascade, and
    none of their neurons in ``recorded`` (global ids; sampled states come from the
    event loop). None if there is no such population."""
    fed = {}
    for k, proj in enumerate(model.projections):
        name = proj.post.name
        ok = layout.kinds[layout.index(proj.pre.name)] == "source" and net.proj_pulse[k] == 1
        fed[name] = fed.get(name, True) and ok
    recorded = np.asarray(recorded, np.int64)
    names, parts = [], []
    for name, kind, n, off in zip(layout.names, layout.kinds, layout.sizes, layout.offsets):
        ids = np.arange(off, off + n)
        if (kind != "gamma" or not fed.get(name, False) or np.isin(recorded, ids).any()
                or not np.all(falls_only(net, ids))):
            continue
        names.append(name)
        parts.append(ids)
    if not names:
        return None
    neurons = np.concatenate(parts).astype(np.int64)
    takes = np.zeros(net.proj_pulse.shape[0], np.int64)
    for k, proj in enumerate(model.projections):
        takes[k] = proj.post.name in names
    return AheadPlan(tuple(names), neurons, takes)


def falls_only(net, neurons):
    """Per neuron: bucket weights v >= 0 and v_k / tau_k non-increasing along the cascade
    (bool array)."""
    out = np.zeros(len(neurons), bool)
    for j, g in enumerate(neurons):
        K, b0 = net.nrn_K[g], net.nrn_bstart[g]
        r0 = net.rset_start[net.nrn_rset[g]]
        v = net.v[b0:b0 + K]
        flow = v * net.rates[r0:r0 + K]
        out[j] = np.all(v >= 0.0) and np.all(np.diff(flow) <= 0.0)
    return out


def without_inputs(net, plan):
    """``net`` with the projections into the neurons that go ahead left out of the
    event loop (the lists of projections leaving each population)."""
    lists = [[p for p in net.pop_out_proj[net.pop_out_start[j]:net.pop_out_start[j + 1]]
              if plan.takes[p] == 0] for j in range(net.pop_out_start.shape[0] - 1)]
    start = np.zeros(len(lists) + 1, np.int64)
    start[1:] = np.cumsum([len(lst) for lst in lists])
    proj = np.array([p for lst in lists for p in lst], np.int64)
    return net._replace(pop_out_start=start, pop_out_proj=proj)


class AheadRun(NamedTuple):
    """What the neurons that went ahead produced."""
    t: np.ndarray             # float64, spike times (ms), in the order (time, neuron)
    neuron: np.ndarray        # int64, global neuron ids
    amp: np.ndarray           # float64, amplitudes
    counts: np.ndarray        # int64 (N_AHEAD_COUNTS,): ahead.A_* of the pass
    status: int               # ahead.AH_DONE, AH_NONFINITE, AH_STOPPED or AH_RUNAWAY


def go_ahead(net, states, plan, t_end, max_steps, max_spikes, block=BLOCK_ARRIVALS):
    """Simulate the plan's neurons to t_end (ms), in blocks of neurons holding at most
    about ``block`` arrivals each; returns an AheadRun (status AH_RUNAWAY once they
    fire ``max_spikes`` spikes). ``states``: one engine state per thread (the same
    neuron arrays, scratch of their own; engine/partition.py): each thread takes a
    run of neurons with about equal arrivals. Ctrl-C stops the threads at their next
    neuron and is raised again (interrupt.run_threads)."""
    per = np.zeros(plan.neurons.size, np.int64)
    count_arrivals(net, plan.takes, _slots(net.nrn_K.shape[0], plan.neurons), t_end, per)
    total = int(per.sum())
    ends = np.cumsum(per)
    cuts = [0] + [int(np.searchsorted(ends, total * j / len(states), side="right"))
                  for j in range(1, len(states))] + [plan.neurons.size]
    results = [None] * len(states)
    stop = np.zeros(1, np.int64)

    def work(j):
        results[j] = _part(net, states[j], plan, cuts[j], cuts[j + 1], per, t_end,
                           max_steps, max_spikes, block, stop)

    run_threads(work, len(states), lambda: stop.fill(1))
    chunks = [c for r in results for c in r[0]]
    counts = np.sum([r[1] for r in results], axis=0)
    status = next((r[2] for r in results if r[2] != AH_DONE), AH_DONE)
    if sum(c[0].size for c in chunks) >= max_spikes:
        status = AH_RUNAWAY
    return _collected(chunks, counts, status)


def _part(net, state, plan, lo, hi, per, t_end, max_steps, max_spikes, block, stop):
    """Neurons plan.neurons[lo:hi] ahead, block by block (``per``: each plan neuron's
    arrivals): (spike chunks, counts, status)."""
    ends = np.cumsum(per)
    counts = np.zeros(N_AHEAD_COUNTS, np.int64)
    chunks = []
    spk = _buffers(max(1024, hi - lo))
    while lo < hi:
        before = ends[lo - 1] if lo else 0
        end = min(hi, max(lo + 1, int(np.searchsorted(ends, before + block, side="right"))))
        status = _block(net, state, plan, lo, end, per[lo:end], t_end, max_steps, max_spikes,
                        counts, spk, chunks, stop)
        if status != AH_DONE:
            return chunks, counts, status
        lo = end
    return chunks, counts, AH_DONE


def _block(net, state, plan, lo, hi, per, t_end, max_steps, max_spikes, counts, spk, chunks,
           stop):
    """Neurons plan.neurons[lo:hi] (``per``: their arrivals) ahead; their spikes appended
    to ``chunks``."""
    neurons = plan.neurons[lo:hi]
    slot = _slots(net.nrn_K.shape[0], neurons)
    start = np.zeros(neurons.size + 1, np.int64)
    np.cumsum(per, out=start[1:])
    at, aw = np.empty(start[-1]), np.empty(start[-1])
    fill_arrivals(net, plan.takes, slot, t_end, start, start[:-1].copy(), at, aw)
    first = 0
    while True:
        status, first, ns = run_ahead(net, state, neurons, start, at, aw, t_end,
                                      max_steps, spk[0], spk[1], spk[2], counts, 0, first,
                                      stop)
        chunks.append(tuple(a[:ns].copy() for a in spk))
        if sum(c[0].size for c in chunks) >= max_spikes:
            return AH_RUNAWAY
        if status != AH_FULL:
            return status
        if ns == 0:          # one neuron's spikes do not fit: a larger buffer
            if spk[0].size >= max_spikes:
                return AH_RUNAWAY
            spk[:] = _buffers(2 * spk[0].size)


def _slots(n, neurons):
    slot = np.full(n, -1, np.int64)
    slot[neurons] = np.arange(neurons.size)
    return slot


def _buffers(size):
    return [np.empty(size), np.empty(size, np.int64), np.empty(size)]


def _collected(chunks, counts, status):
    """The blocks' spikes in the order (time, neuron)."""
    if not chunks:
        return AheadRun(np.empty(0), np.empty(0, np.int64), np.empty(0), counts, status)
    t, g, a = (np.concatenate([c[j] for c in chunks]) for j in range(3))
    order = np.lexsort((g, t))
    return AheadRun(t[order], g[order], a[order], counts, status)


def with_spikes(net, run, node_offset):
    """``net`` whose input events also hold ``run``'s spikes as events of their neurons'
    nodes (node = node_offset + neuron), merged in time order; at equal times the
    sources' events come first, then the spikes in the order of the neurons."""
    t = np.concatenate([net.in_time, run.t])
    node = np.concatenate([net.in_node, node_offset + run.neuron])
    amp = np.concatenate([net.in_amp, run.amp])
    order = np.argsort(t, kind="stable")
    return net._replace(in_time=kernel_array(t[order], np.float64),
                        in_node=kernel_array(node[order], np.int64),
                        in_amp=kernel_array(amp[order], np.float64))


def ahead_stats(ctr, run, t_reached):
    """Add the pass's work to the event loop's counters ``ctr`` (the ahead spikes up to
    ``t_reached``, ms; the loop read them as input events, which they are not)."""
    spikes = int(np.searchsorted(run.t, t_reached, side="right"))
    ctr[C_SPIKES] += spikes
    ctr[C_INPUTS] -= spikes
    ctr[C_SYNAPTIC] += run.counts[A_ARRIVALS]
    ctr[C_SEARCHES] += run.counts[A_SEARCHES]
    ctr[C_EVENTS] += run.counts[A_EVENTS]
