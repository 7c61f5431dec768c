"""Indexed binary heap of predicted neuron events: at most one entry per neuron.

A neuron's next predicted event (a spike at a crossing time, or the time its
crossing search resumes) is keyed by ``(time, seq)``; ``seq`` is the insertion
order shared with the event queue, so ties keep insertion order. A new
prediction for a neuron replaces its old one in place (``pred_set``), so
superseded predictions never reach the top and the heap never holds more
entries than there are neurons.
"""
from typing import NamedTuple

import numpy as np

from .jit import inline_kernel, kernel
from .queue import heap_top_time, key_before

# meta slots
SIZE = 0


class PredictionHeap(NamedTuple):
    time: np.ndarray      # float64 (n,) heap of predicted times, ms
    seq: np.ndarray       # int64 (n,) insertion order of each heap entry
    neuron: np.ndarray    # int64 (n,) neuron of each heap entry
    pos: np.ndarray       # int64 (n,) heap position of each neuron, -1 if none
    kind: np.ndarray      # int64 (n,) predicted event of each neuron (crossing.UP, ...)
    meta: np.ndarray      # int64 (1,) size


def make_prediction_heap(n_neurons):
    """An empty heap for ``n_neurons`` neurons."""
    n = max(int(n_neurons), 1)
    return PredictionHeap(time=np.empty(n), seq=np.empty(n, np.int64),
                          neuron=np.empty(n, np.int64), pos=np.full(n, -1, np.int64),
                          kind=np.zeros(n, np.int64), meta=np.zeros(1, np.int64))


@inline_kernel
def _place(ph, i, time, seq, g):
    """Entry (time, seq) of neuron g goes to heap position i."""
    ph.time[i] = time
    ph.seq[i] = seq
    ph.neuron[i] = g
    ph.pos[g] = i


@inline_kernel
def _move(ph, src, dst):
    """The entry at heap position src moves to dst."""
    _place(ph, dst, ph.time[src], ph.seq[src], ph.neuron[src])


@kernel
def _sift_up(ph, i):
    """Restore heap order above the entry at i; returns its final position.

    The entry is held aside while the parents it passes move down one level (a
    hole moves up), so each level costs one move instead of a swap.
    """
    time = ph.time[i]
    seq = ph.seq[i]
    g = ph.neuron[i]
    start = i
    while i > 0:
        parent = (i - 1) >> 1
        if not key_before(time, seq, ph.time[parent], ph.seq[parent]):
            break
        _move(ph, parent, i)
        i = parent
    if i != start:
        _place(ph, i, time, seq, g)
    return i


@kernel
def _sift_down(ph, i):
    """Restore heap order below the entry at i (a hole moves down, as in _sift_up)."""
    n = ph.meta[SIZE]
    time = ph.time[i]
    seq = ph.seq[i]
    g = ph.neuron[i]
    start = i
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and key_before(ph.time[child + 1], ph.seq[child + 1],
                                        ph.time[child], ph.seq[child]):
            child += 1
        if not key_before(ph.time[child], ph.seq[child], time, seq):
            break
        _move(ph, child, i)
        i = child
    if i != start:
        _place(ph, i, time, seq, g)


@kernel
def pred_set(ph, g, time, seq, kind):
    """Make ``(time, seq)`` neuron g's only prediction; returns True if one was replaced."""
    ph.kind[g] = kind
    i = ph.pos[g]
    replaced = i >= 0
    if not replaced:
        i = ph.meta[SIZE]
        ph.meta[SIZE] = i + 1
        ph.neuron[i] = g
        ph.pos[g] = i
    ph.time[i] = time
    ph.seq[i] = seq
    if _sift_up(ph, i) == i:
        _sift_down(ph, i)
    return replaced


@kernel
def pred_remove(ph, g):
    """Drop neuron g's prediction, if it has one."""
    i = ph.pos[g]
    if i < 0:
        return
    last = ph.meta[SIZE] - 1
    ph.meta[SIZE] = last
    ph.pos[g] = -1
    if i != last:
        # the last entry fills the gap, then finds its place
        _move(ph, last, i)
        if _sift_up(ph, i) == i:
            _sift_down(ph, i)


@inline_kernel
def pred_top_time(ph):
    """Time of the earliest prediction (inf when empty)."""
    return heap_top_time(ph.time, ph.meta[SIZE])


@inline_kernel
def pred_top(ph):
    """(time, neuron, kind) of the earliest prediction, left in the heap; a new
    prediction for that neuron (pred_set) then replaces it in place."""
    g = ph.neuron[0]
    return ph.time[0], g, ph.kind[g]


@kernel
def pred_pop(ph):
    """Remove the earliest prediction; returns (time, neuron, kind)."""
    t = ph.time[0]
    g = ph.neuron[0]
    pred_remove(ph, g)
    return t, g, ph.kind[g]
