"""Event queue keyed by (time, tie): a run of events in order, and a binary heap for the
rest, with payloads kept in a slot pool.

``tie = (event_class << CLASS_SHIFT) | seq``: at equal times, lower classes come
first (arrivals before threshold checks), then insertion order (``seq``). Sift
operations move only (time, tie, slot); payloads stay in the pool. Stale entries
(predictions invalidated later) are dropped by the caller when popped.

Most events come in order: every synapse of a projection with one delay delivers
``delay`` ms after its spike, and spikes come in time order, so where every
projection has the same delay each push is later than the one before. A push that
is not before the last event of the run (``ring``, a circular buffer) joins the run
at its end, in O(1); any other goes to the heap. A pop takes the earlier of the run's
first event and the heap's top. Both hold their events in (time, tie) order, so the
queue pops exactly the order of one heap, whatever the mix.
"""
from typing import NamedTuple

import numpy as np
from .jit import inline_kernel, kernel

CLASS_SHIFT = 56
ARRIVAL = 0
CHECK = 1

# meta slots
SIZE = 0
"""Events in the heap."""
SEQ = 1
FREE_TOP = 2
RING_HEAD = 3
"""Position of the run's first event in the ring ..."""
RING_SIZE = 4
"""... and how many events the run holds."""
META_SLOTS = 5


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
    meta: np.ndarray      # int64 (META_SLOTS,) heap size, next seq, free-stack top, ring
    ring_time: np.ndarray  # float64 (cap,) the run of events in order (circular), ms
    ring_tie: np.ndarray   # int64 (cap,)
    ring_slot: np.ndarray  # int64 (cap,) payload slot of each event of the run


def make_queue(capacity):
    """An empty queue able to hold ``capacity`` events."""
    capacity = int(max(capacity, 16))
    q = EventQueue(
        time=np.empty(capacity), tie=np.empty(capacity, np.int64),
        slot=np.empty(capacity, np.int64), kind=np.zeros(capacity, np.int64),
        a=np.zeros(capacity, np.int64), b=np.zeros(capacity, np.int64),
        c=np.zeros(capacity, np.int64), f0=np.zeros(capacity), f1=np.zeros(capacity),
        free=np.arange(capacity - 1, -1, -1, dtype=np.int64),
        meta=np.zeros(META_SLOTS, np.int64), ring_time=np.empty(capacity),
        ring_tie=np.empty(capacity, np.int64), ring_slot=np.empty(capacity, np.int64))
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
    run = (int(q.meta[RING_HEAD]) + np.arange(int(q.meta[RING_SIZE]))) % old
    for name in ("ring_time", "ring_tie", "ring_slot"):
        getattr(new, name)[:run.size] = getattr(q, name)[run]
    top = int(q.meta[FREE_TOP])
    # old free slots, then the new slots old..new-1
    new.free[:old * factor - old] = np.arange(old * factor - 1, old - 1, -1)
    new.free[old * factor - old:old * factor - old + top] = q.free[:top]
    new.meta[SIZE] = size
    new.meta[SEQ] = q.meta[SEQ]
    new.meta[FREE_TOP] = old * factor - old + top
    new.meta[RING_SIZE] = run.size
    return new


@inline_kernel
def queue_free(q):
    """How many more events fit."""
    return q.time.shape[0] - q.meta[SIZE] - q.meta[RING_SIZE]


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


@inline_kernel
def _ring_pos(q, i):
    """Position in the ring of the run's event i (0 <= i <= capacity)."""
    pos = q.meta[RING_HEAD] + i
    cap = q.time.shape[0]
    return pos - cap if pos >= cap else pos


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
    tie = (event_class << CLASS_SHIFT) | q.meta[SEQ]
    q.meta[SEQ] += 1
    n_run = q.meta[RING_SIZE]
    if n_run > 0:
        last = _ring_pos(q, n_run - 1)
        in_order = not key_before(time, tie, q.ring_time[last], q.ring_tie[last])
    else:
        in_order = True
    if in_order:
        # (an empty run takes any event: the heap keeps the ones before it)
        end = _ring_pos(q, n_run)
        q.ring_time[end] = time
        q.ring_tie[end] = tie
        q.ring_slot[end] = slot
        q.meta[RING_SIZE] = n_run + 1
        return
    i = q.meta[SIZE]
    q.meta[SIZE] = i + 1
    q.time[i] = time
    q.tie[i] = tie
    q.slot[i] = slot
    while i > 0:
        parent = (i - 1) >> 1
        if _before(q, i, parent):
            _swap(q, i, parent)
            i = parent
        else:
            break


@inline_kernel
def _run_first(q):
    """True if the earliest event is the run's first (the queue holds at least one)."""
    if q.meta[RING_SIZE] == 0:
        return False
    if q.meta[SIZE] == 0:
        return True
    h = q.meta[RING_HEAD]
    return key_before(q.ring_time[h], q.ring_tie[h], q.time[0], q.tie[0])


@inline_kernel
def heap_top_time(time, size):
    """Time at the top of one of the engine's heaps of ``size`` entries (inf when empty)."""
    if size == 0:
        return np.inf
    return time[0]


@inline_kernel
def queue_top_time(q):
    """Time of the earliest event (inf when empty)."""
    t = heap_top_time(q.time, q.meta[SIZE])
    if q.meta[RING_SIZE] > 0:
        t = min(t, q.ring_time[q.meta[RING_HEAD]])
    return t


@kernel
def queue_top_class(q):
    """Class of the earliest event (-1 when empty)."""
    if _run_first(q):
        return q.ring_tie[q.meta[RING_HEAD]] >> CLASS_SHIFT
    if q.meta[SIZE] == 0:
        return -1
    return q.tie[0] >> CLASS_SHIFT


@kernel
def queue_pop(q):
    """Remove the earliest event; returns (time, slot). Release the slot after use."""
    if _run_first(q):
        h = q.meta[RING_HEAD]
        q.meta[RING_HEAD] = _ring_pos(q, 1)
        q.meta[RING_SIZE] -= 1
        return q.ring_time[h], q.ring_slot[h]
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
