"""The event queue (a run of events in order and a binary heap) against Python's heapq.

Reference order (eventsg/engine/queue.py, MODEL.md section 4): by time, then by
event class (arrivals before threshold checks), then by insertion order.
"""
import heapq
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventsg.engine.queue import (ARRIVAL, CHECK, RING_SIZE, SIZE, grow_queue, make_queue,
                                  queue_free, queue_pop, queue_push, queue_release,
                                  queue_top_class, queue_top_time)

I64 = st.integers(min_value=-(2 ** 63), max_value=2 ** 63 - 1)
FLOATS = st.floats(allow_nan=False, allow_infinity=True, width=64)
# few distinct times so that ties are frequent, plus arbitrary ones
TIMES = st.one_of(st.sampled_from([0.0, 0.5, 1.0, 1.0 + 2.0 ** -52, 2.0, 1e9]),
                  st.floats(min_value=0.0, max_value=1e6, allow_nan=False))
PAYLOAD = st.tuples(I64, I64, I64, I64, FLOATS, FLOATS)
CLASS = st.sampled_from([ARRIVAL, CHECK])

OPS = st.lists(st.one_of(
    st.tuples(st.just("push"), TIMES, CLASS, PAYLOAD),
    st.tuples(st.just("push"), TIMES, CLASS, PAYLOAD),
    st.tuples(st.just("push"), TIMES, CLASS, PAYLOAD),
    st.tuples(st.just("pop"), st.booleans()),          # bool: release the slot at once
    st.tuples(st.just("release"), st.integers(0, 1000)),
    st.tuples(st.just("grow"), st.sampled_from([2, 3])),
), max_size=200)

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def payload_of(q, slot):
    return (int(q.kind[slot]), int(q.a[slot]), int(q.b[slot]), int(q.c[slot]),
            float(q.f0[slot]), float(q.f1[slot]))


def same_payload(got, want):
    return got[:4] == want[:4] and all(
        (g == w) or (math.isnan(g) and math.isnan(w)) for g, w in zip(got[4:], want[4:]))


class Checker:
    """Drives a queue and a heapq model side by side, as the event loop does."""

    def __init__(self, capacity=16):
        self.q = make_queue(capacity)
        self.model = []          # heap of (time, class, seq, payload)
        self.seq = 0
        self.held = []           # popped, not yet released: (slot, payload)

    def check_top(self):
        q = self.q
        assert int(queue_free(q)) == q.time.shape[0] - len(self.model)
        if self.model:
            assert queue_top_time(q) == self.model[0][0]
            assert queue_top_class(q) == self.model[0][1]
        else:
            assert queue_top_time(q) == math.inf
            assert queue_top_class(q) == -1

    def push(self, time, cls, payload):
        # queue_free counts heap entries only; slots popped but not yet released
        # are not free either (the event loop releases before it pushes again)
        if queue_free(self.q) <= len(self.held):
            cap = self.q.time.shape[0]
            self.q = grow_queue(self.q)
            assert self.q.time.shape[0] == 2 * cap
        queue_push(self.q, time, cls, *payload)
        heapq.heappush(self.model, (time, cls, self.seq, payload))
        self.seq += 1
        self.check_top()

    def pop(self, release):
        if not self.model:
            return
        time, cls, seq, payload = heapq.heappop(self.model)
        t, slot = queue_pop(self.q)
        assert t == time, (t, time, cls, seq)
        got = payload_of(self.q, int(slot))
        assert same_payload(got, payload), (got, payload, time, cls, seq)
        # a slot handed out must not belong to any event still held by the caller
        assert all(int(slot) != s for s, _ in self.held)
        if release:
            queue_release(self.q, slot)
        else:
            self.held.append((int(slot), payload))
        self.check_top()

    def release(self, index):
        if not self.held:
            return
        slot, payload = self.held.pop(index % len(self.held))
        # still intact although other events were pushed meanwhile
        assert same_payload(payload_of(self.q, slot), payload)
        queue_release(self.q, slot)

    def grow(self, factor):
        cap = self.q.time.shape[0]
        size = len(self.model)
        self.q = grow_queue(self.q, factor)
        assert self.q.time.shape[0] == factor * cap
        assert int(queue_free(self.q)) == factor * cap - size
        for slot, payload in self.held:
            assert same_payload(payload_of(self.q, slot), payload)
        self.check_top()

    def drain(self):
        while self.model:
            self.pop(True)
        for slot, _ in list(self.held):
            self.release(0)
        self.check_top()


