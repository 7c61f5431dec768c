"""The split of the engine benchmark's run time (scripts/bench_engine.py).

The split costs the inputs that fit at what one takes in a network where every
input fits; that network must really send every input down that path, and the
two parts must add up to the run they split.
"""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import bench_engine  # noqa: E402

from eventsg.examples import two_layer_network  # noqa: E402


def test_every_input_of_the_fit_path_network_fits():
    net = bench_engine.fit_path_network(theta=1e6)
    s = net.run(duration=20.0, ahead=False).stats     # (the event loop's fast path)
    assert s.synaptic_events > 500_000
    assert s.unchecked_inputs == s.synaptic_events
    assert s.spikes == 0
    assert s.searches == 2000          # the first search of each neuron, nothing after


def test_cost_split_adds_up_to_the_run():
    net, _ = two_layer_network(n_inputs=100, n_hidden=200, n_out=200, fan_out=20)
    stats = net.run(duration=100.0, ahead=False).stats
    assert 0 < stats.unchecked_inputs < stats.synaptic_events and stats.searches > 0
    fit, rest = bench_engine.cost_split(stats, stats.wall_s, repeats=1, duration=10.0)
    assert fit["count"] == stats.unchecked_inputs and rest["count"] == stats.searches
    assert fit["seconds"] + rest["seconds"] == pytest.approx(stats.wall_s)
    assert fit["share_of_run"] + rest["share_of_run"] == pytest.approx(1.0)
    assert fit["seconds"] == pytest.approx(fit["ns_each"] * 1e-9 * fit["count"])
    assert fit["ns_each"] > 0.0
