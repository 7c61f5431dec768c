"""Binary-heap event queue keyed by (time, tie), with payloads kept in a slot pool.

``tie = (event_class << CLASS_SHIFT) | seq``: at equal times, lower classes come
first (arrivals before threshold checks), then insertion order (``seq``). Sift
operations move only (time, tie, slot); payloads stay in the pool. Stale entries
(predictions invalidated later) are dropped by the caller when popped.
"""
from typing import NamedTuple

import numpy as np
from .jit import inline_kernel, kernel

CLASS_SHIFT = 56
ARRIVAL = 0
CHECK = 1

# meta slots
SIZE = 0
SEQ = 1
FREE_TOP = 2


class EventQueue(NamedTuple):
    """Arrays of a queue of capacity ``time.shape[0]``."""
    time: np.ndarray      # float64 (cap,) heap of event times, ms
    tie: np.ndarray       # int64 (cap,) class and insertion order
    slot: np.ndarray      # int64 (cap,) payload slot of each heap entry
    kind: np.ndarray      # int64 (cap,) payload: event kind
    a: np.ndarray         # int64 (cap,) payload integers
    b: np.ndarray
    c: np.ndarray
    f0: np.ndarray        # float64 (cap,) payload floats
    f1: np.ndarray
    free: np.ndarray      # int64 (cap,) stack of free payload slots
    meta: np.ndarray      # int64 (3,) size, next seq, free-stack top


def make_queue(capacity):
    """An empty queue able to hold ``capacity`` events."""
    capacity = int(max(capacity, 16))
    q = EventQueue(
        time=np.empty(capacity), tie=np.empty(capacity, np.int64),
        slot=np.empty(capacity, np.int64), kind=np.zeros(capacity, np.int64),
        a=np.zeros(capacity, np.int64), b=np.zeros(capacity, np.int64),
        c=np.zeros(capacity, np.int64), f0=np.zeros(capacity), f1=np.zeros(capacity),
        free=np.arange(capacity - 1, -1, -1, dtype=np.int64),
        meta=np.zeros(3, np.int64))
    q.meta[FREE_TOP] = capacity
    return q


def grow_queue(q, factor=2):
    """A copy of ``q`` with ``factor`` times the capacity and the same content."""
    old = q.time.shape[0]
    new = make_queue(old * factor)
    size = int(q.meta[SIZE])
    for name in ("time", "tie", "slot"):
        getattr(new, name)[:size] = getattr(q, name)[:size]
    for name in ("kind", "a", "b", "c", "f0", "f1"):
        getattr(new, name)[:old] = getattr(q, name)
    top = int(q.meta[FREE_TOP])
    # old free slots, then the new slots old..new-1
    new.free[:old * factor - old] = np.arange(old * factor - 1, old - 1, -1)
    new.free[old * factor - old:old * factor - old + top] = q.free[:top]
    new.meta[SIZE] = size
    new.meta[SEQ] = q.meta[SEQ]
    new.meta[FREE_TOP] = old * factor - old + top
    return new


@inline_kernel
def queue_free(q):
    """How many more events fit."""
    return q.time.shape[0] - q.meta[SIZE]


@inline_kernel
def key_before(time_i, key_i, time_j, key_j):
    """Heap order shared by the engine's heaps: (time_i, key_i) before (time_j, key_j)."""
    if time_i < time_j:
        return True
    if time_i > time_j:
        return False
    return key_i < key_j


@inline_kernel
def _before(q, i, j):
    return key_before(q.time[i], q.tie[i], q.time[j], q.tie[j])


@inline_kernel
def _swap(q, i, j):
    """Swap heap entries i and j (time, tie and slot)."""
    t = q.time[i]
    q.time[i] = q.time[j]
    q.time[j] = t
    k = q.tie[i]
    q.tie[i] = q.tie[j]
    q.tie[j] = k
    m = q.slot[i]
    q.slot[i] = q.slot[j]
    q.slot[j] = m


@kernel
def queue_push(q, time, event_class, kind, a, b, c, f0, f1):
    """Insert an event; the caller guarantees ``queue_free(q) > 0``."""
    top = q.meta[FREE_TOP] - 1
    q.meta[FREE_TOP] = top
    slot = q.free[top]
    q.kind[slot] = kind
    q.a[slot] = a
    q.b[slot] = b
    q.c[slot] = c
    q.f0[slot] = f0
    q.f1[slot] = f1
    i = q.meta[SIZE]
    q.meta[SIZE] = i + 1
    q.time[i] = time
    q.tie[i] = (event_class << CLASS_SHIFT) | q.meta[SEQ]
    q.meta[SEQ] += 1
    q.slot[i] = slot
    while i > 0:
        parent = (i - 1) >> 1
        if _before(q, i, parent):
            _swap(q, i, parent)
            i = parent
        else:
            break


@inline_kernel
def heap_top_time(time, size):
    """Time at the top of one of the engine's heaps of ``size`` entries (inf when empty)."""
    if size == 0:
        return np.inf
    return time[0]


@inline_kernel
def queue_top_time(q):
    """Time of the earliest event (inf when empty)."""
    return heap_top_time(q.time, q.meta[SIZE])


@kernel
def queue_top_class(q):
    """Class of the earliest event (-1 when empty)."""
    if q.meta[SIZE] == 0:
        return -1
    return q.tie[0] >> CLASS_SHIFT


@kernel
def queue_pop(q):
    """Remove the earliest event; returns (time, slot). Release the slot after use."""
    time = q.time[0]
    slot = q.slot[0]
    n = q.meta[SIZE] - 1
    q.meta[SIZE] = n
    if n > 0:
        q.time[0] = q.time[n]
        q.tie[0] = q.tie[n]
        q.slot[0] = q.slot[n]
        i = 0
        while True:
            left = 2 * i + 1
            if left >= n:
                break
            child = left
            right = left + 1
            if right < n and _before(q, right, left):
                child = right
            if _before(q, child, i):
                _swap(q, i, child)
                i = child
            else:
                break
    return time, slot


@inline_kernel
def queue_release(q, slot):
    """Return a popped event's payload slot to the pool."""
    top = q.meta[FREE_TOP]
    q.free[top] = slot
    q.meta[FREE_TOP] = top + 1
