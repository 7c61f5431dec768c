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
from .queue import entry_before, heap_top_time, swap_entries

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
def _before(ph, i, j):
    return entry_before(ph.time, ph.seq, i, j)


@inline_kernel
def _swap(ph, i, j):
    swap_entries(ph.time, ph.seq, ph.neuron, i, j)
    ph.pos[ph.neuron[i]] = i
    ph.pos[ph.neuron[j]] = j


@kernel
def _sift_up(ph, i):
    while i > 0:
        parent = (i - 1) >> 1
        if not _before(ph, i, parent):
            return i
        _swap(ph, i, parent)
        i = parent
    return i


@kernel
def _sift_down(ph, i):
    n = ph.meta[SIZE]
    while True:
        child = 2 * i + 1
        if child >= n:
            return
        if child + 1 < n and _before(ph, child + 1, child):
            child += 1
        if not _before(ph, child, i):
            return
        _swap(ph, i, child)
        i = child


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
    if i != last:
        _swap(ph, i, last)
    ph.meta[SIZE] = last
    ph.pos[g] = -1
    if i != last:
        if _sift_up(ph, i) == i:
            _sift_down(ph, i)


@inline_kernel
def pred_top_time(ph):
    """Time of the earliest prediction (inf when empty)."""
    return heap_top_time(ph.time, ph.meta[SIZE])


@kernel
def pred_pop(ph):
    """Remove the earliest prediction; returns (time, neuron, kind)."""
    t = ph.time[0]
    g = ph.neuron[0]
    pred_remove(ph, g)
    return t, g, ph.kind[g]
