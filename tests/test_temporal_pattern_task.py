"""The temporal pattern detection task (scripts/train_temporal_pattern.py) learns on a tiny version.

A few short training sequences and one epoch: the trained read-out detects held-out
pattern occurrences at their end, which the untrained network does not. The
hidden-layer variant (--hidden N) trains both layers, its hidden neurons spike, and
the spike rates it reports agree with the trainer's own counts.
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import train_temporal_pattern as task


def test_learning_detects_the_pattern_which_the_untrained_network_does_not():
    args = task.parse_args(["--train", "8", "--test", "6", "--epochs", "1", "--duration", "300",
                            "--test-duration", "500"])
    train_set = task.make_data(args, args.train, 0)[0]
    test_set = task.held_out(args, args.test)
    r_in, r_out = task.rate_inside_outside(list(train_set) + list(test_set), args.pattern_ms)
    assert abs(r_in - r_out) < 0.05 * args.rate          # the pattern cannot be found by rate
    trainer, history, _ = task.train(args, train_set, test_set, log=lambda *a: None)
    before, after = history[0], history[-1]
    assert before["epoch"] == 0 and after["epoch"] == 1
    assert before["test_f1"] < 0.3
    assert after["test_f1"] >= 0.9
    assert after["test_median_abs_error_ms"] < 2.0
    assert after["test_loss_grid"] < 0.5 * before["test_loss_grid"]
    # the detections are the read-out's own spikes: none without the pattern
    noise = task.score(args, task.trained_params(trainer), task.held_out(args, 3, occurrences="0"))
    assert noise["n_true"] == 0 and noise["false_alarms_per_s"] < 1.0


def test_pulse_target_crosses_half_at_each_end():
    t, v = task.pulse_target([100.0, 250.0], rise=2.0, hold=8.0, fall=4.0)
    assert np.all(np.diff(t) > 0)
    for e in (100.0, 250.0):
        assert np.interp(e, t, v) == 0.5
        assert np.interp(e + 5.0, t, v) == 1.0 and np.interp(e + 13.0, t, v) == 0.0


def test_hidden_layer_variant_trains_spikes_and_reports_its_rate(tmp_path):
    from eventsg.training import evaluate
    argv = ["--hidden", "4", "--train", "4", "--test", "3", "--epochs", "1", "--duration", "200",
            "--occurrences", "1", "--test-duration", "300", "--test-occurrences", "1,2",
            "--control", "2", "--jitter", "5", "--out", str(tmp_path)]
    args = task.parse_args(argv)
    initial = task.build(args)
    assert [p.post.name for p in initial.projections] == [task.HIDDEN] * 6 + [task.READOUT]
    train_set = task.make_data(args, args.train, 0)[0]
    test_set = task.held_out(args, args.test)
    trainer, history, _ = task.train(args, train_set, None, log=lambda *a: None)
    rate = history[-1]["hidden_rate_hz"]
    assert np.isfinite(rate) and rate > 0
    params = task.trained_params(trainer)
    # the input -> hidden and hidden -> read-out weights and the hidden biases were trained
    for proj, w in zip(initial.projections, params["W"]):
        assert w.shape == proj.weights.shape and np.abs(w - proj.weights.toarray()).max() > 1e-6
    assert np.abs(params["b"][task.HIDDEN] - args.hidden_bias).max() > 1e-9
    # the forward engine with the trained parameters spikes exactly as the trainer without updates
    m = task.score(args, params, test_set)
    held = evaluate(trainer, task.with_target(test_set, args))["rate_hz"]
    h = m["hidden_spikes_per_neuron_per_s"]
    assert np.isfinite(h) and h > 0
    assert np.isclose(h, held[task.HIDDEN]) and np.isclose(m["readout_spikes_per_neuron_per_s"],
                                                            held[task.READOUT])
    # the read-out hears the inputs only through the hidden layer
    silent = {**params, "W": params["W"][:-1] + [np.zeros_like(params["W"][-1])]}
    assert task.score(args, silent, test_set)["readout_spikes_per_neuron_per_s"] == 0
    # the script's metrics report the hidden layer
    metrics = task.main(argv)
    assert metrics["hidden_layer"] is True and metrics["hidden_neurons"] == 4
    assert np.isfinite(metrics["hidden_spikes_per_neuron_per_s"])
    assert metrics["hidden_spikes_per_neuron_per_s"] > 0
    saved = (tmp_path / "temporal_pattern_metrics.csv").read_text()
    assert "hidden_spikes_per_neuron_per_s," in saved and "readout_spikes_per_neuron_per_s," in saved