def pop_both_and_compare(big, small):
    """Pop one event from each queue; they must agree in time and payload."""
    ta, sa = queue_pop(big)
    tb, sb = queue_pop(small)
    assert ta == tb
    assert same_payload(payload_of(big, sa), payload_of(small, sb))
    queue_release(big, sa)
    queue_release(small, sb)


@SETTINGS
@given(OPS)
def test_matches_heapq(ops):
    c = Checker()
    for op in ops:
        if op[0] == "push":
            c.push(*op[1:])
        elif op[0] == "pop":
            c.pop(op[1])
        elif op[0] == "release":
            c.release(op[1])
        else:
            c.grow(op[1])
    c.drain()
    # the queue is reusable after being emptied
    c.push(1.0, CHECK, (1, 2, 3, 4, 5.0, 6.0))
    c.push(1.0, ARRIVAL, (7, 8, 9, 10, 11.0, 12.0))
    c.drain()


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from([0.0, 1.0, 2.0]), CLASS), min_size=1, max_size=60))
def test_ties_by_class_then_insertion(events):
    """All pushes first, then pops: the order is exactly sorted((t, class, seq))."""
    q = make_queue(4)
    for seq, (t, cls) in enumerate(events):
        if queue_free(q) == 0:
            q = grow_queue(q)
        queue_push(q, t, cls, seq, 0, 0, 0, 0.0, 0.0)
    expected = sorted((t, cls, seq) for seq, (t, cls) in enumerate(events))
    got = []
    while queue_top_time(q) != math.inf:
        cls = int(queue_top_class(q))
        t, slot = queue_pop(q)
        got.append((t, cls, int(q.kind[slot])))
        queue_release(q, slot)
    assert got == expected


def test_equal_times_arrival_before_check_regardless_of_insertion():
    q = make_queue(16)
    queue_push(q, 3.0, CHECK, 0, 0, 0, 0, 0.0, 0.0)
    queue_push(q, 3.0, CHECK, 1, 0, 0, 0, 0.0, 0.0)
    queue_push(q, 3.0, ARRIVAL, 2, 0, 0, 0, 0.0, 0.0)
    queue_push(q, 2.5, CHECK, 3, 0, 0, 0, 0.0, 0.0)
    queue_push(q, 3.0, ARRIVAL, 4, 0, 0, 0, 0.0, 0.0)
    order = []
    for _ in range(5):
        t, slot = queue_pop(q)
        order.append(int(q.kind[slot]))
        queue_release(q, slot)
    assert order == [3, 2, 4, 0, 1]


@SETTINGS
@given(st.lists(st.tuples(TIMES, CLASS, PAYLOAD), min_size=1, max_size=80),
       st.integers(0, 80), st.sampled_from([2, 3, 4]))
def test_grow_keeps_content_and_order(events, n_pop, factor):
    """Growing at any point gives the same pops as never growing."""
    big = make_queue(len(events) + 16)
    small = make_queue(16)
    for t, cls, p in events:
        queue_push(big, t, cls, *p)
        if queue_free(small) == 0:
            small = grow_queue(small, factor)
        queue_push(small, t, cls, *p)
    for i in range(min(n_pop, len(events))):
        pop_both_and_compare(big, small)
    seq_before = int(small.meta[1])
    small = grow_queue(small, factor)
    assert int(small.meta[1]) == seq_before           # insertion counter continues
    # push after the growth: ties with earlier events still go by insertion order
    for t, cls, p in events[:5]:
        queue_push(big, t, cls, *p)
        queue_push(small, t, cls, *p)
    while queue_top_time(big) != math.inf:
        assert queue_top_time(small) == queue_top_time(big)
        assert queue_top_class(small) == queue_top_class(big)
        pop_both_and_compare(big, small)
    assert queue_top_time(small) == math.inf


