"""A run's chunks: where it returns to Python between kernel calls (simulate.merged_chunks)."""
import time

import numpy as np
import pytest

from eventsg.examples import two_layer_network
from eventsg.simulate import merged_chunks


def test_fast_calls_merge_ever_more_chunks_and_the_last_one_ends_the_run():
    assert list(merged_chunks(100, target_s=1e9)) == [1, 3, 7, 15, 31, 63, 100]


def test_calls_that_never_get_under_the_target_keep_every_chunk():
    assert list(merged_chunks(10, target_s=0.0)) == list(range(1, 11))


def test_a_slow_call_halves_the_span():
    stops = []
    for k in merged_chunks(1000, target_s=0.02):
        stops.append(k)
        if k == 7:
            time.sleep(0.05)            # more than twice the target: 4 -> 2 chunks a call
        if len(stops) == 5:
            break
    assert stops == [1, 3, 7, 9, 13]


@pytest.mark.parametrize("engine, dt", [("event", None), ("clock", 0.05)])
def test_the_chunks_do_not_change_a_run(engine, dt):
    """Stopping at chunk ends and resuming gives the same run to the last bit."""
    net, _ = two_layer_network(n_inputs=40, n_hidden=60, n_out=60, fan_out=12, w_in=0.2)
    runs = [net.run(200.0, engine=engine, dt=dt, chunks=c, sample_times=np.linspace(0, 200, 41))
            for c in (1, 7, 200)]
    assert runs[0].stats.spikes > 50
    for other in runs[1:]:
        for pop in ("hidden", "output"):
            a, b = runs[0].spikes(pop), other.spikes(pop)
            np.testing.assert_array_equal(a.t, b.t)
            np.testing.assert_array_equal(a.i, b.i)
            np.testing.assert_array_equal(a.a, b.a)
        np.testing.assert_array_equal(runs[0].state("hidden").x, other.state("hidden").x)
