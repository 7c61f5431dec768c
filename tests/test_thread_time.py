"""Where the threads' time goes: the cycle counter, each thread's share of its time in
its event loops and at the barriers (RunStats.thread_busy, thread_wait), and their
trip through a run file."""
import numpy as np
import pytest
from numba import njit

import eventsg as esg
from eventsg.engine.partition import make_buffers, thread_shares
from eventsg.engine.ticks import TK_BUSY, TK_TOTAL, TK_WAIT, cycle_count
from eventsg.io import describe_run, load_result, save_run


@njit(cache=False)
def _ticks_around_work(n):
    start = cycle_count()
    acc = 0.0
    for k in range(n):
        acc += np.sqrt(k + acc)
    return start, cycle_count(), acc


def test_cycle_counter_advances_with_work():
    _ticks_around_work(10)
    start, end, _ = _ticks_around_work(2_000_000)
    if start == 0 and end == 0:
        pytest.skip("this target has no cycle counter (it reads 0)")
    assert end - start > 1_000_000      # 2e6 dependent square roots: millions of cycles


def lopsided_network():
    """Inputs -> a -> b (delay 1 ms), with every input and every synapse onto the first
    half of each population: on two threads, thread 0 owns all the work
    (partition.neuron_owners: each population cut into consecutive halves)."""
    rng = np.random.default_rng(5)
    net = esg.Network(seed=5)
    src = net.add(esg.PoissonSource(n=40, rate=200.0, name="in"))
    a = net.add(esg.GammaPopulation(n=60, K=4, tau=[1.0, 2.0, 4.0, 8.0], theta=0.02, name="a"))
    b = net.add(esg.GammaPopulation(n=60, K=4, tau=[1.0, 2.0, 4.0, 8.0], theta=0.02, name="b"))
    w_in = np.zeros((40, 60))
    w_in[:, :30] = rng.uniform(0.0, 0.2, (40, 30))
    w_ab = np.zeros((60, 60))
    w_ab[:30, :30] = rng.normal(0.02, 0.05, (30, 30))
    net.connect(src, a, w_in, delay=1.0)
    net.connect(a, b, w_ab, delay=1.0)
    return net


def test_the_thread_without_work_waits_for_the_one_with_it():
    net = lopsided_network()
    net.run(20.0, threads=2)
    s = net.run(400.0, threads=2).stats
    assert s.spikes > 1000
    if s.thread_busy == ():
        pytest.skip("this target has no cycle counter: no shares to check")
    busy, wait = s.thread_busy, s.thread_wait
    assert len(busy) == len(wait) == 2
    for b, w in zip(busy, wait):
        assert 0.0 <= b <= 1.0 and 0.0 <= w <= 1.0 and b + w <= 1.0 + 1e-12
    # (comparisons only: with other programs on the cores, a thread that loses its core
    # waits too, and its partner at the barriers for it)
    assert busy[0] > 4.0 * busy[1]
    assert wait[1] > 4.0 * busy[1] and wait[1] > wait[0]


def test_one_thread_reports_no_shares():
    s = lopsided_network().run(20.0).stats
    assert s.thread_busy == () and s.thread_wait == ()


def test_shares_are_ratios_of_each_threads_ticks():
    bufs = make_buffers(3, 4)
    assert thread_shares(bufs) == ((), ())              # nothing counted yet
    bufs.ticks[:, TK_TOTAL] = [100, 200, 400]
    bufs.ticks[:, TK_BUSY] = [50, 150, 100]
    bufs.ticks[:, TK_WAIT] = [25, 10, 300]
    assert thread_shares(bufs) == ((0.5, 0.75, 0.25), (0.25, 0.05, 0.75))
    assert bufs.ticks.ctypes.data % 64 == 0 and bufs.ticks.strides[0] == 64


def test_shares_survive_a_run_file(tmp_path):
    net = lopsided_network()
    res = net.run(50.0, threads=2)
    save_run(tmp_path / "run.h5", res, net, run_options={"threads": 2})
    back = load_result(tmp_path / "run.h5")
    assert back.stats == res.stats
    assert isinstance(back.stats.thread_busy, tuple)
    if res.stats.thread_busy:
        line = res.stats.thread_summary()
        assert line.startswith("2 threads: in their event loops ") and line.count("%") == 4
        assert line in describe_run(tmp_path / "run.h5")


def test_one_thread_has_no_thread_summary():
    assert lopsided_network().run(5.0).stats.thread_summary() == ""