def test_fill_to_capacity_then_drain():
    """Exactly capacity events fit; all come back sorted; every slot is distinct."""
    rng = np.random.default_rng(3)
    q = make_queue(64)
    cap = q.time.shape[0]
    times = rng.integers(0, 10, cap).astype(float)
    for i, t in enumerate(times):
        assert queue_free(q) == cap - i
        queue_push(q, t, int(i % 2), i, -i, 2 * i, 3 * i, t * 0.5, -t)
    assert queue_free(q) == 0
    slots, got = set(), []
    for _ in range(cap):
        t, slot = queue_pop(q)
        slots.add(int(slot))
        i = int(q.kind[slot])
        assert (q.a[slot], q.b[slot], q.c[slot]) == (-i, 2 * i, 3 * i)
        assert q.f0[slot] == times[i] * 0.5 and q.f1[slot] == -times[i]
        got.append((t, i % 2, i))
    assert len(slots) == cap
    assert got == sorted((t, i % 2, i) for i, t in enumerate(times))


def test_long_random_run_matches_heapq():
    """A seeded run much larger than the initial capacity (many growths)."""
    rng = np.random.default_rng(11)
    c = Checker(16)
    for step in range(6000):
        u = rng.random()
        if u < 0.55:
            t = float(rng.integers(0, 50)) if rng.random() < 0.5 else float(rng.random() * 50)
            p = (tuple(int(x) for x in rng.integers(-1000, 1000, 4))
                 + (float(rng.random()), float(step)))
            c.push(t, int(rng.integers(0, 2)), p)
        elif u < 0.95:
            c.pop(rng.random() < 0.9)
        else:
            c.release(int(rng.integers(0, 100)))
    c.drain()


def test_small_capacity_is_raised_to_minimum():
    q = make_queue(1)
    assert q.time.shape[0] >= 1
    n = int(queue_free(q))
    for i in range(n):
        queue_push(q, float(n - i), ARRIVAL, i, 0, 0, 0, 0.0, 0.0)
    assert queue_free(q) == 0
    assert queue_top_time(q) == 1.0


@pytest.mark.parametrize("times", [[5.0, -0.0, 0.0, 1e-300], [math.inf, 1.0, math.inf]])
def test_special_float_times(times):
    q = make_queue(16)
    for i, t in enumerate(times):
        queue_push(q, t, ARRIVAL, i, 0, 0, 0, 0.0, 0.0)
    got = []
    while queue_free(q) < q.time.shape[0]:
        t, slot = queue_pop(q)
        got.append((t, int(q.kind[slot])))
        queue_release(q, slot)
    # -0.0 == 0.0 compare equal: insertion order decides
    assert got == sorted(((t, i) for i, t in enumerate(times)), key=lambda e: (e[0], e[1]))


def delay_line_run(delays, steps, seed):
    """Spikes in time order, each delivered after one of ``delays`` ms (pops as the
    event loop does): returns the Checker, the largest heap and run sizes seen."""
    rng = np.random.default_rng(seed)
    c = Checker(16)
    now = 0.0
    most_heap = most_run = 0
    for step in range(steps):
        if rng.random() < 0.5:
            now += float(rng.exponential(0.3))
            p = (step, 0, 0, 0, now, 0.0)
            c.push(now + float(delays[int(rng.integers(len(delays)))]), ARRIVAL, p)
        elif c.model and c.model[0][0] <= now + 0.5:
            c.pop(True)
        most_heap = max(most_heap, int(c.q.meta[SIZE]))
        most_run = max(most_run, int(c.q.meta[RING_SIZE]))
    c.drain()
    return c, most_heap, most_run


def test_one_delay_keeps_every_event_in_the_run():
    """Pushes in time order never touch the heap; the run wraps around its ring and
    moves with the queue as it grows."""
    c, most_heap, most_run = delay_line_run([1.0], 20000, seed=5)
    assert most_heap == 0
    assert most_run > 16                     # grown past the first capacity
    assert c.q.time.shape[0] < 20000         # ... and wrapped around its ring


def test_several_delays_mix_run_and_heap():
    """Out-of-order pushes go to the heap, and pops still follow (time, class, seq)."""
    c, most_heap, most_run = delay_line_run([0.5, 1.0, 2.5], 20000, seed=6)
    assert most_heap > 0 and most_run > 0
